package dev.tensorloom.runtime.kernel.vector;

import static dev.tensorloom.runtime.kernel.vector.GemmMicroKernel.MR;

import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * The a operand of the packed micro-kernels: a block of rows × depth floats cut into tiles of
 * {@link GemmMicroKernel#MR} rows, tile after tile, each MR × depth floats, the rows past the block's last zero.
 * Inside a tile the order follows the vector width:
 *
 * <ul>
 *   <li>{@link #INTERLEAVED} (512-bit vectors, {@link GemmMicroKernel#packedWide}): depth-major, a[r, p] at p·MR + r,
 *       so the kernel's six broadcasts a step read one index and six constant offsets;
 *   <li>otherwise row-major, a[r, p] at r·depth + p, so a tile is MR plain rows.
 * </ul>
 *
 * <p>Why two: with row-major tiles the 6×4-vector kernel needs six row offsets, two panel offsets, the loop index and
 * the bound in general registers, more than C2 has beside its own. On an Intel Xeon (Sapphire Rapids class, AVX-512,
 * 2026-12-02) it then kept the array's base in a vector register and reloaded both panel offsets from the stack every
 * step, and ran at 60-63% of the core's register-only FMA rate (131-140 of 221 GFLOP/s, one thread, b from L2, median
 * of five JVMs); depth-major tiles, one index for all six broadcasts, ran 145-153, and whole 1024 and 2048 products on
 * one thread 114-121 GFLOP/s against 106-111 (JMH, builds alternating). With 256-bit vectors the same change cost
 * 15-20% (the 6×2 kernel, 70-78 GFLOP/s against 86-98): C2 then hoists the interleaved broadcasts, runs out of the 16
 * ymm registers and spills an accumulator to the stack on every step, so those tiles stay row-major.
 */
final class RowTiles {

    /** Whether a tile is depth-major (512-bit vectors) rather than row-major. */
    static final boolean INTERLEAVED = GemmMicroKernel.WIDE;

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private RowTiles() {
    }

    /** Floats of a block of {@code rows} rows, {@code depth} deep: whole tiles. */
    static int floats(int rows, int depth) {
        return Math.multiplyExact(Math.ceilDiv(rows, MR) * MR, depth);
    }

    /**
     * Where the micro-kernel's tile of rows [row, row + MR) starts reading at depth p of a block {@code depth} deep
     * (row a multiple of MR).
     */
    static int at(int row, int p, int depth) {
        return row * depth + (INTERLEAVED ? p * MR : p);
    }

    /**
     * Copies a[i0..i1, pc..pc+kc) into dst from dstOff as a block kc deep, its last tile padded with zero rows; i1 -
     * i0 need not be a multiple of MR. A depth-major tile is gathered straight from a's rows, six loads and six
     * consecutive stores a depth: 0.34 ns a float on the Xeon, where copying the rows into a scratch array first
     * took 0.54, and at batch 1 (10 rows) the copy costs about what the depth-major kernel saves.
     */
    static void copy(Tensor a, int i0, int i1, int pc, int kc, float[] dst, int dstOff) {
        MemorySegment seg = a.segment();
        long rowBytes = a.leadingDim() * Float.BYTES;
        for (int t = i0; t < i1; t += MR) {
            int valid = Math.min(MR, i1 - t);
            int tile = dstOff + (t - i0) * kc;
            long from = (a.offset() + pc) * Float.BYTES + t * rowBytes;
            if (!INTERLEAVED) {
                for (int r = 0; r < valid; r++) {
                    MemorySegment.copy(seg, F, from + r * rowBytes, dst, tile + r * kc, kc);
                }
                Arrays.fill(dst, tile + valid * kc, tile + MR * kc, 0f);
            } else if (valid == MR) {
                for (int p = 0; p < kc; p++) {
                    int o = tile + p * MR;
                    long at = from + (long) p * Float.BYTES;
                    dst[o] = seg.get(F, at);
                    dst[o + 1] = seg.get(F, at + rowBytes);
                    dst[o + 2] = seg.get(F, at + 2 * rowBytes);
                    dst[o + 3] = seg.get(F, at + 3 * rowBytes);
                    dst[o + 4] = seg.get(F, at + 4 * rowBytes);
                    dst[o + 5] = seg.get(F, at + 5 * rowBytes);
                }
            } else {
                Arrays.fill(dst, tile, tile + MR * kc, 0f);
                for (int r = 0; r < valid; r++) {
                    for (int p = 0; p < kc; p++) {
                        dst[tile + p * MR + r] = seg.get(F, from + r * rowBytes + (long) p * Float.BYTES);
                    }
                }
            }
        }
    }
}
