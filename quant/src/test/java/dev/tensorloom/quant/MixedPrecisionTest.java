package dev.tensorloom.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.runtime.bert.BertWeights;
import dev.tensorloom.runtime.kernel.MatrixPreparer;
import dev.tensorloom.runtime.kernel.Parallelism;
import dev.tensorloom.runtime.kernel.vector.VectorBackend;
import dev.tensorloom.runtime.tokenize.TokenBatch;
import dev.tensorloom.testkit.TinyBertOnnx;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Mixed precision on a small BERT (hidden 128, FFN 256, 2 layers; k of 128 and 256, so no format pads): the measured
 * sensitivities put the bits where they matter, the allocation meets the target average, and at the bits of uniform
 * 3-bit RTN it leaves held-out hidden states closer to fp32 than uniform 3-bit does.
 */
class MixedPrecisionTest {

    private static final VectorBackend BACKEND = new VectorBackend(Parallelism.of(2));
    private static final List<MatrixRecipe> CANDIDATES = List.of(2, 3, 4, 8).stream()
            .map(bits -> MatrixRecipe.rtn(GroupFormat.asymmetric(bits, 128))).toList();

    @Test
    void measuredAllocationMeetsTheTargetAndBeatsUniformAtEqualBits() {
        try (BertWeights weights = TinyBert.weights(TinyBertOnnx.Spec.small().withSizes(50, 128, 2, 4, 256, 16, 2))) {
            Random random = new Random(21);
            List<TokenBatch> calibration = TinyBert.randomTexts(random, 8, 14);
            List<MixedPrecision.Sensitivity> sensitivities = MixedPrecision.measure(weights, BACKEND, calibration,
                    CANDIDATES, Map.of(), Gptq.Options.defaults(), m -> { });
            assertEquals(12, sensitivities.size());
            for (MixedPrecision.Sensitivity s : sensitivities) {
                // More bits, less error, for every matrix.
                for (int i = 1; i < CANDIDATES.size(); i++) {
                    assertTrue(s.relativeError()[i] < s.relativeError()[i - 1], s.toString());
                }
            }

            QuantizedBert uniform = ModelQuantizer.quantize(weights, QuantPolicy.uniform(CANDIDATES.get(1)));
            double target = uniform.bitsPerWeight();
            QuantPolicy policy = MixedPrecision.allocate(sensitivities, target);
            QuantizedBert mixed = ModelQuantizer.quantize(weights, policy);
            Set<MatrixRecipe> used = sensitivities.stream().map(s -> policy.recipe(s.layer(), s.component()))
                    .collect(Collectors.toSet());
            System.out.printf("mixed precision at %.4f bits per weight (target %.4f): %s%n", mixed.bitsPerWeight(),
                    target, sensitivities.stream().map(s -> s.layer() + "." + s.component().shortName() + "="
                            + policy.recipe(s.layer(), s.component()).format().bits()).toList());
            assertTrue(mixed.bitsPerWeight() <= target + 1e-12, mixed.bitsPerWeight() + " > " + target);
            assertTrue(used.size() > 1, "a mixed allocation uses more than one width: " + used);

            List<TokenBatch> heldOut = TinyBert.randomTexts(random, 12, 14);
            float[] fp32 = TinyBert.hidden(weights, BACKEND, MatrixPreparer.dense(BACKEND), heldOut);
            double mixedError = TinyBert.distance(fp32, TinyBert.hidden(weights, BACKEND, mixed.preparer(BACKEND),
                    heldOut));
            double uniformError = TinyBert.distance(fp32, TinyBert.hidden(weights, BACKEND,
                    uniform.preparer(BACKEND), heldOut));
            System.out.printf("held-out hidden-state error: mixed %.4g, uniform 3-bit %.4g%n", mixedError, uniformError);
            assertTrue(mixedError < uniformError, "mixed " + mixedError + " against uniform " + uniformError);

            assertThrows(IllegalArgumentException.class, () -> MixedPrecision.allocate(sensitivities, 2.0));
        }
    }
}
