package dev.tensorloom.mpo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.runtime.kernel.ScalarBackend;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The whitened low-rank factor against its two claims, computed independently in float64 from X itself: its error on
 * the calibration inputs is exactly the dropped singular values of Lᵀ·W, and no rank-r matrix does better on them,
 * in particular not W's own truncated SVD (the plain TT-SVD of shape (I,1)×(1,J)), which it beats when the inputs'
 * scales differ.
 */
class WhitenedLowRankTest {

    private static final int ROWS = 12;
    private static final int COLS = 10;
    private static final int N = 40;

    @Test
    void itsErrorOnTheInputsIsTheDroppedSpectrumAndBeatsThePlainTruncatedSvd() {
        Random random = new Random(17);
        float[] w = RandomMpos.gaussian(random, ROWS * COLS);
        double[][] x = new double[N][ROWS];
        for (double[] row : x) {
            for (int i = 0; i < ROWS; i++) {
                row[i] = random.nextGaussian() * (i < 3 ? 10 : 0.3); // a few inputs carry most of the signal
            }
        }
        double[] gram = new double[ROWS * ROWS];
        for (double[] row : x) {
            for (int i = 0; i < ROWS; i++) {
                for (int j = 0; j < ROWS; j++) {
                    gram[i * ROWS + j] += row[i] * row[j];
                }
            }
        }
        int rank = 4;
        WhitenedLowRank whitened = WhitenedLowRank.of("w", w, ROWS, COLS, gram, rank);
        assertArrayEquals(new int[] {1, rank, 1}, whitened.matrix().bonds());
        double onInputs = errorOnInputs(x, w, dense(whitened.matrix().shape(), whitened.matrix().bonds(),
                whitened.matrix().cores()));
        assertEquals(whitened.weightedError(), onInputs, 1e-4 * whitened.weightedNorm());
        double[] sigma = whitened.spectrum();
        double all = 0;
        double tail = 0;
        for (int k = 0; k < sigma.length; k++) {
            assertTrue(k == 0 || sigma[k] <= sigma[k - 1], "descending");
            all += sigma[k] * sigma[k];
            tail += k >= rank ? sigma[k] * sigma[k] : 0;
        }
        assertEquals(whitened.weightedNorm(), Math.sqrt(all), 1e-9 * whitened.weightedNorm());
        assertEquals(whitened.weightedError(), Math.sqrt(tail), 1e-9 * whitened.weightedNorm());

        Decomposition plain = TtSvd.decompose(w, new MpoShape(new int[] {ROWS, 1}, new int[] {1, COLS}),
                Truncation.bondCap(rank));
        double plainOnInputs = errorOnInputs(x, w, dense(plain.shape(), plain.bonds(), plain.cores()));
        assertTrue(onInputs < 0.9 * plainOnInputs, "whitened " + onInputs + " against plain SVD " + plainOnInputs);
        assertEquals(rank, WhitenedLowRank.rankFor(ROWS, COLS, (long) (ROWS + COLS) * rank + ROWS));
    }

    @Test
    void badInputIsNamed() {
        double[] gram = new double[4];
        gram[0] = 1;
        gram[3] = 1;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> WhitenedLowRank.of("w", new float[4], 2, 2, gram, 0));
        assertTrue(e.getMessage().contains("rank must be 1 to 2, got 0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> WhitenedLowRank.of("w", new float[] {1, Float.NaN, 0, 0}, 2, 2, gram, 1));
        assertTrue(e.getMessage().contains("NaN at (0, 1)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> WhitenedLowRank.of("w", new float[4], 2, 2,
                new double[4], 1));
        assertTrue(e.getMessage().contains("trace is 0.0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> WhitenedLowRank.rankFor(100, 100, 150));
        assertTrue(e.getMessage().contains("below one rank"), e.getMessage());
    }

    private static float[] dense(MpoShape shape, int[] bonds, float[][] cores) {
        try (Arena arena = Arena.ofConfined()) {
            Tensor[] t = new Tensor[cores.length];
            for (int k = 0; k < cores.length; k++) {
                t[k] = Tensor.of(arena, cores[k], bonds[k], shape.rowFactor(k), shape.colFactor(k), bonds[k + 1]);
            }
            Tensor out = Tensor.allocate(arena, shape.rows(), shape.cols());
            new ScalarMpoKernels(new ScalarBackend()).contractToDense(new Mpo(shape, bonds, t), out);
            return out.toArray();
        }
    }

    /** ||X·(W - W')||_F in float64. */
    private static double errorOnInputs(double[][] x, float[] w, float[] approx) {
        double sum = 0;
        for (double[] row : x) {
            for (int j = 0; j < COLS; j++) {
                double d = 0;
                for (int i = 0; i < ROWS; i++) {
                    d += row[i] * ((double) w[i * COLS + j] - approx[i * COLS + j]);
                }
                sum += d * d;
            }
        }
        return Math.sqrt(sum);
    }
}
