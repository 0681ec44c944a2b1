package dev.tensorloom.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** GPTQ's claims that need no model: where it must equal RTN, its dead inputs, its damping and its refusals. */
class GptqTest {

    /** Calibration inputs that are multiples of the unit vectors: H is diagonal. */
    private static Hessian diagonalHessian(Arena arena, int k) {
        Hessian h = new Hessian(k);
        float[] x = new float[k * k];
        for (int p = 0; p < k; p++) {
            x[p * k + p] = 1 + p % 5;
        }
        h.accumulate(Tensor.of(arena, x, k, k));
        return h;
    }

    @Test
    void withADiagonalHessianThereIsNoErrorToSpreadAndGptqIsRtn() {
        // U is diagonal, so no rounding error reaches another channel: every code is RTN's.
        Random random = new Random(1);
        int k = 192;
        int n = 9;
        try (Arena arena = Arena.ofConfined()) {
            Tensor w = Tensor.of(arena, QuantKernelsContract.gaussians(random, k * n, 0.1), k, n);
            Hessian h = diagonalHessian(arena, k);
            for (GroupFormat f : new GroupFormat[] {GroupFormat.symmetric(3, 64), GroupFormat.asymmetric(4, 32),
                    GroupFormat.symmetric(2, GroupFormat.PER_CHANNEL)}) {
                for (boolean actOrder : new boolean[] {false, true}) {
                    PackedWeights gptq = Gptq.quantize(w, h, f, Gptq.Options.defaults().withActOrder(actOrder));
                    PackedWeights rtn = Rtn.quantize(w, f);
                    for (int p = 0; p < k; p++) {
                        for (int j = 0; j < n; j++) {
                            assertEquals(rtn.value(p, j), gptq.value(p, j), f + " act-order " + actOrder);
                        }
                    }
                }
            }
        }
    }

    @Test
    void aLayerWiderThanEjmlsBlockedThresholdFactorsToo() {
        // k = 1024: EJML factors with its blocked Cholesky from k = 1000 up (MiniLM's FFN down has k = 1536).
        Random random = new Random(6);
        int k = 1024;
        try (Arena arena = Arena.ofConfined()) {
            Tensor w = Tensor.of(arena, QuantKernelsContract.gaussians(random, k * 2, 0), k, 2);
            GroupFormat f = GroupFormat.asymmetric(4, 128);
            PackedWeights gptq = Gptq.quantize(w, diagonalHessian(arena, k), f, Gptq.Options.defaults());
            PackedWeights rtn = Rtn.quantize(w, f);
            for (int p = 0; p < k; p++) {
                for (int j = 0; j < 2; j++) {
                    assertEquals(rtn.value(p, j), gptq.value(p, j));
                }
            }
        }
    }

    @Test
    void correlatedInputsMakeGptqBeatRtnOnTheCalibrationObjective() {
        // Inputs with strongly correlated channels: the case error feedback exists for.
        Random random = new Random(2);
        int k = 128;
        int n = 16;
        int samples = 512;
        try (Arena arena = Arena.ofConfined()) {
            float[] x = correlatedInputs(random, samples, k, p -> 1, 0.3);
            Hessian h = new Hessian(k);
            h.accumulate(Tensor.of(arena, x, samples, k));
            float[] wv = QuantKernelsContract.gaussians(random, k * n, 0);
            Tensor w = Tensor.of(arena, wv, k, n);
            GroupFormat f = GroupFormat.asymmetric(3, 32);
            double rtn = outputError(x, samples, wv, Rtn.quantize(w, f));
            double gptq = outputError(x, samples, wv, Gptq.quantize(w, h, f, Gptq.Options.defaults()));
            assertTrue(gptq < 0.8 * rtn, "GPTQ " + gptq + " against RTN " + rtn);
        }
    }

    @Test
    void lazyBlockUpdatesGiveTheSameCodesAsUpdatingEveryChannelAtOnce() {
        // Deferring the updates to later blocks reorders the arithmetic but not the result: block sizes 1 (every
        // update deferred), 7 (blocks that do not divide k) and k (none deferred) agree, but for codes that a
        // last-bit difference in float64 may tip at a rounding tie.
        Random random = new Random(5);
        int k = 96;
        int n = 12;
        int samples = 300;
        try (Arena arena = Arena.ofConfined()) {
            float[] x = correlatedInputs(random, samples, k, p -> p % 3, 1);
            Hessian h = new Hessian(k);
            h.accumulate(Tensor.of(arena, x, samples, k));
            Tensor w = Tensor.of(arena, QuantKernelsContract.gaussians(random, k * n, 0), k, n);
            GroupFormat f = GroupFormat.asymmetric(3, 32);
            PackedWeights whole = Gptq.quantize(w, h, f, new Gptq.Options(k, 0.01, 6, true));
            for (int block : new int[] {1, 7}) {
                PackedWeights lazy = Gptq.quantize(w, h, f, new Gptq.Options(block, 0.01, 6, true));
                int differ = 0;
                for (int p = 0; p < k; p++) {
                    for (int j = 0; j < n; j++) {
                        differ += lazy.code(p, j) != whole.code(p, j) ? 1 : 0;
                    }
                }
                assertTrue(differ <= 2, "block " + block + ": " + differ + " of " + k * n + " codes differ");
            }
        }
    }

