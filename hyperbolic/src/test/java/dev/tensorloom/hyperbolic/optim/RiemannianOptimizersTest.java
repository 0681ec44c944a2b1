package dev.tensorloom.hyperbolic.optim;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.hyperbolic.Curvature;
import dev.tensorloom.hyperbolic.PoincareKernels;
import dev.tensorloom.hyperbolic.TensorArrays;
import dev.tensorloom.hyperbolic.reference.BallSamples;
import dev.tensorloom.hyperbolic.reference.PoincareReference;
import dev.tensorloom.runtime.kernel.ScalarBackend;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Riemannian SGD and Adam minimize functions on the ball whose minimizers are known: the squared distance to a
 * fixed point (minimized at that point) and the Fréchet variance of points (minimized at the geodesic midpoint
 * for two points, at the origin for points placed symmetrically about it). Distances are measured with the
 * float64 reference.
 */
class RiemannianOptimizersTest {

    private static final PoincareKernels KERNELS = PoincareKernels.FAMILY.on(new ScalarBackend());

    /** A step function: (curvature, points, Euclidean gradient). */
    private interface Optimizer {
        void step(Curvature c, Tensor points, Tensor gradient);
    }

    static Stream<Arguments> optimizers() {
        return Stream.of(0.1, 1.0, 10.0).flatMap(c -> Stream.of(Arguments.of("sgd", c), Arguments.of("adam", c)));
    }

    /**
     * SGD at 0.2: on d(x,p)² a step covers 0.4 of the remaining distance. Adam's steps have Riemannian length
     * about lr, so its rate scales with the distances, which scale with 1/√c.
     */
    private static Optimizer make(String name, int rows, int dim, double c) {
        if (name.equals("sgd")) {
            RiemannianSgd sgd = new RiemannianSgd(KERNELS, 0.2);
            return sgd::step;
        }
        RiemannianAdam adam = new RiemannianAdam(KERNELS, rows, dim, 0.1 / Math.sqrt(c));
        return (curvature, points, gradient) -> adam.step(curvature, points, gradient);
    }

    /** Steps of min Σ_i d(x_i, targets_i)² (gradient 2d·∂d/∂x from the kernels' backward pass). */
    private static void minimizeSquaredDistance(Optimizer opt, Curvature c, Tensor x, Tensor targets, int steps,
            Arena arena) {
        int rows = x.rows();
        Tensor d = Tensor.allocate(arena, rows);
        Tensor gradOut = Tensor.allocate(arena, rows);
        Tensor gradX = Tensor.allocate(arena, rows, x.cols());
        Tensor gradT = Tensor.allocate(arena, rows, x.cols());
        float cf = (float) c.value();
        for (int s = 0; s < steps; s++) {
            KERNELS.distance(cf, x, targets, d);
            for (int i = 0; i < rows; i++) {
                gradOut.set(2 * d.get(i), i);
            }
            KERNELS.distanceBackward(cf, x, targets, gradOut, gradX, gradT);
            opt.step(c, x, gradX);
        }
    }

    @ParameterizedTest(name = "{0}, c = {1}")
    @MethodSource("optimizers")
    void reachesAFixedPointFromInsideAndFromNearTheBoundary(String name, double c) {
        int rows = 6;
        int dim = 5;
        Random random = new Random(3);
        try (Arena arena = Arena.ofShared()) {
            double[] start = BallSamples.points(random, rows, dim, c, 0.9);
            double[] edge = BallSamples.nearBoundary(random, 3, dim, c, 4e-3, 1e-2);
            System.arraycopy(edge, 0, start, 0, edge.length);
            double[] target = BallSamples.points(random, rows, dim, c, 0.8);
            Tensor x = TensorArrays.of(arena, start, rows, dim);
            Tensor t = TensorArrays.of(arena, target, rows, dim);
            PoincareReference ref = new PoincareReference(c);
            double[] before = ref.distance(TensorArrays.read(x), target, dim);
            minimizeSquaredDistance(make(name, rows, dim, c), Curvature.fixed(c), x, t, 500, arena);
            double[] after = ref.distance(TensorArrays.read(x), target, dim);
            for (int i = 0; i < rows; i++) {
                assertTrue(before[i] > 0.3 / Math.sqrt(c), "a real distance to cover: " + before[i]);
                assertTrue(after[i] < 2e-3 / Math.sqrt(c), name + ", row " + i + ": d(x, p) = " + after[i]
                        + " after 500 steps, from " + before[i]);
            }
        }
    }

    @ParameterizedTest(name = "{0}, c = {1}")
    @MethodSource("optimizers")
    void theFrechetMeanOfTwoPointsIsTheirMidpoint(String name, double c) {
        int dim = 4;
        Random random = new Random(5);
        double[] ab = BallSamples.points(random, 2, dim, c, 0.85);
        double[] midpoint = new PoincareReference(c).weightedMidpoint(ab, new double[] {1, 1}, dim);
        assertFrechetMean(name, c, ab, 2, dim, midpoint, 5e-3);
    }

