package dev.tensorloom.runtime.kernel.vector;

import static dev.tensorloom.runtime.kernel.vector.Simd.L;
import static dev.tensorloom.runtime.kernel.vector.Simd.NATIVE;
import static dev.tensorloom.runtime.kernel.vector.Simd.S;

import dev.tensorloom.runtime.kernel.Tasks;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * Per-row normalizations: layer norm and L2 normalization. The mean and variance take two passes, as in the
 * oracle, rather than Σx and Σx² in one: for rows with a large mean the one-pass variance cancels badly.
 */
final class VectorRowNorms {

    private VectorRowNorms() {
    }

    static void layerNorm(Tensor x, Tensor gamma, Tensor beta, float epsilon, Tasks tasks) {
        int n = x.cols();
        MemorySegment xs = x.segment();
        tasks.forEachRow(x.rows(), i -> {
            long row = Rows.byteOffset(x, i);
            normalize(xs, row, n, sum(xs, row, n) / n, gamma, beta, epsilon);
        });
    }

    /**
     * The n floats at row, whose mean is given, become (x - mean)/sqrt(var + eps)·gamma + beta, the variance
     * taken in a second pass around that mean.
     */
    static void normalize(MemorySegment xs, long row, int n, float mean, Tensor gamma, Tensor beta,
            float epsilon) {
        MemorySegment gs = gamma.segment();
        MemorySegment bs = beta.segment();
        long g0 = Rows.start(gamma);
        long b0 = Rows.start(beta);
        float variance = squaredDeviations(xs, row, n, mean) / n;
        FloatVector inv = FloatVector.broadcast(S, (float) (1.0 / Math.sqrt(variance + epsilon)));
        FloatVector shift = FloatVector.broadcast(S, mean);
        int bound = S.loopBound(n);
        for (int j = 0; j < bound; j += L) {
            long o = (long) j * Float.BYTES;
            FloatVector.fromMemorySegment(S, xs, row + o, NATIVE).sub(shift).mul(inv)
                    .fma(FloatVector.fromMemorySegment(S, gs, g0 + o, NATIVE),
                            FloatVector.fromMemorySegment(S, bs, b0 + o, NATIVE))
                    .intoMemorySegment(xs, row + o, NATIVE);
        }
        if (bound < n) {
            VectorMask<Float> tail = S.indexInRange(bound, n);
            long o = (long) bound * Float.BYTES;
            FloatVector.fromMemorySegment(S, xs, row + o, NATIVE, tail).sub(shift).mul(inv)
                    .fma(FloatVector.fromMemorySegment(S, gs, g0 + o, NATIVE, tail),
                            FloatVector.fromMemorySegment(S, bs, b0 + o, NATIVE, tail))
                    .intoMemorySegment(xs, row + o, NATIVE, tail);
        }
    }

    static void l2Normalize(Tensor x, Tasks tasks) {
        int n = x.cols();
        MemorySegment xs = x.segment();
        tasks.forEachRow(x.rows(), i -> {
            long row = Rows.byteOffset(x, i);
            float squares = squaredDeviations(xs, row, n, 0f);
            float inv = squares == 0f ? 0f : (float) (1.0 / Math.sqrt(squares));
            scale(xs, row, n, inv);
        });
    }

    /** Σ x over the n floats at row. */
    private static float sum(MemorySegment xs, long row, int n) {
        FloatVector s0 = FloatVector.zero(S), s1 = s0;
        int j = 0;
        for (int end = n - 2 * L; j <= end; j += 2 * L) {
            long o = row + (long) j * Float.BYTES;
            s0 = s0.add(FloatVector.fromMemorySegment(S, xs, o, NATIVE));
            s1 = s1.add(FloatVector.fromMemorySegment(S, xs, o + (long) L * Float.BYTES, NATIVE));
        }
        for (; j < n; j += L) {
            s0 = s0.add(FloatVector.fromMemorySegment(S, xs, row + (long) j * Float.BYTES, NATIVE,
                    S.indexInRange(j, n)));
        }
        return s0.add(s1).reduceLanes(VectorOperators.ADD);
    }

    /** Σ (x - center)² over the n floats at row; masked-off lanes load 0 and are excluded by the mask. */
    private static float squaredDeviations(MemorySegment xs, long row, int n, float center) {
        FloatVector c = FloatVector.broadcast(S, center);
        FloatVector s0 = FloatVector.zero(S), s1 = s0;
        int j = 0;
        for (int end = n - 2 * L; j <= end; j += 2 * L) {
            long o = row + (long) j * Float.BYTES;
            FloatVector d0 = FloatVector.fromMemorySegment(S, xs, o, NATIVE).sub(c);
            FloatVector d1 = FloatVector.fromMemorySegment(S, xs, o + (long) L * Float.BYTES, NATIVE).sub(c);
            s0 = d0.fma(d0, s0);
            s1 = d1.fma(d1, s1);
        }
        for (; j < n; j += L) {
            VectorMask<Float> m = S.indexInRange(j, n);
            FloatVector d = FloatVector.fromMemorySegment(S, xs, row + (long) j * Float.BYTES, NATIVE, m)
                    .sub(c, m);
            s0 = d.fma(d, s0);
        }
        return s0.add(s1).reduceLanes(VectorOperators.ADD);
    }

    /** The n floats at row are multiplied by factor. */
    private static void scale(MemorySegment xs, long row, int n, float factor) {
        FloatVector f = FloatVector.broadcast(S, factor);
        int j = 0;
        for (int end = S.loopBound(n); j < end; j += L) {
            long o = row + (long) j * Float.BYTES;
            FloatVector.fromMemorySegment(S, xs, o, NATIVE).mul(f).intoMemorySegment(xs, o, NATIVE);
        }
        if (j < n) {
            VectorMask<Float> m = S.indexInRange(j, n);
            long o = row + (long) j * Float.BYTES;
            FloatVector.fromMemorySegment(S, xs, o, NATIVE, m).mul(f).intoMemorySegment(xs, o, NATIVE, m);
        }
    }
}
