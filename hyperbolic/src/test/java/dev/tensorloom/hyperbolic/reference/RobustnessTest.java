package dev.tensorloom.hyperbolic.reference;

import static dev.tensorloom.hyperbolic.reference.BallSamples.gaussian;
import static dev.tensorloom.hyperbolic.reference.BallSamples.nearBoundary;
import static dev.tensorloom.hyperbolic.reference.BallSamples.neg;
import static dev.tensorloom.hyperbolic.reference.BallSamples.norm;
import static dev.tensorloom.hyperbolic.reference.BallSamples.points;
import static dev.tensorloom.hyperbolic.reference.BallSamples.row;
import static dev.tensorloom.hyperbolic.reference.Close.assertClose;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The identities of the gyrovector space, on random points and on points within 1e-3/√c of the boundary, for
 * c in {0.1, 1, 10}. Near the boundary λ_x reaches about 10³, and an identity that goes through a point
 * loses about that factor of float64's 1e-16: the tolerances below are stated against that. The boundary points
 * keep 1e-4/√c from the boundary so that a step of Riemannian length 1 from them stays inside the projection
 * radius (1 - 1e-5)/√c, where the identities hold; points on that radius are NaN-tested in
 * {@link DegenerateInputTest}.
 */
class RobustnessTest {

    private static final int ROWS = 16;
    private static final int DIM = 6;

    static Stream<Arguments> cases() {
        return Stream.of(0.1, 1.0, 10.0).flatMap(c -> Stream.of(Arguments.of(c, "random"), Arguments.of(c, "boundary")));
    }

    private static double[] sample(Random random, double c, String where) {
        return where.equals("random") ? points(random, ROWS, DIM, c, 0.99) : nearBoundary(random, ROWS, DIM, c, 1e-4, 1e-3);
    }

    @ParameterizedTest(name = "c = {0}, {1} points")
    @MethodSource("cases")
    void zeroIsTheIdentityAndMinusXTheInverse(double c, String where) {
        PoincareReference ball = new PoincareReference(c);
        double[] x = sample(new Random(1), c, where);
        assertClose(x, ball.mobiusAdd(x, new double[x.length], DIM), 1e-15, "x⊕0 = x");
        assertClose(x, ball.mobiusAdd(new double[x.length], x, DIM), 1e-15, "0⊕x = x");
        double[] zero = ball.mobiusAdd(neg(x), x, DIM);
        for (int i = 0; i < ROWS; i++) {
            assertTrue(norm(row(zero, i, DIM)) <= 1e-12 / Math.sqrt(c), "(-x)⊕x = 0, row " + i + ": " + norm(row(zero, i, DIM)));
        }
    }

    @ParameterizedTest(name = "c = {0}, {1} points")
    @MethodSource("cases")
    void logUndoesExp(double c, String where) {
        PoincareReference ball = new PoincareReference(c);
        Random random = new Random(2);
        double[] x = sample(random, c, where);
        double[] lambda = ball.conformalFactor(x, DIM);
        // Tangent vectors of Riemannian length up to 1, so that exp_x(v) stays off the projection radius.
        double[] v = gaussian(random, ROWS * DIM, 1);
        for (int i = 0; i < ROWS; i++) {
            double k = random.nextDouble() / (lambda[i] * norm(row(v, i, DIM)));
            for (int j = 0; j < DIM; j++) {
                v[i * DIM + j] *= k;
            }
        }
        double[] back = ball.logmap(x, ball.expmap(x, v, DIM), DIM);
        for (int i = 0; i < ROWS; i++) {
            // Measured as a Riemannian length at x. (-x)⊕y for nearby x, y cancels in its numerator and its
            // denominator, so log_x(y) errs by about λ_x·1e-16 in Euclidean length, λ_x²·1e-16 in Riemannian.
            double error = 0;
            for (int j = 0; j < DIM; j++) {
                error = Math.max(error, Math.abs(back[i * DIM + j] - v[i * DIM + j]));
            }
            double riemannian = lambda[i] * error * Math.sqrt(DIM);
            assertTrue(riemannian <= 1e-12 + 1e-14 * lambda[i] * lambda[i],
                    "log_x(exp_x(v)) = v, row " + i + ": Riemannian error " + riemannian + " at λ_x = " + lambda[i]);
        }
    }

    @ParameterizedTest(name = "c = {0}, {1} points")
    @MethodSource("cases")
    void distanceIsSymmetricAndObeysTheTriangleInequality(double c, String where) {
        PoincareReference ball = new PoincareReference(c);
        Random random = new Random(3);
        double[] x = sample(random, c, where);
        double[] y = sample(random, c, where);
        double[] z = sample(random, c, where);
        double[] xy = ball.distance(x, y, DIM);
        assertClose(xy, ball.distance(y, x, DIM), 1e-9, "d(x,y) = d(y,x)");
        double[] yz = ball.distance(y, z, DIM);
        double[] xz = ball.distance(x, z, DIM);
        for (int i = 0; i < ROWS; i++) {
            assertTrue(xz[i] <= xy[i] + yz[i] + 1e-9, "triangle, row " + i + ": " + xz[i] + " > " + xy[i] + " + " + yz[i]);
            assertTrue(Double.isFinite(xy[i]) && xy[i] >= 0, "d(x,y) = " + xy[i]);
        }
    }

    @ParameterizedTest(name = "c = {0}, {1} points")
    @MethodSource("cases")
    void leftCancellationUndoesAnAddition(double c, String where) {
        PoincareReference ball = new PoincareReference(c);
        Random random = new Random(4);
        double[] x = sample(random, c, where);
        // y within distance 1 of the origin, so that x⊕y stays off the projection radius even near the boundary.
        double[] y = points(random, ROWS, DIM, c, Math.tanh(0.5));
        double[] back = ball.mobiusAdd(neg(x), ball.mobiusAdd(x, y, DIM), DIM);
        double tolerance = where.equals("random") ? 1e-10 : 1e-8;
        assertClose(y, back, tolerance / Math.sqrt(c), "(-x)⊕(x⊕y) = y");
    }

    @ParameterizedTest(name = "c = {0}, {1} points")
    @MethodSource("cases")
    void parallelTransportPreservesTheRiemannianNorm(double c, String where) {
        PoincareReference ball = new PoincareReference(c);
        Random random = new Random(5);
        double[] x = sample(random, c, where);
        double[] y = sample(random, c, where);
        double[] v = gaussian(random, ROWS * DIM, 1);
        double[] moved = ball.transport(x, y, v, DIM);
        double[] lx = ball.conformalFactor(x, DIM);
        double[] ly = ball.conformalFactor(y, DIM);
        for (int i = 0; i < ROWS; i++) {
            assertClose(lx[i] * norm(row(v, i, DIM)), ly[i] * norm(row(moved, i, DIM)), 1e-9,
                    "λ_y||P(v)|| = λ_x||v||, row " + i);
        }
    }
}
