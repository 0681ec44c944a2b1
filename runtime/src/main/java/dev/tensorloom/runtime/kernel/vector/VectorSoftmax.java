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
 * softmax(x) = exp(x - max) / Σ exp(x - max) over a row, in three vector passes (max, exp and sum, scale).
 * Subtracting the max keeps exp from overflowing; -∞ entries come out as exp(-∞) = 0, and a row that is
 * all -∞ (every key masked) becomes all zeros, as in the scalar oracle.
 */
final class VectorSoftmax {

    private VectorSoftmax() {
    }

    static void rows(Tensor x, Tasks tasks) {
        int n = x.cols();
        MemorySegment seg = x.segment();
        tasks.forEachRow(x.rows(), i -> row(seg, Rows.byteOffset(x, i), n));
    }

    /** The n floats at byte offset off of seg become their softmax. */
    static void row(MemorySegment seg, long off, int n) {
        if (n == 0) {
            return;
        }
        FloatVector maxes = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        int bound = S.loopBound(n);
        int j = 0;
        for (; j < bound; j += L) {
            maxes = maxes.max(FloatVector.fromMemorySegment(S, seg, off + (long) j * Float.BYTES, NATIVE));
        }
        VectorMask<Float> tail = S.indexInRange(bound, n);
        if (bound < n) {
            maxes = maxes.lanewise(VectorOperators.MAX,
                    FloatVector.fromMemorySegment(S, seg, off + (long) bound * Float.BYTES, NATIVE, tail), tail);
        }
        float max = maxes.reduceLanes(VectorOperators.MAX);
        if (max == Float.NEGATIVE_INFINITY) {
            FloatVector zero = FloatVector.zero(S);
            for (j = 0; j < bound; j += L) {
                zero.intoMemorySegment(seg, off + (long) j * Float.BYTES, NATIVE);
            }
            if (bound < n) {
                zero.intoMemorySegment(seg, off + (long) bound * Float.BYTES, NATIVE, tail);
            }
            return;
        }
        FloatVector shift = FloatVector.broadcast(S, max);
        FloatVector sums = FloatVector.zero(S);
        for (j = 0; j < bound; j += L) {
            long o = off + (long) j * Float.BYTES;
            FloatVector e = FloatVector.fromMemorySegment(S, seg, o, NATIVE).sub(shift).lanewise(VectorOperators.EXP);
            e.intoMemorySegment(seg, o, NATIVE);
            sums = sums.add(e);
        }
        if (bound < n) {
            long o = off + (long) bound * Float.BYTES;
            FloatVector e = FloatVector.fromMemorySegment(S, seg, o, NATIVE, tail).sub(shift)
                    .lanewise(VectorOperators.EXP);
            e.intoMemorySegment(seg, o, NATIVE, tail);
            sums = sums.add(e, tail);
        }
        FloatVector inv = FloatVector.broadcast(S, 1f / sums.reduceLanes(VectorOperators.ADD));
        for (j = 0; j < bound; j += L) {
            long o = off + (long) j * Float.BYTES;
            FloatVector.fromMemorySegment(S, seg, o, NATIVE).mul(inv).intoMemorySegment(seg, o, NATIVE);
        }
        if (bound < n) {
            long o = off + (long) bound * Float.BYTES;
            FloatVector.fromMemorySegment(S, seg, o, NATIVE, tail).mul(inv).intoMemorySegment(seg, o, NATIVE, tail);
        }
    }
}
