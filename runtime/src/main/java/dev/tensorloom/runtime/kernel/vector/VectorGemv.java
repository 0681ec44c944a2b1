package dev.tensorloom.runtime.kernel.vector;

import static dev.tensorloom.runtime.kernel.vector.Simd.L;
import static dev.tensorloom.runtime.kernel.vector.Simd.NATIVE;
import static dev.tensorloom.runtime.kernel.vector.Simd.S;

import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * y = a·x. Every element of a is used once, so this runs at memory speed at best; to get there it reads
 * {@value #ROWS} rows at a time, two vectors per row per step (eight independent loads and FMA chains in
 * flight, four sequential streams for the prefetchers), and splits the rows over the threads.
 */
final class VectorGemv {

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /** Rows per step. */
    static final int ROWS = 4;

    private VectorGemv() {
    }

    static void multiply(Tensor a, Tensor x, Tensor y, Tasks tasks) {
        int m = a.rows();
        int k = a.cols();
        if (m == 0) {
            return;
        }
        int groups = VectorGemm.ceilDiv(m, ROWS);
        int chunks = (long) m * k < Tasks.PARALLEL_MIN_ELEMENTS ? 1 : Math.min(groups, 4 * tasks.threads());
        int groupsPerChunk = VectorGemm.ceilDiv(groups, chunks);
        tasks.forEach(VectorGemm.ceilDiv(groups, groupsPerChunk), chunk -> {
            int end = Math.min(m, (chunk + 1) * groupsPerChunk * ROWS);
            int i = chunk * groupsPerChunk * ROWS;
            for (; i + ROWS <= end; i += ROWS) {
                fourRows(a, i, x, y);
            }
            for (; i < end; i++) {
                float yi = dot(a.segment(), Rows.byteOffset(a, i), x.segment(), Rows.start(x), k);
                y.segment().setAtIndex(F, y.offset() + i, yi);
            }
        });
    }

    /** y[i..i+4) = a[i..i+4) · x. */
    private static void fourRows(Tensor a, int i, Tensor x, Tensor y) {
        int k = a.cols();
        MemorySegment as = a.segment();
        MemorySegment xs = x.segment();
        long r0 = Rows.byteOffset(a, i);
        long ld = (long) a.leadingDim() * Float.BYTES;
        long r1 = r0 + ld;
        long r2 = r1 + ld;
        long r3 = r2 + ld;
        long x0 = Rows.start(x);
        FloatVector s00 = FloatVector.zero(S), s01 = s00, s10 = s00, s11 = s00;
        FloatVector s20 = s00, s21 = s00, s30 = s00, s31 = s00;
        long step = (long) L * Float.BYTES;
        int p = 0;
        for (int end = k - 2 * L; p <= end; p += 2 * L) {
            long o = (long) p * Float.BYTES;
            FloatVector xa = FloatVector.fromMemorySegment(S, xs, x0 + o, NATIVE);
            FloatVector xb = FloatVector.fromMemorySegment(S, xs, x0 + o + step, NATIVE);
            s00 = FloatVector.fromMemorySegment(S, as, r0 + o, NATIVE).fma(xa, s00);
            s01 = FloatVector.fromMemorySegment(S, as, r0 + o + step, NATIVE).fma(xb, s01);
            s10 = FloatVector.fromMemorySegment(S, as, r1 + o, NATIVE).fma(xa, s10);
            s11 = FloatVector.fromMemorySegment(S, as, r1 + o + step, NATIVE).fma(xb, s11);
            s20 = FloatVector.fromMemorySegment(S, as, r2 + o, NATIVE).fma(xa, s20);
            s21 = FloatVector.fromMemorySegment(S, as, r2 + o + step, NATIVE).fma(xb, s21);
            s30 = FloatVector.fromMemorySegment(S, as, r3 + o, NATIVE).fma(xa, s30);
            s31 = FloatVector.fromMemorySegment(S, as, r3 + o + step, NATIVE).fma(xb, s31);
        }
        for (; p < k; p += L) {
            VectorMask<Float> m = S.indexInRange(p, k);
            long o = (long) p * Float.BYTES;
            FloatVector xa = FloatVector.fromMemorySegment(S, xs, x0 + o, NATIVE, m);
            s00 = FloatVector.fromMemorySegment(S, as, r0 + o, NATIVE, m).fma(xa, s00);
            s10 = FloatVector.fromMemorySegment(S, as, r1 + o, NATIVE, m).fma(xa, s10);
            s20 = FloatVector.fromMemorySegment(S, as, r2 + o, NATIVE, m).fma(xa, s20);
            s30 = FloatVector.fromMemorySegment(S, as, r3 + o, NATIVE, m).fma(xa, s30);
        }
        MemorySegment ys = y.segment();
        long yo = Rows.start(y) + (long) i * Float.BYTES;
        ys.set(F, yo, s00.add(s01).reduceLanes(VectorOperators.ADD));
        ys.set(F, yo + 4, s10.add(s11).reduceLanes(VectorOperators.ADD));
        ys.set(F, yo + 8, s20.add(s21).reduceLanes(VectorOperators.ADD));
        ys.set(F, yo + 12, s30.add(s31).reduceLanes(VectorOperators.ADD));
    }

    /** Σ a[aOff..]·x[xOff..] over k floats, with two accumulators. */
    static float dot(MemorySegment a, long aOff, MemorySegment x, long xOff, int k) {
        FloatVector s0 = FloatVector.zero(S), s1 = s0;
        long step = (long) L * Float.BYTES;
        int p = 0;
        for (int end = k - 2 * L; p <= end; p += 2 * L) {
            long o = (long) p * Float.BYTES;
            s0 = FloatVector.fromMemorySegment(S, a, aOff + o, NATIVE)
                    .fma(FloatVector.fromMemorySegment(S, x, xOff + o, NATIVE), s0);
            s1 = FloatVector.fromMemorySegment(S, a, aOff + o + step, NATIVE)
                    .fma(FloatVector.fromMemorySegment(S, x, xOff + o + step, NATIVE), s1);
        }
        for (; p < k; p += L) {
            VectorMask<Float> m = S.indexInRange(p, k);
            long o = (long) p * Float.BYTES;
            s0 = FloatVector.fromMemorySegment(S, a, aOff + o, NATIVE, m)
                    .fma(FloatVector.fromMemorySegment(S, x, xOff + o, NATIVE, m), s0);
        }
        return s0.add(s1).reduceLanes(VectorOperators.ADD);
    }
}
