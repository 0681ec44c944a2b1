package dev.tensorloom.outside;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.runtime.bert.BertEncoder;
import dev.tensorloom.runtime.bert.BertOnnxLoader;
import dev.tensorloom.runtime.bert.BertWeights;
import dev.tensorloom.runtime.bert.HiddenStates;
import dev.tensorloom.runtime.embed.ModelFiles;
import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.BackendProvider;
import dev.tensorloom.runtime.kernel.MatrixPreparer;
import dev.tensorloom.runtime.onnx.OnnxModel;
import dev.tensorloom.runtime.tokenize.TokenBatch;
import dev.tensorloom.testkit.BundledMiniLm;
import dev.tensorloom.testkit.OnnxRuntimeEncoder;
import dev.tensorloom.testkit.TinyBertOnnx;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The encoder takes a {@link dev.tensorloom.runtime.kernel.PreparedMatrix} made outside runtime unchanged: with
 * every projection in {@link TransposedWeights}, its hidden states still match ONNX Runtime's on the same model,
 * on every backend.
 */
class PreparedMatrixFromOutsideTest {

    /** "[CLS] the quick brown fox jumps [SEP]" and a shorter, padded second text. */
    private static final long[][] IDS = {{101, 1996, 4248, 2829, 4419, 14523, 102}, {101, 7592, 2088, 102, 0, 0, 0}};
    private static final long[][] MASK = {{1, 1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 0, 0, 0}};

    @Test
    void miniLmWithForeignMatricesMatchesOnnxRuntime() throws Exception {
        float[][][] expected;
        try (OnnxRuntimeEncoder ort = OnnxRuntimeEncoder.open(BundledMiniLm.modelBytes(), 2)) {
            expected = ort.lastHiddenState(IDS, MASK, new long[2][7]);
        }
        try (BertWeights weights = BertOnnxLoader.load(ModelFiles.bundledMiniLm().onnx())) {
            for (String backend : new String[] {"scalar", "vector"}) {
                assertMatches(expected, weights, BackendProvider.byName(backend));
            }
        }
    }

    @Test
    void tinyBertWithForeignMatricesMatchesOnnxRuntimeOnTheCudaBackend() throws Exception {
        TinyBertOnnx tiny = TinyBertOnnx.build(TinyBertOnnx.Spec.small());
        long[][] ids = {{1, 7, 3, 9, 2, 4}, {1, 5, 8, 2, 0, 0}};
        long[][] mask = {{1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 0, 0}};
        long[][] types = new long[2][6];
        float[][][] expected;
        try (OnnxRuntimeEncoder ort = OnnxRuntimeEncoder.open(tiny.bytes(), 2)) {
            expected = ort.lastHiddenState(ids, mask, types);
        }
        try (OnnxModel model = OnnxModel.read(tiny.bytes(), "tiny.onnx");
                BertWeights weights = BertOnnxLoader.load(model)) {
            assertMatches(expected, weights, ids, mask, BackendProvider.byName("cuda"));
        }
    }

    private static void assertMatches(float[][][] expected, BertWeights weights, Backend backend) {
        assertMatches(expected, weights, IDS, MASK, backend);
    }

    private static void assertMatches(float[][][] expected, BertWeights weights, long[][] ids, long[][] mask,
            Backend backend) {
        List<String> asked = new ArrayList<>();
        MatrixPreparer transposed = TransposedWeights.on(backend);
        MatrixPreparer recording = (name, weight, arena) -> {
            asked.add(name);
            return transposed.prepare(name, weight, arena);
        };
        try (BertEncoder encoder = new BertEncoder(weights, backend, recording); Arena arena = Arena.ofConfined()) {
            int layers = weights.layers().size();
            assertEquals(4 * layers, asked.size(), asked.toString());
            assertEquals("layers.0.attention.qkv", asked.get(0));
            assertEquals("layers." + (layers - 1) + ".output", asked.get(asked.size() - 1));
            int hidden = weights.config().hiddenSize();
            long perLayer = 3L * hidden * hidden + (long) hidden * hidden
                    + 2L * hidden * weights.config().intermediateSize();
            assertEquals(layers * perLayer * Float.BYTES, encoder.projectionBytes());

            TokenBatch batch = HiddenStates.batch(ids, new long[ids.length][ids[0].length], mask);
            double largest = HiddenStates.maxDifference(encoder.forward(batch, arena), batch, expected);
            // The tolerance of runtime's own parity tests against ONNX Runtime.
            assertTrue(largest <= 1e-4, () -> backend.name() + ": largest difference from ONNX Runtime " + largest);
        }
    }
}