    @ParameterizedTest(name = "{0}, c = {1}")
    @MethodSource("optimizers")
    void theFrechetMeanOfSymmetricPointsIsTheOrigin(String name, double c) {
        int dim = 3;
        double r = 0.6 / Math.sqrt(c);
        double[] points = {r, 0, 0, -r, 0, 0, 0, r, 0, 0, -r, 0, 0, 0, r, 0, 0, -r};
        assertFrechetMean(name, c, points, 6, dim, new double[dim], 5e-3);
    }

    /** Minimizes the mean of d(x, p_k)² over one point x, starting off-centre, and checks it reaches the known mean. */
    private static void assertFrechetMean(String name, double c, double[] points, int n, int dim, double[] expected,
            double tolerance) {
        try (Arena arena = Arena.ofShared()) {
            double[] start = new double[dim];
            start[0] = -0.5 / Math.sqrt(c);
            start[dim - 1] = 0.3 / Math.sqrt(c);
            Tensor x = TensorArrays.of(arena, start, 1, dim);
            Tensor copies = Tensor.allocate(arena, n, dim);
            Tensor p = TensorArrays.of(arena, points, n, dim);
            Tensor d = Tensor.allocate(arena, n);
            Tensor gradOut = Tensor.allocate(arena, n);
            Tensor gradCopies = Tensor.allocate(arena, n, dim);
            Tensor gradP = Tensor.allocate(arena, n, dim);
            Tensor grad = Tensor.allocate(arena, 1, dim);
            Optimizer opt = make(name, 1, dim, c);
            Curvature curvature = Curvature.fixed(c);
            float cf = (float) c;
            for (int s = 0; s < 400; s++) {
                for (int k = 0; k < n; k++) {
                    copies.row(k).copyFrom(x.row(0));
                }
                KERNELS.distance(cf, copies, p, d);
                for (int k = 0; k < n; k++) {
                    // The mean of the squared distances, so that SGD's rate does not grow with n.
                    gradOut.set(2 * d.get(k) / n, k);
                }
                KERNELS.distanceBackward(cf, copies, p, gradOut, gradCopies, gradP);
                for (int j = 0; j < dim; j++) {
                    float sum = 0;
                    for (int k = 0; k < n; k++) {
                        sum += gradCopies.get(k, j);
                    }
                    grad.set(sum, 0, j);
                }
                opt.step(curvature, x, grad);
            }
            double off = new PoincareReference(c).distance(TensorArrays.read(x), expected, dim)[0];
            assertTrue(off < tolerance / Math.sqrt(c), name + ": the mean is " + off + " from the known answer");
        }
    }

    @Test
    void aLearnableCurvatureDescendsOnItsGradient() {
        // min over c of (d_c(0, x) - 2.5)² for a fixed x: d_c(0, x) = 2·artanh(√c||x||)/√c grows with c.
        Curvature c = Curvature.learnable(0.3);
        RiemannianSgd sgd = new RiemannianSgd(KERNELS, 0.5);
        try (Arena arena = Arena.ofShared()) {
            Tensor x = Tensor.of(arena, new float[] {0.9f, 0}, 1, 2);
            Tensor d = Tensor.allocate(arena, 1);
            Tensor g = Tensor.allocate(arena, 1);
            Tensor gx = Tensor.allocate(arena, 1, 2);
            for (int s = 0; s < 300; s++) {
                KERNELS.distance0((float) c.value(), x, d);
                g.set(2 * (d.get(0) - 2.5f), 0);
                sgd.step(c, KERNELS.distance0Backward((float) c.value(), x, g, gx));
            }
            KERNELS.distance0((float) c.value(), x, d);
            assertTrue(Math.abs(d.get(0) - 2.5) < 1e-4, "d(0, x) = " + d.get(0) + " at " + c);
            // The c that solves 2·artanh(0.9√c)/√c = 2.5, by bisection in double.
            double lo = 1e-6;
            double hi = 1.2;
            for (int i = 0; i < 100; i++) {
                double mid = (lo + hi) / 2;
                double dm = new PoincareReference(mid).distance0(new double[] {0.9f, 0}, 2)[0];
                if (dm > 2.5) {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            assertTrue(Math.abs(c.value() - lo) < 1e-3, "c = " + c.value() + ", expected " + lo);
        }
    }

    @Test
    void badSettingsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new RiemannianSgd(KERNELS, 0));
        assertThrows(IllegalArgumentException.class, () -> new RiemannianAdam(KERNELS, 1, 1, -1));
        assertThrows(IllegalArgumentException.class, () -> new RiemannianAdam(KERNELS, 1, 1, 0.1, 1, 0.9, 1e-8));
    }
}
