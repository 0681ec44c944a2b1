package dev.tensorloom.runtime.kernel.vector;

import static dev.tensorloom.runtime.kernel.vector.PanelGemm.PANEL_WIDTH;
import static dev.tensorloom.runtime.kernel.vector.PanelGemm.TILE_ROWS;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** One tile of a·b from b packed by {@link PanelGemm#packPanels}, against a float64 sum. */
class PanelGemmTest {

    @ParameterizedTest(name = "{0} valid rows, k = {1}, n = {2}")
    @CsvSource({"1, 1, 1", "6, 7, 33", "5, 13, 64", "3, 64, 70", "6, 211, 31"})
    void aPackedTileIsTheProductOfItsRowsAndPanel(int valid, int k, int n) {
        Random random = new Random(31L * k + n);
        int rows = TILE_ROWS + 1;
        // a's rows k apart, then the zero row the tile's rows past valid read.
        float[] a = new float[(rows + 1) * k];
        for (int e = 0; e < rows * k; e++) {
            a[e] = random.nextFloat() - 0.5f;
        }
        float[] b = new float[k * n];
        for (int e = 0; e < b.length; e++) {
            b[e] = random.nextFloat() - 0.5f;
        }
        float[] panels = PanelGemm.packPanels(b, k, n);
        assertEquals(Math.ceilDiv(n, PANEL_WIDTH) * k * PANEL_WIDTH, panels.length);
        int first = 1;
        float[] tile = new float[TILE_ROWS * PANEL_WIDTH];
        for (int q = 0; q * PANEL_WIDTH < n; q++) {
            PanelGemm.packedTile(a, first * k, k, valid, rows * k, panels, q * k * PANEL_WIDTH, k, tile);
            for (int t = 0; t < TILE_ROWS; t++) {
                for (int u = 0; u < PANEL_WIDTH; u++) {
                    int col = q * PANEL_WIDTH + u;
                    double expected = 0;
                    for (int p = 0; t < valid && col < n && p < k; p++) {
                        expected += (double) a[(first + t) * k + p] * b[p * n + col];
                    }
                    assertEquals(expected, tile[t * PANEL_WIDTH + u], 1e-5 * Math.sqrt(k),
                            "row " + t + ", column " + col);
                }
            }
        }
    }
}
