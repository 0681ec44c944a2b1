package dev.tensorloom.bench.cli;

import dev.tensorloom.bench.engine.EmbeddingEngine;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntUnaryOperator;

/**
 * One throughput measurement: an engine embeds batches drawn in turn from a pool of sentences, first for
 * a warm-up period (at least one batch, so JIT and caches settle), then for the measured period (at least
 * one batch). Tokens are the real tokens the model sees, padding excluded. Every measured batch's wall time
 * is kept too: {@link #medianMillisPerSentence} and {@link #p99MillisPerSentence} are its latency, per
 * sentence of the batch (at batch 1, the latency a single request sees).
 */
record Throughput(String engine, int batchSize, String lengthClass, long sentences, long tokens, double seconds,
        double medianMillisPerSentence, double p99MillisPerSentence) {

    double sentencesPerSecond() {
        return sentences / seconds;
    }

    double tokensPerSecond() {
        return tokens / seconds;
    }

    static Throughput measure(EmbeddingEngine engine, List<String> pool, IntUnaryOperator tokensOf, int batchSize,
            String lengthClass, double warmupSeconds, double measureSeconds, Runnable afterBatch) {
        Cursor cursor = new Cursor(pool, tokensOf, batchSize);
        long warmupEnd = System.nanoTime() + (long) (warmupSeconds * 1e9);
        do {
            engine.embed(cursor.next());
            afterBatch.run();
        } while (System.nanoTime() < warmupEnd);

        cursor.resetCounts();
        long start = System.nanoTime();
        long end = start + (long) (measureSeconds * 1e9);
        long[] batchNanos = new long[64];
        int batches = 0;
        long now = start;
        do {
            List<String> batch = cursor.next();
            long before = now;
            engine.embed(batch);
            now = System.nanoTime();
            if (batches == batchNanos.length) {
                batchNanos = Arrays.copyOf(batchNanos, 2 * batches);
            }
            batchNanos[batches++] = now - before;
            afterBatch.run();
            now = System.nanoTime();
        } while (now < end);
        long[] sorted = Arrays.copyOf(batchNanos, batches);
        Arrays.sort(sorted);
        double perSentence = 1e6 * batchSize;
        return new Throughput(engine.name(), batchSize, lengthClass, cursor.sentences, cursor.tokens,
                (now - start) / 1e9, percentile(sorted, 50) / perSentence, percentile(sorted, 99) / perSentence);
    }

    /** The nearest-rank percentile of sorted values: the smallest value with at least p% of them at or below. */
    static long percentile(long[] sorted, double p) {
        if (sorted.length == 0) {
            throw new IllegalArgumentException("no values to take a percentile of");
        }
        int rank = (int) Math.ceil(p / 100 * sorted.length);
        return sorted[Math.max(0, rank - 1)];
    }

    /** Walks the pool batch by batch, wrapping around, and counts what it hands out. */
    private static final class Cursor {
        private final List<String> pool;
        private final IntUnaryOperator tokensOf;
        private final int batchSize;
        private int position;
        private long sentences;
        private long tokens;

        Cursor(List<String> pool, IntUnaryOperator tokensOf, int batchSize) {
            if (pool.size() < batchSize) {
                throw new IllegalArgumentException("pool of " + pool.size() + " sentences is smaller than batch " + batchSize);
            }
            this.pool = pool;
            this.tokensOf = tokensOf;
            this.batchSize = batchSize;
        }

        List<String> next() {
            if (position + batchSize > pool.size()) {
                position = 0;
            }
            for (int i = position; i < position + batchSize; i++) {
                tokens += tokensOf.applyAsInt(i);
            }
            sentences += batchSize;
            List<String> batch = pool.subList(position, position + batchSize);
            position += batchSize;
            return batch;
        }

        void resetCounts() {
            sentences = 0;
            tokens = 0;
        }
    }
}
