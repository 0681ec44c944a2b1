package dev.tensorloom.hyperbolic;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tensorloom.hyperbolic.optim.RiemannianSgd;
import dev.tensorloom.hyperbolic.reference.BallSamples;
import dev.tensorloom.runtime.kernel.ScalarBackend;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link BallRows} is what the hierarchy trainer runs instead of the family's calls, so it must agree with them:
 * the scalar kernels' distance and distanceBackward, and a step of {@link RiemannianSgd} (which is the family's
 * expmap), on points inside the ball, near the boundary and outside the projection radius (where the entry
 * projection's Jacobian matters), for c in {0.1, 1, 10}.
 *
 * <p>Tolerance: both sides round the same double coefficients to float and sum at most three float rows, but the
 * kernels sum their dot products in float and BallRows in double; near the boundary (λ up to 2/ε = 500) a
 * relative change of u = 2⁻²⁴ in a squared norm moves a distance by up to about λ·u·dim, so the bound is
 * 2e-3 relative to the largest value of the row plus the value itself.
 */
class BallRowsTest {

    private static final int ROWS = 64;
    private static final int DIM = 10;
    private static final double TOLERANCE = 2e-3;

    private final PoincareKernels kernels = PoincareKernels.FAMILY.on(new ScalarBackend());

    /** Rows: a third well inside, a third within 1e-3 of the boundary, a third outside the projection radius. */
    private static float[] points(Random random, double c) {
        double[] inside = BallSamples.points(random, ROWS / 3, DIM, c, 0.9);
        double[] near = BallSamples.nearBoundary(random, ROWS / 3, DIM, c, 1e-4, 1e-3);
        double[] outside = BallSamples.nearBoundary(random, ROWS - 2 * (ROWS / 3), DIM, c, -0.5, -0.01);
        float[] x = new float[ROWS * DIM];
        int k = 0;
        for (double[] part : new double[][] {inside, near, outside}) {
            for (double v : part) {
                x[k++] = (float) v;
            }
        }
        return x;
    }

    @ParameterizedTest
    @ValueSource(floats = {0.1f, 1f, 10f})
    void distanceAndItsGradientAreTheKernels(float c) {
        Random random = new Random(3);
        float[] x = points(random, c);
        float[] y = points(random, c);
        shuffleRows(y, random);
        float[] upstream = new float[ROWS];
        for (int i = 0; i < ROWS; i++) {
            upstream[i] = (float) random.nextGaussian();
        }
        try (Arena arena = Arena.ofConfined()) {
            Tensor xt = Tensor.of(arena, x, ROWS, DIM);
            Tensor yt = Tensor.of(arena, y, ROWS, DIM);
            Tensor d = Tensor.allocate(arena, ROWS);
            Tensor gx = Tensor.allocate(arena, ROWS, DIM);
            Tensor gy = Tensor.allocate(arena, ROWS, DIM);
            kernels.distance(c, xt, yt, d);
            kernels.distanceBackward(c, xt, yt, Tensor.of(arena, upstream, ROWS), gx, gy);
            float[] expectedD = d.toArray();
            float[] expectedGx = gx.toArray();
            float[] expectedGy = gy.toArray();
            BallRows rows = new BallRows(c);
            double[] grad = new double[5];
            for (int i = 0; i < ROWS; i++) {
                double value = rows.distance(x, i * DIM, y, i * DIM, DIM, grad, 1);
                assertEquals(expectedD[i], value, TOLERANCE * (1 + expectedD[i]), "distance of row " + i);
                double[] ax = new double[DIM];
                double[] ay = new double[DIM];
                for (int k = 0; k < DIM; k++) {
                    ax[k] = upstream[i] * (grad[1] * x[i * DIM + k] + grad[2] * y[i * DIM + k]);
                    ay[k] = upstream[i] * (grad[3] * x[i * DIM + k] + grad[4] * y[i * DIM + k]);
                }
                assertRowClose(expectedGx, i, ax, "dd/dx of row " + i + ", c " + c);
                assertRowClose(expectedGy, i, ay, "dd/dy of row " + i + ", c " + c);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(floats = {0.1f, 1f, 10f})
    void aStepIsRiemannianSgdsStep(float c) {
        Random random = new Random(4);
        float[] x = points(random, c);
        float[] g = new float[ROWS * DIM];
        for (int i = 0; i < g.length; i++) {
            // Gradients from 0.1 to 1e4: near the boundary the step is the gradient over λ² ≈ 1e6, so only large
            // ones move such a point visibly; small ones inside keep the step short of the radius.
            g[i] = (float) (random.nextGaussian() * Math.pow(10, (i / DIM) % 6 - 1));
        }
        double lr = 0.3;
        float[] expected;
        try (Arena arena = Arena.ofConfined()) {
            Tensor points = Tensor.of(arena, x, ROWS, DIM);
            new RiemannianSgd(kernels, lr).step(Curvature.fixed(c), points, Tensor.of(arena, g, ROWS, DIM));
            expected = points.toArray();
        }
        float[] actual = x.clone();
        float[] gradient = g.clone();
        BallRows rows = new BallRows(c);
        float[] tmp = new float[DIM];
        for (int i = 0; i < ROWS; i++) {
            rows.riemannianSgdStep(lr, actual, i * DIM, gradient, i * DIM, DIM, tmp);
        }
        for (int i = 0; i < ROWS; i++) {
            double[] row = new double[DIM];
            for (int k = 0; k < DIM; k++) {
                row[k] = actual[i * DIM + k];
            }
            assertRowClose(expected, i, row, "step of row " + i + ", c " + c);
        }
        assertEquals(java.util.Arrays.toString(g), java.util.Arrays.toString(gradient), "the gradient is left as it was");
    }

    private static void assertRowClose(float[] expected, int row, double[] actual, String what) {
        double scale = 0;
        for (int k = 0; k < DIM; k++) {
            scale = Math.max(scale, Math.abs(expected[row * DIM + k]));
        }
        for (int k = 0; k < DIM; k++) {
            double e = expected[row * DIM + k];
            assertEquals(e, actual[k], TOLERANCE * (scale + Math.abs(e)) + 1e-30, what + ", coordinate " + k);
        }
    }

    private static void shuffleRows(float[] a, Random random) {
        for (int i = ROWS - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            for (int k = 0; k < DIM; k++) {
                float t = a[i * DIM + k];
                a[i * DIM + k] = a[j * DIM + k];
                a[j * DIM + k] = t;
            }
        }
    }
}
