package dev.tensorloom.mpo.vector;

import static dev.tensorloom.runtime.kernel.vector.PanelGemm.PANEL_WIDTH;
import static dev.tensorloom.runtime.kernel.vector.PanelGemm.TILE_ROWS;
import static dev.tensorloom.runtime.kernel.vector.Simd.L;
import static dev.tensorloom.runtime.kernel.vector.Simd.S;

import dev.tensorloom.mpo.MpoSweep;
import dev.tensorloom.runtime.kernel.Tasks;
import dev.tensorloom.runtime.kernel.vector.PanelGemm;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

/**
 * One step of the direct sweep as one product over its rows, a's rows [rows, r] times the core as a matrix
 * [r, s], on the GEMM's micro-kernel through {@link PanelGemm#packedTile} (the core packed once, by the plan) or,
 * transposed, {@link PanelGemm#streamingTile} (the state read in place as b): each tile of
 * results goes straight to its places in the next state ({@link Target}), which is laid out as the rows the next
 * step multiplies. So between two such steps the state is written once, by the tiles, and read once, as a's rows.
 *
 * <p>The alternative, the state transposed to [P·Q, r] and the product transposed back around the backend's GEMM,
 * touches every state float three more times (two transposes, the GEMM's own row copy), and at batch 1 the
 * states are as large as the cores: for a 1536×384 MPO at 10× (4 cores, bonds 24, 35, 32) the middle step reads
 * a state of 24,576 floats against a core of 35,840.
 */
final class StepProduct {

    /**
     * A panel whose first run of consecutive destinations is shorter than this goes out as vector scatters, any other
     * run by run ({@link #place}).
     */
    private static final int VECTOR_RUN = 4;

    /**
     * Which side of a step's product runs along the vector lanes. The micro-kernel's tile is
     * {@link PanelGemm#TILE_ROWS} rows by {@link PanelGemm#PANEL_WIDTH} columns (6 × 32 with 16 lanes), and a step
     * pays for whole tiles: a core 36 columns wide (a 1536×384 MPO at 100×, bonds 9) fills 36 of the 64 columns of
     * two panels, so 44% of its multiply-adds are padding, whatever the rows.
     */
    enum Orientation {
        /** a = the step's rows [P·Q, r], b = the core [r, s]: lanes along the core's columns. */
        ROWS,
        /**
         * The transposed product, outᵀ [s, P·Q] = coreᵀ [s, r]·stateᵀ [r, P·Q]: a = the core transposed, b = the
         * state laid out [r][P·Q] for each batch row, lanes along the state's rows; for narrow cores over many rows.
         */
        COLUMNS;

        /** Multiply-adds of the whole tiles that cover {@code step}'s product for one batch row, this way round. */
        long paddedMultiplyAdds(MpoSweep.Step step) {
            long rows = (long) step.blocks() * step.q();
            long s = step.s();
            long padded = this == ROWS
                    ? ceilTo(rows, TILE_ROWS) * ceilTo(s, PANEL_WIDTH)
                    : ceilTo(s, TILE_ROWS) * ceilTo(rows, PANEL_WIDTH);
            return padded * step.r();
        }

        private static long ceilTo(long n, int unit) {
            return Math.ceilDiv(n, unit) * unit;
        }
    }

    private StepProduct() {
    }

    /**
     * Where element (row, col) of a step's product goes in the array the next step reads: rows repeat every
     * {@code rowsPerBatch} rows, one batch row's state {@code perBatch} floats further on each time, so
     * row = b·rowsPerBatch + t goes to b·perBatch + rowDest[t] + colDest[col] (the sum holds because both layouts
     * are mixed-radix numbers over the same digits, and a row and a column own disjoint digits).
     * {@code colRuns[col]} counts the columns from col on, inside its panel, whose destinations follow one another;
     * {@code rowRuns[t]} the same for rows, inside a batch row's panels of rows (a {@link Orientation#COLUMNS} tile
     * runs along rows). {@code rowMap} and {@code colMap} are the two tables with {@link Simd#L} zeros after them,
     * what {@link #place} reads: index maps for a vector scatter, which reads a whole vector of indices even where its
     * mask is off, and the start of each run.
     */
    record Target(int[] rowDest, int perBatch, int[] colDest, int[] colRuns, int[] rowRuns, int[] rowMap,
            int[] colMap) {

        Target(int[] rowDest, int perBatch, int[] colDest) {
            this(rowDest, perBatch, colDest, runs(colDest), runs(rowDest), Arrays.copyOf(rowDest, rowDest.length + L),
                    Arrays.copyOf(colDest, colDest.length + L));
        }

        private static int[] runs(int[] dest) {
            int[] runs = new int[dest.length];
            for (int c = dest.length - 1; c >= 0; c--) {
                boolean joins = c + 1 < dest.length && (c + 1) % PANEL_WIDTH != 0 && dest[c + 1] == dest[c] + 1;
                runs[c] = joins ? runs[c + 1] + 1 : 1;
            }
            return runs;
        }
    }

