package dev.tensorloom.runtime.kernel.vector;

import static dev.tensorloom.runtime.kernel.vector.Simd.L;
import static dev.tensorloom.runtime.kernel.vector.Simd.NATIVE;
import static dev.tensorloom.runtime.kernel.vector.Simd.S;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

/**
 * The register-blocked inner kernel of {@link VectorGemm}: an {@value #MR}-row × {@value #PANEL_VECTORS}-vector
 * tile of c is held in twelve accumulators while the kernel walks kc steps of the shared dimension, each step
 * one load per b vector, one broadcast per a row and one FMA per accumulator. With 16-lane vectors that is
 * 12 FMAs for 8 loads, enough for AVX-512's one-FMA-per-cycle to be the bound, not the load ports.
 *
 * <p>The accumulators leave through a small array, written inline in each kernel: handing live vectors to
 * a helper that C2 declines to inline makes it box them on every iteration of the k loop, which cost more
 * than half the throughput.
 *
 * <p>The a rows come from a row-major float[] block whose row offsets are passed one by one, so a tile at
 * the bottom edge points its missing rows at a zero row instead of needing its own kernel. On Zen 4 the
 * packed kernel runs at 83-88% of the 114 GFLOP/s a register-only FMA loop reaches on one core; 4×3, 6×3,
 * 8×3 and 4×4 tiles measured the same within noise.
 *
 * <p>Public for the kernel families' own drivers over operands that are no plain matrix (the MPO sweep gathers its
 * a rows from a permuted state and scatters the tile into the next one).
 */
public final class GemmMicroKernel {

    /** Rows of c per tile. */
    public static final int MR = 6;
    /** Vectors of c per tile row. */
    public static final int PANEL_VECTORS = 2;
    /** Columns of c per tile, the width of a packed b panel. */
    public static final int NR = PANEL_VECTORS * L;

    private GemmMicroKernel() {
    }

    /**
     * Tile (+)= a rows · a packed b sliver laid out as kc rows of NR floats. Packed b is a plain array
     * because C2's bounds-check elimination there is measurably cheaper than segment access.
     */
    static void packed(float[] pa, int a0, int a1, int a2, int a3, int a4, int a5, float[] pb, int b, int kc,
            float[] tile) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        FloatVector c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        for (int p = 0; p < kc; p++) {
            FloatVector b0 = FloatVector.fromArray(S, pb, b + p * NR);
            FloatVector b1 = FloatVector.fromArray(S, pb, b + p * NR + L);
            FloatVector x = FloatVector.broadcast(S, pa[a0 + p]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, pa[a1 + p]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, pa[a2 + p]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, pa[a3 + p]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, pa[a4 + p]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, pa[a5 + p]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, L);
        c10.intoArray(tile, NR);
        c11.intoArray(tile, NR + L);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + L);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + L);
        c40.intoArray(tile, 4 * NR);
        c41.intoArray(tile, 4 * NR + L);
        c50.intoArray(tile, 5 * NR);
        c51.intoArray(tile, 5 * NR + L);
    }

    /**
     * Tile = a rows · b read in place: kc rows of b, ldbBytes apart, whose first {@code cols} columns are
     * real. For few rows of a, where packing b would cost as much as the product itself.
     */
    public static void streaming(float[] pa, int a0, int a1, int a2, int a3, int a4, int a5, MemorySegment b, long bOff,
            long ldbBytes, int cols, int kc, float[] tile) {
        VectorMask<Float> m0 = S.indexInRange(0, cols);
        VectorMask<Float> m1 = S.indexInRange(L, cols);
        long second = (long) L * Float.BYTES;
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        FloatVector c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        for (int p = 0; p < kc; p++) {
            long row = bOff + p * ldbBytes;
            FloatVector b0 = FloatVector.fromMemorySegment(S, b, row, NATIVE, m0);
            FloatVector b1 = FloatVector.fromMemorySegment(S, b, row + second, NATIVE, m1);
            FloatVector x = FloatVector.broadcast(S, pa[a0 + p]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, pa[a1 + p]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, pa[a2 + p]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, pa[a3 + p]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, pa[a4 + p]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, pa[a5 + p]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, L);
        c10.intoArray(tile, NR);
        c11.intoArray(tile, NR + L);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + L);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + L);
        c40.intoArray(tile, 4 * NR);
        c41.intoArray(tile, 4 * NR + L);
        c50.intoArray(tile, 5 * NR);
        c51.intoArray(tile, 5 * NR + L);
    }

    /** c[0..rows, 0..cols) = tile, or += tile when {@code accumulate}; rows ldcBytes apart from cOff. */
    static void flush(float[] tile, MemorySegment c, long cOff, long ldcBytes, int rows, int cols, boolean accumulate) {
        for (int r = 0; r < rows; r++) {
            long row = cOff + r * ldcBytes;
            for (int v = 0; v < PANEL_VECTORS; v++) {
                long off = row + (long) v * L * Float.BYTES;
                FloatVector acc = FloatVector.fromArray(S, tile, r * NR + v * L);
                if (cols == NR) {
                    if (accumulate) {
                        acc = acc.add(FloatVector.fromMemorySegment(S, c, off, NATIVE));
                    }
                    acc.intoMemorySegment(c, off, NATIVE);
                } else {
                    VectorMask<Float> mask = S.indexInRange(v * L, cols);
                    if (accumulate) {
                        acc = acc.add(FloatVector.fromMemorySegment(S, c, off, NATIVE, mask));
                    }
                    acc.intoMemorySegment(c, off, NATIVE, mask);
                }
            }
        }
    }
}
