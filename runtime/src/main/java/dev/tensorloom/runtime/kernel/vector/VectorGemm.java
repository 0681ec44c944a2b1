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
 * c = a·b for a row-major b [k,n], the layout of ONNX MatMul weights, in the Goto/BLIS scheme. b is cut into
 * panels NR columns wide (kc rows of NR floats each, contiguous), and {@link GemmMicroKernel#packed} runs an MR-row
 * sliver of a (12 KiB at KC, in L1) over every panel of a KC×NC block of b (512 KiB, in L2). Two loop orders
 * around that, by the size of b:
 *
 * <ul>
 *   <li>b under {@link #LARGE_B_FLOATS} (16 MiB: every weight of MiniLM and BERT-base), but for the next item:
 *       {@link #rowBlocked}. Row blocks of {@link #MC} rows are the tasks, and each reads all of b again, from L3,
 *       where b stays.
 *   <li>b larger (2048 and 4096 squared), and b from 4 MiB when the product is one depth block of this order
 *       ({@link #inL3Loop}: 1024 squared, BERT-base's QKV and up-projection): {@link #blocked}, the BLIS order with
 *       a and b's roles swapped. Depth blocks of {@link #BLOCKED_KC} and row blocks of a as large as
 *       {@link #A_BLOCK_FLOATS} (16 MiB, in L3; every row at 4096) are the outer loops; each block of a is copied
 *       once into a shared array, and the tasks own column blocks of b, each running every row of the block of a
 *       past its block of b while that sits in L2. So b comes from memory once per row block of a (once per depth
 *       block at 4096, where the row blocks read all 64 MiB of it once per 144 rows, about 2 GiB per product), and
 *       when b was not packed ahead, each task packs its own block into an array of its own just before use instead
 *       of the whole of b going out to memory packed and coming back.
 * </ul>
 *
 * <p>b comes packed once for good by {@link #pack} (a layer's constant weights) or as it lies. With few rows (one
 * sentence at batch 1) packing b would cost as much as the product, so b is read in place by
 * {@link GemmMicroKernel#streaming}, one column strip per task.
 */
final class VectorGemm {

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /**
     * Depth of a k block: long enough to amortize loading and storing the c tile, and for the encoder's
     * k = 384 a single block (measured 2-4% faster than 256 on Zen 4). An MR×KC sliver of a is 12 KiB of the
     * 32 KiB L1. The BLIS order inside a block (panel outermost, a's row tiles inner, so that one sliver of b stays
     * in L1 while the sliver of a streams) lost on one thread of a loaded Zen 4 at 3200×384×1536 (thread CPU time,
     * indicative): 85-91 GFLOP/s at kc = 384 and 78-88 at kc = 128 or 192 (where the b sliver fits L1), against
     * 95-101 for row tiles outermost at kc = 384.
     */
    static final int KC = 512;
    /**
     * Columns of b per L2 block: a KC×NC block of b is 512 KiB, half of Zen 4's 1 MiB L2, which leaves room for
     * the slivers of a and c passing through. In floats it is the same at every vector width, so it is 8 panels
     * at 16 lanes and 16 at 8.
     */
    static final int NC = 256;
    /**
     * Depth of a block in {@link #blocked}, twice {@link #KC}: there c (64 MiB at 4096 squared) lives in memory and
     * is read and written once per depth block, so twice the depth halves that traffic (about 0.5 GiB less per
     * product at 4096). The sliver of a is then 24 KiB, and the block of b stays at 512 KiB by being half as wide
     * ({@link #BLOCKED_NC}). JMH, 2 threads, 2-core Zen 5, 2026-12-01, GFLOP/s at 2048 and 4096: 447-451 and
     * 440-450 against 422-434 and 417-434 with KC × NC and 8 MiB blocks of a; with -XX:UseAVX=2 235-237 and 234-236
     * against 229-236 and 225-228.
     */
    static final int BLOCKED_KC = 2 * KC;
    /** Columns of b per L2 block in {@link #blocked}: a BLOCKED_KC × BLOCKED_NC block of b is 512 KiB. */
    static final int BLOCKED_NC = NC / 2;
    /**
     * Floats of a per L3 block in {@link #blocked}, 16 MiB: half the 32 MiB L3, the other half left to the blocks of
     * b on their way to L2 and other work. At 4096 that is every row of a, BLOCKED_KC deep, so b is read from memory
     * once per depth block; when all of a fits (m·k up to 4M floats, 2048 squared) it is one block of all its depth
     * and the product is one parallel loop, each task walking the depth BLOCKED_KC at a time.
     */
    static final int A_BLOCK_FLOATS = 4 << 20;
    /**
     * Floats of a (padding rows aside) up to which {@link #blocked} keeps its block in the calling thread's
     * {@link Scratch} (4 MiB, all of a at 1024 squared) instead of a new array per call; the tasks' own blocks of b
     * (512 KiB at most) always live in theirs. A 1024-squared product allocated 8.4 MB and ran 34-35 collections a
     * JMH iteration set; now 13 KB and none, at 299-341 GFLOP/s against 274-305 (JMH with its gc profiler, 2
     * threads, 2-core Zen 5, builds alternating, 2026-12-02: within the run's noise). Larger blocks are still
     * allocated per call, so that no thread holds 16 MiB for good.
     */
    static final int REUSED_BLOCK_FLOATS = A_BLOCK_FLOATS / 4;
    /** Tasks per thread in {@link #blocked}, so that a thread slowed by another process leaves no long tail. */
    private static final int TASKS_PER_THREAD = 4;
    /** Up to this many rows of a the threads take columns only: each float of b meets few multiply-adds. */
    static final int COLUMN_SPLIT_MAX_ROWS = 4 * MR;
    /**
     * Up to this many rows of a, b is read in place instead of packed: measured at k=384, n=1536, streaming
     * is 2x faster at 10 rows, still ahead at 96 and behind from about 200.
     */
    static final int STREAMING_MAX_ROWS = 16 * MR;

    /** Row blocks of a per task in {@link #rowBlocked}: 24 row tiles, 288 KiB of a at KC. */
    static final int MC = 144;
    /**
     * Floats of b from which {@link #blocked} runs the product, 16 MiB, half the L3: smaller, b stays in L3 beside a
     * and c and {@link #rowBlocked} reads it again per row block at little cost; from there on (2048 and 4096
     * squared) the three no longer fit and b comes back from memory for each row block.
     */
    static final int LARGE_B_FLOATS = 4 << 20;

    /**
     * The cache blocking of {@link #blocked}: depth block, panels per block of b, floats per block of a, and the
     * size of b from which it runs. Tests shrink it to cross every block edge at small sizes.
     */
    record Blocking(int kc, int ncPanels, int aBlockFloats, int largeBFloats) {
        static final Blocking CACHES = new Blocking(BLOCKED_KC, BLOCKED_NC / NR, A_BLOCK_FLOATS, LARGE_B_FLOATS);
    }

    private VectorGemm() {
    }

    static void multiply(Tensor a, Tensor b, Tensor c, Tasks tasks) {
        multiply(a, b, null, c, null, tasks, Blocking.CACHES);
    }

    /** c = a·b with b already packed by {@link #pack}. */
    static void multiply(Tensor a, PackedPanels b, Tensor c, Tasks tasks) {
        multiply(a, null, b, c, null, tasks, Blocking.CACHES);
    }

    /** Packs b [k,n] into panels NR columns wide, the layout the packed micro-kernel reads. */
    static PackedPanels pack(Tensor b, Tasks tasks) {
        int k = b.rows();
        int panels = Math.ceilDiv(b.cols(), NR);
        float[] packedB = new float[Math.multiplyExact(panels * NR, k)];
        tasks.forEach(panels, p -> packPanels(b, 0, k, p, p + 1, packedB, p * k * NR));
        return new PackedPanels(k, b.cols(), packedB, tasks.pool());
    }

    /**
     * c = a·b from b itself or, when packedB is not null, from its panels, blocked as {@code blocking} says; the
     * epilogue (when not null) applied to each tile of c in the flush of its last depth block, in either loop order.
     * k must be at least 1 when there is an epilogue: with k = 0 no tile is flushed.
     */
    static void multiply(Tensor a, Tensor b, PackedPanels packedB, Tensor c, GemmMicroKernel.Epilogue epilogue,
            Tasks tasks, Blocking blocking) {
        int m = a.rows();
        int n = c.cols();
        int k = a.cols();
        if (m == 0 || n == 0) {
            return;
        }
        if (k == 0) {
            if (epilogue != null) {
                throw new IllegalArgumentException("an epilogue needs a product of depth at least 1, not " + a);
            }
            VectorElementwise.fill(c, 0f);
            return;
        }
        if (packedB == null && m <= STREAMING_MAX_ROWS) {
            streaming(a, b, c, epilogue, tasks);
        } else if (inL3Loop(m, k, n, blocking)) {
            blocked(a, b, packedB, c, epilogue, tasks, blocking);
        } else {
            rowBlocked(a, packedB != null ? packedB : pack(b, tasks), c, epilogue, tasks);
        }
    }

    /**
     * Whether a product takes {@link #blocked}: b of {@link #LARGE_B_FLOATS} or more, or of a quarter of that whose
     * depth is one block of that loop, under more rows than {@link #COLUMN_SPLIT_MAX_ROWS}. Products of one depth
     * block ran faster there (JMH, 2 threads, 2-core Zen 5, 2026-12-01, GFLOP/s): 1024 squared 447-460 against
     * 426-446 in row blocks, 3200×768×3072 (BERT-base's up-projection at batch 32) 488-503 against 459-466,
     * 100×768×3072 488-496 against 471-480; a deeper one, 3200×3072×768, stayed ahead in row blocks (468-475
     * against 440-452). MiniLM's products (b under 1M floats) are not affected.
     */
    private static boolean inL3Loop(int m, int k, int n, Blocking blocking) {
        long bFloats = (long) k * n;
        return bFloats >= blocking.largeBFloats()
                || bFloats >= blocking.largeBFloats() / 4 && k <= blocking.kc() && m > COLUMN_SPLIT_MAX_ROWS;
    }

    /**
     * Row blocks of at most {@link #MC} rows, spread over the threads, each against all of b, one KC×NC block of b
     * after another: every row block reads b again, which costs little while b stays in L3 (all of the encoder's
     * weights), and each thread's slice of a stays in L2 beside the block of b. On the encoder's products (m = 3200,
     * k and n 384 or 1536) {@link #blocked}, where every column block reads all of a from L3, ran about a fifth
     * fewer calls per second in back-to-back runs on a loaded 2-core machine, so it is kept for large b.
     *
     * <p>Up to {@link #MC} rows a thread, though, row blocks leave the threads uneven: at 100 rows (batch 1, ~100
     * tokens) they held 9 and 8 row panels, so one thread waited for the other's last tile row. There the tiles are
     * cut row after row into one equal run per thread instead ({@link #evenShares}): the encoder layer's four
     * products at 100 rows with the weights in L3 took 842-870 µs against 866-892 (2-core Zen 5, 2026-12-01; 96
     * rows, already even, 779-816 either way). Cutting the columns instead (one row block, 8 column blocks as even
     * as the panels allow) had measured slower in the encoder (JMH, 2026-11-30: 54.4 batches/s with a copied per
     * task, 57.9 and 57.6 with one copy of a shared by the tasks, against 62.6, 64.4 and 63.7 for row blocks).
     */
    private static void rowBlocked(Tensor a, PackedPanels b, Tensor c, GemmMicroKernel.Epilogue epilogue,
            Tasks tasks) {
        int m = a.rows();
        int n = b.cols();
        int panels = Math.ceilDiv(n, NR);
        float[] packedB = b.panels();

        int threads = tasks.threads();
        int rowPanels = Math.ceilDiv(m, MR);
        if (m > COLUMN_SPLIT_MAX_ROWS && threads > 1 && rowPanels <= threads * (MC / MR)) {
            evenShares(a, packedB, c, epilogue, tasks, rowPanels, panels);
            return;
        }
        // A few rows stay one block: each row block streams all of b, and there reading b is what the product
        // costs, so the threads cut the columns instead and b is read once.
        int rowBlocks = m <= COLUMN_SPLIT_MAX_ROWS ? 1
                : Math.min(rowPanels, threads * Math.ceilDiv(rowPanels, threads * (MC / MR)));
        int panelsPerRowBlock = Math.ceilDiv(rowPanels, rowBlocks);
        rowBlocks = Math.ceilDiv(rowPanels, panelsPerRowBlock);
        // Too few row blocks to keep every thread busy: cut the columns as well, in whole steps of the micro-kernel
        // (a last single panel costs as much as a pair), the larger blocks first (PanelGemm.partStart).
        int columnBlocks = rowBlocks >= threads ? 1
                : Math.min(PanelGemm.steps(panels), Math.ceilDiv(2 * threads, rowBlocks));
        // One row block read by every column block: its tiles made once, all of their depth, instead of once a task.
        float[] shared = rowBlocks == 1 && columnBlocks > 1 ? PanelGemm.rowsOf(a, 0, m) : null;
        tasks.forEach(rowBlocks * columnBlocks, t -> {
            int i0 = t / columnBlocks * panelsPerRowBlock * MR;
            int i1 = Math.min(m, i0 + panelsPerRowBlock * MR);
            int column = t % columnBlocks;
            rowBlock(a, shared, packedB, c, i0, i1, PanelGemm.partStart(column, columnBlocks, panels),
                    PanelGemm.partStart(column + 1, columnBlocks, panels), epilogue);
        });
    }

    /**
     * The tiles of c, row of tiles after row of tiles, cut into one equal run per thread: each run is at most a
     * part of one row of tiles, whole rows, and a part of another, each a {@link #rowBlock} of its own, in units of
     * the panels the micro-kernel takes at once, so that every part starts on a pair where it takes two.
     */
    private static void evenShares(Tensor a, float[] packedB, Tensor c, GemmMicroKernel.Epilogue epilogue,
            Tasks tasks, int rowPanels, int panels) {
        int m = a.rows();
        int unitPanels = GemmMicroKernel.PANELS_PER_STEP;
        int unitsPerRow = Math.ceilDiv(panels, unitPanels);
        long units = (long) rowPanels * unitsPerRow;
        int threads = tasks.threads();
        tasks.forEach(threads, t -> {
            long u = units * t / threads;
            long end = units * (t + 1) / threads;
            while (u < end) {
                int tileRow = (int) (u / unitsPerRow);
                int first = (int) (u % unitsPerRow);
                int tileRows;
                int last;
                if (first == 0 && end - u >= unitsPerRow) {
                    tileRows = (int) ((end - u) / unitsPerRow);
                    last = unitsPerRow;
                } else {
                    tileRows = 1;
                    last = (int) Math.min(unitsPerRow, first + end - u);
                }
                rowBlock(a, null, packedB, c, tileRow * MR, Math.min(m, (tileRow + tileRows) * MR), first * unitPanels,
                        Math.min(panels, last * unitPanels), epilogue);
                u += (long) (tileRows - 1) * unitsPerRow + last - first;
            }
        });
    }

    /**
     * Rows [i0, i1) of c times the column panels [p0, p1) of packed b, the epilogue in the last depth block; a's rows
     * from {@code tiled} (those rows as {@link RowTiles} of all their depth) when not null, else copied here one depth
     * block at a time.
     */
    private static void rowBlock(Tensor a, float[] tiled, float[] packedB, Tensor c, int i0, int i1, int p0, int p1,
            GemmMicroKernel.Epilogue epilogue) {
        int k = a.cols();
        int rows = i1 - i0;
        float[] blockA = tiled != null ? tiled
                : Scratch.floats(Scratch.Slot.GEMM_ROWS, RowTiles.floats(rows, Math.min(KC, k)));
        int panelsPerBlock = NC / NR;
        for (int pc = 0; pc < k; pc += KC) {
            int kc = Math.min(KC, k - pc);
            int depth = k;
            int a0 = RowTiles.at(0, pc, k);
            if (tiled == null) {
                RowTiles.copy(a, i0, i1, pc, kc, blockA, 0);
                depth = kc;
                a0 = 0;
            }
            for (int pb = p0; pb < p1; pb += panelsPerBlock) {
                int count = Math.min(p1, pb + panelsPerBlock) - pb;
                PanelGemm.multiply(blockA, a0, rows, depth, kc, packedB, (pb * k + pc) * NR, k * NR, count, c, i0,
                        pb * NR, pc > 0, pc + kc == k ? epilogue : null);
            }
        }
    }

    private static void blocked(Tensor a, Tensor b, PackedPanels packedB, Tensor c, GemmMicroKernel.Epilogue epilogue,
            Tasks tasks, Blocking blocking) {
        int m = a.rows();
        int k = a.cols();
        int panels = Math.ceilDiv(c.cols(), NR);
        // One block of a with all its depth when it fits, else blocks KC deep of as many rows as fit.
        int depth = (long) m * k <= blocking.aBlockFloats() ? k : Math.min(blocking.kc(), k);
        // All of a's rows when they fit; else whole tiles. (Rounding a fitting 4096 down to 4092 rows left a block
        // of 4 rows that packed and streamed all of b's depth block again for one row of tiles.)
        int fit = blocking.aBlockFloats() / depth;
        int blockRows = m <= fit ? m : Math.max(MR, fit / MR * MR);
        int blockFloats = RowTiles.floats(blockRows, depth);
        float[] blockA = (long) blockRows * depth <= REUSED_BLOCK_FLOATS
                ? Scratch.floats(Scratch.Slot.GEMM_BLOCK, blockFloats) : new float[blockFloats];

        // Each task owns a column block no wider than the L2 block, so b is read once per row block of a; when there
        // are too few to feed the threads (a narrow b), narrower ones, and then the rows are cut as well.
        int threads = tasks.threads();
        int target = threads == 1 ? 1 : TASKS_PER_THREAD * threads;
        int colBlocks = Math.max(Math.ceilDiv(panels, blocking.ncPanels()), Math.min(panels, target));
        // Whole pairs of panels where the micro-kernel takes two at once: an odd count leaves one on the narrow tile.
        int step = GemmMicroKernel.PANELS_PER_STEP;
        int panelsPerBlock = Math.ceilDiv(Math.ceilDiv(panels, colBlocks), step) * step;
        int columnBlocks = Math.ceilDiv(panels, panelsPerBlock);
        int rowTiles = Math.ceilDiv(blockRows, MR);
        int tilesPerPart = Math.ceilDiv(rowTiles, Math.min(rowTiles, Math.ceilDiv(target, columnBlocks)));
        int rowParts = Math.ceilDiv(rowTiles, tilesPerPart);

        for (int pd = 0; pd < k; pd += depth) {
            int span = Math.min(depth, k - pd);
            int depth0 = pd;
            for (int ic = 0; ic < m; ic += blockRows) {
                int rows = Math.min(blockRows, m - ic);
                int i0 = ic;
                copyBlock(a, i0, i0 + rows, depth0, span, blockA, tasks);
                tasks.forEach(columnBlocks * rowParts, t -> {
                    int p0 = t / rowParts * panelsPerBlock;
                    int p1 = Math.min(panels, p0 + panelsPerBlock);
                    int r0 = t % rowParts * tilesPerPart * MR;
                    int r1 = Math.min(rows, r0 + tilesPerPart * MR);
                    if (r0 < r1) {
                        blockTask(k, blockA, rows, span, depth0, r0, r1, b, packedB, p0, p1, c, i0,
                                blocking.kc(), epilogue);
                    }
                });
            }
        }
    }

    /**
     * Rows [r0, r1) of a block of a ({@link RowTiles} of {@code rows} rows, depths [depth0, depth0 + span) of a)
     * times the column panels [p0, p1) of b, into c's rows from i0 + r0: KC-deep block by
     * block, the block of b from packedB or packed here from b; the epilogue in the flush of k's last depth block.
     */
    private static void blockTask(int k, float[] blockA, int rows, int span, int depth0, int r0, int r1, Tensor b,
            PackedPanels packedB, int p0, int p1, Tensor c, int i0, int kcMax, GemmMicroKernel.Epilogue epilogue) {
        float[] own = packedB == null
                ? Scratch.floats(Scratch.Slot.GEMM_PANELS, Math.min(kcMax, span) * (p1 - p0) * NR) : null;
        for (int d = 0; d < span; d += kcMax) {
            int kc = Math.min(kcMax, span - d);
            int pc = depth0 + d;
            // The block's panels: packed ahead (each panel k deep), or packed here (each kc deep).
            float[] panelsB = own != null ? own : packedB.panels();
            int bOff = own != null ? 0 : (p0 * k + pc) * NR;
            int bStride = own != null ? kc * NR : k * NR;
            if (own != null) {
                packPanels(b, pc, kc, p0, p1, own, 0);
            }
            PanelGemm.multiply(blockA, RowTiles.at(r0, d, span), r1 - r0, span, kc, panelsB, bOff, bStride, p1 - p0, c,
                    i0 + r0, p0 * NR, pc > 0, pc + kc == k ? epilogue : null);
        }
    }

    /**
     * Copies rows [pc, pc + kc) of b's column panels [p0, p1) into dst from dstOff, panel after panel, each kc rows
     * of NR floats, zero-padding past n. Row by row, so b is read along its rows; the columns past n are never
     * read, not even by a masked load.
     */
    private static void packPanels(Tensor b, int pc, int kc, int p0, int p1, float[] dst, int dstOff) {
        int n = b.cols();
        MemorySegment seg = b.segment();
        long ldb = b.leadingDim();
        for (int p = 0; p < kc; p++) {
            long src = (b.offset() + (pc + p) * ldb) * Float.BYTES;
            for (int q = p0; q < p1; q++) {
                int j0 = q * NR;
                int to = dstOff + ((q - p0) * kc + p) * NR;
                if (j0 + NR <= n) {
                    for (int v = 0; v < PANEL_VECTORS; v++) {
                        FloatVector.fromMemorySegment(S, seg, src + (long) (j0 + v * L) * Float.BYTES, NATIVE)
                                .intoArray(dst, to + v * L);
                    }
                } else {
                    // The last panel: a bounded copy, since a masked load could reach past the segment's end.
                    MemorySegment.copy(seg, F, src + (long) j0 * Float.BYTES, dst, to, n - j0);
                    Arrays.fill(dst, to + n - j0, to + NR, 0f);
                }
            }
        }
    }

    /** Copies a[i0..i1, pc..pc+kc) into dst as {@link RowTiles} kc deep, the threads taking tiles when it is large. */
    private static void copyBlock(Tensor a, int i0, int i1, int pc, int kc, float[] dst, Tasks tasks) {
        if ((long) (i1 - i0) * kc < PARALLEL_COPY_FLOATS) {
            RowTiles.copy(a, i0, i1, pc, kc, dst, 0);
        } else {
            tasks.forEachRange(Math.ceilDiv(i1 - i0, MR), 1, (t0, t1) -> RowTiles.copy(a, i0 + t0 * MR,
                    Math.min(i1, i0 + t1 * MR), pc, kc, dst, t0 * MR * kc));
        }
    }

    /** Floats of a below which its block is copied on the calling thread: a parallel loop would cost more. */
    private static final int PARALLEL_COPY_FLOATS = 1 << 16;

    /**
     * Full panels read b in place. A last panel narrower than NR is copied into a panel of its own first: read in
     * place, its masked loads would reach past b's last column, and on b's last rows past the end of its segment,
     * where the Vector API takes its out-of-range path (about 3x slower for a whole MPO run).
     */
    private static void streaming(Tensor a, Tensor b, Tensor c, GemmMicroKernel.Epilogue epilogue, Tasks tasks) {
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
            float[] tile = PanelGemm.tile();
            int pEnd = Math.min(panels, (s + 1) * panelsPerStrip);
            for (int p = s * panelsPerStrip; p < pEnd; p++) {
                int j0 = p * NR;
                if (j0 + NR > n) {
                    float[] last = new float[k * NR];
                    packPanels(b, 0, k, p, p + 1, last, 0);
                    PanelGemm.multiply(PanelGemm.rowsOf(a, 0, m), 0, m, k, k, last, 0, k * NR, 1, c, 0, j0, false,
                            epilogue);
                    continue;
                }
                long bOff = (b.offset() + j0) * Float.BYTES;
                for (int i = 0; i < m; i += MR) {
                    int valid = Math.min(MR, m - i);
                    int a0 = i * k;
                    GemmMicroKernel.streaming(rowsA, a0, row(a0, 1, k, valid, zeroRow),
                            row(a0, 2, k, valid, zeroRow), row(a0, 3, k, valid, zeroRow),
                            row(a0, 4, k, valid, zeroRow), row(a0, 5, k, valid, zeroRow),
                            b.segment(), bOff, ldbBytes, NR, k, tile);
                    long cOff = (c.offset() + (long) i * c.leadingDim() + j0) * Float.BYTES;
                    GemmMicroKernel.flush(tile, c.segment(), cOff, ldcBytes, valid, NR, false, epilogue, j0);
                }
            }
        });
    }

    /** Offset of row r of a tile starting at a0 in a block with rows kc apart, or the zero row past the edge. */
    static int row(int a0, int r, int kc, int valid, int zeroRow) {
        return r < valid ? a0 + r * kc : zeroRow;
    }

    /** Copies a[i0..i1, pc..pc+kc) into dst, row-major with row length kc. */
    private static void copyRows(Tensor a, int i0, int i1, int pc, int kc, float[] dst) {
        long lda = a.leadingDim();
        for (int i = i0; i < i1; i++) {
            MemorySegment.copy(a.segment(), F, (a.offset() + i * lda + pc) * Float.BYTES, dst, (i - i0) * kc, kc);
        }
    }
}
