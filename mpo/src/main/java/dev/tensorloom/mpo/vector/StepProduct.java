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

/**
 * One step of the direct sweep, out[p][s][q] = Σ_r b[r][s]·in[p][r][q], as one product over the P·Q rows (p, q)
 * with no rearranging pass of the state on either side: the rows of a are gathered from the state in its own
 * layout into the row-major copy the GEMM takes anyway, b (the core as the step's matrix) is read in place by
 * {@link PanelGemm#streamingTile}, and each tile of results goes straight to its places in the next state.
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

    private StepProduct() {
    }

    /**
     * out[p][s][q] = Σ_r b[r][s]·in[p][r][q] for p < blocks, q < width (out is the next state, written whole).
     * {@code rowsA} holds at least (blocks·width + 1)·r floats; b [r, s] has unit column stride.
     */
    static void multiply(float[] in, int blocks, int r, int width, Tensor b, float[] out, float[] rowsA,
            Tasks tasks) {
        int rows = blocks * width;
        int s = b.cols();
        gatherRows(in, blocks, r, width, rowsA);
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
            float[] tile = new float[TILE_ROWS * PANEL_WIDTH];
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
                    scatter(tile, out, i, valid, j0, cols, s, width);
                }
            }
        });
    }

    /**
     * rowsA[(p·Q + q)·r + k] = in[(p·r + k)·Q + q], then one zero row for the tiles past the last row; for Q = 1
     * the state already is a's rows.
     */
    private static void gatherRows(float[] in, int blocks, int r, int width, float[] rowsA) {
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

    /** Rows [i, i + valid) and columns [j0, j0 + cols) of the product, row (p, q) and column c to out[p][c][q]. */
    private static void scatter(float[] tile, float[] out, int i, int valid, int j0, int cols, int s, int width) {
        for (int t = 0; t < valid; t++) {
            int row = i + t;
            if (width == 1) {
                System.arraycopy(tile, t * PANEL_WIDTH, out, row * s + j0, cols);
            } else {
                int base = (row / width * s + j0) * width + row % width;
                for (int c = 0; c < cols; c++) {
                    out[base + c * width] = tile[t * PANEL_WIDTH + c];
                }
            }
        }
    }
}
