package dev.tensorloom.hyperbolic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;

import dev.tensorloom.hyperbolic.reference.BallSamples;
import dev.tensorloom.hyperbolic.reference.PoincareReference;
import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The contract of {@link PoincareKernels}, written once and run against every backend (one subclass each):
 * every operation and backward pass against the float64 {@link PoincareReference}, for c in {0.1, 1, 10}, on
 * dimensions awkward for 4-, 8- and 16-lane vectors (1, 5, 17, 64), on contiguous operands and on strided views.
 *
 * <p>Tolerance. The float32 kernels get the same (float-rounded) inputs as the reference, so only their own
 * arithmetic errs: each dot product of dim terms by at most dim·u·Σ|a||b| (u = 2⁻²⁴), the double-precision
 * coefficients not at all, and the final float combination of at most three rows by about 3u. Points lie within
 * 0.7/√c of the origin, where λ_x ≤ 3.93, and no operation here amplifies a relative error in its dot products by
 * more than λ_x² ≈ 16 (the Möbius denominators are ≥ (1 - 0.49)²). Results are therefore compared normwise:
 * |expected - actual| ≤ 16·(dim + 3)·u·(|expected| + max|expected|).
 */
abstract class PoincareKernelsContract {

    private static final double U = 0x1p-24;
    private static final double CONDITION = 16;
    private static final int ROWS = 7;

    private Arena arena;
    private PoincareKernels kernels;
    private Random random;

    abstract Backend backend();

    @BeforeEach
    void setUp() {
        arena = Arena.ofShared();
        kernels = PoincareKernels.FAMILY.on(backend());
        random = new Random(17);
    }

    @AfterEach
    void tearDown() {
        arena.close();
    }

    static Stream<Arguments> cases() {
        return Stream.of(0.1f, 1f, 10f).flatMap(c -> Stream.of(1, 5, 17, 64)
                .flatMap(dim -> Stream.of(Arguments.of(c, dim, false), Arguments.of(c, dim, true))));
    }

    // ---- operands -------------------------------------------------------------------------------------------

