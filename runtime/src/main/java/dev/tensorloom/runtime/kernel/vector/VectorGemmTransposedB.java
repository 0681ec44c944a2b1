package dev.tensorloom.runtime.kernel.vector;

import static dev.tensorloom.runtime.kernel.vector.Simd.L;
import static dev.tensorloom.runtime.kernel.vector.Simd.NATIVE;
import static dev.tensorloom.runtime.kernel.vector.Simd.S;

import dev.tensorloom.runtime.kernel.Tasks;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * c = a·bᵀ as dot products along k, where both operands are contiguous. A 4×4 block of c is sixteen
 * independent accumulators fed by eight loads per step, which keeps the FMA units busy rather than waiting on
 * one chain; the horizontal sums happen once per block at the end. Rows of a past a multiple of four go
 * through a 1×4 block; a column block at the right edge repeats its last column and drops the copies.
 */
final class VectorGemmTransposedB {

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final int BLOCK = 4;

    private VectorGemmTransposedB() {
    }

    static void multiply(Tensor a, Tensor b, Tensor c, Tasks tasks) {
        int m = a.rows();
        int n = b.rows();
        if (m == 0 || n == 0) {
            return;
        }
        tasks.forEachRange(m, BLOCK, (from, end) -> {
            int i = from;
            for (; i + BLOCK <= end; i += BLOCK) {
                for (int j = 0; j < n; j += BLOCK) {
                    fourByFour(a, b, c, i, j);
                }
            }
            for (; i < end; i++) {
                for (int j = 0; j < n; j += BLOCK) {
                    oneByFour(a, b, c, i, j);
                }
            }
        });
    }

    /** c[i..i+4, j..j+4) with columns past n clamped to n-1 and not stored. */
    private static void fourByFour(Tensor a, Tensor b, Tensor c, int i, int j) {
        int k = a.cols();
        int n = b.rows();
        MemorySegment as = a.segment();
        MemorySegment bs = b.segment();
        long a0 = Rows.byteOffset(a, i);
        long a1 = Rows.byteOffset(a, i + 1);
        long a2 = Rows.byteOffset(a, i + 2);
        long a3 = Rows.byteOffset(a, i + 3);
        long b0 = Rows.byteOffset(b, j);
        long b1 = Rows.byteOffset(b, Math.min(j + 1, n - 1));
        long b2 = Rows.byteOffset(b, Math.min(j + 2, n - 1));
        long b3 = Rows.byteOffset(b, Math.min(j + 3, n - 1));
        FloatVector s00 = FloatVector.zero(S), s01 = s00, s02 = s00, s03 = s00;
        FloatVector s10 = s00, s11 = s00, s12 = s00, s13 = s00;
        FloatVector s20 = s00, s21 = s00, s22 = s00, s23 = s00;
        FloatVector s30 = s00, s31 = s00, s32 = s00, s33 = s00;
        for (int p = 0; p < k; p += L) {
            VectorMask<Float> m = S.indexInRange(p, k);
            long o = (long) p * Float.BYTES;
            FloatVector y0 = FloatVector.fromMemorySegment(S, bs, b0 + o, NATIVE, m);
            FloatVector y1 = FloatVector.fromMemorySegment(S, bs, b1 + o, NATIVE, m);
            FloatVector y2 = FloatVector.fromMemorySegment(S, bs, b2 + o, NATIVE, m);
            FloatVector y3 = FloatVector.fromMemorySegment(S, bs, b3 + o, NATIVE, m);
            FloatVector x = FloatVector.fromMemorySegment(S, as, a0 + o, NATIVE, m);
            s00 = x.fma(y0, s00);
            s01 = x.fma(y1, s01);
            s02 = x.fma(y2, s02);
            s03 = x.fma(y3, s03);
            x = FloatVector.fromMemorySegment(S, as, a1 + o, NATIVE, m);
            s10 = x.fma(y0, s10);
            s11 = x.fma(y1, s11);
            s12 = x.fma(y2, s12);
            s13 = x.fma(y3, s13);
            x = FloatVector.fromMemorySegment(S, as, a2 + o, NATIVE, m);
            s20 = x.fma(y0, s20);
            s21 = x.fma(y1, s21);
            s22 = x.fma(y2, s22);
            s23 = x.fma(y3, s23);
            x = FloatVector.fromMemorySegment(S, as, a3 + o, NATIVE, m);
            s30 = x.fma(y0, s30);
            s31 = x.fma(y1, s31);
            s32 = x.fma(y2, s32);
            s33 = x.fma(y3, s33);
        }
        int cols = Math.min(BLOCK, n - j);
        float[] sums = {
            s00.reduceLanes(VectorOperators.ADD), s01.reduceLanes(VectorOperators.ADD),
            s02.reduceLanes(VectorOperators.ADD), s03.reduceLanes(VectorOperators.ADD),
            s10.reduceLanes(VectorOperators.ADD), s11.reduceLanes(VectorOperators.ADD),
            s12.reduceLanes(VectorOperators.ADD), s13.reduceLanes(VectorOperators.ADD),
            s20.reduceLanes(VectorOperators.ADD), s21.reduceLanes(VectorOperators.ADD),
            s22.reduceLanes(VectorOperators.ADD), s23.reduceLanes(VectorOperators.ADD),
            s30.reduceLanes(VectorOperators.ADD), s31.reduceLanes(VectorOperators.ADD),
            s32.reduceLanes(VectorOperators.ADD), s33.reduceLanes(VectorOperators.ADD)};
        for (int r = 0; r < BLOCK; r++) {
            long row = Rows.byteOffset(c, i + r, j);
            for (int q = 0; q < cols; q++) {
                c.segment().set(F, row + (long) q * Float.BYTES, sums[r * BLOCK + q]);
            }
        }
    }

