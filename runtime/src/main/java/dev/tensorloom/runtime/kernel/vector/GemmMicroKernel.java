package dev.tensorloom.runtime.kernel.vector;

import static dev.tensorloom.runtime.kernel.vector.Simd.L;
import static dev.tensorloom.runtime.kernel.vector.Simd.NATIVE;
import static dev.tensorloom.runtime.kernel.vector.Simd.S;

import dev.tensorloom.runtime.tensor.Tensor;
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
 * <p>The a rows come from a float[] block of {@link RowTiles}, tiles of MR rows padded with zero rows, so a tile at
 * the bottom edge needs no kernel of its own; {@link #streaming}'s rows are passed one by one. On Zen 4 the
 * packed kernel runs at 83-88% of the 114 GFLOP/s a register-only FMA loop reaches on one core; 4×3, 6×3,
 * 8×3 and 4×4 tiles measured the same within noise.
 *
 * <p>The same tile serves 256-bit vectors, though AVX2 has 16 registers to AVX-512's 32: twelve accumulators, two
 * b vectors and the broadcast take 15, and C2 keeps them all in registers. Measured on Zen 4 with
 * {@code -XX:UseAVX=2} (C2 then allocates from ymm0-15 only), one thread, thread CPU time: with a and b in L1 the
 * 6×2 kernel reaches 115 GFLOP/s, the FMA peak, where 4×2 reached 102 and 3×3 103; in whole 1024 products 6×2 ran
 * 84-90 GFLOP/s, 3×3 83-85 and 4×2 76-79, beside 100 for OpenBLAS 0.3.31's Haswell kernels. So on Zen 4 one tile
 * served every width, and what 256 bits lose lies outside the registers.
 *
 * <p>Zen 5 changed that for 512-bit vectors: its FMA units take full 512-bit operations, twice Zen 4's rate, and
 * the 6×2 kernel's eight loads and broadcasts per twelve FMAs began to show. Two panels at a time
 * ({@link #packedWide}, 6×4 vectors in 24 of the 32 registers) ran the 1024 and 4096 products at 426.6-431.7
 * GFLOP/s against 405.5-408.4 for 6×2, and the encoder at batch 1 and 32, ~100 tokens, 107.2-121.0 and
 * 3.82-3.86 batches/s against 97.0-98.4 and 3.63 (JMH, 2 threads, runs interleaved, 2026-12-01). AVX2's 16
 * registers cannot hold it, so 256-bit vectors keep 6×2. (Not measured on Zen 4, where 4×4 had matched 6×2.)
 * Products of a few rows (a sentence at batch 1), whose weights come from memory, take twelve rows over one panel
 * instead ({@link #packedTall}) on the cores where that pays ({@link TallTiles}).
 *
 * <p>Two more that lost, measured by thread CPU time on one thread of a loaded Zen 4 (indicative), 3200-row
 * products at k, n of 384 and 1536. Writing c straight from the accumulators on whole tiles (loading c into them
 * first when accumulating, which also touches c's lines before the k loop) instead of through the tile array
 * and {@link #flush}: the same within noise, 89-100 GFLOP/s against 92-101, since the flush is 12 stores per
 * kc·12 FMAs. a packed MR-interleaved (kc × MR contiguous, one stream for the six broadcasts instead of six
 * rows): with the direct write, 105-108 GFLOP/s against 100-103 at k=384, n=1536 but 90-96 against 93-96 at
 * k=1536, n=384 with 512-bit vectors, and half the speed (47 against 89-100) with {@code -XX:UseAVX=2}.
 */
final class GemmMicroKernel {

    /** Rows of c per tile, at every vector width (the class comment says why). */
    static final int MR = 6;
    /** Vectors of c per tile row. */
    static final int PANEL_VECTORS = 2;
    /** Columns of c per tile, the width of a packed b panel. */
    static final int NR = PANEL_VECTORS * L;
    /** Vectors of c per tile row in {@link #packedWide}. */
    static final int WIDE_VECTORS = 2 * PANEL_VECTORS;
    /**
     * Whether {@link PanelGemm} takes two panels at a time through {@link #packedWide}: with 512-bit vectors, which
     * come with AVX-512's 32 registers (the class comment has the measurements).
     */
    static final boolean WIDE = L == 16;
    /**
     * Whether {@link PanelGemm} takes products of a few rows twelve rows at a time through {@link #packedTall}: with
     * 512-bit vectors, on the cores {@link TallTiles} names.
     */
    static final boolean TALL = WIDE && TallTiles.chosen();
    /** Rows of c per tile in {@link #packedTall}: two tiles of a. */
    static final int TALL_ROWS = 2 * MR;
    /** Runs of the depth {@link #packedTall} reads side by side. */
    private static final int STREAMS = 4;
    /** Panels the kernel takes at once: a driver that cuts b into parts keeps them whole multiples of it. */
    static final int PANELS_PER_STEP = WIDE ? 2 : 1;

    private GemmMicroKernel() {
    }

    /**
     * What the flush of a tile's last depth block does besides storing it: add bias [n] and, when {@code gelu},
     * apply {@link VectorGelu#gelu}, in the order of the unfused {@code addBias} and {@code addBiasGelu}, so the
     * result is the same float for float. The FFN's up-projection output (3200×1536 floats at batch 32 × 100 tokens)
     * then leaves the registers once instead of being read and written again by a pass over L3 and memory.
     */
    record Epilogue(Tensor bias, boolean gelu) {
    }

    /**
     * Tile (+)= a rows · a packed b sliver laid out as kc rows of NR floats, the six rows of a at a0..a5 (the rows of
     * a row-major tile of {@link RowTiles}). Packed b is a plain array because C2's bounds-check elimination there is
     * measurably cheaper than segment access.
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
     * {@link #packed} over two panels at once, the second starting at {@code second} in pb, its tile into
     * {@code next}: a {@value #MR}-row × {@value #WIDE_VECTORS}-vector tile in 24 accumulators, 24 FMAs for 4 loads
     * and 6 broadcasts a step where {@link #packed} has 12 for 8. It needs 29 vector registers, so only 512-bit
     * vectors ({@link #WIDE}) take it. a is a depth-major tile of {@link RowTiles} from {@code a}: row r at depth p
     * is pa[a + MR·p + r]. A caller with one panel left passes it as both (and drops {@code next}).
     */
    static void packedWide(float[] pa, int a, float[] pb, int b, int second, int kc, float[] tile, float[] next) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00;
        FloatVector c12 = c00, c13 = c00, c20 = c00, c21 = c00, c22 = c00, c23 = c00, c30 = c00, c31 = c00, c32 = c00;
        FloatVector c33 = c00, c40 = c00, c41 = c00, c42 = c00, c43 = c00, c50 = c00, c51 = c00, c52 = c00, c53 = c00;
        for (int p = 0; p < kc; p++) {
            FloatVector b0 = FloatVector.fromArray(S, pb, b + p * NR);
            FloatVector b1 = FloatVector.fromArray(S, pb, b + p * NR + L);
            FloatVector b2 = FloatVector.fromArray(S, pb, second + p * NR);
            FloatVector b3 = FloatVector.fromArray(S, pb, second + p * NR + L);
            FloatVector x = FloatVector.broadcast(S, pa[a + MR * p]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            c02 = x.fma(b2, c02);
            c03 = x.fma(b3, c03);
            x = FloatVector.broadcast(S, pa[a + MR * p + 1]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            c12 = x.fma(b2, c12);
            c13 = x.fma(b3, c13);
            x = FloatVector.broadcast(S, pa[a + MR * p + 2]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            c22 = x.fma(b2, c22);
            c23 = x.fma(b3, c23);
            x = FloatVector.broadcast(S, pa[a + MR * p + 3]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            c32 = x.fma(b2, c32);
            c33 = x.fma(b3, c33);
            x = FloatVector.broadcast(S, pa[a + MR * p + 4]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            c42 = x.fma(b2, c42);
            c43 = x.fma(b3, c43);
            x = FloatVector.broadcast(S, pa[a + MR * p + 5]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
            c52 = x.fma(b2, c52);
            c53 = x.fma(b3, c53);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, L);
        c02.intoArray(next, 0);
        c03.intoArray(next, L);
        c10.intoArray(tile, NR);
        c11.intoArray(tile, NR + L);
        c12.intoArray(next, NR);
        c13.intoArray(next, NR + L);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + L);
        c22.intoArray(next, 2 * NR);
        c23.intoArray(next, 2 * NR + L);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + L);
        c32.intoArray(next, 3 * NR);
        c33.intoArray(next, 3 * NR + L);
        c40.intoArray(tile, 4 * NR);
        c41.intoArray(tile, 4 * NR + L);
        c42.intoArray(next, 4 * NR);
        c43.intoArray(next, 4 * NR + L);
        c50.intoArray(tile, 5 * NR);
        c51.intoArray(tile, 5 * NR + L);
        c52.intoArray(next, 5 * NR);
        c53.intoArray(next, 5 * NR + L);
    }

    /**
     * {@link #packed} for twelve rows, two tiles of a at once (rows 0-5 from the depth-major tile at {@code a}, rows
     * 6-11 from the one at {@code a2}), over one panel: a {@value #TALL_ROWS}-row × {@value #PANEL_VECTORS}-vector
     * tile in 24 accumulators, its lower six rows into {@code lower}. For products of a few rows, whose cost is
     * reading b from memory: each vector of b is loaded once for twelve FMAs, where the six-row kernels read it once
     * per tile, the later tiles from L2 while memory sits idle. The depth is walked in {@value #STREAMS} runs side by
     * side (depths p, q + p, 2q + p, 3q + p with q = kc/4, then the remainder), so four streams of b are in flight:
     * one stream at twelve FMAs a vector drew from memory slower than the six-row kernels' two. The four runs are
     * written out: the same order as loops (one over a permuted depth index, or runs nested in a loop over p) ran
     * at two thirds to three quarters of the speed, warm and cold.
     *
     * <p>Measured on the 2-core Emerald Rapids Xeon (JMH, 2026-12-02): 10×384×1536 with the weights cold (48 copies
     * in turn), one thread, 2,470-2,550 products/s with one stream, 3,440-3,820 with four and 3,400-4,160 with eight
     * (so four), against 2,830-3,360 for the six-row kernels. The encoder at batch 1, ~10 tokens, three pairs of runs
     * alternating builds: one thread 178-265 batches/s against 158-209, two threads 319-363 against 266-341, every
     * pair in favour of the twelve-row tiles.
     */
    static void packedTall(float[] pa, int a, int a2, float[] pb, int b, int kc, float[] tile, float[] lower) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
        FloatVector c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        FloatVector c60 = c00, c61 = c00, c70 = c00, c71 = c00, c80 = c00, c81 = c00;
        FloatVector c90 = c00, c91 = c00, ca0 = c00, ca1 = c00, cb0 = c00, cb1 = c00;
        FloatVector x, b0, b1;
        int d;
        int q = kc / STREAMS;
        for (int p = 0; p < q; p++) {
            d = p;
            b0 = FloatVector.fromArray(S, pb, b + d * NR);
            b1 = FloatVector.fromArray(S, pb, b + d * NR + L);
            x = FloatVector.broadcast(S, pa[a + MR * d]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, pa[a + MR * d + 1]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, pa[a + MR * d + 2]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, pa[a + MR * d + 3]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, pa[a + MR * d + 4]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, pa[a + MR * d + 5]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
            x = FloatVector.broadcast(S, pa[a2 + MR * d]);
            c60 = x.fma(b0, c60);
            c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(S, pa[a2 + MR * d + 1]);
            c70 = x.fma(b0, c70);
            c71 = x.fma(b1, c71);
            x = FloatVector.broadcast(S, pa[a2 + MR * d + 2]);
            c80 = x.fma(b0, c80);
            c81 = x.fma(b1, c81);
            x = FloatVector.broadcast(S, pa[a2 + MR * d + 3]);
            c90 = x.fma(b0, c90);
            c91 = x.fma(b1, c91);
            x = FloatVector.broadcast(S, pa[a2 + MR * d + 4]);
            ca0 = x.fma(b0, ca0);
            ca1 = x.fma(b1, ca1);
            x = FloatVector.broadcast(S, pa[a2 + MR * d + 5]);
            cb0 = x.fma(b0, cb0);
            cb1 = x.fma(b1, cb1);
            d = q + p;
            b0 = FloatVector.fromArray(S, pb, b + d * NR);
            b1 = FloatVector.fromArray(S, pb, b + d * NR + L);
            x = FloatVector.broadcast(S, pa[a + MR * d]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, pa[a + MR * d + 1]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, pa[a + MR * d + 2]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, pa[a + MR * d + 3]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, pa[a + MR * d + 4]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, pa[a + MR * d + 5]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
            x = FloatVector.broadcast(S, pa[a2 + MR * d]);
            c60 = x.fma(b0, c60);
            c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(S, pa[a2 + MR * d + 1]);
            c70 = x.fma(b0, c70);
            c71 = x.fma(b1, c71);
            x = FloatVector.broadcast(S, pa[a2 + MR * d + 2]);
            c80 = x.fma(b0, c80);
            c81 = x.fma(b1, c81);
            x = FloatVector.broadcast(S, pa[a2 + MR * d + 3]);
            c90 = x.fma(b0, c90);
            c91 = x.fma(b1, c91);
            x = FloatVector.broadcast(S, pa[a2 + MR * d + 4]);
            ca0 = x.fma(b0, ca0);
            ca1 = x.fma(b1, ca1);
            x = FloatVector.broadcast(S, pa[a2 + MR * d + 5]);
            cb0 = x.fma(b0, cb0);
            cb1 = x.fma(b1, cb1);
            d = 2 * q + p;
            b0 = FloatVector.fromArray(S, pb, b + d * NR);
            b1 = FloatVector.fromArray(S, pb, b + d * NR + L);
            x = FloatVector.broadcast(S, pa[a + MR * d]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, pa[a + MR * d + 1]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, pa[a + MR * d + 2]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, pa[a + MR * d + 3]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, pa[a + MR * d + 4]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, pa[a + MR * d + 5]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
            x = FloatVector.broadcast(S, pa[a2 + MR * d]);
            c60 = x.fma(b0, c60);
            c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(S, pa[a2 + MR * d + 1]);
            c70 = x.fma(b0, c70);
            c71 = x.fma(b1, c71);
            x = FloatVector.broadcast(S, pa[a2 + MR * d + 2]);
            c80 = x.fma(b0, c80);
            c81 = x.fma(b1, c81);
            x = FloatVector.broadcast(S, pa[a2 + MR * d + 3]);
            c90 = x.fma(b0, c90);
            c91 = x.fma(b1, c91);
            x = FloatVector.broadcast(S, pa[a2 + MR * d + 4]);
            ca0 = x.fma(b0, ca0);
            ca1 = x.fma(b1, ca1);
            x = FloatVector.broadcast(S, pa[a2 + MR * d + 5]);
            cb0 = x.fma(b0, cb0);
            cb1 = x.fma(b1, cb1);
            d = 3 * q + p;
            b0 = FloatVector.fromArray(S, pb, b + d * NR);
            b1 = FloatVector.fromArray(S, pb, b + d * NR + L);
            x = FloatVector.broadcast(S, pa[a + MR * d]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, pa[a + MR * d + 1]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, pa[a + MR * d + 2]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, pa[a + MR * d + 3]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, pa[a + MR * d + 4]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, pa[a + MR * d + 5]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
            x = FloatVector.broadcast(S, pa[a2 + MR * d]);
            c60 = x.fma(b0, c60);
            c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(S, pa[a2 + MR * d + 1]);
            c70 = x.fma(b0, c70);
            c71 = x.fma(b1, c71);
            x = FloatVector.broadcast(S, pa[a2 + MR * d + 2]);
            c80 = x.fma(b0, c80);
            c81 = x.fma(b1, c81);
            x = FloatVector.broadcast(S, pa[a2 + MR * d + 3]);
            c90 = x.fma(b0, c90);
            c91 = x.fma(b1, c91);
            x = FloatVector.broadcast(S, pa[a2 + MR * d + 4]);
            ca0 = x.fma(b0, ca0);
            ca1 = x.fma(b1, ca1);
            x = FloatVector.broadcast(S, pa[a2 + MR * d + 5]);
            cb0 = x.fma(b0, cb0);
            cb1 = x.fma(b1, cb1);
        }
        for (int p = STREAMS * q; p < kc; p++) {
            d = p;
            b0 = FloatVector.fromArray(S, pb, b + d * NR);
            b1 = FloatVector.fromArray(S, pb, b + d * NR + L);
            x = FloatVector.broadcast(S, pa[a + MR * d]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, pa[a + MR * d + 1]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, pa[a + MR * d + 2]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, pa[a + MR * d + 3]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, pa[a + MR * d + 4]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, pa[a + MR * d + 5]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
            x = FloatVector.broadcast(S, pa[a2 + MR * d]);
            c60 = x.fma(b0, c60);
            c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(S, pa[a2 + MR * d + 1]);
            c70 = x.fma(b0, c70);
            c71 = x.fma(b1, c71);
            x = FloatVector.broadcast(S, pa[a2 + MR * d + 2]);
            c80 = x.fma(b0, c80);
            c81 = x.fma(b1, c81);
            x = FloatVector.broadcast(S, pa[a2 + MR * d + 3]);
            c90 = x.fma(b0, c90);
            c91 = x.fma(b1, c91);
            x = FloatVector.broadcast(S, pa[a2 + MR * d + 4]);
            ca0 = x.fma(b0, ca0);
            ca1 = x.fma(b1, ca1);
            x = FloatVector.broadcast(S, pa[a2 + MR * d + 5]);
            cb0 = x.fma(b0, cb0);
            cb1 = x.fma(b1, cb1);
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
        c60.intoArray(lower, 0);
        c61.intoArray(lower, L);
        c70.intoArray(lower, NR);
        c71.intoArray(lower, NR + L);
        c80.intoArray(lower, 2 * NR);
        c81.intoArray(lower, 2 * NR + L);
        c90.intoArray(lower, 3 * NR);
        c91.intoArray(lower, 3 * NR + L);
        ca0.intoArray(lower, 4 * NR);
        ca1.intoArray(lower, 4 * NR + L);
        cb0.intoArray(lower, 5 * NR);
        cb1.intoArray(lower, 5 * NR + L);
    }

    /**
     * Tile = a rows · b read in place: kc rows of b, ldbBytes apart, whose first {@code cols} columns are
     * real. For few rows of a, where packing b would cost as much as the product itself.
     */
    static void streaming(float[] pa, int a0, int a1, int a2, int a3, int a4, int a5, MemorySegment b, long bOff,
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

    /**
     * {@link #flush}, then bias[j..j + cols) added to each row of c and GELU if the epilogue asks: the last depth
     * block's flush, while the rows are in L1. A null epilogue is the plain flush. The epilogue is a loop of its
     * own rather than part of this one: written into it, with both branches and GELU twice, this method was one
     * C1 could not compile ("out of virtual registers"), and some processes then ran it interpreted, with the
     * Vector API's Java fallbacks, for their whole life (JMH forks of the encoder at 0.55x the others).
     */
    static void flush(float[] tile, MemorySegment c, long cOff, long ldcBytes, int rows, int cols, boolean accumulate,
            Epilogue epilogue, int j) {
        flush(tile, c, cOff, ldcBytes, rows, cols, accumulate);
        if (epilogue != null) {
            MemorySegment bias = epilogue.bias().segment();
            long b0 = (epilogue.bias().offset() + j) * Float.BYTES;
            VectorGelu.inPlace(c, cOff, ldcBytes, rows, bias, b0, cols, epilogue.gelu());
        }
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
