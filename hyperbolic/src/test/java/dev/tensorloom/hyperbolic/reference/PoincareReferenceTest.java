package dev.tensorloom.hyperbolic.reference;

import static dev.tensorloom.hyperbolic.reference.BallSamples.gaussian;
import static dev.tensorloom.hyperbolic.reference.BallSamples.neg;
import static dev.tensorloom.hyperbolic.reference.BallSamples.norm;
import static dev.tensorloom.hyperbolic.reference.BallSamples.points;
import static dev.tensorloom.hyperbolic.reference.BallSamples.row;
import static dev.tensorloom.hyperbolic.reference.BallSamples.scale;
import static dev.tensorloom.hyperbolic.reference.Close.assertClose;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The forward values of the float64 reference against closed forms in one dimension and against identities
 * that tie its operations to each other by a different route (the gradients follow from these definitions
 * and are checked separately against finite differences).
 */
class PoincareReferenceTest {

    private static final double TIGHT = 1e-12;
    private static final int DIM = 5;

    private final Random random = new Random(11);

    @ParameterizedTest
    @ValueSource(doubles = {0.1, 1, 10})
    void inOneDimensionMobiusAdditionIsTheRelativisticSum(double c) {
        double s = 1 / Math.sqrt(c);
        double[] x = {0.3 * s, -0.7 * s, 0.9 * s};
        double[] y = {0.5 * s, 0.2 * s, -0.95 * s};
        double[] sum = new PoincareReference(c).mobiusAdd(x, y, 1);
        for (int i = 0; i < 3; i++) {
            assertClose((x[i] + y[i]) / (1 + c * x[i] * y[i]), sum[i], TIGHT, "x⊕y = (x + y)/(1 + cxy)");
        }
    }

    @ParameterizedTest
    @ValueSource(doubles = {0.1, 1, 10})
    void inOneDimensionTheMapsAndDistancesAreTanhAndArtanh(double c) {
        PoincareReference ball = new PoincareReference(c);
        double sc = Math.sqrt(c);
        double[] v = {-2.5 / sc, 0.4 / sc, 1.7 / sc};
        double[] e = ball.expmap0(v, 1);
        double[] x = {0.2 / sc, -0.6 / sc, 0.8 / sc};
        double[] y = {-0.5 / sc, 0.1 / sc, 0.85 / sc};
        double[] l = ball.logmap0(x, 1);
        double[] d = ball.distance(x, y, 1);
        double[] d0 = ball.distance0(x, 1);
        for (int i = 0; i < 3; i++) {
            assertClose(Math.tanh(sc * v[i]) / sc, e[i], TIGHT, "exp₀");
            assertClose(atanh(sc * x[i]) / sc, l[i], TIGHT, "log₀");
            assertClose(2 / sc * atanh(sc * Math.abs(y[i] - x[i]) / (1 - c * x[i] * y[i])), d[i], 1e-10, "d(x, y)");
            assertClose(2 / sc * atanh(sc * Math.abs(x[i])), d0[i], TIGHT, "d(0, x)");
        }
    }

    @ParameterizedTest
    @ValueSource(doubles = {0.1, 1, 10})
    void expAtAPointWalksAGeodesicOfTheTangentVectorsRiemannianLength(double c) {
        PoincareReference ball = new PoincareReference(c);
        double[] x = points(random, 4, DIM, c, 0.8);
        double[] v = scale(gaussian(random, 4 * DIM, 1), 0.3 / Math.sqrt(c));
        double[] y = ball.expmap(x, v, DIM);
        double[] d = ball.distance(x, y, DIM);
        double[] lambda = ball.conformalFactor(x, DIM);
        for (int i = 0; i < 4; i++) {
            assertClose(lambda[i] * norm(row(v, i, DIM)), d[i], 1e-10, "d(x, exp_x(v)) = λ_x||v||");
        }
        // exp_x(v) = x ⊕ exp₀(λ_x·v/2), and log_x undoes it; at the origin they are exp₀ and log₀.
        double[] half = new double[v.length];
        for (int i = 0; i < half.length; i++) {
            half[i] = v[i] * lambda[i / DIM] / 2;
        }
        assertClose(ball.mobiusAdd(x, ball.expmap0(half, DIM), DIM), y, TIGHT, "exp_x(v) = x ⊕ exp₀(λ_x v/2)");
        double[] zero = new double[x.length];
        assertClose(ball.expmap0(v, DIM), ball.expmap(zero, v, DIM), TIGHT, "exp₀ = exp at 0");
        assertClose(ball.logmap0(x, DIM), ball.logmap(zero, x, DIM), TIGHT, "log₀ = log at 0");
        assertClose(ball.distance0(x, DIM), ball.distance(zero, x, DIM), TIGHT, "d(0, x)");
    }

    @ParameterizedTest
    @ValueSource(doubles = {0.1, 1, 10})
    void scalarMultiplicationIsRepeatedAdditionAndMatrixMultiplicationByRTimesIdentity(double c) {
        PoincareReference ball = new PoincareReference(c);
        double[] x = points(random, 3, DIM, c, 0.7);
        double[] threeTimes = ball.mobiusAdd(x, ball.mobiusAdd(x, x, DIM), DIM);
        assertClose(threeTimes, ball.scalarMul(new double[] {3, 3, 3}, x, DIM), 1e-10, "3⊗x = x⊕x⊕x");
        double[] m = new double[DIM * DIM];
        for (int j = 0; j < DIM; j++) {
            m[j * DIM + j] = -0.4;
        }
        assertClose(ball.scalarMul(new double[] {-0.4, -0.4, -0.4}, x, DIM), ball.matVec(m, DIM, x, DIM), TIGHT,
                "(rI)⊗x = r⊗x");
    }

