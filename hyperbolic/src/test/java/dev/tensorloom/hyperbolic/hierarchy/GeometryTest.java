package dev.tensorloom.hyperbolic.hierarchy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.hyperbolic.hierarchy.HierarchyEmbedding.Space;
import dev.tensorloom.hyperbolic.reference.PoincareReference;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The trainer's ball against the float64 reference (the Möbius form of the distance, an independent formula from
 * the arcosh form the geometry computes), its gradient against central differences of that reference, its step
 * against the published update written out, and its radius against the published one.
 */
class GeometryTest {

    private static final int DIM = 10;

    private static float[] point(Random random, double c, double radius) {
        float[] x = new float[DIM];
        double n2 = 0;
        for (int k = 0; k < DIM; k++) {
            x[k] = (float) random.nextGaussian();
            n2 += x[k] * x[k];
        }
        double scale = radius * random.nextDouble() / Math.sqrt(c * n2);
        for (int k = 0; k < DIM; k++) {
            x[k] = (float) (x[k] * scale);
        }
        return x;
    }

    private static double[] toDouble(float[] x) {
        double[] out = new double[x.length];
        for (int k = 0; k < x.length; k++) {
            out[k] = x[k];
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(doubles = {0.1, 1, 10})
    void distanceIsTheReferenceAndItsGradientTheReferencesSlope(double c) {
        Geometry ball = Geometry.of(Space.POINCARE, c);
        PoincareReference reference = new PoincareReference(c);
        Random random = new Random(7);
        double[] grad = new double[4];
        for (int t = 0; t < 200; t++) {
            // Up to 0.99 of the radius: distances up to 10.6, below the reference's artanh clamp (12.2/√c).
            float[] u = point(random, c, t % 2 == 0 ? 0.9 : 0.99);
            float[] v = point(random, c, 0.99);
            double d = ball.score(u, 0, v, 0, DIM, grad, 0);
            double expected = reference.distance(toDouble(u), toDouble(v), DIM)[0];
            assertEquals(expected, d, 1e-9 * (1 + expected), "c " + c + " pair " + t);
            assertEquals(d, ball.score(u, 0, v, 0, DIM), 0, "the value alone is the same number");
            for (int k = 0; k < DIM; k++) {
                double onU = grad[0] * u[k] + grad[1] * v[k];
                double onV = grad[2] * u[k] + grad[3] * v[k];
                assertEquals(slope(reference, u, v, k, true), onU, 1e-5 * (1 + Math.abs(onU)), "d/du c " + c);
                assertEquals(slope(reference, u, v, k, false), onV, 1e-5 * (1 + Math.abs(onV)), "d/dv c " + c);
            }
        }
    }

    /** The central difference of the reference distance in coordinate k of u (or v), in double. */
    private static double slope(PoincareReference reference, float[] u, float[] v, int k, boolean ofU) {
        double[] a = toDouble(u);
        double[] b = toDouble(v);
        double[] moved = ofU ? a : b;
        // A step small against the room to the boundary, (1 - √c||x||)/√c, and large against double rounding.
        double sqrtC = Math.sqrt(reference.curvature());
        double h = 1e-6 * (1 - sqrtC * norm(moved)) / sqrtC;
        double x = moved[k];
        moved[k] = x + h;
        double up = reference.distance(a, b, DIM)[0];
        moved[k] = x - h;
        double down = reference.distance(a, b, DIM)[0];
        return (up - down) / (2 * h);
    }

    private static double norm(double[] x) {
        double s = 0;
        for (double v : x) {
            s += v * v;
        }
        return Math.sqrt(s);
    }

    @ParameterizedTest
    @ValueSource(doubles = {0.1, 1, 10})
    void aStepIsThePublishedRetractionOfTheRiemannianGradient(double c) {
        Geometry ball = Geometry.of(Space.POINCARE, c);
        Random random = new Random(11);
        for (int t = 0; t < 50; t++) {
            float[] x = point(random, c, 0.99);
            float[] g = new float[DIM];
            for (int k = 0; k < DIM; k++) {
                g[k] = (float) random.nextGaussian();
            }
            double x2 = 0;
            for (float p : x) {
                x2 += p * p;
            }
            double lr = 0.01;
            float[] expected = new float[DIM];
            for (int k = 0; k < DIM; k++) {
                expected[k] = (float) (x[k] - lr * (1 - c * x2) * (1 - c * x2) / 4 * g[k]);
            }
            ball.step(lr, x, 0, g, 0, DIM);
            for (int k = 0; k < DIM; k++) {
                assertEquals(expected[k], x[k], 1e-6 * (1 + Math.abs(expected[k])), "c " + c);
            }
        }
    }

    /**
     * The published rgrad clips each row's Riemannian gradient ∇ᴱ/λ_x² to Euclidean norm 5
     * (hype/manifolds/poincare.py:48): a huge gradient moves a point near the origin by lr·5 along it, a small one
     * by the unclipped step; Euclidean rows are never clipped.
     */
    @ParameterizedTest
    @ValueSource(doubles = {0.1, 1, 10})
    void aHugeRiemannianGradientIsClippedToThePublishedNorm(double c) {
        Geometry ball = Geometry.of(Space.POINCARE, c);
        Random random = new Random(12);
        double lr = 1e-3;
        for (int t = 0; t < 20; t++) {
            float[] x = point(random, c, 0.5);
            float[] g = new float[DIM];
            for (int k = 0; k < DIM; k++) {
                g[k] = (float) (1e4 * random.nextGaussian());
            }
            double x2 = c * norm(toDouble(x)) * norm(toDouble(x));
            double riemannian = (1 - x2) * (1 - x2) / 4 * norm(toDouble(g));
            assertTrue(riemannian > 5, "the test's gradient needs clipping: " + riemannian);
            float[] before = x.clone();
            ball.step(lr, x, 0, g, 0, DIM);
            double[] moved = new double[DIM];
            for (int k = 0; k < DIM; k++) {
                moved[k] = x[k] - (double) before[k];
                // Along -g: each coordinate's share of the step is g's share of its norm.
                assertEquals(-lr * 5 * g[k] / norm(toDouble(g)), moved[k], 1e-7, "c " + c);
            }
            assertEquals(lr * 5, norm(moved), 5e-7, "c " + c);
        }
        Geometry flat = Geometry.of(Space.EUCLIDEAN, 1);
        float[] x = new float[DIM];
        float[] g = new float[DIM];
        g[0] = 1e4f;
        flat.step(lr, x, 0, g, 0, DIM);
        assertEquals(-lr * 1e4, x[0], 1e-9, "Euclidean steps are not clipped");
    }

    /**
     * The published radius (1 - 1e-5)/√c reaches 2·artanh(1 - 1e-5)/√c = 12.2/√c from the origin; the float32
     * kernels' (1 - 4e-3)/√c only 6.2/√c, too little room for the 82k nouns (98% of them ended on that sphere).
     */
    @ParameterizedTest
    @ValueSource(doubles = {0.1, 1, 10})
    void aPointPushedOutwardStopsAtThePublishedRadius(double c) {
        Geometry ball = Geometry.of(Space.POINCARE, c);
        float[] x = new float[DIM];
        x[0] = (float) (0.5 / Math.sqrt(c));
        x[3] = (float) (0.5 / Math.sqrt(c));
        float[] outward = x.clone();
        float[] origin = new float[DIM];
        for (int t = 0; t < 200; t++) {
            ball.move(x, 0, outward, 0, 1, DIM);
            for (float p : x) {
                assertTrue(Float.isFinite(p));
            }
        }
        double n = Math.sqrt(x[0] * (double) x[0] + x[3] * (double) x[3]);
        assertEquals((1 - 1e-5) / Math.sqrt(c), n, 1e-6 / Math.sqrt(c), "held at the radius");
        double fromOrigin = ball.score(x, 0, origin, 0, DIM);
        assertTrue(fromOrigin > 12 / Math.sqrt(c), "d(0, x) = " + fromOrigin);
        float[] opposite = x.clone();
        for (int k = 0; k < DIM; k++) {
            opposite[k] = -x[k];
        }
        double across = ball.score(x, 0, opposite, 0, DIM, new double[4], 0);
        assertTrue(across > 2 * 12 / Math.sqrt(c) && Double.isFinite(across), "across the ball " + across);
    }
}