    /**
     * out[target(i, c)] = Σ_k rowsA[i·r + k]·b[k][c] for i &lt; rows, c &lt; s, with b [r, s] packed once by the plan
     * ({@link PanelGemm#packPanels}). {@code rowsA} holds the rows and then one zero row; out has {@link Simd#L}
     * floats to spare after its last destination.
     */
    static void multiply(float[] rowsA, int rows, int r, float[] panels, int s, Target target, float[] out,
            Tasks tasks) {
        int zeroRow = rows * r;
        // Column strips for the threads, and bands of rows as well when there are too few strips to go round.
        Split split = Split.of(Math.ceilDiv(s, PANEL_WIDTH), rows, tasks);
        tasks.forEach(split.tasks(), task -> {
            // Spare floats after the tile: a run's masked vector never reaches past the array's end.
            float[] tile = new float[TILE_ROWS * PANEL_WIDTH + L];
            int[] bases = new int[TILE_ROWS];
            int lastRow = split.lastLine(task);
            for (int panel = split.firstPanel(task); panel < split.lastPanel(task); panel++) {
                int j0 = panel * PANEL_WIDTH;
                int cols = Math.min(PANEL_WIDTH, s - j0);
                for (int i = split.firstLine(task); i < lastRow; i += TILE_ROWS) {
                    int valid = Math.min(TILE_ROWS, lastRow - i);
                    PanelGemm.packedTile(rowsA, i * r, r, valid, zeroRow, panels, j0 * r, r, tile);
                    scatter(tile, bases, out, i, valid, j0, cols, target);
                }
            }
        });
    }

    /**
     * The same product in {@link Orientation#COLUMNS}: out[target(i, c)] = Σ_k state[b·r·R + k·R + t]·b[k][c] for
     * row i = b·R + t (R = {@code rowsPerBatch}), each batch row's state laid out [r][R] from b·r·R on, and
     * {@code coreT} [s, r] the core transposed, then one zero row. {@code state} is native memory (see
     * {@code DirectProduct.Scratch#staged}) with {@link PanelGemm#PANEL_WIDTH} floats to spare after its last batch
     * row's (the masked loads of a last panel of rows stay inside it); out has {@link Simd#L} to spare after its last
     * destination.
     */
    static void multiplyColumns(MemorySegment state, int batches, int rowsPerBatch, int r, float[] coreT, int s,
            Target target, float[] out, Tasks tasks) {
        int zeroRow = s * r;
        int panelsPerBatch = Math.ceilDiv(rowsPerBatch, PANEL_WIDTH);
        Split split = Split.of(batches * panelsPerBatch, s, tasks);
        long ldbBytes = (long) rowsPerBatch * Float.BYTES;
        tasks.forEach(split.tasks(), task -> {
            float[] tile = new float[TILE_ROWS * PANEL_WIDTH + L];
            int[] bases = new int[TILE_ROWS];
            int lastCol = split.lastLine(task);
            for (int panel = split.firstPanel(task); panel < split.lastPanel(task); panel++) {
                int batch = panel / panelsPerBatch;
                int t0 = panel % panelsPerBatch * PANEL_WIDTH;
                int width = Math.min(PANEL_WIDTH, rowsPerBatch - t0);
                long bOff = ((long) batch * r * rowsPerBatch + t0) * Float.BYTES;
                for (int c = split.firstLine(task); c < lastCol; c += TILE_ROWS) {
                    int valid = Math.min(TILE_ROWS, lastCol - c);
                    PanelGemm.streamingTile(coreT, c * r, r, valid, zeroRow, state, bOff, ldbBytes, width, r, tile);
                    scatterColumns(tile, bases, out, batch, t0, width, c, valid, target);
                }
            }
        });
    }

