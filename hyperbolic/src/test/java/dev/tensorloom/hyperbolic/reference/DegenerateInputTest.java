package dev.tensorloom.hyperbolic.reference;

import static dev.tensorloom.hyperbolic.reference.BallSamples.gaussian;
import static dev.tensorloom.hyperbolic.reference.BallSamples.norm;
import static dev.tensorloom.hyperbolic.reference.BallSamples.points;
import static dev.tensorloom.hyperbolic.reference.BallSamples.row;
import static dev.tensorloom.hyperbolic.reference.BallSamples.scale;
import static dev.tensorloom.hyperbolic.reference.Close.assertClose;
import static dev.tensorloom.hyperbolic.reference.Close.assertFinite;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Zero vectors, points on (and beyond) the boundary, huge tangent vectors and c → 0: every operation's value
 * and backward pass stay finite, the most reported bug of peer libraries. Each case runs every operation.
 */
class DegenerateInputTest {

    private static final int DIM = 4;
    private static final int ROWS = 3;

    /** Runs every operation forward and backward on the given rows and checks that nothing is NaN or infinite. */
    private static void allOperationsFinite(double c, double[] x, double[] y, double[] v, String what) {
        PoincareReference b = new PoincareReference(c);
        Random random = new Random(3);
        double[] g = gaussian(random, x.length, 1);
        double[] g1 = gaussian(random, x.length / DIM, 1);
        double[] r = {0.5, -2, 30};
        double[] m = gaussian(random, 2 * DIM, 1);
        double[] g2 = gaussian(random, ROWS * 2, 1);
        double[] gPairs = gaussian(random, ROWS * ROWS, 1);
        double[] gPoint = gaussian(random, DIM, 1);
        double[] w = {1, 2, 0.5};

        assertFinite(b.mobiusAdd(x, y, DIM), what + ": mobiusAdd");
        assertFinite(b.mobiusAddBackward(x, y, DIM, g), what + ": mobiusAdd");
        assertFinite(b.scalarMul(r, x, DIM), what + ": scalarMul");
        assertFinite(b.scalarMulBackward(r, x, DIM, g), what + ": scalarMul");
        assertFinite(b.matVec(m, 2, x, DIM), what + ": matVec");
        assertFinite(b.matVecBackward(m, 2, x, DIM, g2), what + ": matVec");
        assertFinite(b.expmap0(v, DIM), what + ": expmap0");
        assertFinite(b.expmap0Backward(v, DIM, g), what + ": expmap0");
        assertFinite(b.logmap0(x, DIM), what + ": logmap0");
        assertFinite(b.logmap0Backward(x, DIM, g), what + ": logmap0");
        assertFinite(b.expmap(x, v, DIM), what + ": expmap");
        assertFinite(b.expmapBackward(x, v, DIM, g), what + ": expmap");
        assertFinite(b.logmap(x, y, DIM), what + ": logmap");
        assertFinite(b.logmapBackward(x, y, DIM, g), what + ": logmap");
        assertFinite(b.logmap(x, x, DIM), what + ": logmap at y = x");
        assertFinite(b.logmapBackward(x, x, DIM, g), what + ": logmap at y = x");
        assertFinite(b.distance(x, y, DIM), what + ": distance");
        assertFinite(b.distanceBackward(x, y, DIM, g1), what + ": distance");
        assertFinite(b.distance(x, x, DIM), what + ": distance to itself");
        assertFinite(b.distanceBackward(x, x, DIM, g1), what + ": distance to itself");
        assertFinite(b.distance0(x, DIM), what + ": distance0");
        assertFinite(b.distance0Backward(x, DIM, g1), what + ": distance0");
        assertFinite(b.allPairsDistance(x, y, DIM), what + ": allPairsDistance");
        assertFinite(b.allPairsDistanceBackward(x, y, DIM, gPairs), what + ": allPairsDistance");
        assertFinite(b.allPairsDistanceBackward(x, x, DIM, gPairs), what + ": allPairsDistance of x with itself");
        assertFinite(b.project(x, DIM), what + ": project");
        assertFinite(b.projectBackward(x, DIM, g), what + ": project");
        assertFinite(b.gyration(x, y, v, DIM), what + ": gyration");
        assertFinite(b.gyrationBackward(x, y, v, DIM, g), what + ": gyration");
        assertFinite(b.transport(x, y, v, DIM), what + ": transport");
        assertFinite(b.transportBackward(x, y, v, DIM, g), what + ": transport");
        assertFinite(b.transport0(y, v, DIM), what + ": transport0");
        assertFinite(b.transport0Backward(y, v, DIM, g), what + ": transport0");
        assertFinite(b.weightedMidpoint(x, w, DIM), what + ": weightedMidpoint");
        assertFinite(b.weightedMidpointBackward(x, w, DIM, gPoint), what + ": weightedMidpoint");
    }

