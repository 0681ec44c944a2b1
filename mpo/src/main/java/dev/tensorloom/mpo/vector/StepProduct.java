package dev.tensorloom.mpo.vector;

import static dev.tensorloom.runtime.kernel.vector.PanelGemm.PANEL_WIDTH;
import static dev.tensorloom.runtime.kernel.vector.PanelGemm.TILE_ROWS;
import static dev.tensorloom.runtime.kernel.vector.Simd.L;
import static dev.tensorloom.runtime.kernel.vector.Simd.S;

import dev.tensorloom.runtime.kernel.Tasks;
import dev.tensorloom.runtime.kernel.vector.PanelGemm;
import dev.tensorloom.runtime.kernel.vector.Rows;
import dev.tensorloom.runtime.tensor.Tensor;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

/**
 * One step of the direct sweep as one product over its rows, a's rows [rows, r] times the core as a matrix
 * [r, s], on the GEMM's micro-kernel through {@link PanelGemm#streamingTile}: b is read in place and each tile of
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
     * Up to this many rows (P·Q) b is streamed from memory for every tile row, as the backend's GEMM does up to the
     * same count; above it packing b pays, and the caller takes the backend's packed GEMM.
     */
    static final int MAX_ROWS = 16 * TILE_ROWS;
    /** A run of at least this many consecutive destinations is copied a vector at a time, a shorter one by floats. */
    private static final int VECTOR_RUN = 4;

    private StepProduct() {
    }

    /**
     * Where element (row, col) of a step's product goes in the array the next step reads: rows repeat every
     * {@code rowsPerBatch} rows, one batch row's state {@code perBatch} floats further on each time, so
     * row = b·rowsPerBatch + t goes to b·perBatch + rowDest[t] + colDest[col] (the sum holds because both layouts
     * are mixed-radix numbers over the same digits, and a row and a column own disjoint digits).
     * {@code runs[col]} counts the columns from col on, inside its panel, whose destinations follow one another.
     */
    record Target(int[] rowDest, int perBatch, int[] colDest, int[] runs) {

        Target(int[] rowDest, int perBatch, int[] colDest) {
            this(rowDest, perBatch, colDest, runs(colDest));
        }

        private static int[] runs(int[] colDest) {
            int[] runs = new int[colDest.length];
            for (int c = colDest.length - 1; c >= 0; c--) {
                boolean joins = c + 1 < colDest.length && (c + 1) % PANEL_WIDTH != 0 && colDest[c + 1] == colDest[c] + 1;
                runs[c] = joins ? runs[c + 1] + 1 : 1;
            }
            return runs;
        }
    }

    /**
     * out[target(i, c)] = Σ_k rowsA[i·r + k]·b[k][c] for i &lt; rows, c &lt; b.cols(). {@code rowsA} holds the rows
     * and then one zero row; b [r, s] has unit column stride and {@link PanelGemm#PANEL_WIDTH} readable floats after
     * its last row (the masked loads of its last panel stay inside the segment); out has {@link Simd#L} floats to
     * spare after its last destination.
     */
    static void multiply(float[] rowsA, int rows, int r, Tensor b, Target target, float[] out, Tasks tasks) {
        int s = b.cols();
        int zeroRow = rows * r;
        // Column strips for the threads, and bands of rows as well when there are too few strips to go round.
        int panels = Math.ceilDiv(s, PANEL_WIDTH);
        int panelsPerStrip = Math.ceilDiv(panels, Math.min(panels, 4 * tasks.threads()));
        int strips = Math.ceilDiv(panels, panelsPerStrip);
        int tiles = Math.ceilDiv(rows, TILE_ROWS);
        int tilesPerBand = Math.ceilDiv(tiles, Math.min(tiles, Math.ceilDiv(2 * tasks.threads(), strips)));
        int bands = Math.ceilDiv(tiles, tilesPerBand);
        long ldbBytes = (long) b.leadingDim() * Float.BYTES;
        long b0 = Rows.byteOffset(b, 0);
        tasks.forEach(strips * bands, task -> {
            // Spare floats after the tile: a run's masked vector never reaches past the array's end.
            float[] tile = new float[TILE_ROWS * PANEL_WIDTH + L];
            int strip = task % strips;
            int band = task / strips;
            int end = Math.min(panels, (strip + 1) * panelsPerStrip);
            int lastRow = Math.min(rows, (band + 1) * tilesPerBand * TILE_ROWS);
            for (int panel = strip * panelsPerStrip; panel < end; panel++) {
                int j0 = panel * PANEL_WIDTH;
                int cols = Math.min(PANEL_WIDTH, s - j0);
                for (int i = band * tilesPerBand * TILE_ROWS; i < lastRow; i += TILE_ROWS) {
                    int valid = Math.min(TILE_ROWS, lastRow - i);
                    PanelGemm.streamingTile(rowsA, i * r, r, valid, zeroRow, b.segment(),
                            b0 + (long) j0 * Float.BYTES, ldbBytes, cols, r, tile);
                    scatter(tile, out, i, valid, j0, cols, target);
                }
            }
        });
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

    /** Rows [i, i + valid) and columns [j0, j0 + cols) of the product to their places in out. */
    private static void scatter(float[] tile, float[] out, int i, int valid, int j0, int cols, Target target) {
        int[] rowDest = target.rowDest();
        int[] colDest = target.colDest();
        int[] runs = target.runs();
        int rowsPerBatch = rowDest.length;
        for (int t = 0; t < valid; t++) {
            int row = i + t;
            int base = row / rowsPerBatch * target.perBatch() + rowDest[row % rowsPerBatch];
            int from = t * PANEL_WIDTH;
            for (int c = 0; c < cols; ) {
                int j = j0 + c;
                int run = Math.min(runs[j], cols - c);
                int to = base + colDest[j];
                if (run >= VECTOR_RUN) {
                    for (int v = 0; v < run; v += L) {
                        VectorMask<Float> m = S.indexInRange(v, run);
                        FloatVector.fromArray(S, tile, from + c + v, m).intoArray(out, to + v, m);
                    }
                } else {
                    for (int e = 0; e < run; e++) {
                        out[to + e] = tile[from + c + e];
                    }
                }
                c += run;
            }
        }
    }
}
