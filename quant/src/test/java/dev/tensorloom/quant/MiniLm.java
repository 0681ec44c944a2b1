package dev.tensorloom.quant;

import dev.tensorloom.runtime.bert.BertEncoder;
import dev.tensorloom.runtime.bert.BertOnnxLoader;
import dev.tensorloom.runtime.bert.BertWeights;
import dev.tensorloom.runtime.embed.ModelFiles;
import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.MatrixPreparer;
import dev.tensorloom.runtime.tensor.Tensor;
import dev.tensorloom.runtime.tokenize.HfTokenizer;
import dev.tensorloom.runtime.tokenize.OverlongText;
import dev.tensorloom.runtime.tokenize.TokenBatch;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;

/** The bundled all-MiniLM-L6-v2, loaded once per test class: weights, tokenizer, and sentence embeddings. */
final class MiniLm implements AutoCloseable {

    /** Texts per forward pass: keeps padding and the activations small. */
    private static final int BATCH = 16;

    final BertWeights weights;
    final HfTokenizer tokenizer;

    private MiniLm(BertWeights weights, HfTokenizer tokenizer) {
        this.weights = weights;
        this.tokenizer = tokenizer;
    }

    static MiniLm open() {
        try {
            ModelFiles files = ModelFiles.bundledMiniLm();
            return new MiniLm(BertOnnxLoader.load(files.onnx()), HfTokenizer.open(files.tokenizer()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Token batches of at most {@link #BATCH} texts, in order. */
    List<TokenBatch> batches(List<String> texts) {
        List<TokenBatch> out = new ArrayList<>();
        for (int from = 0; from < texts.size(); from += BATCH) {
            List<String> part = texts.subList(from, Math.min(texts.size(), from + BATCH));
            out.add(HfTokenizer.pad(tokenizer.encodeEach(part, weights.config().maxPositions(), OverlongText.TRUNCATE)));
        }
        return out;
    }

    BertEncoder encoder(Backend backend, MatrixPreparer preparer) {
        return new BertEncoder(weights, backend, preparer);
    }

    /** Mean-pooled, unit-length sentence embeddings of {@code texts} from {@code encoder}, in float64. */
    double[][] embed(BertEncoder encoder, List<String> texts) {
        int hidden = weights.config().hiddenSize();
        double[][] out = new double[texts.size()][];
        int at = 0;
        for (TokenBatch batch : batches(texts)) {
            try (Arena arena = Arena.ofShared()) {
                Tensor states = encoder.forward(batch, arena);
                for (int b = 0; b < batch.batch(); b++) {
                    double[] v = new double[hidden];
                    for (int t = 0; t < batch.lengths()[b]; t++) {
                        Tensor row = states.row((long) b * batch.seqLength() + t);
                        for (int h = 0; h < hidden; h++) {
                            v[h] += row.get(h);
                        }
                    }
                    double norm = 0;
                    for (double x : v) {
                        norm += x * x;
                    }
                    norm = Math.sqrt(norm);
                    for (int h = 0; h < hidden; h++) {
                        v[h] /= norm;
                    }
                    out[at++] = v;
                }
            }
        }
        return out;
    }

    /**
     * The inputs the named projection (e.g. {@code layers.2.intermediate}) multiplies when the fp32 encoder runs
     * on {@code texts}, one text per pass so no padding row is among them: [tokens of all texts, k].
     */
    float[][] capture(Backend backend, String matrix, List<String> texts) {
        List<float[]> rows = new ArrayList<>();
        MatrixPreparer recording = ObservedInputs.preparer(MatrixPreparer.dense(backend), (name, a) -> {
            if (name.equals(matrix)) {
                for (int i = 0; i < a.rows(); i++) {
                    rows.add(a.row(i).toArray());
                }
            }
        });
        try (BertEncoder encoder = encoder(backend, recording)) {
            for (String text : texts) {
                TokenBatch one = HfTokenizer.pad(tokenizer.encodeEach(List.of(text), weights.config().maxPositions(),
                        OverlongText.TRUNCATE));
                try (Arena arena = Arena.ofShared()) {
                    encoder.forward(one, arena);
                }
            }
        }
        if (rows.isEmpty()) {
            throw new IllegalStateException("no projection named " + matrix);
        }
        return rows.toArray(float[][]::new);
    }

    /** Cosines of unit vectors, pair by pair. */
    static double[] cosines(double[][] a, double[][] b) {
        double[] c = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            for (int h = 0; h < a[i].length; h++) {
                c[i] += a[i][h] * b[i][h];
            }
        }
        return c;
    }

    @Override
    public void close() {
        tokenizer.close();
        weights.close();
    }
}