    @ParameterizedTest
    @ValueSource(doubles = {0.1, 1, 10})
    void zeroVectors(double c) {
        double[] zero = new double[ROWS * DIM];
        double[] x = points(new Random(1), ROWS, DIM, c, 0.9);
        allOperationsFinite(c, zero, zero, zero, "all zero");
        allOperationsFinite(c, x, zero, zero, "zero y and v");
        allOperationsFinite(c, zero, x, zero, "zero x and v");
        PoincareReference b = new PoincareReference(c);
        assertClose(zero, b.expmap0(zero, DIM), 0, "exp₀(0) = 0");
        assertClose(x, b.expmap(x, zero, DIM), 0, "exp_x(0) = x");
        assertClose(zero, b.logmap(x, x, DIM), 1e-12, "log_x(x) = 0");
        // At v = 0 the Jacobian of exp₀ is the identity (its limit).
        double[] g = gaussian(new Random(2), ROWS * DIM, 1);
        assertClose(g, b.expmap0Backward(zero, DIM, g).of(0), 1e-12, "d exp₀ at 0 = I");
    }

    @ParameterizedTest
    @ValueSource(doubles = {0.1, 1, 10})
    void pointsOnAndBeyondTheBoundary(double c) {
        Random random = new Random(4);
        double[] x = points(random, ROWS, DIM, c, 0.5);
        double[] onBoundary = new double[x.length];
        double[] beyond = new double[x.length];
        double[] atRadius = new double[x.length];
        for (int i = 0; i < ROWS; i++) {
            double n = norm(row(x, i, DIM));
            for (int j = 0; j < DIM; j++) {
                onBoundary[i * DIM + j] = x[i * DIM + j] / n / Math.sqrt(c);
                beyond[i * DIM + j] = x[i * DIM + j] / n * 1e6;
                atRadius[i * DIM + j] = x[i * DIM + j] / n * (1 - 1e-5) / Math.sqrt(c);
            }
        }
        double[] v = gaussian(random, ROWS * DIM, 1);
        allOperationsFinite(c, onBoundary, atRadius, v, "points on the boundary");
        allOperationsFinite(c, beyond, onBoundary, v, "points far outside");
        allOperationsFinite(c, atRadius, scale(atRadius, -1), v, "opposite points at the projection radius");
        // Distances saturate at the largest one the artanh clamp lets through, 2·artanh(1 - 1e-5)/√c ≈ 12.2/√c
        // (REFERENCE.md §3): two opposite points at the radius, truly 24.4/√c apart, come out that far.
        PoincareReference b = new PoincareReference(c);
        double[] far = b.distance(atRadius, scale(atRadius, -1), DIM);
        for (double d : far) {
            assertClose(2 * 0.5 * Math.log((2 - 1e-5) / 1e-5) / Math.sqrt(c), d, 1e-6, "diameter");
        }
    }

    @ParameterizedTest
    @ValueSource(doubles = {0.1, 1, 10})
    void hugeTangentVectors(double c) {
        Random random = new Random(5);
        double[] x = points(random, ROWS, DIM, c, 0.9);
        double[] y = points(random, ROWS, DIM, c, 0.9);
        double[] huge = scale(gaussian(random, ROWS * DIM, 1), 1e150);
        allOperationsFinite(c, x, y, huge, "tangent vectors of size 1e150");
        PoincareReference b = new PoincareReference(c);
        double[] e = b.expmap0(huge, DIM);
        for (int i = 0; i < ROWS; i++) {
            assertClose((1 - 1e-5) / Math.sqrt(c), norm(row(e, i, DIM)), 1e-12, "exp₀ of a huge vector sits on the radius");
        }
    }

    @ParameterizedTest
    @ValueSource(doubles = {1e-6, 1e-10, 1e-14})
    void smallCurvatureApproachesEuclideanSpace(double c) {
        Random random = new Random(6);
        double[] x = gaussian(random, ROWS * DIM, 1);
        double[] y = gaussian(random, ROWS * DIM, 1);
        double[] v = gaussian(random, ROWS * DIM, 1);
        allOperationsFinite(c, x, y, v, "c = " + c);
        PoincareReference b = new PoincareReference(c);
        // Errors of the limit are O(c·||x||²) with ||x|| of a few units.
        double tol = 100 * c + 1e-12;
        double[] sum = new double[x.length];
        double[] diff = new double[x.length];
        double[] euclid = new double[ROWS];
        for (int i = 0; i < x.length; i++) {
            sum[i] = x[i] + y[i];
            diff[i] = y[i] - x[i];
            euclid[i / DIM] += diff[i] * diff[i];
        }
        for (int i = 0; i < ROWS; i++) {
            euclid[i] = 2 * Math.sqrt(euclid[i]);
        }
        assertClose(sum, b.mobiusAdd(x, y, DIM), tol, "x⊕y → x + y");
        assertClose(euclid, b.distance(x, y, DIM), tol, "d(x,y) → 2||x - y||");
        assertClose(v, b.logmap(x, b.expmap(x, v, DIM), DIM), tol, "log_x exp_x v = v");
        assertClose(sum, b.expmap(x, y, DIM), tol, "exp_x(v) → x + (λ_x/2)v = x + v");
        assertClose(x, b.expmap0(x, DIM), tol, "exp₀ → identity");
        assertClose(v, b.transport(x, y, v, DIM), tol, "transport → identity");
    }
}
