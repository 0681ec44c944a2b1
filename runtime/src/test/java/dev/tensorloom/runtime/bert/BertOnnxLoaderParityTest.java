package dev.tensorloom.runtime.bert;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.tensorloom.runtime.onnx.OnnxModel;
import dev.tensorloom.runtime.testing.MiniLmResource;
import dev.tensorloom.runtime.testing.TinyBertOnnx;
import dev.tensorloom.runtime.testing.TinyBertOnnx.KeyTranspose;
import dev.tensorloom.runtime.testing.TinyBertOnnx.LayerNormForm;
import dev.tensorloom.runtime.testing.TinyBertOnnx.PositionIds;
import dev.tensorloom.runtime.testing.TinyBertOnnx.Spec;
import java.nio.file.Files;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * ONNX Runtime runs a model; {@link ReferenceBertEncoder} runs BERT on the weights the loader took from the
 * same model. Equal outputs mean every weight got the role the graph gives it, for the synthetic
 * {@link TinyBertOnnx} variants (which also shows ONNX Runtime accepts them) and for the real MiniLM.
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
        TinyBertOnnx tiny = TinyBertOnnx.build(spec);
        byte[] bytes = tiny.bytes();
        float[][][] expected = runOnnxRuntime(bytes, TINY_IDS, spec.typeVocabSize() > 0 ? TINY_TYPES : null,
                TINY_MASK);
        try (OnnxModel model = OnnxModel.read(bytes, "tiny.onnx"); BertWeights w = BertOnnxLoader.load(model)) {
            assertClose(expected, new ReferenceBertEncoder(w), TINY_IDS, TINY_TYPES, TINY_MASK, 1e-4);
        }
    }

    @Test
    void miniLmMatchesOnnxRuntime() throws Exception {
        // "[CLS] the quick brown fox jumps [SEP]" and a shorter, padded second sequence.
        long[][] ids = {{101, 1996, 4248, 2829, 4419, 14523, 102}, {101, 7592, 2088, 102, 0, 0, 0}};
        long[][] types = new long[2][7];
        long[][] mask = {{1, 1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 0, 0, 0}};
        float[][][] expected = runOnnxRuntime(Files.readAllBytes(MiniLmResource.modelFile()), ids, types, mask);
        try (BertWeights w = BertOnnxLoader.load(MiniLmResource.modelFile())) {
            assertClose(expected, new ReferenceBertEncoder(w), ids, types, mask, 2e-4);
        }
    }

    private static void assertClose(float[][][] expected, ReferenceBertEncoder reference, long[][] ids,
            long[][] types, long[][] mask, double tolerance) {
        double worst = 0;
        for (int b = 0; b < ids.length; b++) {
            double[][] actual = reference.encode(ids[b], types[b], mask[b]);
            for (int t = 0; t < actual.length; t++) {
                for (int j = 0; j < actual[t].length; j++) {
                    worst = Math.max(worst, Math.abs(actual[t][j] - expected[b][t][j]));
                }
            }
        }
        double w = worst;
        assertTrue(w <= tolerance, () -> "largest difference from ONNX Runtime: " + w);
    }

    private static float[][][] runOnnxRuntime(byte[] model, long[][] ids, long[][] types, long[][] mask)
            throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(2);
            try (OrtSession session = env.createSession(model, options)) {
                Map<String, ai.onnxruntime.OnnxTensor> inputs = new HashMap<>();
                try {
                    inputs.put("input_ids", ai.onnxruntime.OnnxTensor.createTensor(env, ids));
                    inputs.put("attention_mask", ai.onnxruntime.OnnxTensor.createTensor(env, mask));
                    if (types != null) {
                        inputs.put("token_type_ids", ai.onnxruntime.OnnxTensor.createTensor(env, types));
                    }
                    try (OrtSession.Result result = session.run(inputs)) {
                        return (float[][][]) result.get("last_hidden_state").orElseThrow().getValue();
                    }
                } finally {
                    inputs.values().forEach(ai.onnxruntime.OnnxTensor::close);
                }
            }
        }
    }
}
