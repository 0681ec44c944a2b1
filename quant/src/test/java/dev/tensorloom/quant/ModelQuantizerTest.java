package dev.tensorloom.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.runtime.bert.BertWeights;
import dev.tensorloom.runtime.kernel.MatrixPreparer;
import dev.tensorloom.runtime.kernel.Parallelism;
import dev.tensorloom.runtime.kernel.vector.VectorBackend;
import dev.tensorloom.runtime.tokenize.TokenBatch;
import java.lang.foreign.Arena;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The model quantizer and its per-component policies on a tiny two-layer BERT (hidden 32, FFN 64): a uniform policy
 * is exactly the whole-matrix preparer of before, and a policy that stores each matrix differently (fp32, RTN and
 * GPTQ at several widths, ggml blocks; Q, K and V apart inside the fused matrix) computes what the dense model with
 * the dequantized weights computes.
 */
class ModelQuantizerTest {

    private static final VectorBackend BACKEND = new VectorBackend(Parallelism.of(2));
    private static final BertWeights WEIGHTS = TinyBert.weights(8);

    @AfterAll
    static void close() {
        WEIGHTS.close();
    }

    @Test
    void aUniformRtnPolicyIsTheWholeMatrixRtnPreparer() {
        GroupFormat format = GroupFormat.asymmetric(3, 32);
        List<TokenBatch> texts = TinyBert.randomTexts(new Random(1), 4, 11);
        QuantizedBert model = ModelQuantizer.quantize(WEIGHTS, QuantPolicy.uniform(MatrixRecipe.rtn(format)));
        float[] expected = TinyBert.hidden(WEIGHTS, BACKEND, QuantizedMatrix.rtn(BACKEND, format), texts);
        assertArrayEquals(expected, TinyBert.hidden(WEIGHTS, BACKEND, model.preparer(BACKEND), texts));
        // Per layer: Q, K, V, O [32, 32] and FFN up [32, 64] pad their 1-bit plane to 128 codes (8 bits of codes
        // per weight at k = 32); FFN down [64, 32] pads it to 128 of 64 (4 bits); + 24/32 for scale and zero point.
        assertEquals((4 * 1024 * 8.75 + 2048 * 8.75 + 2048 * 4.75) / (4 * 1024 + 2 * 2048), model.bitsPerWeight(), 1e-12);
    }

    @Test
    void everyStoredFormMultipliesAsItsDequantizedWeights() {
        Random random = new Random(2);
        Map<String, Hessian> hessians = new HashMap<>();
        MatrixPreparer collecting = Hessian.collecting(MatrixPreparer.dense(BACKEND), hessians);
        TinyBert.hidden(WEIGHTS, BACKEND, collecting, TinyBert.randomTexts(random, 30, 12));

        QuantPolicy policy = QuantPolicy.fp32()
                .with(EnumSet.of(Component.QUERY), MatrixRecipe.rtn(GroupFormat.symmetric(8, 32)))
                .with(EnumSet.of(Component.VALUE), MatrixRecipe.ggml(GgmlType.Q8_0))
                .with(EnumSet.of(Component.ATTENTION_OUTPUT), MatrixRecipe.gptq(GroupFormat.asymmetric(4, 32)))
                .with(EnumSet.of(Component.FFN_UP), MatrixRecipe.rtn(GroupFormat.symmetric(2, GroupFormat.PER_CHANNEL)))
                .with(EnumSet.of(Component.FFN_DOWN), MatrixRecipe.ggml(GgmlType.Q4_0))
                .with(Set.of(1), Component.FFN, MatrixRecipe.fp32())
                .with(1, Component.KEY, MatrixRecipe.gptq(GroupFormat.symmetric(3, 32)));
        QuantizedBert model = ModelQuantizer.quantize(WEIGHTS, policy, hessians, Gptq.Options.defaults(), n -> { });
        for (int layer = 0; layer < 2; layer++) {
            for (Component c : Component.values()) {
                assertEquals(policy.recipe(layer, c), model.matrix(layer, c).recipe(), "layer " + layer + " " + c);
            }
        }
        assertEquals(MatrixRecipe.fp32(), model.matrix(0, Component.KEY).recipe());
        assertEquals(MatrixRecipe.fp32(), model.matrix(1, Component.FFN_UP).recipe());

        List<TokenBatch> texts = TinyBert.randomTexts(random, 4, 13);
        float[] quantized = TinyBert.hidden(WEIGHTS, BACKEND, model.preparer(BACKEND), texts);
        try (Arena arena = Arena.ofShared()) {
            BertWeights dense = TinyBert.dequantized(WEIGHTS, model, arena);
            float[] expected = TinyBert.hidden(dense, BACKEND, MatrixPreparer.dense(BACKEND), texts);
            // LayerNorm outputs of size ~1; the two paths differ only in the order of fp32 sums of 32 to 64 terms.
            for (int i = 0; i < expected.length; i++) {
                assertEquals(expected[i], quantized[i], 1e-4, "hidden value " + i);
            }
            // The fp32 original is measurably elsewhere: the quantized forms are really in use.
            float[] original = TinyBert.hidden(WEIGHTS, BACKEND, MatrixPreparer.dense(BACKEND), texts);
            assertTrue(TinyBert.distance(original, quantized) > 1e-2);
        }
    }

    @Test
    void theLastMatchingRuleDecidesAndUnmatchedMatricesStayFp32() {
        MatrixRecipe four = MatrixRecipe.rtn(GroupFormat.symmetric(4, 128));
        MatrixRecipe two = MatrixRecipe.gptq(GroupFormat.asymmetric(2, 64));
        QuantPolicy policy = QuantPolicy.fp32().with(Component.ATTENTION, four).with(Set.of(3, 5), Component.ATTENTION,
                two).with(5, Component.KEY, MatrixRecipe.fp32());
        assertEquals(four, policy.recipe(0, Component.QUERY));
        assertEquals(two, policy.recipe(3, Component.ATTENTION_OUTPUT));
        assertEquals(two, policy.recipe(5, Component.VALUE));
        assertEquals(MatrixRecipe.fp32(), policy.recipe(5, Component.KEY));
        assertEquals(MatrixRecipe.fp32(), policy.recipe(3, Component.FFN_UP));
        assertTrue(policy.needsCalibration(4));
        assertTrue(!policy.needsCalibration(3));
        assertEquals(Component.FFN_DOWN, Component.parse("down"));
        assertThrows(IllegalArgumentException.class, () -> Component.parse("gate"));
    }

    @Test
    void gptqWithoutCalibrationIsRefusedByMatrix() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelQuantizer.quantize(
                WEIGHTS, QuantPolicy.fp32().with(1, Component.VALUE, MatrixRecipe.gptq(GroupFormat.symmetric(4, 32)))));
        assertTrue(e.getMessage().startsWith("layers.1.value (GPTQ 4-bit g32 symmetric): GPTQ needs a calibration "
                + "Hessian"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ModelQuantizer.quantize(WEIGHTS,
                QuantPolicy.uniform(MatrixRecipe.rtn(GroupFormat.symmetric(4, 128)))));
        assertTrue(e.getMessage().startsWith("layers.0.query (RTN 4-bit g128 symmetric): k = 32 is not a multiple"),
                e.getMessage());
    }
}
