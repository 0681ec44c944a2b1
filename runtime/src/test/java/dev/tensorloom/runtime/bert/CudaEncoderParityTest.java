package dev.tensorloom.runtime.bert;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.runtime.embed.ModelFiles;
import dev.tensorloom.runtime.kernel.KernelProvider;
import dev.tensorloom.runtime.kernel.Kernels;
import dev.tensorloom.runtime.tensor.Tensor;
import dev.tensorloom.runtime.testing.WordNetSentences;
import dev.tensorloom.runtime.tokenize.HfTokenizer;
import dev.tensorloom.runtime.tokenize.OverlongText;
import dev.tensorloom.runtime.tokenize.TokenBatch;
import java.io.IOException;
import java.lang.foreign.Arena;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The bundled all-MiniLM-L6-v2 on the cuda backend against the scalar oracle. The bar: max |Δ| ≤
 * 1e-3 on the last hidden states, cosine ≥ 0.9999 between mean-pooled embeddings. Weights are uploaded
 * once, the whole forward pass and the pooling run on the device, and only the results come back.
 *
 * <p>In CI the cuda backend runs the CPU emulation of the kernels, where every CUDA thread is an OS thread:
 * correct but slow, so this is one padded batch of real WordNet glosses, each backend run once.
 */
class CudaEncoderParityTest {

    private static final double MAX_HIDDEN_DIFFERENCE = 1e-3;
    private static final double MIN_COSINE = 0.9999;

    private static TokenBatch batch;
    private static Encoded scalar;
    private static Encoded cuda;

    /** The last hidden states [tokens, hidden] and the pooled, normalized embeddings [batch, hidden]. */
    private record Encoded(float[] hidden, float[] pooled) {
    }

    @BeforeAll
    static void encode() throws IOException {
        ModelFiles files = ModelFiles.bundledMiniLm();
        try (BertWeights weights = BertOnnxLoader.load(files.onnx());
                HfTokenizer tokenizer = HfTokenizer.open(files.tokenizer())) {
            batch = HfTokenizer.pad(tokenizer.encodeEach(WordNetSentences.glosses(4), weights.config().maxPositions(),
                    OverlongText.TRUNCATE));
            scalar = encode(weights, KernelProvider.byName("scalar"));
            cuda = encode(weights, KernelProvider.byName("cuda"));
        }
    }

    private static Encoded encode(BertWeights weights, Kernels kernels) {
        try (BertEncoder encoder = new BertEncoder(weights, kernels); Arena arena = Arena.ofShared()) {
            Tensor hidden = encoder.hiddenStates(batch, arena);
            Tensor mask = kernels.toDevice(Tensor.of(arena, batch.mask(), batch.batch(), batch.seqLength()), arena);
            Tensor pooled = kernels.allocate(arena, batch.batch(), hidden.cols());
            kernels.meanPool(hidden, mask, pooled);
            kernels.l2NormalizeRows(pooled);
            return new Encoded(kernels.toHost(hidden, arena).toArray(), kernels.toHost(pooled, arena).toArray());
        }
    }

    @Test
    void lastHiddenStatesMatchTheScalarOracle() {
        int width = scalar.hidden().length / batch.tokens();
        double worst = 0;
        for (int token = 0; token < batch.tokens(); token++) {
            if (batch.mask()[token] == 0) {
                continue;
            }
            for (int j = 0; j < width; j++) {
                float expected = scalar.hidden()[token * width + j];
                float actual = cuda.hidden()[token * width + j];
                double d = Math.abs(expected - actual);
                assertTrue(d <= MAX_HIDDEN_DIFFERENCE, "text " + token / batch.seqLength() + " token "
                        + token % batch.seqLength() + " unit " + j + ": " + actual + " vs scalar " + expected);
                worst = Math.max(worst, d);
            }
        }
        System.out.printf("cuda (%s library) vs scalar, MiniLM on %d texts of up to %d tokens: max |Δ hidden| = %.2e%n",
                System.getProperty("tensorloom.native.library", "cuda"), batch.batch(), batch.seqLength(), worst);
    }

    @Test
    void pooledEmbeddingsPointTheSameWay() {
        int width = scalar.pooled().length / batch.batch();
        for (int b = 0; b < batch.batch(); b++) {
            double dot = 0;
            double ee = 0;
            double aa = 0;
            for (int j = b * width; j < (b + 1) * width; j++) {
                dot += (double) scalar.pooled()[j] * cuda.pooled()[j];
                ee += (double) scalar.pooled()[j] * scalar.pooled()[j];
                aa += (double) cuda.pooled()[j] * cuda.pooled()[j];
            }
            double cosine = dot / Math.sqrt(ee * aa);
            assertTrue(cosine >= MIN_COSINE, "text " + b + ": cosine " + cosine);
        }
    }
}
