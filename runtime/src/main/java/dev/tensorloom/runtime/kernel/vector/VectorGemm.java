package dev.tensorloom.runtime.kernel.vector;

import static dev.tensorloom.runtime.kernel.vector.GemmMicroKernel.MR;
import static dev.tensorloom.runtime.kernel.vector.GemmMicroKernel.NR;
import static dev.tensorloom.runtime.kernel.vector.GemmMicroKernel.PANEL_VECTORS;
import static dev.tensorloom.runtime.kernel.vector.Simd.L;
import static dev.tensorloom.runtime.kernel.vector.Simd.NATIVE;
import static dev.tensorloom.runtime.kernel.vector.Simd.S;

import dev.tensorloom.runtime.kernel.Tasks;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;

/**
 * c = a·b for a row-major b [k,n], the layout of ONNX MatMul weights, in the Goto/BLIS scheme.
 *
 * <p>b is packed into panels NR columns wide (once per call, or once for good by {@link #pack} when b is a
 * layer's constant weights) (kc rows of NR floats each, contiguous), the
 * rows of a are split into blocks, and for each depth block of {@value #KC} a block of a is copied into a
 * small array; {@link GemmMicroKernel#packed} then multiplies an MR-row sliver of it (12 KiB, stays in L1)
 * with every panel sliver of a {@value #KC}×{@value #NC} block of b (512 KiB, stays in L2).
 * Tiles of (row block × column range) are spread over the threads in equal numbers.
 *
 * <p>With few rows (one sentence at batch 1) packing b would cost as much as the product, so b is read in
 * place by {@link GemmMicroKernel#streaming}, one column strip per task.
 */
final class VectorGemm {

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /**
     * Depth of a k block: long enough to amortize loading and storing the c tile, and for the encoder's
     * k = 384 a single block (measured 2-4% faster than 256 on Zen 4). An MR×KC sliver of a is 12 KiB.
     */
    static final int KC = 512;
    /** Columns of b per L2 block: the KC×NC block of b (512 KiB) plus the row block of a fit the 1 MiB L2. */
    static final int NC = 256;
    /** Largest row block of a per task. */
    static final int MC = 144;
    /**
     * Up to this many rows of a, {@link #packed} keeps them in one block and gives the threads columns, so b is
     * read once: each float of b meets only m multiply-adds, and by a rough roofline (a core's FMA rate against
     * its share of DRAM bandwidth) below a dozen rows or so reading b is the product's time. Paired in one JVM
     * on a loaded 2-core machine, the encoder at batch 1 ran 1.00-1.22x (min to median) at ~10 tokens with the
     * columns cut; at ~100 tokens, where the product is compute-bound, one block of all rows ran 0.78-0.94x the
     * two row blocks that keep each thread's slice of a small beside b's block in L2.
     */
    static final int COLUMN_SPLIT_MAX_ROWS = 4 * MR;
    /**
     * Up to this many rows of a, b is read in place instead of packed: measured at k=384, n=1536, streaming
     * is 2x faster at 10 rows, still ahead at 96 and behind from about 200.
     */
    static final int STREAMING_MAX_ROWS = 16 * MR;

    private VectorGemm() {
    }

    static void multiply(Tensor a, Tensor b, Tensor c, Tasks tasks) {
        multiply(a, b, null, c, tasks);
    }

    /** c = a·b with b already packed by {@link #pack}. */
    static void multiply(Tensor a, PackedPanels b, Tensor c, Tasks tasks) {
        multiply(a, null, b, c, tasks);
    }

    /** Packs b [k,n] into panels NR columns wide, the layout the packed micro-kernel reads. */
    static PackedPanels pack(Tensor b, Tasks tasks) {
        int panels = Math.ceilDiv(b.cols(), NR);
        float[] packedB = new float[Math.multiplyExact(panels * NR, b.rows())];
        tasks.forEach(panels, p -> packPanel(b, p, packedB));
        return new PackedPanels(b.rows(), b.cols(), packedB, tasks.pool());
    }

    /** c = a·b from b itself or, when packedB is not null, from its panels. */
    private static void multiply(Tensor a, Tensor b, PackedPanels packedB, Tensor c, Tasks tasks) {
        int m = a.rows();
        int n = c.cols();
        int k = a.cols();
        if (m == 0 || n == 0) {
            return;
        }
        if (k == 0) {
            VectorElementwise.fill(c, 0f);
            return;
        }
        if (packedB != null) {
            packed(a, packedB, c, tasks);
        } else if (m <= STREAMING_MAX_ROWS) {
            streaming(a, b, c, tasks);
        } else {
            packed(a, pack(b, tasks), c, tasks);
        }
    }

    private static void packed(Tensor a, PackedPanels b, Tensor c, Tasks tasks) {
        int m = a.rows();
        int n = b.cols();
        int panels = Math.ceilDiv(n, NR);
        float[] packedB = b.panels();

        int threads = tasks.threads();
        int rowPanels = Math.ceilDiv(m, MR);
        // A few rows stay one block: each row block streams all of b, and there reading b is what the product
        // costs, so the threads cut the columns instead and b is read once.
        int rowBlocks = m <= COLUMN_SPLIT_MAX_ROWS ? 1
                : Math.min(rowPanels, threads * Math.ceilDiv(rowPanels, threads * (MC / MR)));
        int panelsPerRowBlock = Math.ceilDiv(rowPanels, rowBlocks);
        rowBlocks = Math.ceilDiv(rowPanels, panelsPerRowBlock);
        // Too few row blocks to keep every thread busy: cut the columns as well.
        int colBlocks = rowBlocks >= threads ? 1 : Math.min(panels, Math.ceilDiv(2 * threads, rowBlocks));
        int panelsPerColBlock = Math.ceilDiv(panels, colBlocks);
        int columnBlocks = Math.ceilDiv(panels, panelsPerColBlock);
        tasks.forEach(rowBlocks * columnBlocks, t -> {
            int i0 = t / columnBlocks * panelsPerRowBlock * MR;
            int i1 = Math.min(m, i0 + panelsPerRowBlock * MR);
            int p0 = t % columnBlocks * panelsPerColBlock;
            int p1 = Math.min(panels, p0 + panelsPerColBlock);
            packedTile(a, packedB, c, i0, i1, p0, p1);
        });
    }

