package dev.tensorloom.bench.study;

import dev.tensorloom.runtime.bert.BertEncoder;
import dev.tensorloom.runtime.bert.BertWeights;
import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.MatrixPreparer;
import dev.tensorloom.runtime.tensor.Tensor;
import dev.tensorloom.runtime.tokenize.HfTokenizer;
import dev.tensorloom.runtime.tokenize.OverlongText;
import dev.tensorloom.runtime.tokenize.TokenBatch;
import dev.tensorloom.testkit.SentenceEmbeddings;
import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * How far a changed model (quantized, compressed: other matrices handed to the same encoder) strays from the fp32
 * one, as the compression studies measure it: the mean and worst cosine of mean-pooled sentence embeddings of
 * held-out text to fp32's, and the top-10 neighbour overlap on a retrieval task (each query's ten nearest corpus
 * sentences by cosine, the changed model's against fp32's). The fp32 side is embedded once, when this is made.
 */
public final class EmbeddingFidelity {

    /** One model's fidelity to fp32. */
    public record Result(double meanCosine, double worstCosine, double top10Overlap) {
    }

    private final BertWeights weights;
    private final Backend backend;
    private final HfTokenizer tokenizer;
    private final List<String> heldOut;
    private final List<String> corpus;
    private final double[][] fp32HeldOut;
    private final int[][] fp32Neighbours;

    /** The fp32 reference on {@code heldOut} and on {@code corpus}, whose first {@code queries} sentences are the queries. */
    public EmbeddingFidelity(BertWeights weights, Backend backend, HfTokenizer tokenizer, List<String> heldOut,
            List<String> corpus, int queries) {
        if (queries < 1 || queries > corpus.size()) {
            throw new IllegalArgumentException("queries must be 1 to the corpus's " + corpus.size() + ", got " + queries);
        }
        this.weights = weights;
        this.backend = backend;
        this.tokenizer = tokenizer;
        this.heldOut = List.copyOf(heldOut);
        this.corpus = List.copyOf(corpus);
        try (BertEncoder fp32 = new BertEncoder(weights, backend, MatrixPreparer.dense(backend))) {
            this.fp32HeldOut = embed(fp32, heldOut);
            this.fp32Neighbours = neighbours(embed(fp32, corpus), queries);
        }
    }

    /** The model whose projection matrices {@code matrices} prepares, against fp32. */
    public Result measure(MatrixPreparer matrices) {
        double[][] mine;
        double[][] mineCorpus;
        try (BertEncoder encoder = new BertEncoder(weights, backend, matrices)) {
            mine = embed(encoder, heldOut);
            mineCorpus = embed(encoder, corpus);
        }
        double sum = 0;
        double worst = Double.POSITIVE_INFINITY;
        for (int i = 0; i < mine.length; i++) {
            double cos = dot(mine[i], fp32HeldOut[i]);
            sum += cos;
            worst = Math.min(worst, cos);
        }
        int[][] neighbours = neighbours(mineCorpus, fp32Neighbours.length);
        double overlap = 0;
        for (int q = 0; q < neighbours.length; q++) {
            Set<Integer> a = new HashSet<>();
            for (int i : fp32Neighbours[q]) {
                a.add(i);
            }
            for (int i : neighbours[q]) {
                overlap += a.contains(i) ? 1.0 / (neighbours.length * neighbours[q].length) : 0;
            }
        }
        return new Result(sum / mine.length, worst, overlap);
    }

    /** Each query's (corpus sentence q's) ten nearest other corpus sentences by cosine, nearest first. */
    private static int[][] neighbours(double[][] corpus, int queries) {
        int k = Math.min(10, corpus.length - 1);
        int[][] out = new int[queries][];
        for (int q = 0; q < queries; q++) {
            double[] scores = new double[corpus.length];
            for (int i = 0; i < corpus.length; i++) {
                scores[i] = i == q ? Double.NEGATIVE_INFINITY : dot(corpus[q], corpus[i]);
            }
            out[q] = IntStream.range(0, corpus.length).boxed()
                    .sorted((x, y) -> Double.compare(scores[y], scores[x])).limit(k).mapToInt(Integer::intValue)
                    .toArray();
        }
        return out;
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    /** Mean-pooled, unit-length sentence embeddings, in float64, batches of 32. */
    private double[][] embed(BertEncoder encoder, List<String> sentences) {
        double[][] out = new double[sentences.size()][];
        for (int from = 0; from < sentences.size(); from += 32) {
            List<String> part = sentences.subList(from, Math.min(sentences.size(), from + 32));
            TokenBatch batch = HfTokenizer.pad(tokenizer.encodeEach(part, weights.config().maxPositions(),
                    OverlongText.TRUNCATE));
            try (Arena arena = Arena.ofShared()) {
                Tensor states = backend.toHost(encoder.forward(batch, arena), arena);
                for (int b = 0; b < batch.batch(); b++) {
                    float[][] tokens = new float[batch.lengths()[b]][];
                    for (int t = 0; t < tokens.length; t++) {
                        tokens[t] = states.row((long) b * batch.seqLength() + t).toArray();
                    }
                    long[] mask = new long[tokens.length];
                    Arrays.fill(mask, 1);
                    out[from + b] = SentenceEmbeddings.meanPooledNormalized(tokens, mask);
                }
            }
        }
        return out;
    }
}
