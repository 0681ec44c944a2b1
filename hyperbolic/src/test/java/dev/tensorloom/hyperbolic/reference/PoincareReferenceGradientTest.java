package dev.tensorloom.hyperbolic.reference;

import static dev.tensorloom.hyperbolic.reference.BallSamples.gaussian;
import static dev.tensorloom.hyperbolic.reference.BallSamples.points;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every backward pass of the float64 reference against central finite differences, for c in {0.1, 1, 10},
 * on random points up to 0.9 of the radius and random tangent vectors (3 rows of dimension 4).
 */
class PoincareReferenceGradientTest {

    private static final int ROWS = 3;
    private static final int DIM = 4;

    private final Random random = new Random(7);

    private double[] p(double c) {
        return points(random, ROWS, DIM, c, 0.9);
    }

    private double[] v() {
        return gaussian(random, ROWS * DIM, 0.7);
    }

    @ParameterizedTest
    @ValueSource(doubles = {0.1, 1, 10})
    void mobiusAdd(double c) {
        GradientCheck.check("mobiusAdd", c, (b, in) -> b.mobiusAdd(in[0], in[1], DIM),
                (b, in, g) -> b.mobiusAddBackward(in[0], in[1], DIM, g), random, p(c), p(c));
    }

    @ParameterizedTest
    @ValueSource(doubles = {0.1, 1, 10})
    void scalarMul(double c) {
        GradientCheck.check("scalarMul", c, (b, in) -> b.scalarMul(in[0], in[1], DIM),
                (b, in, g) -> b.scalarMulBackward(in[0], in[1], DIM, g), random, gaussian(random, ROWS, 0.8), p(c));
    }

    @ParameterizedTest
    @ValueSource(doubles = {0.1, 1, 10})
    void matVec(double c) {
        int out = 3;
        GradientCheck.check("matVec", c, (b, in) -> b.matVec(in[0], out, in[1], DIM),
                (b, in, g) -> b.matVecBackward(in[0], out, in[1], DIM, g), random, gaussian(random, out * DIM, 0.5),
                p(c));
    }

    @ParameterizedTest
    @ValueSource(doubles = {0.1, 1, 10})
    void expmap0(double c) {
        GradientCheck.check("expmap0", c, (b, in) -> b.expmap0(in[0], DIM),
                (b, in, g) -> b.expmap0Backward(in[0], DIM, g), random, scaled(v(), c));
    }

    @ParameterizedTest
    @ValueSource(doubles = {0.1, 1, 10})
    void logmap0(double c) {
        GradientCheck.check("logmap0", c, (b, in) -> b.logmap0(in[0], DIM),
                (b, in, g) -> b.logmap0Backward(in[0], DIM, g), random, p(c));
    }

    @ParameterizedTest
    @ValueSource(doubles = {0.1, 1, 10})
    void expmap(double c) {
        GradientCheck.check("expmap", c, (b, in) -> b.expmap(in[0], in[1], DIM),
                (b, in, g) -> b.expmapBackward(in[0], in[1], DIM, g), random, p(c), scaled(v(), c));
    }

    @ParameterizedTest
    @ValueSource(doubles = {0.1, 1, 10})
    void logmap(double c) {
        GradientCheck.check("logmap", c, (b, in) -> b.logmap(in[0], in[1], DIM),
                (b, in, g) -> b.logmapBackward(in[0], in[1], DIM, g), random, p(c), p(c));
    }

    @ParameterizedTest
    @ValueSource(doubles = {0.1, 1, 10})
    void distance(double c) {
        GradientCheck.check("distance", c, (b, in) -> b.distance(in[0], in[1], DIM),
                (b, in, g) -> b.distanceBackward(in[0], in[1], DIM, g), random, p(c), p(c));
    }

    @ParameterizedTest
    @ValueSource(doubles = {0.1, 1, 10})
    void distance0(double c) {
        GradientCheck.check("distance0", c, (b, in) -> b.distance0(in[0], DIM),
                (b, in, g) -> b.distance0Backward(in[0], DIM, g), random, p(c));
    }

    @ParameterizedTest
    @ValueSource(doubles = {0.1, 1, 10})
    void allPairsDistance(double c) {
        GradientCheck.check("allPairsDistance", c, (b, in) -> b.allPairsDistance(in[0], in[1], DIM),
                (b, in, g) -> b.allPairsDistanceBackward(in[0], in[1], DIM, g), random, p(c),
                points(random, 2, DIM, c, 0.9));
    }

    @ParameterizedTest
    @ValueSource(doubles = {0.1, 1, 10})
    void project(double c) {
        // Two rows inside (identity), one outside (scaled onto the sphere of radius (1 - 1e-5)/√c).
        double[] x = p(c);
        for (int j = 0; j < DIM; j++) {
            x[2 * DIM + j] *= 3 / BallSamples.norm(BallSamples.row(x, 2, DIM)) / Math.sqrt(c);
        }
        GradientCheck.check("project", c, (b, in) -> b.project(in[0], DIM),
                (b, in, g) -> b.projectBackward(in[0], DIM, g), random, x);
    }

    @ParameterizedTest
    @ValueSource(doubles = {0.1, 1, 10})
    void gyration(double c) {
        GradientCheck.check("gyration", c, (b, in) -> b.gyration(in[0], in[1], in[2], DIM),
                (b, in, g) -> b.gyrationBackward(in[0], in[1], in[2], DIM, g), random, p(c), p(c), v());
    }

    @ParameterizedTest
    @ValueSource(doubles = {0.1, 1, 10})
    void transport(double c) {
        GradientCheck.check("transport", c, (b, in) -> b.transport(in[0], in[1], in[2], DIM),
                (b, in, g) -> b.transportBackward(in[0], in[1], in[2], DIM, g), random, p(c), p(c), v());
    }

    @ParameterizedTest
    @ValueSource(doubles = {0.1, 1, 10})
    void transport0(double c) {
        GradientCheck.check("transport0", c, (b, in) -> b.transport0(in[0], in[1], DIM),
                (b, in, g) -> b.transport0Backward(in[0], in[1], DIM, g), random, p(c), v());
    }

    @ParameterizedTest
    @ValueSource(doubles = {0.1, 1, 10})
    void weightedMidpoint(double c) {
        double[] weights = {0.5, 1.5, 1.0};
        GradientCheck.check("weightedMidpoint", c, (b, in) -> b.weightedMidpoint(in[0], in[1], DIM),
                (b, in, g) -> b.weightedMidpointBackward(in[0], in[1], DIM, g), random, p(c), weights);
    }

    /** Tangent vectors of a size that keeps exp away from its tanh clamp: ||v|| about 1/√c. */
    private static double[] scaled(double[] v, double c) {
        return BallSamples.scale(v, 1 / Math.sqrt(c));
    }
}