    /** Copies columns [p·NR, p·NR + NR) of b into panel p, row after row, zero-padding past n. */
    private static void packPanel(Tensor b, int panel, float[] packed) {
        int k = b.rows();
        int n = b.cols();
        int j0 = panel * NR;
        MemorySegment seg = b.segment();
        long ldb = b.leadingDim();
        int dst = panel * k * NR;
        boolean full = j0 + NR <= n;
        for (int p = 0; p < k; p++) {
            long src = (b.offset() + p * ldb + j0) * Float.BYTES;
            for (int v = 0; v < PANEL_VECTORS; v++) {
                long off = src + (long) v * L * Float.BYTES;
                FloatVector x = full
                        ? FloatVector.fromMemorySegment(S, seg, off, NATIVE)
                        : FloatVector.fromMemorySegment(S, seg, off, NATIVE, S.indexInRange(j0 + v * L, n));
                x.intoArray(packed, dst + p * NR + v * L);
            }
        }
    }

    /** Rows [i0, i1) of c times the column panels [p0, p1) of packed b. */
    private static void packedTile(Tensor a, float[] packedB, Tensor c, int i0, int i1, int p0, int p1) {
        int k = a.cols();
        int rows = i1 - i0;
        int kcMax = Math.min(KC, k);
        // The a block, row-major, plus one zero row that stands in for the rows past m of a bottom-edge tile.
        float[] blockA = new float[(rows + 1) * kcMax];
        float[] tile = new float[MR * NR];
        int panelsPerBlock = NC / NR;
        for (int pc = 0; pc < k; pc += KC) {
            int kc = Math.min(KC, k - pc);
            copyRows(a, i0, i1, pc, kc, blockA);
            // A shorter last depth block moves the zero row into floats an earlier block wrote.
            Arrays.fill(blockA, rows * kc, (rows + 1) * kc, 0f);
            for (int pb = p0; pb < p1; pb += panelsPerBlock) {
                int count = Math.min(p1, pb + panelsPerBlock) - pb;
                PanelGemm.multiply(blockA, rows, kc, 0, kc, packedB, (pb * k + pc) * NR, k * NR, count, c, i0,
                        pb * NR, pc > 0, tile);
            }
        }
    }

    private static void streaming(Tensor a, Tensor b, Tensor c, Tasks tasks) {
        int m = a.rows();
        int n = b.cols();
        int k = a.cols();
        float[] rowsA = new float[(m + 1) * k];
        int zeroRow = m * k;
        copyRows(a, 0, m, 0, k, rowsA);
        int panels = Math.ceilDiv(n, NR);
        int strips = Math.min(panels, 4 * tasks.threads());
        int panelsPerStrip = Math.ceilDiv(panels, strips);
        long ldbBytes = (long) b.leadingDim() * Float.BYTES;
        long ldcBytes = (long) c.leadingDim() * Float.BYTES;
        tasks.forEach(Math.ceilDiv(panels, panelsPerStrip), s -> {
            float[] tile = new float[MR * NR];
            int pEnd = Math.min(panels, (s + 1) * panelsPerStrip);
            for (int p = s * panelsPerStrip; p < pEnd; p++) {
                int j0 = p * NR;
                int cols = Math.min(NR, n - j0);
                long bOff = (b.offset() + j0) * Float.BYTES;
                for (int i = 0; i < m; i += MR) {
                    int valid = Math.min(MR, m - i);
                    int a0 = i * k;
                    GemmMicroKernel.streaming(rowsA, a0, row(a0, 1, k, valid, zeroRow),
                            row(a0, 2, k, valid, zeroRow), row(a0, 3, k, valid, zeroRow),
                            row(a0, 4, k, valid, zeroRow), row(a0, 5, k, valid, zeroRow),
                            b.segment(), bOff, ldbBytes, cols, k, tile);
                    long cOff = (c.offset() + (long) i * c.leadingDim() + j0) * Float.BYTES;
                    GemmMicroKernel.flush(tile, c.segment(), cOff, ldcBytes, valid, cols, false);
                }
            }
        });
    }

    /** Offset of row r of a tile starting at a0 in a block with rows kc apart, or the zero row past the edge. */
    static int row(int a0, int r, int kc, int valid, int zeroRow) {
        return r < valid ? a0 + r * kc : zeroRow;
    }

    /** Copies a[i0..i1, pc..pc+kc) into dst, row-major with row length kc. */
    static void copyRows(Tensor a, int i0, int i1, int pc, int kc, float[] dst) {
        long lda = a.leadingDim();
        for (int i = i0; i < i1; i++) {
            MemorySegment.copy(a.segment(), F, (a.offset() + i * lda + pc) * Float.BYTES, dst, (i - i0) * kc, kc);
        }
    }
}
