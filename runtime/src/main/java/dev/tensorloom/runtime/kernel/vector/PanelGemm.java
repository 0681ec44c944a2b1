package dev.tensorloom.runtime.kernel.vector;

import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * The dense GEMM's register tile ({@link GemmMicroKernel#packed}) over panels of b that the caller fills: the
 * seam through which another family runs the fp32 micro-kernel on weights it keeps in its own form (the quant
 * GEMM decodes low-bit codes into panels) instead of keeping a copy of the kernel. The dense GEMM's own
 * packed path runs the same loop over its panels.
 *
 * <p>A panel is {@link #PANEL_WIDTH} consecutive columns of b over kc consecutive rows of it, row after row:
 * b[pc + p, j0 + t] at panel[p·PANEL_WIDTH + t], for p &lt; kc and t &lt; PANEL_WIDTH. Columns past b's last are
 * never stored to c, but are multiplied: keep them finite (zero). The a operand is a heap array laid out by
 * {@link #rowsOf}: rows in tiles of {@link #TILE_ROWS}, in an order inside a tile that follows the vector width
 * ({@link RowTiles}). Both constants follow the vector width too: read them, never assume them.
 *
 * <p>A driver whose results go somewhere other than a plain matrix (the MPO sweep scatters each tile into its
 * next state) takes one tile at a time: from {@link #streamingTile}, with b read in place from memory, or from
 * {@link #packedTile}, with b packed once by the caller ({@link #packPanels}) and kept.
 */
public final class PanelGemm {

    /** Columns of b per panel: floats per panel row. */
    public static final int PANEL_WIDTH = GemmMicroKernel.NR;
    /** Rows of a (and c) the micro-kernel takes at once. */
    public static final int TILE_ROWS = GemmMicroKernel.MR;
    /**
     * Panels the micro-kernel takes at once (two with 512-bit vectors): hand {@link #multiply} whole multiples of it
     * where you can, since a last single panel costs as much as a pair.
     */
    public static final int PANELS_PER_STEP = GemmMicroKernel.PANELS_PER_STEP;

    /**
     * Calls of up to this many rows run twelve-row tiles ({@link GemmMicroKernel#packedTall}, where
     * {@link GemmMicroKernel#TALL} says they pay) wherever more than {@link #TILE_ROWS} rows are left: a sentence at
     * batch 1, whose products cost the reading of the weights from memory more than their multiply-adds.
     */
    static final int TALL_MAX_ROWS = 4 * TILE_ROWS;

    private PanelGemm() {
    }

    /**
     * The first panel of part {@code part} (0 to parts; part {@code parts} starts at {@code panels}) when
     * {@code panels} panels are cut into {@code parts} parts of whole {@link #PANELS_PER_STEP steps}, as even as the
     * steps allow and the larger parts first: 6 steps in 4 parts are 2, 1, 2, 1, so two threads that take them in
     * turn finish together, where 1, 2, 1, 2 left one idle. {@code parts} is at most the number of steps.
     */
    public static int partStart(int part, int parts, int panels) {
        return Math.min(panels, Math.ceilDiv(part * steps(panels), parts) * PANELS_PER_STEP);
    }

    /** Steps of the micro-kernel over {@code panels} panels ({@link #PANELS_PER_STEP} a step, the last maybe fewer). */
    public static int steps(int panels) {
        return Math.ceilDiv(panels, PANELS_PER_STEP);
    }

    /** Rows [i0, i1) of a, all a.cols() of their depth, as the a operand of {@link #multiply} reads them. */
    public static float[] rowsOf(Tensor a, int i0, int i1) {
        int k = a.cols();
        float[] rows = new float[RowTiles.floats(i1 - i0, k)];
        RowTiles.copy(a, i0, i1, 0, k, rows, 0);
        return rows;
    }

    /**
     * c[i0 + i, j0 + t] = Σ_{p &lt; kc} a[i, pc + p] · panel_q[p, t'] for i &lt; rows, over {@code panelCount}
     * panels q lying one after another in {@code panels} (kc·PANEL_WIDTH floats apart; column t = q·PANEL_WIDTH + t'),
     * clipped to c's columns; {@code accumulate} adds to c instead. a is {@link #rowsOf} {@code rows} rows lda
     * deep, with pc + kc ≤ lda. Row tiles are taken outermost, so a tile of a stays in L1 while it meets every panel.
     */
    public static void multiply(float[] a, int rows, int lda, int pc, int kc, float[] panels, int panelCount, Tensor c,
            int i0, int j0, boolean accumulate) {
        multiply(a, RowTiles.at(0, pc, lda), rows, lda, kc, panels, 0, kc * PANEL_WIDTH, panelCount, c, i0, j0,
                accumulate, null);
    }

    /**
     * {@link #multiply} over panels q at {@code first + q·stride} in {@code panels}, through this thread's tiles, for
     * the {@code rows} rows of a block of {@link RowTiles} lda deep whose first tile the kernel reads from {@code a0}
     * ({@link RowTiles#at}): the dense GEMM's blocks of b keep each depth block of a panel more than
     * kc·PANEL_WIDTH floats from the next panel's, and its tasks take a few tiles from the middle of a shared block of
     * a, part of its depth. A non-null epilogue (for the last depth block only) is applied to each tile as it is
     * flushed.
     */
    static void multiply(float[] a, int a0, int rows, int lda, int kc, float[] panels, int first, int stride,
            int panelCount, Tensor c, int i0, int j0, boolean accumulate, GemmMicroKernel.Epilogue epilogue) {
        int n = c.cols();
        float[] tile = tile();
        long ldcBytes = (long) c.leadingDim() * Float.BYTES;
        float[] next = GemmMicroKernel.WIDE ? Scratch.floats(Scratch.Slot.GEMM_NEXT_TILE, TILE_ROWS * PANEL_WIDTH)
                : null;
        boolean tall = GemmMicroKernel.TALL && rows <= TALL_MAX_ROWS;
        for (int ir = 0, valid; ir < rows; ir += valid) {
            valid = Math.min(rows - ir, tall ? GemmMicroKernel.TALL_ROWS : TILE_ROWS);
            int r0 = a0 + ir * lda;
            long cRow = (c.offset() + (long) (i0 + ir) * c.leadingDim()) * Float.BYTES;
            if (valid > TILE_ROWS) {
                // Twelve rows, one panel at a time: each vector of b loaded once for all of them.
                for (int q = 0; q < panelCount && j0 + q * PANEL_WIDTH < n; q++) {
                    int j = j0 + q * PANEL_WIDTH;
                    int cols = Math.min(PANEL_WIDTH, n - j);
                    long cOff = cRow + (long) j * Float.BYTES;
                    GemmMicroKernel.packedTall(a, r0, r0 + TILE_ROWS * lda, panels, first + q * stride, kc, tile,
                            next);
                    GemmMicroKernel.flush(tile, c.segment(), cOff, ldcBytes, TILE_ROWS, cols, accumulate, epilogue, j);
                    GemmMicroKernel.flush(next, c.segment(), cOff + TILE_ROWS * ldcBytes, ldcBytes, valid - TILE_ROWS,
                            cols, accumulate, epilogue, j);
                }
                continue;
            }
            for (int q = 0; q < panelCount && j0 + q * PANEL_WIDTH < n; q += GemmMicroKernel.PANELS_PER_STEP) {
                int j = j0 + q * PANEL_WIDTH;
                int b = first + q * stride;
                boolean pair = GemmMicroKernel.WIDE && q + 1 < panelCount && j + PANEL_WIDTH < n;
                if (GemmMicroKernel.WIDE) {
                    // A last single panel goes in as both: its second tile is computed and dropped.
                    GemmMicroKernel.packedWide(a, r0, panels, b, pair ? b + stride : b, kc, tile, next);
                } else {
                    GemmMicroKernel.packed(a, r0, r0 + lda, r0 + 2 * lda, r0 + 3 * lda, r0 + 4 * lda, r0 + 5 * lda,
                            panels, b, kc, tile);
                }
                GemmMicroKernel.flush(tile, c.segment(), cRow + (long) j * Float.BYTES, ldcBytes, valid,
                        Math.min(PANEL_WIDTH, n - j), accumulate, epilogue, j);
                if (pair) {
                    int jNext = j + PANEL_WIDTH;
                    GemmMicroKernel.flush(next, c.segment(), cRow + (long) jNext * Float.BYTES, ldcBytes, valid,
                            Math.min(PANEL_WIDTH, n - jNext), accumulate, epilogue, jNext);
                }
            }
        }
    }

    /** This thread's array for one tile of c on its way out of the micro-kernel (reused: no allocation per call). */
    static float[] tile() {
        return Scratch.floats(Scratch.Slot.GEMM_TILE, TILE_ROWS * PANEL_WIDTH);
    }

    /**
     * tile[t·PANEL_WIDTH + u] = Σ_{p &lt; kc} a[a0 + t·lda + p] · b[p, u] for t &lt; TILE_ROWS, u &lt; PANEL_WIDTH: one
     * tile with b read in place, kc rows {@code ldbBytes} apart from {@code bOff}, of which the first {@code cols}
     * columns are real (masked; the masked loads must stay inside b's segment, or the Vector API takes its slow
     * out-of-range path). Rows t &ge; valid of a read the zero row at {@code zeroRow}.
     */
    public static void streamingTile(float[] a, int a0, int lda, int valid, int zeroRow, MemorySegment b, long bOff,
            long ldbBytes, int cols, int kc, float[] tile) {
        GemmMicroKernel.streaming(a, a0, VectorGemm.row(a0, 1, lda, valid, zeroRow),
                VectorGemm.row(a0, 2, lda, valid, zeroRow), VectorGemm.row(a0, 3, lda, valid, zeroRow),
                VectorGemm.row(a0, 4, lda, valid, zeroRow), VectorGemm.row(a0, 5, lda, valid, zeroRow), b, bOff,
                ldbBytes, cols, kc, tile);
    }

    /**
     * b [k, n] (row-major, unit column stride) as the panels {@link #packedTile} reads: panel q's k rows of
     * {@link #PANEL_WIDTH} floats at q·k·PANEL_WIDTH, the columns past n zero.
     */
    public static float[] packPanels(float[] b, int k, int n) {
        int panels = Math.ceilDiv(n, PANEL_WIDTH);
        float[] packed = new float[Math.multiplyExact(panels * k, PANEL_WIDTH)];
        for (int q = 0; q < panels; q++) {
            int j0 = q * PANEL_WIDTH;
            int cols = Math.min(PANEL_WIDTH, n - j0);
            for (int p = 0; p < k; p++) {
                System.arraycopy(b, p * n + j0, packed, (q * k + p) * PANEL_WIDTH, cols);
            }
        }
        return packed;
    }

    /**
     * {@link #streamingTile} with b packed: tile[t·PANEL_WIDTH + u] = Σ_{p &lt; kc} a[a0 + t·lda + p] ·
     * panels[b + p·PANEL_WIDTH + u], one panel of {@link #packPanels} from {@code b}. The loads are whole vectors from
     * a heap array, one after another, where a streamed b is read row by row, masked, across its segment.
     */
    public static void packedTile(float[] a, int a0, int lda, int valid, int zeroRow, float[] panels, int b, int kc,
            float[] tile) {
        GemmMicroKernel.packed(a, a0, VectorGemm.row(a0, 1, lda, valid, zeroRow),
                VectorGemm.row(a0, 2, lda, valid, zeroRow), VectorGemm.row(a0, 3, lda, valid, zeroRow),
                VectorGemm.row(a0, 4, lda, valid, zeroRow), VectorGemm.row(a0, 5, lda, valid, zeroRow), panels, b,
                kc, tile);
    }
}
