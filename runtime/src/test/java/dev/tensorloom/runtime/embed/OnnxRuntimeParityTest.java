package dev.tensorloom.runtime.embed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.tensorloom.runtime.kernel.BackendProvider;
import dev.tensorloom.testkit.BundledMiniLm;
import dev.tensorloom.testkit.OnnxRuntimeEncoder;
import dev.tensorloom.testkit.SentenceEmbeddings;
import dev.tensorloom.testkit.TokenizedBatch;
import dev.tensorloom.testkit.WordNetSentences;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * tensorloom's MiniLM against ONNX Runtime running the same ONNX file, on 200 WordNet 3.1 glosses:
 * token-level last hidden states within 1e-4, pooled embeddings at cosine >= 0.99999, on every backend.
 */
class OnnxRuntimeParityTest {

    static final int SENTENCES = 200;
    static final double MAX_HIDDEN_STATE_DIFFERENCE = 1e-4;
    static final double MIN_COSINE = 0.99999;

    private static List<String> sentences;
    private static List<float[][]> referenceStates;
    private static double[][] referenceEmbeddings;

    @BeforeAll
    static void runReference() throws Exception {
        sentences = WordNetSentences.glosses(SENTENCES);
        referenceStates = new ArrayList<>();
        List<double[]> embeddings = new ArrayList<>();
        try (HuggingFaceTokenizer tokenizer = BundledMiniLm.tokenizer();
                OnnxRuntimeEncoder ort = OnnxRuntimeEncoder.open(BundledMiniLm.modelBytes(), 2)) {
            for (int start = 0; start < SENTENCES; start += 25) {
                TokenizedBatch batch = TokenizedBatch.encode(tokenizer, sentences.subList(start, start + 25));
                float[][][] states = ort.lastHiddenState(batch);
                for (int b = 0; b < states.length; b++) {
                    referenceStates.add(java.util.Arrays.copyOf(states[b], batch.length(b)));
                }
                embeddings.addAll(List.of(SentenceEmbeddings.meanPooledNormalized(states, batch.attentionMask())));
            }
        }
        referenceEmbeddings = embeddings.toArray(double[][]::new);
    }

    /**
     * A text of about 300 tokens and one of thousands, which both sides truncate to the model's 512
     * positions keeping the closing [SEP]: long sequences and truncation agree with ONNX Runtime too.
     */
    @org.junit.jupiter.api.Test
    void longAndTruncatedTextsMatchOnnxRuntime() throws Exception {
        try (HuggingFaceTokenizer tokenizer = BundledMiniLm.tokenizer(512);
                OnnxRuntimeEncoder ort = OnnxRuntimeEncoder.open(BundledMiniLm.modelBytes(), 2);
                TextEmbedder embedder = TextEmbedder.bundledMiniLm(
                        EmbedderOptions.of(BackendProvider.byName("vector")))) {
            List<String> texts = List.of(WordNetSentences.ofApproxTokens(1, 300, tokenizer).getFirst(),
                    String.join(" ", WordNetSentences.glosses(300)));
            TokenizedBatch batch = TokenizedBatch.encode(tokenizer, texts);
            float[][][] expected = ort.lastHiddenState(batch);
            float[][][] states = embedder.lastHiddenStates(texts);
            assertEquals(512, states[1].length, "the long text is cut to the model's positions");
            double worst = 0;
            for (int s = 0; s < texts.size(); s++) {
                assertEquals(batch.length(s), states[s].length, "token count of text " + s);
                for (int t = 0; t < states[s].length; t++) {
                    for (int j = 0; j < states[s][t].length; j++) {
                        worst = Math.max(worst, Math.abs(expected[s][t][j] - states[s][t][j]));
                    }
                }
            }
            assertTrue(worst <= MAX_HIDDEN_STATE_DIFFERENCE, "max |Δ| = " + worst);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"scalar", "vector"})
    void lastHiddenStatesAndEmbeddingsMatchOnnxRuntime(String backend) throws Exception {
        EmbedderOptions options = EmbedderOptions.of(BackendProvider.byName(backend));
        try (TextEmbedder embedder = TextEmbedder.bundledMiniLm(options)) {
            float[][][] states = embedder.lastHiddenStates(sentences);
            float[][] vectors = embedder.embed(sentences);
            double worstDifference = 0;
            double worstCosine = 1;
            for (int s = 0; s < SENTENCES; s++) {
                float[][] expected = referenceStates.get(s);
                assertEquals(expected.length, states[s].length, "token count of sentence " + s);
                for (int t = 0; t < expected.length; t++) {
                    for (int j = 0; j < expected[t].length; j++) {
                        worstDifference = Math.max(worstDifference, Math.abs(expected[t][j] - states[s][t][j]));
                    }
                }
                double[] v = new double[vectors[s].length];
                for (int j = 0; j < v.length; j++) {
                    v[j] = vectors[s][j];
                }
                worstCosine = Math.min(worstCosine, SentenceEmbeddings.cosine(v, referenceEmbeddings[s]));
            }
            System.out.printf("%s vs ONNX Runtime on %d sentences: max |Δ hidden| = %.3g, min cosine = %.8f%n",
                    backend, SENTENCES, worstDifference, worstCosine);
            assertTrue(worstDifference <= MAX_HIDDEN_STATE_DIFFERENCE, backend + ": max |Δ| = " + worstDifference);
            assertTrue(worstCosine >= MIN_COSINE, backend + ": min cosine = " + worstCosine);
        }
    }
}
