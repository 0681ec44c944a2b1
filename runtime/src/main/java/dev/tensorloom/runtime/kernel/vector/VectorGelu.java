package dev.tensorloom.runtime.kernel.vector;

import static dev.tensorloom.runtime.kernel.vector.Simd.L;
import static dev.tensorloom.runtime.kernel.vector.Simd.NATIVE;
import static dev.tensorloom.runtime.kernel.vector.Simd.S;

import dev.tensorloom.runtime.kernel.Erf;
import dev.tensorloom.runtime.kernel.Tasks;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * The exact GELU, x·Φ(x) = x/2·(1 + erf(x/√2)), with erf from the same Abramowitz–Stegun 7.1.26 formula
 * as {@link Erf}: erf(|z|) = 1 - t·poly(t)·exp(-z²), t = 1/(1 + p|z|).
 *
 * <p>Writing e = t·poly(t)·exp(-z²), 1 + erf(z) is 2 - e for z ≥ 0 and e itself for z < 0. Using e
 * directly on the negative side avoids computing 1 + (-1 + e) in float, which would lose all significant
 * bits of the small tail values that the oracle, working in double, keeps.
 */
final class VectorGelu {

    private static final float INV_SQRT2 = (float) (1.0 / Math.sqrt(2.0));

    private VectorGelu() {
    }

    static void apply(Tensor x, Tasks tasks) {
        int n = x.cols();
        MemorySegment seg = x.segment();
        long strideBytes = (long) x.leadingDim() * Float.BYTES;
        tasks.forEachRange(x.rows(), 1,
                (from, to) -> inPlace(seg, Rows.byteOffset(x, from), strideBytes, to - from, null, 0, n, true));
    }

    /**
     * x = gelu(x + bias) in place over {@code rows} rows of n floats, the first at byte offset xOff of x (a native
     * or heap segment) and the others strideBytes apart, the bias n floats from biasOff; no bias when it is null,
     * no GELU when not {@code gelu}. A GEMM tile's rows go through in one call: called once a row, the encoder at
     * batch 1 × ~100 tokens ran ~116 batches/s in some JMH forks and ~130 in others, the slow ones with half again
     * as many samples in this loop (most likely whether C2 inlined the per-row call into the tile's flush);
     * rows inside, every fork ran 127-134 (2026-12-01).
     *
     * <p>One masked loop with the formula written in it, and no helper that takes or returns a vector: C2 did not
     * inline such a helper when its call site looked cold or it was already compiled on its own, and then ran the
     * Vector API's Java fallbacks in it, which left whole processes at 0.55x the speed of others (the encoder at
     * batch 32, JMH forks, JFR; 2026-12-01).
     */
    static void inPlace(MemorySegment x, long xOff, long strideBytes, int rows, MemorySegment bias, long biasOff,
            int n, boolean gelu) {
        for (int r = 0; r < rows; r++) {
            long row = xOff + r * strideBytes;
            for (int j = 0; j < n; j += L) {
                VectorMask<Float> m = S.indexInRange(j, n);
                long o = (long) j * Float.BYTES;
                FloatVector v = FloatVector.fromMemorySegment(S, x, row + o, NATIVE, m);
                if (bias != null) {
                    v = v.add(FloatVector.fromMemorySegment(S, bias, biasOff + o, NATIVE, m));
                }
                if (gelu) {
                    FloatVector z = v.mul(INV_SQRT2);
                    FloatVector az = z.abs();
                    FloatVector t = FloatVector.broadcast(S, 1f).div(az.fma(Erf.P, 1f));
                    FloatVector poly = t.fma(Erf.A5, Erf.A4).fma(t, FloatVector.broadcast(S, Erf.A3))
                            .fma(t, FloatVector.broadcast(S, Erf.A2)).fma(t, FloatVector.broadcast(S, Erf.A1))
                            .mul(t);
                    FloatVector e = poly.mul(az.mul(az).neg().lanewise(VectorOperators.EXP));
                    FloatVector onePlusErf = FloatVector.broadcast(S, 2f).sub(e)
                            .blend(e, z.compare(VectorOperators.LT, 0f));
                    v = v.mul(0.5f).mul(onePlusErf);
                }
                v.intoMemorySegment(x, row + o, NATIVE, m);
            }
        }
    }
}
