package dev.tensorloom.runtime.bert;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.runtime.embed.EmbedderOptions;
import dev.tensorloom.runtime.embed.ModelFiles;
import dev.tensorloom.runtime.embed.TextEmbedder;
import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.BackendProvider;
import dev.tensorloom.runtime.tokenize.HfTokenizer;
import dev.tensorloom.runtime.tokenize.OverlongText;
import dev.tensorloom.runtime.tokenize.TokenBatch;
import dev.tensorloom.testkit.WordNetSentences;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The bundled all-MiniLM-L6-v2 on the cuda backend against the scalar oracle. The bar: max |Δ| ≤
 * 1e-3 on the last hidden states (from the encoder: weights uploaded once, the forward pass on the device,
 * the states copied back), cosine ≥ 0.9999 between the embeddings TextEmbedder makes (pooled and
 * normalized on the device, only the vectors copied back).
 *
 * <p>In CI the cuda backend runs the CPU emulation of the kernels, where every CUDA thread is an OS thread:
 * correct but slow, so this is one padded batch of four real WordNet glosses, each path run once.
 */
class CudaEncoderParityTest {

    private static final double MAX_HIDDEN_DIFFERENCE = 1e-3;
    private static final double MIN_COSINE = 0.9999;

    private static List<String> texts;
    private static TokenBatch batch;
    private static float[] scalarHidden;
    private static float[] cudaHidden;

    @BeforeAll
    static void encode() throws IOException {
        ModelFiles files = ModelFiles.bundledMiniLm();
        try (BertWeights weights = BertOnnxLoader.load(files.onnx());
                HfTokenizer tokenizer = HfTokenizer.open(files.tokenizer())) {
            texts = WordNetSentences.glosses(4);
            batch = HfTokenizer.pad(tokenizer.encodeEach(texts, weights.config().maxPositions(), OverlongText.TRUNCATE));
            scalarHidden = lastHiddenStates(weights, BackendProvider.byName("scalar"));
            cudaHidden = lastHiddenStates(weights, BackendProvider.byName("cuda"));
        }
    }

    private static float[] lastHiddenStates(BertWeights weights, Backend backend) {
        try (BertEncoder encoder = new BertEncoder(weights, backend); Arena arena = Arena.ofShared()) {
            return encoder.forward(batch, arena).toArray();
        }
    }

    @Test
    void lastHiddenStatesMatchTheScalarOracle() {
        int width = scalarHidden.length / batch.tokens();
        double worst = 0;
        for (int token = 0; token < batch.tokens(); token++) {
            if (batch.mask()[token] == 0) {
                continue;
            }
            for (int j = 0; j < width; j++) {
                float expected = scalarHidden[token * width + j];
                float actual = cudaHidden[token * width + j];
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
    void embeddingsPointTheSameWay() throws IOException {
        float[][] expected;
        float[][] actual;
        try (TextEmbedder onScalar = TextEmbedder.bundledMiniLm(EmbedderOptions.of(BackendProvider.byName("scalar")));
                TextEmbedder onCuda = TextEmbedder.bundledMiniLm(EmbedderOptions.of(BackendProvider.byName("cuda")))) {
            expected = onScalar.embed(texts);
            actual = onCuda.embed(texts);
        }
        for (int i = 0; i < texts.size(); i++) {
            double dot = 0;
            double ee = 0;
            double aa = 0;
            for (int j = 0; j < expected[i].length; j++) {
                dot += (double) expected[i][j] * actual[i][j];
                ee += (double) expected[i][j] * expected[i][j];
                aa += (double) actual[i][j] * actual[i][j];
            }
            double cosine = dot / Math.sqrt(ee * aa);
            assertTrue(cosine >= MIN_COSINE, "text " + i + ": cosine " + cosine);
        }
    }
}