    @Test
    void deadInputsGetZeroWeight() {
        int k = 64;
        try (Arena arena = Arena.ofConfined()) {
            float[] x = new float[4 * k];
            Random random = new Random(3);
            for (int i = 0; i < x.length; i++) {
                x[i] = i % k == 7 ? 0 : (float) random.nextGaussian();
            }
            Hessian h = new Hessian(k);
            h.accumulate(Tensor.of(arena, x, 4, k));
            Tensor w = Tensor.of(arena, QuantKernelsContract.gaussians(random, k * 3, 1), k, 3);
            PackedWeights q = Gptq.quantize(w, h, GroupFormat.asymmetric(4, 32), Gptq.Options.defaults());
            for (int j = 0; j < 3; j++) {
                assertEquals(0f, q.value(7, j));
            }
        }
    }

    @Test
    void anIndefiniteHessianIsDampedUntilItFactorsOrRefusedByName() {
        // Eigenvalues 3 and -1: H + λI is indefinite for λ = 0.01 and 0.1, singular for λ = 1 (it factors in
        // rounding, with a pivot of 1e-8: refused as ill-conditioned), and well-conditioned for λ = 10.
        double[] h = {1, 2, 2, 1};
        Gptq.Options few = new Gptq.Options(128, 0.01, 2, false);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> Gptq.upperCholeskyOfInverse(h.clone(), 2, few));
        assertTrue(e.getMessage().contains("after 2 damping retries"), e.getMessage());
        double[] u = Gptq.upperCholeskyOfInverse(h.clone(), 2, new Gptq.Options(128, 0.01, 3, false));
        // λ = 10: UᵀU = (H + 10 I)⁻¹ = [[11, 2], [2, 11]]⁻¹ = [[11, -2], [-2, 11]] / 117.
        double[] expected = {11 / 117.0, -2 / 117.0, -2 / 117.0, 11 / 117.0};
        assertEquals(0, u[2]);
        for (int r = 0; r < 2; r++) {
            for (int c = 0; c < 2; c++) {
                double utu = 0;
                for (int i = 0; i < 2; i++) {
                    utu += u[i * 2 + r] * u[i * 2 + c];
                }
                assertEquals(expected[r * 2 + c], utu, 1e-12);
            }
        }
    }

    @Test
    void emptyCalibrationAndMismatchedShapesAreRefused() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor w = Tensor.allocate(arena, 64, 2);
            IllegalStateException empty = assertThrows(IllegalStateException.class,
                    () -> Gptq.quantize(w, new Hessian(64), GroupFormat.symmetric(4, 32), Gptq.Options.defaults()));
            assertTrue(empty.getMessage().contains("no calibration inputs"), empty.getMessage());
            IllegalArgumentException shape = assertThrows(IllegalArgumentException.class,
                    () -> Gptq.quantize(w, new Hessian(32), GroupFormat.symmetric(4, 32), Gptq.Options.defaults()));
            assertTrue(shape.getMessage().contains("the Hessian is 32x32"), shape.getMessage());
            // All-zero calibration inputs: every input is dead, so every weight is 0 (GPTQ's rule, not an error).
            Hessian zeros = new Hessian(64);
            zeros.accumulate(Tensor.allocate(arena, 3, 64));
            Tensor ones = Tensor.of(arena, QuantKernelsContract.gaussians(new Random(4), 128, 1), 64, 2);
            PackedWeights dead = Gptq.quantize(ones, zeros, GroupFormat.symmetric(4, 32), Gptq.Options.defaults());
            for (int p = 0; p < 64; p++) {
                assertEquals(0f, dead.value(p, 0));
                assertEquals(0f, dead.value(p, 1));
            }
        }
    }

    /** samples × k inputs x[s, p] = c_s·share(p) + noise·N(0,1): channels correlated through c_s ~ N(0,1). */
    private static float[] correlatedInputs(Random random, int samples, int k,
            java.util.function.IntToDoubleFunction share, double noise) {
        float[] x = new float[samples * k];
        for (int s = 0; s < samples; s++) {
            double common = random.nextGaussian();
            for (int p = 0; p < k; p++) {
                x[s * k + p] = (float) (common * share.applyAsDouble(p) + noise * random.nextGaussian());
            }
        }
        return x;
    }

    /** ||X·W - X·Ŵ||_F in float64, X [samples, k] and W [k, n] row-major. */
    static double outputError(float[] x, int samples, float[] w, PackedWeights q) {
        int k = q.rows();
        int n = q.cols();
        float[] wq = QuantKernelsContract.dequantized(q);
        double sum = 0;
        for (int s = 0; s < samples; s++) {
            for (int j = 0; j < n; j++) {
                double d = 0;
                for (int p = 0; p < k; p++) {
                    d += (double) x[s * k + p] * (w[p * n + j] - wq[p * n + j]);
                }
                sum += d * d;
            }
        }
        return Math.sqrt(sum);
    }
}