    /** c[i, j..j+4) with columns past n clamped to n-1 and not stored. */
    private static void oneByFour(Tensor a, Tensor b, Tensor c, int i, int j) {
        int k = a.cols();
        int n = b.rows();
        MemorySegment as = a.segment();
        MemorySegment bs = b.segment();
        long a0 = Rows.byteOffset(a, i);
        long b0 = Rows.byteOffset(b, j);
        long b1 = Rows.byteOffset(b, Math.min(j + 1, n - 1));
        long b2 = Rows.byteOffset(b, Math.min(j + 2, n - 1));
        long b3 = Rows.byteOffset(b, Math.min(j + 3, n - 1));
        FloatVector s0 = FloatVector.zero(S), s1 = s0, s2 = s0, s3 = s0;
        for (int p = 0; p < k; p += L) {
            VectorMask<Float> m = S.indexInRange(p, k);
            long o = (long) p * Float.BYTES;
            FloatVector x = FloatVector.fromMemorySegment(S, as, a0 + o, NATIVE, m);
            s0 = x.fma(FloatVector.fromMemorySegment(S, bs, b0 + o, NATIVE, m), s0);
            s1 = x.fma(FloatVector.fromMemorySegment(S, bs, b1 + o, NATIVE, m), s1);
            s2 = x.fma(FloatVector.fromMemorySegment(S, bs, b2 + o, NATIVE, m), s2);
            s3 = x.fma(FloatVector.fromMemorySegment(S, bs, b3 + o, NATIVE, m), s3);
        }
        float[] sums = {s0.reduceLanes(VectorOperators.ADD), s1.reduceLanes(VectorOperators.ADD),
            s2.reduceLanes(VectorOperators.ADD), s3.reduceLanes(VectorOperators.ADD)};
        long row = Rows.byteOffset(c, i, j);
        for (int q = 0, cols = Math.min(BLOCK, n - j); q < cols; q++) {
            c.segment().set(F, row + (long) q * Float.BYTES, sums[q]);
        }
    }
}