    /**
     * A product's tiles cut for the threads: strips of whole panels, and bands of tile lines (the tile's
     * {@link PanelGemm#TILE_ROWS} rows, of a's {@code lines}) as well when there are too few strips to go round.
     */
    private record Split(int panels, int lines, int panelsPerStrip, int strips, int linesPerBand) {

        static Split of(int panels, int lines, Tasks tasks) {
            int panelsPerStrip = Math.ceilDiv(panels, Math.min(panels, 4 * tasks.threads()));
            int strips = Math.ceilDiv(panels, panelsPerStrip);
            int tiles = Math.ceilDiv(lines, TILE_ROWS);
            // Bands enough for two tasks a thread, and a whole number of tasks for each thread where the tiles allow:
            // a 1536×384 MPO's middle step at 10× (5 strips) took 44-49 µs in 10 tasks against 49-50 in 5 (2 threads).
            int bands = Math.ceilDiv(2 * tasks.threads(), strips);
            while (strips * bands % tasks.threads() != 0 && bands < tiles) {
                bands++;
            }
            int tilesPerBand = Math.ceilDiv(tiles, Math.min(tiles, bands));
            return new Split(panels, lines, panelsPerStrip, strips, tilesPerBand * TILE_ROWS);
        }

        int tasks() {
            return strips * Math.ceilDiv(lines, linesPerBand);
        }

        int firstPanel(int task) {
            return task % strips * panelsPerStrip;
        }

        int lastPanel(int task) {
            return Math.min(panels, (task % strips + 1) * panelsPerStrip);
        }

        int firstLine(int task) {
            return task / strips * linesPerBand;
        }

        int lastLine(int task) {
            return Math.min(lines, (task / strips + 1) * linesPerBand);
        }
    }

    /**
     * columns[b·r·R + k·R + lanes[p·Q + q]] = in[b·P·r·Q + (p·r + k)·Q + q] for each of {@code batches} batch rows
     * (R = P·Q): a step's state from the chain's order [P][r][Q] into the layout {@link Orientation#COLUMNS} reads.
     */
    static void gatherColumns(float[] in, int batches, int blocks, int r, int width, int[] lanes, float[] columns) {
        int perBatch = blocks * r * width;
        int rowsPerBatch = blocks * width;
        if (width == 1) {
            // A sweep's first step (Q = 1): no loop of one turn innermost, whose entry cost C2's loop checks each time
            // (a 1536×384 MPO's first step at 100×, 192 blocks of 8: 3.9 µs in that order, 1.0 in this one).
            for (int b = 0; b < batches; b++) {
                int base = b * perBatch;
                for (int p = 0; p < blocks; p++) {
                    int to = base + lanes[p];
                    int from = base + p * r;
                    for (int k = 0; k < r; k++) {
                        columns[to + k * rowsPerBatch] = in[from + k];
                    }
                }
            }
            return;
        }
        for (int b = 0; b < batches; b++) {
            int base = b * perBatch;
            for (int p = 0; p < blocks; p++) {
                for (int k = 0; k < r; k++) {
                    int from = base + (p * r + k) * width;
                    int to = base + k * rowsPerBatch;
                    for (int q = 0; q < width; q++) {
                        columns[to + lanes[p * width + q]] = in[from + q];
                    }
                }
            }
        }
    }

    /**
     * rowsA[(p·Q + q)·r + k] = in[(p·r + k)·Q + q], the rows of a step from a state in the chain's order
     * [P][r][Q], then one zero row for the tiles past the last row; for Q = 1 the state already is a's rows.
     */
    static void gatherRows(float[] in, int blocks, int r, int width, float[] rowsA) {
        int rows = blocks * width;
        if (width == 1) {
            System.arraycopy(in, 0, rowsA, 0, rows * r);
        } else {
            // In the order a's rows are written, a vector of lanes Q apart at a time; each block's r·Q floats stay
            // in cache while its Q rows read them.
            int[] strided = new int[L];
            for (int lane = 0; lane < L; lane++) {
                strided[lane] = lane * width;
            }
            int to = 0;
            for (int p = 0; p < blocks; p++) {
                int block = p * r * width;
                for (int q = 0; q < width; q++) {
                    int k = 0;
                    for (; k <= r - L; k += L, to += L) {
                        FloatVector.fromArray(S, in, block + q + k * width, strided, 0).intoArray(rowsA, to);
                    }
                    for (; k < r; k++) {
                        rowsA[to++] = in[block + q + k * width];
                    }
                }
            }
        }
        Arrays.fill(rowsA, rows * r, (rows + 1) * r, 0f);
    }