    @ParameterizedTest
    @ValueSource(doubles = {0.1, 1, 10})
    void matVecIsExpOfTheMatrixTimesLog(double c) {
        PoincareReference ball = new PoincareReference(c);
        double[] x = points(random, 3, DIM, c, 0.7);
        double[] m = gaussian(random, 2 * DIM, 0.5);
        double[] logs = ball.logmap0(x, DIM);
        double[] mapped = new double[3 * 2];
        for (int i = 0; i < 3; i++) {
            for (int o = 0; o < 2; o++) {
                for (int j = 0; j < DIM; j++) {
                    mapped[i * 2 + o] += m[o * DIM + j] * logs[i * DIM + j];
                }
            }
        }
        assertClose(ball.expmap0(mapped, 2), ball.matVec(m, 2, x, DIM), 1e-10, "M⊗x = exp₀(M log₀(x))");
    }

    @ParameterizedTest
    @ValueSource(doubles = {0.1, 1, 10})
    void gyrationIsTheDefectOfAssociativity(double c) {
        PoincareReference ball = new PoincareReference(c);
        double[] u = points(random, 3, DIM, c, 0.8);
        double[] v = points(random, 3, DIM, c, 0.8);
        double[] w = points(random, 3, DIM, c, 0.8);
        // gyr[u,v]w = ⊖(u⊕v) ⊕ (u ⊕ (v ⊕ w))
        double[] expected = ball.mobiusAdd(neg(ball.mobiusAdd(u, v, DIM)), ball.mobiusAdd(u, ball.mobiusAdd(v, w, DIM), DIM), DIM);
        assertClose(expected, ball.gyration(u, v, w, DIM), 1e-10, "gyr[u,v]w");
    }

    @ParameterizedTest
    @ValueSource(doubles = {0.1, 1, 10})
    void transportFromTheOriginIsTheGeneralTransportAtZero(double c) {
        PoincareReference ball = new PoincareReference(c);
        double[] y = points(random, 3, DIM, c, 0.9);
        double[] v = gaussian(random, 3 * DIM, 1);
        assertClose(ball.transport(new double[y.length], y, v, DIM), ball.transport0(y, v, DIM), TIGHT, "P_{0→y}");
        // Transport along the geodesic back and forth is the identity.
        double[] x = points(random, 3, DIM, c, 0.9);
        assertClose(v, ball.transport(y, x, ball.transport(x, y, v, DIM), DIM), 1e-10, "P_{y→x} P_{x→y} v = v");
    }

    @ParameterizedTest
    @ValueSource(doubles = {0.1, 1, 10})
    void allPairsDistanceByTheGramMatrixMatchesEachPair(double c) {
        PoincareReference ball = new PoincareReference(c);
        int n = 4;
        int m = 3;
        double[] x = points(random, n, DIM, c, 0.95);
        double[] y = points(random, m, DIM, c, 0.95);
        double[] all = ball.allPairsDistance(x, y, DIM);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < m; j++) {
                double d = ball.distance(row(x, i, DIM), row(y, j, DIM), DIM)[0];
                assertClose(d, all[i * m + j], 1e-10, "d(x" + i + ", y" + j + ")");
            }
        }
    }

    @ParameterizedTest
    @ValueSource(doubles = {0.1, 1, 10})
    void theMidpointOfTwoPointsHalvesTheirDistance(double c) {
        PoincareReference ball = new PoincareReference(c);
        double[] xy = points(random, 2, DIM, c, 0.9);
        double[] m = ball.weightedMidpoint(xy, new double[] {1, 1}, DIM);
        double[] x = row(xy, 0, DIM);
        double[] y = row(xy, 1, DIM);
        double d = ball.distance(x, y, DIM)[0];
        assertClose(d / 2, ball.distance(m, x, DIM)[0], 1e-10, "d(m, x) = d(x, y)/2");
        assertClose(d / 2, ball.distance(m, y, DIM)[0], 1e-10, "d(m, y) = d(x, y)/2");
        // One point is its own midpoint, whatever its weight; x and -x meet at the origin.
        assertClose(x, ball.weightedMidpoint(x, new double[] {2.5}, DIM), TIGHT, "midpoint of {x}");
        double[] pair = new double[2 * DIM];
        System.arraycopy(x, 0, pair, 0, DIM);
        System.arraycopy(neg(x), 0, pair, DIM, DIM);
        assertClose(new double[DIM], ball.weightedMidpoint(pair, new double[] {1, 1}, DIM), TIGHT, "midpoint of ±x");
    }

    @ParameterizedTest
    @ValueSource(doubles = {0.1, 1, 10})
    void projectionLeavesInnerPointsAndPullsOuterOnesToTheRadius(double c) {
        PoincareReference ball = new PoincareReference(c);
        double[] inner = points(random, 2, DIM, c, 0.99);
        assertClose(inner, ball.project(inner, DIM), 0, "inner points");
        double[] outer = scale(inner, 5 / norm(row(inner, 0, DIM)) / Math.sqrt(c));
        double[] p = ball.project(row(outer, 0, DIM), DIM);
        assertClose((1 - 1e-5) / Math.sqrt(c), norm(p), TIGHT, "projected radius");
        assertClose(scale(p, 1 / norm(p)), scale(row(outer, 0, DIM), 1 / norm(row(outer, 0, DIM))), TIGHT, "direction kept");
        assertClose(new double[] {2 / (1 - c * BallSamples.dot(row(inner, 1, DIM), row(inner, 1, DIM)))},
                ball.conformalFactor(row(inner, 1, DIM), DIM), TIGHT, "λ_x");
    }

    private static double atanh(double z) {
        return 0.5 * Math.log((1 + z) / (1 - z));
    }
}
