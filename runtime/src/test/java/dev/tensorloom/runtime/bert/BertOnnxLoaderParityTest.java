package dev.tensorloom.runtime.bert;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtException;
import dev.tensorloom.runtime.embed.ModelFiles;
import dev.tensorloom.runtime.kernel.BackendProvider;
import dev.tensorloom.runtime.onnx.OnnxModel;
import dev.tensorloom.runtime.tokenize.TokenBatch;
import dev.tensorloom.testkit.BundledMiniLm;
import dev.tensorloom.testkit.OnnxRuntimeEncoder;
import dev.tensorloom.testkit.TinyBertOnnx.KeyTranspose;
import dev.tensorloom.testkit.TinyBertOnnx.LayerNormForm;
import dev.tensorloom.testkit.TinyBertOnnx.PositionIds;
import dev.tensorloom.testkit.TinyBertOnnx.Spec;
import dev.tensorloom.testkit.TinyBertOnnx;
import java.lang.foreign.Arena;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * ONNX Runtime runs a model; tensorloom runs BERT on the weights the loader took from the same model, with
 * the float64 {@link ReferenceBertEncoder} and with {@link BertEncoder} on every kernel backend. Equal
 * outputs mean every weight got the role the graph gives it and the encoder computes BERT, for the
 * synthetic {@link TinyBertOnnx} variants (other sizes and export forms than MiniLM) and for MiniLM itself.
 */
class BertOnnxLoaderParityTest {

    /** Two sequences, the second padded: [batch, seq] ids, token types and mask. */
    private static final long[][] TINY_IDS = {{1, 7, 3, 9, 2, 4}, {1, 5, 8, 2, 0, 0}};
    private static final long[][] TINY_TYPES = {{0, 0, 0, 1, 1, 1}, {0, 0, 1, 1, 0, 0}};
    private static final long[][] TINY_MASK = {{1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 0, 0}};

    static Stream<Spec> variants() {
        Spec small = Spec.small();
        return Stream.of(small, small.with(LayerNormForm.FUSED), small.with(KeyTranspose.DOUBLE),
                small.with(PositionIds.RANGE), small.withSizes(30, 24, 3, 2, 40, 10, 0).withSeed(3));
    }

    @ParameterizedTest
    @MethodSource("variants")
    void tinyBertMatchesOnnxRuntime(Spec spec) throws Exception {
        byte[] bytes = TinyBertOnnx.build(spec).bytes();
        long[][] types = spec.typeVocabSize() > 0 ? TINY_TYPES : new long[TINY_IDS.length][TINY_IDS[0].length];
        float[][][] expected = runOnnxRuntime(bytes, TINY_IDS, types, TINY_MASK);
        try (OnnxModel model = OnnxModel.read(bytes, "tiny.onnx"); BertWeights w = BertOnnxLoader.load(model)) {
            assertAllClose(expected, w, TINY_IDS, types, TINY_MASK, 1e-4);
        }
    }

    @Test
    void miniLmMatchesOnnxRuntime() throws Exception {
        // "[CLS] the quick brown fox jumps [SEP]" and a shorter, padded second sequence.
        long[][] ids = {{101, 1996, 4248, 2829, 4419, 14523, 102}, {101, 7592, 2088, 102, 0, 0, 0}};
        long[][] types = new long[2][7];
        long[][] mask = {{1, 1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 0, 0, 0}};
        float[][][] expected = runOnnxRuntime(BundledMiniLm.modelBytes(), ids, types, mask);
        try (BertWeights w = BertOnnxLoader.load(ModelFiles.bundledMiniLm().onnx())) {
            assertAllClose(expected, w, ids, types, mask, 1e-4);
        }
    }

    private static void assertAllClose(float[][][] expected, BertWeights weights, long[][] ids, long[][] types,
            long[][] mask, double tolerance) {
        ReferenceBertEncoder reference = new ReferenceBertEncoder(weights);
        double worst = 0;
        for (int b = 0; b < ids.length; b++) {
            double[][] actual = reference.encode(ids[b], types[b], mask[b]);
            for (int t = 0; t < actual.length; t++) {
                for (int j = 0; j < actual[t].length; j++) {
                    worst = Math.max(worst, Math.abs(actual[t][j] - expected[b][t][j]));
                }
            }
        }
        assertWithin(tolerance, worst, "float64 reference");

        TokenBatch batch = HiddenStates.batch(ids, types, mask);
        for (String backend : new String[] {"scalar", "vector"}) {
            try (BertEncoder encoder = new BertEncoder(weights, BackendProvider.byName(backend));
                    Arena arena = Arena.ofConfined()) {
                double diff = HiddenStates.maxDifference(encoder.forward(batch, arena), batch, expected);
                assertWithin(tolerance, diff, backend + " encoder");
            }
        }
    }

    private static void assertWithin(double tolerance, double worst, String what) {
        assertTrue(worst <= tolerance, () -> what + ": largest difference from ONNX Runtime " + worst);
    }

    private static float[][][] runOnnxRuntime(byte[] model, long[][] ids, long[][] types, long[][] mask)
            throws OrtException {
        try (OnnxRuntimeEncoder ort = OnnxRuntimeEncoder.open(model, 2)) {
            return ort.lastHiddenState(ids, mask, types);
        }
    }
}
