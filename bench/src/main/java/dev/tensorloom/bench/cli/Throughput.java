package dev.tensorloom.bench.cli;

import dev.tensorloom.bench.engine.EmbeddingEngine;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntUnaryOperator;

/**
 * One throughput measurement: an engine embeds batches drawn in turn from a pool of sentences, first for
 * a warm-up period (until its rate settles and the JIT has stopped compiling: {@link #warmUp}; its length is
 * {@link #warmupSeconds}), then for the measured period (at least one batch). Tokens are the real tokens the
 * model sees, padding excluded. Every measured batch's wall time is kept too: {@link #medianMillisPerSentence}
 * and {@link #p99MillisPerSentence} are its latency, per sentence of the batch (at batch 1, the latency a single
 * request sees).
 */
record Throughput(String engine, int batchSize, String lengthClass, long sentences, long tokens, double seconds,
        double medianMillisPerSentence, double p99MillisPerSentence, double warmupSeconds) {

    /** The most a warm-up window's rate may differ from the one before it, as a fraction of it, once settled. */
    static final double SETTLED = 0.05;
    /**
     * The most of a warm-up window's wall time the JIT may spend compiling (summed over its threads) once settled:
     * on a 2-core Xeon (2026-12-02) C2 was still compiling the encoder's kernels and glue 10-15 s into a batch-1
     * run, and two windows of a slowly rising rate had agreed within 5% while it did (the bench measured 85-97
     * sentences/s where JMH, warmed 16 s, measured 340).
     */
    static final double SETTLED_COMPILING = 0.02;
    /** The longest warm-up, in multiples of the shortest. */
    private static final int MAX_WARMUP = 16;
    private static final CompilationMXBean JIT = ManagementFactory.getCompilationMXBean();

    double sentencesPerSecond() {
        return sentences / seconds;
    }

    double tokensPerSecond() {
        return tokens / seconds;
    }

    static Throughput measure(EmbeddingEngine engine, List<String> pool, IntUnaryOperator tokensOf, int batchSize,
            String lengthClass, double minWarmupSeconds, double measureSeconds, Runnable afterBatch) {
        Cursor cursor = new Cursor(pool, tokensOf, batchSize);
        long warmupStart = System.nanoTime();
        warmUp(engine, cursor, minWarmupSeconds, afterBatch);
        double warmedFor = (System.nanoTime() - warmupStart) / 1e9;

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
                (now - start) / 1e9, percentile(sorted, 50) / perSentence, percentile(sorted, 99) / perSentence,
                warmedFor);
    }

    /**
     * Runs batches for at least {@code seconds}, in windows of a third of it, and then on until a window's rate is
     * within {@value #SETTLED} of the window's before it and the JIT compiled for at most {@value #SETTLED_COMPILING}
     * of the window (the JIT has stopped speeding the engine up), for at most {@value #MAX_WARMUP} times
     * {@code seconds}: a fixed warm-up can end while C2 is still compiling the engine's kernels on a machine whose
     * cores are all busy running them.
     */
    private static void warmUp(EmbeddingEngine engine, Cursor cursor, double seconds, Runnable afterBatch) {
        long window = Math.max(1, (long) (windowSeconds(seconds) * 1e9));
        long stop = System.nanoTime() + (long) (MAX_WARMUP * seconds * 1e9);
        double previous = Double.NaN;
        for (int w = 0; ; w++) {
            long compiled = compilingMillis();
            long start = System.nanoTime();
            long batches = 0;
            long now;
            do {
                engine.embed(cursor.next());
                afterBatch.run();
                batches++;
                now = System.nanoTime();
            } while (now - start < window);
            double rate = batches / (double) (now - start);
            double compiling = (compilingMillis() - compiled) * 1e6 / (now - start);
            if (w >= 2 && settled(previous, rate, compiling) || now >= stop) {
                return;
            }
            previous = rate;
        }
    }

    /** The length of a warm-up window: a third of the shortest warm-up. */
    static double windowSeconds(double minWarmupSeconds) {
        return minWarmupSeconds / 3;
    }

    /**
     * Whether a warm-up window has settled: its rate within {@link #SETTLED} of the one measured before it, and the
     * JIT compiling for at most {@link #SETTLED_COMPILING} of it (a fraction of its wall time; 0 where the JVM does
     * not count compilation time).
     */
    static boolean settled(double previous, double rate, double compiling) {
        return Math.abs(rate - previous) <= SETTLED * previous && compiling <= SETTLED_COMPILING;
    }

    /** Milliseconds the JIT's threads have spent compiling so far, or 0 where the JVM does not count them. */
    private static long compilingMillis() {
        return JIT != null && JIT.isCompilationTimeMonitoringSupported() ? JIT.getTotalCompilationTime() : 0;
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