    /** values as a [rows, cols] float tensor: contiguous, or a column slice of a wider parent. */
    private Tensor place(double[] values, int rows, int cols, boolean strided) {
        Tensor parent = Tensor.allocate(arena, rows, strided ? cols + 3 : cols);
        Tensor t = strided ? parent.slice(1, 1, cols + 1) : parent;
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                t.set((float) values[i * cols + j], i, j);
            }
        }
        Tensor placed = backend().toDevice(parent, arena);
        return strided ? placed.slice(1, 1, cols + 1) : placed;
    }

    private Tensor vector(double[] values) {
        return backend().toDevice(TensorArrays.of(arena, values, values.length), arena);
    }

    /** An output tensor in the memory the backend computes on. */
    private Tensor output(long... shape) {
        return backend().allocate(arena, shape);
    }

    private double[] read(Tensor t) {
        return TensorArrays.read(backend().toHost(t, arena));
    }

    private double[] points(float c, int rows, int dim) {
        return rounded(BallSamples.points(random, rows, dim, c, 0.7));
    }

    /** Tangent vectors of norm up to 0.5/√c. */
    private double[] tangents(float c, int rows, int dim) {
        double[] v = BallSamples.points(random, rows, dim, c, 0.5);
        return rounded(v);
    }

    private double[] gaussian(int n) {
        return rounded(BallSamples.gaussian(random, n, 1));
    }

    private static double[] rounded(double[] v) {
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) v[i];
        }
        return v;
    }

    private void assertMatches(double[] expected, Tensor actual, int dim, String what) {
        assertMatches(expected, read(actual), dim, what);
    }

    private static void assertMatches(double[] expected, double[] actual, int dim, String what) {
        assertMatches(expected, actual, dim, 0, what);
    }

    /** With a floor under the normwise scale, for results that cancel to far below the size of their terms. */
    private void assertMatches(double[] expected, Tensor actual, int dim, double floor, String what) {
        assertMatches(expected, read(actual), dim, floor, what);
    }

    private static void assertMatches(double[] expected, double[] actual, int dim, double floor, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        double max = floor;
        for (double e : expected) {
            max = Math.max(max, Math.abs(e));
        }
        double tol = CONDITION * (dim + 3) * U;
        for (int i = 0; i < expected.length; i++) {
            if (!(Math.abs(expected[i] - actual[i]) <= tol * (Math.abs(expected[i]) + max))) {
                fail(what + ": element " + i + " expected " + expected[i] + " but was " + actual[i] + " (tolerance "
                        + tol * (Math.abs(expected[i]) + max) + ")");
            }
        }
    }

    private static void assertCurvatureGradient(double expected, float actual, int dim, String what) {
        double tol = CONDITION * (dim + 3) * U * ROWS * (1 + Math.abs(expected));
        if (!(Math.abs(expected - actual) <= tol)) {
            fail(what + ": dL/dc expected " + expected + " but was " + actual + " (tolerance " + tol + ")");
        }
    }

    private static PoincareReference reference(float c) {
        return new PoincareReference(c);
    }

    // ---- forward ----------------------------------------------------------------------------------------------

    @ParameterizedTest(name = "c = {0}, dim {1}, strided {2}")
    @MethodSource("cases")
    void mobiusAddition(float c, int dim, boolean strided) {
        double[] x = points(c, ROWS, dim);
        double[] y = points(c, ROWS, dim);
        Tensor out = place(new double[ROWS * dim], ROWS, dim, strided);
        kernels.mobiusAdd(c, place(x, ROWS, dim, strided), place(y, ROWS, dim, strided), out);
        assertMatches(reference(c).mobiusAdd(x, y, dim), out, dim, "x⊕y");
    }

    @ParameterizedTest(name = "c = {0}, dim {1}, strided {2}")
    @MethodSource("cases")
    void scalarAndMatrixMultiplication(float c, int dim, boolean strided) {
        double[] x = points(c, ROWS, dim);
        double[] r = rounded(BallSamples.scale(BallSamples.gaussian(random, ROWS, 1), 0.8));
        Tensor out = place(new double[ROWS * dim], ROWS, dim, strided);
        kernels.scalarMul(c, vector(r), place(x, ROWS, dim, strided), out);
        assertMatches(reference(c).scalarMul(r, x, dim), out, dim, "r⊗x");
        int outDim = 3;
        double[] m = rounded(BallSamples.scale(BallSamples.gaussian(random, outDim * dim, 1), 0.5 / Math.sqrt(dim)));
        Tensor mx = place(new double[ROWS * outDim], ROWS, outDim, strided);
        kernels.matVec(c, place(m, outDim, dim, strided), place(x, ROWS, dim, strided), mx);
        assertMatches(reference(c).matVec(m, outDim, x, dim), mx, dim, "M⊗x");
    }

    @ParameterizedTest(name = "c = {0}, dim {1}, strided {2}")
    @MethodSource("cases")
    void expAndLogMaps(float c, int dim, boolean strided) {
        PoincareReference ref = reference(c);
        double[] x = points(c, ROWS, dim);
        double[] y = points(c, ROWS, dim);
        double[] v = tangents(c, ROWS, dim);
        Tensor out = place(new double[ROWS * dim], ROWS, dim, strided);
        kernels.expmap0(c, place(v, ROWS, dim, strided), out);
        assertMatches(ref.expmap0(v, dim), out, dim, "exp₀");
        kernels.logmap0(c, place(y, ROWS, dim, strided), out);
        assertMatches(ref.logmap0(y, dim), out, dim, "log₀");
        kernels.expmap(c, place(x, ROWS, dim, strided), place(v, ROWS, dim, strided), out);
        assertMatches(ref.expmap(x, v, dim), out, dim, "exp_x");
        kernels.logmap(c, place(x, ROWS, dim, strided), place(y, ROWS, dim, strided), out);
        assertMatches(ref.logmap(x, y, dim), out, dim, "log_x");
    }

    @ParameterizedTest(name = "c = {0}, dim {1}, strided {2}")
    @MethodSource("cases")
    void distances(float c, int dim, boolean strided) {
        PoincareReference ref = reference(c);
        double[] x = points(c, ROWS, dim);
        double[] y = points(c, ROWS, dim);
        Tensor out = output(ROWS);
        kernels.distance(c, place(x, ROWS, dim, strided), place(y, ROWS, dim, strided), out);
        assertMatches(ref.distance(x, y, dim), out, dim, "d(x, y)");
        kernels.distance0(c, place(x, ROWS, dim, strided), out);
        assertMatches(ref.distance0(x, dim), out, dim, "d(0, x)");
        int m = 5;
        double[] z = points(c, m, dim);
        Tensor all = place(new double[ROWS * m], ROWS, m, strided);
        kernels.allPairsDistance(c, place(x, ROWS, dim, strided), place(z, m, dim, strided), all);
        assertMatches(ref.allPairsDistance(x, z, dim), all, dim, "all pairs");
    }

    @ParameterizedTest(name = "c = {0}, dim {1}, strided {2}")
    @MethodSource("cases")
    void gyrationTransportAndMidpoint(float c, int dim, boolean strided) {
        PoincareReference ref = reference(c);
        double[] x = points(c, ROWS, dim);
        double[] y = points(c, ROWS, dim);
        double[] v = gaussian(ROWS * dim);
        Tensor out = place(new double[ROWS * dim], ROWS, dim, strided);
        kernels.gyration(c, place(x, ROWS, dim, strided), place(y, ROWS, dim, strided), place(v, ROWS, dim, strided), out);
        assertMatches(ref.gyration(x, y, v, dim), out, dim, "gyr[x,y]v");
        kernels.transport(c, place(x, ROWS, dim, strided), place(y, ROWS, dim, strided), place(v, ROWS, dim, strided), out);
        assertMatches(ref.transport(x, y, v, dim), out, dim, "P_{x→y}v");
        kernels.transport0(c, place(y, ROWS, dim, strided), place(v, ROWS, dim, strided), out);
        assertMatches(ref.transport0(y, v, dim), out, dim, "P_{0→y}v");
        double[] w = rounded(new double[] {0.5, 1, 2, 0.25, 1.5, 1, 0.75});
        Tensor mid = place(new double[dim], 1, dim, strided);
        kernels.weightedMidpoint(c, place(x, ROWS, dim, strided), vector(w), mid);
        assertMatches(ref.weightedMidpoint(x, w, dim), mid, dim, "weighted midpoint");
    }

    @ParameterizedTest(name = "c = {0}, dim {1}, strided {2}")
    @MethodSource("cases")
    void projection(float c, int dim, boolean strided) {
        double[] x = points(c, ROWS, dim);
        // Rows 0 and 1 beyond the radius: they land on (1 - ε)/√c in their own direction.
        for (int j = 0; j < dim; j++) {
            x[j] *= 3;
            x[dim + j] = (float) (x[dim + j] * 1e4);
        }
        Tensor out = place(new double[ROWS * dim], ROWS, dim, strided);
        kernels.project(c, place(x, ROWS, dim, strided), out);
        double[] p = read(out);
        double[] expected = x.clone();
        for (int i = 0; i < 2; i++) {
            double n = BallSamples.norm(BallSamples.row(x, i, dim));
            if (n * Math.sqrt(c) > 1 - PoincareKernels.EPS) {
                for (int j = 0; j < dim; j++) {
                    expected[i * dim + j] = x[i * dim + j] / n * (1 - PoincareKernels.EPS) / Math.sqrt(c);
                }
            }
        }
        assertMatches(expected, p, dim, "projection");
    }

    // ---- backward ---------------------------------------------------------------------------------------------

    @ParameterizedTest(name = "c = {0}, dim {1}, strided {2}")
    @MethodSource("cases")
    void mobiusAdditionBackward(float c, int dim, boolean strided) {
        double[] x = points(c, ROWS, dim);
        double[] y = points(c, ROWS, dim);
        double[] g = gaussian(ROWS * dim);
        Tensor gx = place(new double[ROWS * dim], ROWS, dim, strided);
        Tensor gy = place(new double[ROWS * dim], ROWS, dim, strided);
        float dc = kernels.mobiusAddBackward(c, place(x, ROWS, dim, strided), place(y, ROWS, dim, strided),
                place(g, ROWS, dim, strided), gx, gy);
        PoincareReference.Gradients e = reference(c).mobiusAddBackward(x, y, dim, g);
        assertMatches(e.of(0), gx, dim, "dL/dx of x⊕y");
        assertMatches(e.of(1), gy, dim, "dL/dy of x⊕y");
        assertCurvatureGradient(e.curvature(), dc, dim, "x⊕y");
    }

    @ParameterizedTest(name = "c = {0}, dim {1}, strided {2}")
    @MethodSource("cases")
    void expAndLogAtTheOriginBackward(float c, int dim, boolean strided) {
        PoincareReference ref = reference(c);
        double[] v = tangents(c, ROWS, dim);
        double[] y = points(c, ROWS, dim);
        double[] g = gaussian(ROWS * dim);
        Tensor grad = place(new double[ROWS * dim], ROWS, dim, strided);
        float dc = kernels.expmap0Backward(c, place(v, ROWS, dim, strided), place(g, ROWS, dim, strided), grad);
        PoincareReference.Gradients e = ref.expmap0Backward(v, dim, g);
        assertMatches(e.of(0), grad, dim, "dL/dv of exp₀");
        assertCurvatureGradient(e.curvature(), dc, dim, "exp₀");
        dc = kernels.logmap0Backward(c, place(y, ROWS, dim, strided), place(g, ROWS, dim, strided), grad);
        e = ref.logmap0Backward(y, dim, g);
        assertMatches(e.of(0), grad, dim, "dL/dy of log₀");
        assertCurvatureGradient(e.curvature(), dc, dim, "log₀");
    }

    @ParameterizedTest(name = "c = {0}, dim {1}, strided {2}")
    @MethodSource("cases")
    void distancesBackward(float c, int dim, boolean strided) {
        PoincareReference ref = reference(c);
        double[] x = points(c, ROWS, dim);
        double[] y = points(c, ROWS, dim);
        double[] g = gaussian(ROWS);
        Tensor gx = place(new double[ROWS * dim], ROWS, dim, strided);
        Tensor gy = place(new double[ROWS * dim], ROWS, dim, strided);
        float dc = kernels.distanceBackward(c, place(x, ROWS, dim, strided), place(y, ROWS, dim, strided), vector(g),
                gx, gy);
        PoincareReference.Gradients e = ref.distanceBackward(x, y, dim, g);
        assertMatches(e.of(0), gx, dim, "dL/dx of d(x, y)");
        assertMatches(e.of(1), gy, dim, "dL/dy of d(x, y)");
        assertCurvatureGradient(e.curvature(), dc, dim, "d(x, y)");
        dc = kernels.distance0Backward(c, place(x, ROWS, dim, strided), vector(g), gx);
        e = ref.distance0Backward(x, dim, g);
        assertMatches(e.of(0), gx, dim, "dL/dx of d(0, x)");
        assertCurvatureGradient(e.curvature(), dc, dim, "d(0, x)");
        int m = 5;
        double[] z = points(c, m, dim);
        double[] gAll = gaussian(ROWS * m);
        Tensor gz = place(new double[m * dim], m, dim, strided);
        dc = kernels.allPairsDistanceBackward(c, place(x, ROWS, dim, strided), place(z, m, dim, strided),
                place(gAll, ROWS, m, strided), gx, gz);
        e = ref.allPairsDistanceBackward(x, z, dim, gAll);
        assertMatches(e.of(0), gx, dim, "dL/dx of all pairs");
        assertMatches(e.of(1), gz, dim, "dL/dy of all pairs");
        assertCurvatureGradient(e.curvature(), dc, dim, "all pairs");
    }

    @ParameterizedTest(name = "c = {0}, dim {1}, strided {2}")
    @MethodSource("cases")
    void multiplicationsBackward(float c, int dim, boolean strided) {
        PoincareReference ref = reference(c);
        double[] x = points(c, ROWS, dim);
        double[] r = rounded(BallSamples.scale(BallSamples.gaussian(random, ROWS, 1), 0.8));
        double[] g = gaussian(ROWS * dim);
        Tensor gr = output(ROWS);
        Tensor gx = place(new double[ROWS * dim], ROWS, dim, strided);
        float dc = kernels.scalarMulBackward(c, vector(r), place(x, ROWS, dim, strided), place(g, ROWS, dim, strided),
                gr, gx);
        PoincareReference.Gradients e = ref.scalarMulBackward(r, x, dim, g);
        assertMatches(e.of(0), gr, dim, "dL/dr of r⊗x");
        assertMatches(e.of(1), gx, dim, "dL/dx of r⊗x");
        assertCurvatureGradient(e.curvature(), dc, dim, "r⊗x");
        int outDim = 3;
        double[] m = rounded(BallSamples.scale(BallSamples.gaussian(random, outDim * dim, 1), 0.5 / Math.sqrt(dim)));
        double[] gm = gaussian(ROWS * outDim);
        Tensor gradM = place(new double[outDim * dim], outDim, dim, strided);
        dc = kernels.matVecBackward(c, place(m, outDim, dim, strided), place(x, ROWS, dim, strided),
                place(gm, ROWS, outDim, strided), gradM, gx);
        e = ref.matVecBackward(m, outDim, x, dim, gm);
        assertMatches(e.of(0), gradM, dim, "dL/dM of M⊗x");
        assertMatches(e.of(1), gx, dim, "dL/dx of M⊗x");
        assertCurvatureGradient(e.curvature(), dc, dim, "M⊗x");
    }

    @ParameterizedTest(name = "c = {0}, dim {1}, strided {2}")
    @MethodSource("cases")
    void expAndLogAtAPointBackward(float c, int dim, boolean strided) {
        PoincareReference ref = reference(c);
        double[] x = points(c, ROWS, dim);
        double[] y = points(c, ROWS, dim);
        double[] v = tangents(c, ROWS, dim);
        double[] g = gaussian(ROWS * dim);
        Tensor g1 = place(new double[ROWS * dim], ROWS, dim, strided);
        Tensor g2 = place(new double[ROWS * dim], ROWS, dim, strided);
        float dc = kernels.expmapBackward(c, place(x, ROWS, dim, strided), place(v, ROWS, dim, strided),
                place(g, ROWS, dim, strided), g1, g2);
        PoincareReference.Gradients e = ref.expmapBackward(x, v, dim, g);
        assertMatches(e.of(0), g1, dim, "dL/dx of exp_x(v)");
        assertMatches(e.of(1), g2, dim, "dL/dv of exp_x(v)");
        assertCurvatureGradient(e.curvature(), dc, dim, "exp_x(v)");
        dc = kernels.logmapBackward(c, place(x, ROWS, dim, strided), place(y, ROWS, dim, strided),
                place(g, ROWS, dim, strided), g1, g2);
        e = ref.logmapBackward(x, y, dim, g);
        assertMatches(e.of(0), g1, dim, "dL/dx of log_x(y)");
        assertMatches(e.of(1), g2, dim, "dL/dy of log_x(y)");
        assertCurvatureGradient(e.curvature(), dc, dim, "log_x(y)");
    }

    @ParameterizedTest(name = "c = {0}, dim {1}, strided {2}")
    @MethodSource("cases")
    void gyrationTransportAndMidpointBackward(float c, int dim, boolean strided) {
        PoincareReference ref = reference(c);
        double[] x = points(c, ROWS, dim);
        double[] y = points(c, ROWS, dim);
        double[] v = gaussian(ROWS * dim);
        double[] g = gaussian(ROWS * dim);
        Tensor g1 = place(new double[ROWS * dim], ROWS, dim, strided);
        Tensor g2 = place(new double[ROWS * dim], ROWS, dim, strided);
        Tensor g3 = place(new double[ROWS * dim], ROWS, dim, strided);
        float dc = kernels.gyrationBackward(c, place(x, ROWS, dim, strided), place(y, ROWS, dim, strided),
                place(v, ROWS, dim, strided), place(g, ROWS, dim, strided), g1, g2, g3);
        PoincareReference.Gradients e = ref.gyrationBackward(x, y, v, dim, g);
        // In one dimension gyr[u,v]w = w, and dL/du, dL/dv cancel to 0 from terms the size of dL/dw.
        double wScale = Arrays.stream(e.of(2)).map(Math::abs).max().orElse(0);
        assertMatches(e.of(0), g1, dim, wScale, "dL/du of gyr[u,v]w");
        assertMatches(e.of(1), g2, dim, wScale, "dL/dv of gyr[u,v]w");
        assertMatches(e.of(2), g3, dim, "dL/dw of gyr[u,v]w");
        assertCurvatureGradient(e.curvature(), dc, dim, "gyr[u,v]w");
        dc = kernels.transportBackward(c, place(x, ROWS, dim, strided), place(y, ROWS, dim, strided),
                place(v, ROWS, dim, strided), place(g, ROWS, dim, strided), g1, g2, g3);
        e = ref.transportBackward(x, y, v, dim, g);
        assertMatches(e.of(0), g1, dim, "dL/dx of P_{x→y}v");
        assertMatches(e.of(1), g2, dim, "dL/dy of P_{x→y}v");
        assertMatches(e.of(2), g3, dim, "dL/dv of P_{x→y}v");
        assertCurvatureGradient(e.curvature(), dc, dim, "P_{x→y}v");
        dc = kernels.transport0Backward(c, place(y, ROWS, dim, strided), place(v, ROWS, dim, strided),
                place(g, ROWS, dim, strided), g1, g2);
        e = ref.transport0Backward(y, v, dim, g);
        assertMatches(e.of(0), g1, dim, "dL/dy of P_{0→y}v");
        assertMatches(e.of(1), g2, dim, "dL/dv of P_{0→y}v");
        assertCurvatureGradient(e.curvature(), dc, dim, "P_{0→y}v");
        double[] w = rounded(new double[] {0.5, 1, 2, 0.25, 1.5, 1, 0.75});
        double[] gm = gaussian(dim);
        Tensor gw = output(ROWS);
        dc = kernels.weightedMidpointBackward(c, place(x, ROWS, dim, strided), vector(w), place(gm, 1, dim, strided),
                g1, gw);
        e = ref.weightedMidpointBackward(x, w, dim, gm);
        assertMatches(e.of(0), g1, dim, "dL/dx of the midpoint");
        assertMatches(e.of(1), gw, dim, "dL/dα of the midpoint");
        assertCurvatureGradient(e.curvature(), dc, dim, "midpoint");
    }

    @ParameterizedTest(name = "c = {0}, dim {1}, strided {2}")
    @MethodSource("cases")
    void projectionBackwardOutsideTheBall(float c, int dim, boolean strided) {
        double[] x = points(c, ROWS, dim);
        for (int j = 0; j < dim; j++) {
            x[j] = (float) (x[j] * 5 / Math.max(1e-3, BallSamples.norm(BallSamples.row(x, 0, dim))) / Math.sqrt(c));
        }
        double[] g = gaussian(ROWS * dim);
        Tensor gx = place(new double[ROWS * dim], ROWS, dim, strided);
        float dc = kernels.projectBackward(c, place(x, ROWS, dim, strided), place(g, ROWS, dim, strided), gx);
        // The reference projects to (1 - 1e-5)/√c, the kernels to (1 - 4e-3)/√c: for a point beyond both, the
        // gradient scales with the radius, and dL/dc with it too.
        PoincareReference.Gradients e = reference(c).projectBackward(x, dim, g);
        double ratio = (1 - PoincareKernels.EPS) / (1 - 1e-5);
        double[] expected = e.of(0).clone();
        for (int j = 0; j < dim; j++) {
            expected[j] *= ratio;
        }
        assertMatches(expected, gx, dim, "dL/dx of the projection");
        assertCurvatureGradient(e.curvature() * ratio, dc, dim, "projection");
    }

    @Test
    void manyRowsInOneCallSplitOverThreadsAsOneRowAtATime() {
        // 2000 rows of dimension 17 are enough work for a multithreaded backend to spread; dL/dc sums over all.
        int rows = 2000;
        int dim = 17;
        float c = 1;
        double[] x = points(c, rows, dim);
        double[] y = points(c, rows, dim);
        double[] g = gaussian(rows * dim);
        Tensor gx = place(new double[rows * dim], rows, dim, false);
        Tensor gy = place(new double[rows * dim], rows, dim, false);
        float dc = kernels.mobiusAddBackward(c, place(x, rows, dim, false), place(y, rows, dim, false),
                place(g, rows, dim, false), gx, gy);
        PoincareReference.Gradients e = reference(c).mobiusAddBackward(x, y, dim, g);
        assertMatches(e.of(0), gx, dim, "dL/dx of x⊕y");
        assertMatches(e.of(1), gy, dim, "dL/dy of x⊕y");
        double tol = CONDITION * (dim + 3) * U * rows * (1 + Math.abs(e.curvature()));
        assertEquals(e.curvature(), dc, tol, "dL/dc over all rows");
        Tensor d = output(rows);
        kernels.distance(c, place(x, rows, dim, false), place(y, rows, dim, false), d);
        assertMatches(reference(c).distance(x, y, dim), d, dim, "d(x, y)");
        // All pairs of 150 × 120 points: its elementwise steps, forward and backward, are spread too.
        int n = 150;
        int m = 120;
        double[] a = points(c, n, dim);
        double[] b = points(c, m, dim);
        Tensor all = output(n, m);
        kernels.allPairsDistance(c, place(a, n, dim, false), place(b, m, dim, false), all);
        assertMatches(reference(c).allPairsDistance(a, b, dim), all, dim, "all pairs");
        double[] gAll = gaussian(n * m);
        Tensor ga = output(n, dim);
        Tensor gb = output(m, dim);
        dc = kernels.allPairsDistanceBackward(c, place(a, n, dim, false), place(b, m, dim, false),
                place(gAll, n, m, false), ga, gb);
        e = reference(c).allPairsDistanceBackward(a, b, dim, gAll);
        assertMatches(e.of(0), ga, dim, "dL/dx of all pairs");
        assertMatches(e.of(1), gb, dim, "dL/dy of all pairs");
        assertEquals(e.curvature(), dc, CONDITION * (dim + 3) * U * n * m * (1 + Math.abs(e.curvature())),
                "dL/dc of all pairs");
    }

    // ---- bad input --------------------------------------------------------------------------------------------

    @Test
    void badArgumentsFailWithMessages() {
        Tensor x = place(new double[6], 3, 2, false);
        Tensor y = place(new double[4], 2, 2, false);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> kernels.mobiusAdd(1, x, y, x));
        assertEquals("shapes differ: " + x + " and " + y, e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> kernels.expmap0(0, x, x));
        assertEquals("the curvature -c needs c > 0 and finite, got c = 0.0", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> kernels.expmap0(Float.NaN, x, x));
        assertEquals("the curvature -c needs c > 0 and finite, got c = NaN", e.getMessage());
        Tensor out = output(2);
        e = assertThrows(IllegalArgumentException.class, () -> kernels.distance0(1, x, out));
        assertEquals("distance output (one per row) " + out + " is not a contiguous vector of 3 values", e.getMessage());
    }

    @Test
    void degenerateRowsStayFinite() {
        int dim = 5;
        float c = 1;
        double[] zero = new double[ROWS * dim];
        // Far beyond the ball (and huge as tangent vectors), yet with squared norms float32 can hold.
        double[] far = BallSamples.scale(gaussian(ROWS * dim), 1e15);
        Tensor z = place(zero, ROWS, dim, false);
        Tensor f = place(far, ROWS, dim, false);
        Tensor out = place(zero, ROWS, dim, false);
        Tensor gx = place(zero, ROWS, dim, false);
        Tensor gy = place(zero, ROWS, dim, false);
        Tensor g = place(gaussian(ROWS * dim), ROWS, dim, false);
        Tensor d = output(ROWS);
        Tensor gd = vector(gaussian(ROWS));
        for (Tensor[] pair : new Tensor[][] {{z, z}, {f, z}, {z, f}, {f, f}}) {
            kernels.mobiusAdd(c, pair[0], pair[1], out);
            assertFinite(out, "x⊕y");
            assertFinite(kernels.mobiusAddBackward(c, pair[0], pair[1], g, gx, gy), gx, gy, "x⊕y backward");
            kernels.expmap0(c, pair[0], out);
            assertFinite(out, "exp₀");
            assertFinite(kernels.expmap0Backward(c, pair[0], g, gx), gx, gx, "exp₀ backward");
            kernels.logmap0(c, pair[0], out);
            assertFinite(out, "log₀");
            assertFinite(kernels.logmap0Backward(c, pair[0], g, gx), gx, gx, "log₀ backward");
            kernels.expmap(c, pair[0], pair[1], out);
            assertFinite(out, "exp_x");
            kernels.logmap(c, pair[0], pair[1], out);
            assertFinite(out, "log_x");
            kernels.distance(c, pair[0], pair[1], d);
            assertFinite(d, "d(x, y)");
            assertFinite(kernels.distanceBackward(c, pair[0], pair[1], gd, gx, gy), gx, gy, "d(x, y) backward");
            assertFinite(kernels.distance0Backward(c, pair[0], gd, gx), gx, gx, "d(0, x) backward");
            kernels.transport(c, pair[0], pair[1], g, out);
            assertFinite(out, "transport");
            assertFinite(kernels.expmapBackward(c, pair[0], pair[1], g, gx, gy), gx, gy, "exp_x backward");
            assertFinite(kernels.logmapBackward(c, pair[0], pair[1], g, gx, gy), gx, gy, "log_x backward");
            assertFinite(kernels.logmapBackward(c, pair[0], pair[0], g, gx, gy), gx, gy, "log_x(x) backward");
            assertFinite(kernels.transportBackward(c, pair[0], pair[1], g, g, gx, gy, out), gx, out, "transport backward");
            assertFinite(kernels.scalarMulBackward(c, gd, pair[0], g, d, gx), gx, d, "r⊗x backward");
        }
    }

    @ParameterizedTest(name = "c = {0}")
    @ValueSource(floats = {0.1f, 1, 10})
    void nearTheBoundaryTheGroupIdentitiesHoldAndGradientsStayFinite(float c) {
        // Points within 1e-3/√c of the boundary lie beyond float32's radius (1 - 4e-3)/√c and are read projected.
        int dim = 6;
        double[] x = rounded(BallSamples.nearBoundary(random, ROWS, dim, c, 1e-5, 1e-3));
        double[] y = rounded(BallSamples.nearBoundary(random, ROWS, dim, c, 1e-5, 1e-3));
        Tensor xt = place(x, ROWS, dim, false);
        Tensor yt = place(y, ROWS, dim, false);
        Tensor negX = place(BallSamples.neg(x), ROWS, dim, false);
        Tensor zero = place(new double[ROWS * dim], ROWS, dim, false);
        Tensor out = place(new double[ROWS * dim], ROWS, dim, false);
        Tensor projected = place(new double[ROWS * dim], ROWS, dim, false);
        kernels.project(c, xt, projected);
        double scale = 1 / Math.sqrt(c);
        kernels.mobiusAdd(c, xt, zero, out);
        assertMatches(read(projected), out, dim, "x⊕0 = x");
        kernels.mobiusAdd(c, negX, xt, out);
        assertMatches(new double[ROWS * dim], out, dim, scale, "(-x)⊕x = 0");
        Tensor dxy = output(ROWS);
        Tensor dyx = output(ROWS);
        kernels.distance(c, xt, yt, dxy);
        kernels.distance(c, yt, xt, dyx);
        assertMatches(read(dxy), dyx, dim, "d(x,y) = d(y,x)");
        // All pairs by the Gram matrix, where its closed form cancels most: each entry is the pair's row distance.
        Tensor all = output(ROWS, ROWS);
        kernels.allPairsDistance(c, xt, yt, all);
        double[] allPairs = read(all);
        for (int j = 0; j < ROWS; j++) {
            double[] yj = new double[ROWS * dim];
            for (int i = 0; i < ROWS; i++) {
                System.arraycopy(y, j * dim, yj, i * dim, dim);
            }
            kernels.distance(c, xt, place(yj, ROWS, dim, false), dxy);
            double[] column = new double[ROWS];
            for (int i = 0; i < ROWS; i++) {
                column[i] = allPairs[i * ROWS + j];
            }
            assertMatches(read(dxy), column, dim, "all pairs near the boundary, column " + j);
        }
        Tensor g = place(gaussian(ROWS * dim), ROWS, dim, false);
        Tensor gx = place(new double[ROWS * dim], ROWS, dim, false);
        Tensor gy = place(new double[ROWS * dim], ROWS, dim, false);
        assertFinite(kernels.mobiusAddBackward(c, xt, yt, g, gx, gy), gx, gy, "x⊕y backward");
        assertFinite(kernels.distanceBackward(c, xt, yt, vector(gaussian(ROWS)), gx, gy), gx, gy, "d backward");
        assertFinite(kernels.logmapBackward(c, xt, yt, g, gx, gy), gx, gy, "log_x backward");
        assertFinite(kernels.transportBackward(c, xt, yt, g, g, gx, gy, out), gx, gy, "transport backward");
    }

    @Test
    void aVanishingCurvatureGivesEuclideanSpace() {
        // c = 1e-6: x⊕y → x + y and d(x, y) → 2||x - y||, with errors O(c·||x||²) = O(1e-6) here.
        float c = 1e-6f;
        int dim = 5;
        double[] x = gaussian(ROWS * dim);
        double[] y = gaussian(ROWS * dim);
        Tensor out = place(new double[ROWS * dim], ROWS, dim, false);
        kernels.mobiusAdd(c, place(x, ROWS, dim, false), place(y, ROWS, dim, false), out);
        double[] sum = new double[x.length];
        double[] twice = new double[ROWS];
        for (int i = 0; i < x.length; i++) {
            sum[i] = x[i] + y[i];
            twice[i / dim] += (x[i] - y[i]) * (x[i] - y[i]);
        }
        for (int i = 0; i < ROWS; i++) {
            twice[i] = 2 * Math.sqrt(twice[i]);
        }
        assertNear(sum, read(out), "x⊕y → x + y");
        Tensor d = output(ROWS);
        kernels.distance(c, place(x, ROWS, dim, false), place(y, ROWS, dim, false), d);
        assertNear(twice, read(d), "d → 2||x - y||");
        Tensor gx = place(new double[ROWS * dim], ROWS, dim, false);
        Tensor gy = place(new double[ROWS * dim], ROWS, dim, false);
        assertFinite(kernels.distanceBackward(c, place(x, ROWS, dim, false), place(y, ROWS, dim, false),
                vector(gaussian(ROWS)), gx, gy), gx, gy, "d backward");
    }

    /** Within 1e-4·(1 + |expected|): the O(c·||x||²) ≈ 1e-5 of the limit plus float32 rounding. */
    private static void assertNear(double[] expected, double[] actual, String what) {
        for (int i = 0; i < expected.length; i++) {
            if (!(Math.abs(expected[i] - actual[i]) <= 1e-4 * (1 + Math.abs(expected[i])))) {
                fail(what + ": element " + i + " expected " + expected[i] + " but was " + actual[i]);
            }
        }
    }

    private void assertFinite(Tensor t, String what) {
        Tensor host = backend().toHost(t, arena);
        long i = host.firstNonFinite();
        if (i >= 0) {
            fail(what + ": element " + i + " is " + host.toArray()[(int) i]);
        }
    }

    private void assertFinite(float dc, Tensor gx, Tensor gy, String what) {
        assertFinite(gx, what + ", first gradient");
        assertFinite(gy, what + ", second gradient");
        if (!Float.isFinite(dc)) {
            fail(what + ": dL/dc is " + dc);
        }
    }
}
