package dev.tensorloom.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.runtime.bert.BertEncoder;
import dev.tensorloom.runtime.kernel.MatrixPreparer;
import dev.tensorloom.runtime.kernel.Parallelism;
import dev.tensorloom.runtime.kernel.vector.VectorBackend;
import dev.tensorloom.testkit.WordNetSentences;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The model quantizer on the bundled MiniLM with calibration activations captured by running the real encoder on
 * WordNet glosses, judged on other glosses: the two slices share no sentence. GPTQ on layer 0 (all six matrices,
 * 3 bits, group 128) keeps held-out sentence embeddings closer to fp32 than RTN of the same policy.
 */
class ModelQuantizerMiniLmTest {

    /** Calibration: the first 128 glosses; evaluation: glosses 1000 to 1031, as QuantizedMiniLmTest's. */
    private static final List<String> CALIBRATION = WordNetSentences.glosses(128);
    private static final List<String> EVALUATION = WordNetSentences.glosses(1032).subList(1000, 1032);

    @Test
    void calibrationAndEvaluationTextNeverOverlap() {
        Set<String> shared = new HashSet<>(CALIBRATION);
        shared.retainAll(Set.copyOf(EVALUATION));
        assertEquals(Set.of(), shared);
        assertEquals(128, Set.copyOf(CALIBRATION).size());
    }

    @Test
    void gptqFromRealCalibrationBeatsRtnOnHeldOutText() {
        VectorBackend backend = new VectorBackend(Parallelism.of(2));
        try (MiniLm model = MiniLm.open()) {
            GroupFormat format = GroupFormat.asymmetric(3, 128);
            Set<Component> all = EnumSet.allOf(Component.class);
            QuantPolicy policy = QuantPolicy.fp32().with(Set.of(0), all, MatrixRecipe.gptq(format));
            Map<String, Hessian> hessians = ModelQuantizer.calibrate(model.weights, backend, model.tokenizer,
                    CALIBRATION, policy, text -> { });
            // Only layer 0's four matrices (Q, K and V fused) are observed: the policy quantizes no other by GPTQ.
            assertEquals(Set.of("layers.0.attention.qkv", "layers.0.attention.output", "layers.0.intermediate",
                    "layers.0.output"), hessians.keySet());
            QuantizedBert gptq = ModelQuantizer.quantize(model.weights, policy, hessians, Gptq.Options.defaults(),
                    n -> { });
            QuantizedBert rtn = ModelQuantizer.quantize(model.weights, QuantPolicy.fp32().with(Set.of(0), all,
                    MatrixRecipe.rtn(format)));
            double[][] reference;
            try (BertEncoder fp32 = model.encoder(backend, MatrixPreparer.dense(backend))) {
                reference = model.embed(fp32, EVALUATION);
            }
            double gptqMean = meanCosine(model, backend, gptq, reference);
            double rtnMean = meanCosine(model, backend, rtn, reference);
            System.out.printf("MiniLM layer 0 at %s: held-out mean cosine GPTQ %.5f, RTN %.5f%n", format, gptqMean,
                    rtnMean);
            assertTrue(gptqMean > rtnMean, () -> "GPTQ " + gptqMean + " against RTN " + rtnMean);
        }
    }

    private static double meanCosine(MiniLm model, VectorBackend backend, QuantizedBert q, double[][] reference) {
        try (BertEncoder encoder = model.encoder(backend, q.preparer(backend))) {
            return Arrays.stream(MiniLm.cosines(reference, model.embed(encoder, EVALUATION))).average().orElseThrow();
        }
    }
}
