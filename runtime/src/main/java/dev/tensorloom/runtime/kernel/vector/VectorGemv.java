package dev.tensorloom.runtime.kernel.vector;

import static dev.tensorloom.runtime.kernel.vector.Simd.L;
import static dev.tensorloom.runtime.kernel.vector.Simd.NATIVE;
import static dev.tensorloom.runtime.kernel.vector.Simd.S;

import dev.tensorloom.runtime.kernel.Tasks;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * y = a·x. Every element of a is used once, so the bound is memory bandwidth, and what matters is keeping
 * DRAM reads in flight: each thread takes a contiguous range of rows and walks them in address order, one
 * row at a time with four independent accumulators, so its reads form a single sequential stream.
 *
 * <p>Measured on 4096×4096 (Zen 4, 1 and 2 threads, repeated noisy runs): this was 20-40% faster than
 * reading four rows at once to share each load of x, and than cutting k into L1-sized blocks of x.
 */
final class VectorGemv {

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private VectorGemv() {
    }

    static void multiply(Tensor a, Tensor x, Tensor y, Tasks tasks) {
        int m = a.rows();
        int k = a.cols();
        if (m == 0) {
            return;
        }
        MemorySegment as = a.segment();
        MemorySegment xs = x.segment();
        MemorySegment ys = y.segment();
        long x0 = Rows.start(x);
        tasks.forEachRange(m, 1, (from, end) -> {
            for (int i = from; i < end; i++) {
                ys.set(F, Rows.start(y) + (long) i * Float.BYTES, dot(as, Rows.byteOffset(a, i), xs, x0, k));
            }
        });
    }

    /** Σ a[aOff..]·x[xOff..] over k floats. */
    private static float dot(MemorySegment a, long aOff, MemorySegment x, long xOff, int k) {
        FloatVector s0 = FloatVector.zero(S), s1 = s0, s2 = s0, s3 = s0;
        long step = (long) L * Float.BYTES;
        long bytes = (long) k * Float.BYTES;
        long o = 0;
        for (long end = bytes - 4 * step; o <= end; o += 4 * step) {
            s0 = FloatVector.fromMemorySegment(S, a, aOff + o, NATIVE)
                    .fma(FloatVector.fromMemorySegment(S, x, xOff + o, NATIVE), s0);
            s1 = FloatVector.fromMemorySegment(S, a, aOff + o + step, NATIVE)
                    .fma(FloatVector.fromMemorySegment(S, x, xOff + o + step, NATIVE), s1);
            s2 = FloatVector.fromMemorySegment(S, a, aOff + o + 2 * step, NATIVE)
                    .fma(FloatVector.fromMemorySegment(S, x, xOff + o + 2 * step, NATIVE), s2);
            s3 = FloatVector.fromMemorySegment(S, a, aOff + o + 3 * step, NATIVE)
                    .fma(FloatVector.fromMemorySegment(S, x, xOff + o + 3 * step, NATIVE), s3);
        }
        for (long end = bytes - step; o <= end; o += step) {
            s0 = FloatVector.fromMemorySegment(S, a, aOff + o, NATIVE)
                    .fma(FloatVector.fromMemorySegment(S, x, xOff + o, NATIVE), s0);
        }
        float sum = s0.add(s1).add(s2.add(s3)).reduceLanes(VectorOperators.ADD);
        // The last k mod L floats one by one: a masked load there reaches past the end of x (for every row, when x
        // ends its segment) and of a's last row, where the Vector API takes its slow out-of-range path.
        for (; o < bytes; o += Float.BYTES) {
            sum += a.get(F, aOff + o) * x.get(F, xOff + o);
        }
        return sum;
    }
}