    /**
     * Rows [i, i + valid) and columns [j0, j0 + cols) of the product to their places in out; {@code bases} is the
     * task's array of {@link PanelGemm#TILE_ROWS} ints for the rows' offsets.
     */
    private static void scatter(float[] tile, int[] bases, float[] out, int i, int valid, int j0, int cols,
            Target target) {
        int[] rowDest = target.rowDest();
        int rowsPerBatch = rowDest.length;
        int batch = i / rowsPerBatch;
        int t0 = i - batch * rowsPerBatch;
        int batchBase = batch * target.perBatch();
        for (int t = 0; t < valid; t++, t0++) {
            if (t0 == rowsPerBatch) {
                t0 = 0;
                batchBase += target.perBatch();
            }
            bases[t] = batchBase + rowDest[t0];
        }
        place(tile, bases, valid, out, target.colMap(), target.colRuns(), j0, cols);
    }

    /**
     * A {@link Orientation#COLUMNS} tile to its places in out: columns [c0, c0 + valid) of the product (the tile's
     * rows) over rows [t0, t0 + width) of batch row {@code batch} (the tile's columns).
     */
    private static void scatterColumns(float[] tile, int[] bases, float[] out, int batch, int t0, int width, int c0,
            int valid, Target target) {
        int[] colDest = target.colDest();
        int batchBase = batch * target.perBatch();
        for (int u = 0; u < valid; u++) {
            bases[u] = batchBase + colDest[c0 + u];
        }
        place(tile, bases, valid, out, target.rowMap(), target.rowRuns(), t0, width);
    }

    /**
     * out[bases[u] + dest[first + e]] = tile[u·PANEL_WIDTH + e] for u &lt; lines, e &lt; count: a tile's lines, each
     * within one panel ({@code dest} an index map, {@link Simd#L} entries longer than its destinations), run by run
     * ({@link #copy}) where the panel's destinations come in runs, else as vector scatters. Written float by float,
     * runs of one had cost a COLUMNS step three to four times its product (loaded machine, one thread: [192
     * rows]·[8×36] at 3.2 against 15 GFLOP/s scattered, [64]·[54×36] at 11-17 against 44); and placed a line per
     * call, not a tile, the 768 two-vector lines of a 1536×384 MPO's first step at 10× took 7.7 µs against 2.4 (the
     * call, with its vector code, was not inlined; one thread, 2-core Zen 4, 2026-12-03).
     */
    private static void place(float[] tile, int[] bases, int lines, float[] out, int[] dest, int[] runs, int first,
            int count) {
        if (runs[first] < VECTOR_RUN) {
            for (int u = 0; u < lines; u++) {
                for (int e = 0; e < count; e += L) {
                    VectorMask<Float> m = S.indexInRange(e, count);
                    FloatVector.fromArray(S, tile, u * PANEL_WIDTH + e, m).intoArray(out, bases[u], dest, first + e, m);
                }
            }
            return;
        }
        for (int u = 0; u < lines; u++) {
            for (int e = 0; e < count; ) {
                int run = Math.min(runs[first + e], count - e);
                copy(tile, u * PANEL_WIDTH + e, out, bases[u] + dest[first + e], run);
                e += run;
            }
        }
    }

    /** out[to + e] = tile[from + e] for e &lt; count: whole vectors, then one masked. */
    private static void copy(float[] tile, int from, float[] out, int to, int count) {
        int e = 0;
        for (; e <= count - L; e += L) {
            FloatVector.fromArray(S, tile, from + e).intoArray(out, to + e);
        }
        if (e < count) {
            VectorMask<Float> m = S.indexInRange(e, count);
            FloatVector.fromArray(S, tile, from + e, m).intoArray(out, to + e, m);
        }
    }

    /**
     * The vector stores {@link #place} makes to write a whole line of {@code runs.length} products, panel by panel:
     * what a step's tiles cost beyond their multiply-adds, for the plan to weigh.
     */
    static long stores(int[] runs) {
        long stores = 0;
        for (int first = 0; first < runs.length; first += PANEL_WIDTH) {
            int count = Math.min(PANEL_WIDTH, runs.length - first);
            if (runs[first] < VECTOR_RUN) {
                stores += Math.ceilDiv(count, L);
                continue;
            }
            for (int e = 0; e < count; ) {
                int run = Math.min(runs[first + e], count - e);
                stores += Math.ceilDiv(run, L);
                e += run;
            }
        }
        return stores;
    }
}
