package dev.tensorloom.hyperbolic.reference;

import dev.tensorloom.hyperbolic.Curvature;
import java.util.function.IntUnaryOperator;

/**
 * The Poincaré ball of curvature -c in float64: the oracle every float32 kernel is tested against. Points and
 * tangent vectors are the rows of row-major [rows, dim] arrays; each operation works row by row and has a
 * backward pass, the vector-Jacobian product: given dL/d(output) it returns dL/d(each input) and dL/dc
 * ({@link Curvature#rawGradient} chains the latter through a learnable curvature's softplus).
 *
 * <p>Values and gradients come from one definition per operation ({@code Ball}, written on a reverse-mode
 * tape), so the backward pass is exactly the derivative of the forward one, clamps included; the tests
 * check both against central finite differences.
 *
 * <p>Policy for points: every point argument (not tangent vectors, scalars or matrices) is first projected
 * to the radius (1 - 1e-5)/√c, so a point on or outside the boundary is read as the nearest point inside
 * (its gradient then has no outward component); every point result is projected the same way. Non-finite
 * values, c ≤ 0 and arrays that do not split into rows of the given dimension are errors.
 */
public final class PoincareReference {

    private final double c;

    public PoincareReference(double c) {
        this.c = Curvature.requirePositive(c);
    }

    public double curvature() {
        return c;
    }

    /** dL/d(each input, in the order the operation takes them) and dL/dc. */
    public record Gradients(double[][] inputs, double curvature) {
        public double[] of(int input) {
            return inputs[input];
        }
    }

    // ---- operations, each with its backward pass ----------------------------------------------------

    /** x⊕y, row by row. */
    public double[] mobiusAdd(double[] x, double[] y, int dim) {
        return mobiusAdd(x, y, dim, null).value;
    }

    public Gradients mobiusAddBackward(double[] x, double[] y, int dim, double[] gradOut) {
        return mobiusAdd(x, y, dim, gradOut).gradients();
    }

    private Result mobiusAdd(double[] x, double[] y, int dim, double[] g) {
        int rows = rows(dim, "x", x, "y", y);
        return run(rows, dim, (c, v) -> Ball.mobiusAdd(point(v[0], c), point(v[1], c), c), g, rows(x, dim),
                rows(y, dim));
    }

    /** r[i]⊗x[i], row by row. */
    public double[] scalarMul(double[] r, double[] x, int dim) {
        return scalarMul(r, x, dim, null).value;
    }

    public Gradients scalarMulBackward(double[] r, double[] x, int dim, double[] gradOut) {
        return scalarMul(r, x, dim, gradOut).gradients();
    }

    private Result scalarMul(double[] r, double[] x, int dim, double[] g) {
        int rows = rows(dim, "x", x);
        requireLength(r, rows, "r (one scalar per row)");
        return run(rows, dim, (c, v) -> Ball.scalarMul(v[0][0], point(v[1], c), c), g, rows(r, 1), rows(x, dim));
    }

    /** M⊗x[i] for M [outDim, dim], row by row; the result is [rows, outDim]. */
    public double[] matVec(double[] m, int outDim, double[] x, int dim) {
        return matVec(m, outDim, x, dim, null).value;
    }

    public Gradients matVecBackward(double[] m, int outDim, double[] x, int dim, double[] gradOut) {
        return matVec(m, outDim, x, dim, gradOut).gradients();
    }

    private Result matVec(double[] m, int outDim, double[] x, int dim, double[] g) {
        int rows = rows(dim, "x", x);
        if (outDim < 1) {
            throw new IllegalArgumentException("output dimension must be at least 1, got " + outDim);
        }
        requireLength(m, (long) outDim * dim, "M [" + outDim + ", " + dim + "]");
        return run(rows, outDim, (c, v) -> {
            Var[][] matrix = new Var[outDim][];
            for (int i = 0; i < outDim; i++) {
                matrix[i] = java.util.Arrays.copyOfRange(v[0], i * dim, (i + 1) * dim);
            }
            return Ball.matVec(matrix, point(v[1], c), c);
        }, g, shared(m), rows(x, dim));
    }

    /** exp₀(v), row by row. */
    public double[] expmap0(double[] v, int dim) {
        return expmap0(v, dim, null).value;
    }

    public Gradients expmap0Backward(double[] v, int dim, double[] gradOut) {
        return expmap0(v, dim, gradOut).gradients();
    }

    private Result expmap0(double[] v, int dim, double[] g) {
        return run(rows(dim, "v", v), dim, (c, a) -> Ball.expmap0(a[0], c), g, rows(v, dim));
    }

    /** log₀(y), row by row. */
    public double[] logmap0(double[] y, int dim) {
        return logmap0(y, dim, null).value;
    }

    public Gradients logmap0Backward(double[] y, int dim, double[] gradOut) {
        return logmap0(y, dim, gradOut).gradients();
    }

    private Result logmap0(double[] y, int dim, double[] g) {
        return run(rows(dim, "y", y), dim, (c, a) -> Ball.logmap0(point(a[0], c), c), g, rows(y, dim));
    }

    /** exp_x(v), row by row. */
    public double[] expmap(double[] x, double[] v, int dim) {
        return expmap(x, v, dim, null).value;
    }

    public Gradients expmapBackward(double[] x, double[] v, int dim, double[] gradOut) {
        return expmap(x, v, dim, gradOut).gradients();
    }

    private Result expmap(double[] x, double[] v, int dim, double[] g) {
        int rows = rows(dim, "x", x, "v", v);
        return run(rows, dim, (c, a) -> Ball.expmap(point(a[0], c), a[1], c), g, rows(x, dim), rows(v, dim));
    }

    /** log_x(y), row by row. */
    public double[] logmap(double[] x, double[] y, int dim) {
        return logmap(x, y, dim, null).value;
    }

    public Gradients logmapBackward(double[] x, double[] y, int dim, double[] gradOut) {
        return logmap(x, y, dim, gradOut).gradients();
    }

    private Result logmap(double[] x, double[] y, int dim, double[] g) {
        int rows = rows(dim, "x", x, "y", y);
        return run(rows, dim, (c, a) -> Ball.logmap(point(a[0], c), point(a[1], c), c), g, rows(x, dim),
                rows(y, dim));
    }

    /** d(x[i], y[i]), one per row. */
    public double[] distance(double[] x, double[] y, int dim) {
        return distance(x, y, dim, null).value;
    }

    public Gradients distanceBackward(double[] x, double[] y, int dim, double[] gradOut) {
        return distance(x, y, dim, gradOut).gradients();
    }

    private Result distance(double[] x, double[] y, int dim, double[] g) {
        int rows = rows(dim, "x", x, "y", y);
        return run(rows, 1, (c, a) -> new Var[] {Ball.distance(point(a[0], c), point(a[1], c), c)}, g,
                rows(x, dim), rows(y, dim));
    }

    /** d(0, x[i]), one per row. */
    public double[] distance0(double[] x, int dim) {
        return distance0(x, dim, null).value;
    }

    public Gradients distance0Backward(double[] x, int dim, double[] gradOut) {
        return distance0(x, dim, gradOut).gradients();
    }

    private Result distance0(double[] x, int dim, double[] g) {
        return run(rows(dim, "x", x), 1, (c, a) -> new Var[] {Ball.distance0(point(a[0], c), c)}, g, rows(x, dim));
    }

    /**
     * d(x[i], y[j]) for every pair, [xRows, yRows] row-major, by the Gram-matrix closed form (the float32
     * kernels' route: one product X·Yᵀ, then one elementwise step).
     */
    public double[] allPairsDistance(double[] x, double[] y, int dim) {
        return allPairsDistance(x, y, dim, null).value;
    }

    public Gradients allPairsDistanceBackward(double[] x, double[] y, int dim, double[] gradOut) {
        return allPairsDistance(x, y, dim, gradOut).gradients();
    }

    private Result allPairsDistance(double[] x, double[] y, int dim, double[] g) {
        int n = rows(dim, "x", x);
        int m = rows(dim, "y", y);
        return run(n * m, 1, (c, a) -> {
            Var[] xi = point(a[0], c);
            Var[] yj = point(a[1], c);
            return new Var[] {Ball.distanceFromGram(Ball.dot(xi, yj), Ball.squaredNorm(xi), Ball.squaredNorm(yj), c)};
        }, g, new Operand(x, dim, t -> t / m), new Operand(y, dim, t -> t % m));
    }

    /** Each row held inside the ball (the projection every operation applies to its points). */
    public double[] project(double[] x, int dim) {
        return project(x, dim, null).value;
    }

    public Gradients projectBackward(double[] x, int dim, double[] gradOut) {
        return project(x, dim, gradOut).gradients();
    }

    private Result project(double[] x, int dim, double[] g) {
        return run(rows(dim, "x", x), dim, (c, a) -> point(a[0], c), g, rows(x, dim));
    }

    /** λ_x = 2/(1 - c||x||²), one per row. */
    public double[] conformalFactor(double[] x, int dim) {
        return run(rows(dim, "x", x), 1, (c, a) -> new Var[] {Ball.conformalFactor(point(a[0], c), c)}, null,
                rows(x, dim)).value;
    }

    /** gyr[u,v]w, row by row. */
    public double[] gyration(double[] u, double[] v, double[] w, int dim) {
        return gyration(u, v, w, dim, null).value;
    }

    public Gradients gyrationBackward(double[] u, double[] v, double[] w, int dim, double[] gradOut) {
        return gyration(u, v, w, dim, gradOut).gradients();
    }

    private Result gyration(double[] u, double[] v, double[] w, int dim, double[] g) {
        int rows = rows(dim, "u", u, "v", v, "w", w);
        return run(rows, dim, (c, a) -> Ball.gyration(point(a[0], c), point(a[1], c), a[2], c), g, rows(u, dim),
                rows(v, dim), rows(w, dim));
    }

    /** P_{x→y}(v): v, tangent at x, carried to y; row by row. */
    public double[] transport(double[] x, double[] y, double[] v, int dim) {
        return transport(x, y, v, dim, null).value;
    }

    public Gradients transportBackward(double[] x, double[] y, double[] v, int dim, double[] gradOut) {
        return transport(x, y, v, dim, gradOut).gradients();
    }

    private Result transport(double[] x, double[] y, double[] v, int dim, double[] g) {
        int rows = rows(dim, "x", x, "y", y, "v", v);
        return run(rows, dim, (c, a) -> Ball.transport(point(a[0], c), point(a[1], c), a[2], c), g, rows(x, dim),
                rows(y, dim), rows(v, dim));
    }

    /** P_{0→y}(v), row by row. */
    public double[] transport0(double[] y, double[] v, int dim) {
        return transport0(y, v, dim, null).value;
    }

    public Gradients transport0Backward(double[] y, double[] v, int dim, double[] gradOut) {
        return transport0(y, v, dim, gradOut).gradients();
    }

    private Result transport0(double[] y, double[] v, int dim, double[] g) {
        int rows = rows(dim, "y", y, "v", v);
        return run(rows, dim, (c, a) -> Ball.transport0(point(a[0], c), a[1], c), g, rows(y, dim), rows(v, dim));
    }

    /** The gyromidpoint of the rows of points with one weight per row: one point [dim]. */
    public double[] weightedMidpoint(double[] points, double[] weights, int dim) {
        return weightedMidpoint(points, weights, dim, null).value;
    }

    public Gradients weightedMidpointBackward(double[] points, double[] weights, int dim, double[] gradOut) {
        return weightedMidpoint(points, weights, dim, gradOut).gradients();
    }

    private Result weightedMidpoint(double[] points, double[] weights, int dim, double[] g) {
        int n = rows(dim, "points", points);
        if (n == 0) {
            throw new IllegalArgumentException("the weighted midpoint of no points is undefined");
        }
        requireLength(weights, n, "weights (one per point)");
        return run(1, dim, (c, a) -> {
            Var[][] rows = new Var[n][];
            for (int i = 0; i < n; i++) {
                rows[i] = point(java.util.Arrays.copyOfRange(a[0], i * dim, (i + 1) * dim), c);
            }
            return Ball.weightedMidpoint(rows, a[1], c);
        }, g, shared(points), shared(weights));
    }

    // ---- the row driver -------------------------------------------------------------------------------

    /** An input array read in rows of {@code width}; task t reads row {@code rowOfTask(t)}. */
    private record Operand(double[] values, int width, IntUnaryOperator rowOfTask) {
    }

    private static Operand rows(double[] values, int width) {
        return new Operand(values, width, t -> t);
    }

    private static Operand shared(double[] values) {
        return new Operand(values, values.length, t -> 0);
    }

    private interface RowFunction {
        Var[] apply(Var c, Var[][] operands);
    }

    private record Result(double[] value, double[][] inputGradients, double curvatureGradient) {
        Gradients gradients() {
            return new Gradients(inputGradients, curvatureGradient);
        }
    }

    /**
     * Runs f once per task on a fresh tape, writing outWidth values per task; with gradOut, also runs the
     * tape backwards from gradOut's slice and adds each input's adjoint into its gradient.
     */
    private Result run(int tasks, int outWidth, RowFunction f, double[] gradOut, Operand... operands) {
        for (Operand o : operands) {
            requireFinite(o.values);
        }
        if (gradOut != null) {
            requireLength(gradOut, (long) tasks * outWidth, "the output gradient");
            requireFinite(gradOut);
        }
        double[] out = new double[tasks * outWidth];
        double[][] grads = new double[operands.length][];
        for (int k = 0; k < operands.length; k++) {
            grads[k] = new double[operands[k].values.length];
        }
        double gc = 0;
        for (int t = 0; t < tasks; t++) {
            Tape tape = new Tape();
            Var cv = tape.leaf(c);
            Var[][] vars = new Var[operands.length][];
            for (int k = 0; k < operands.length; k++) {
                Operand o = operands[k];
                vars[k] = tape.leaves(o.values, o.rowOfTask.applyAsInt(t) * o.width, o.width);
            }
            Var[] r = f.apply(cv, vars);
            for (int j = 0; j < outWidth; j++) {
                out[t * outWidth + j] = r[j].value;
            }
            if (gradOut != null) {
                double[] adjoint = tape.adjoints(r, gradOut, t * outWidth);
                for (int k = 0; k < operands.length; k++) {
                    int base = operands[k].rowOfTask.applyAsInt(t) * operands[k].width;
                    for (int j = 0; j < vars[k].length; j++) {
                        grads[k][base + j] += adjoint[vars[k][j].id];
                    }
                }
                gc += adjoint[cv.id];
            }
        }
        return new Result(out, grads, gc);
    }

    private static Var[] point(Var[] x, Var c) {
        return Ball.project(x, c);
    }

    // ---- argument checks ---------------------------------------------------------------------------------

    /** The row count shared by arrays given as (name, array) pairs, or an exception naming the mismatch. */
    private static int rows(int dim, Object... namedArrays) {
        if (dim < 1) {
            throw new IllegalArgumentException("dimension must be at least 1, got " + dim);
        }
        int rows = -1;
        String first = null;
        for (int i = 0; i < namedArrays.length; i += 2) {
            String name = (String) namedArrays[i];
            double[] a = (double[]) namedArrays[i + 1];
            if (a.length % dim != 0) {
                throw new IllegalArgumentException(name + " has " + a.length + " values, not a whole number of rows of dimension " + dim);
            }
            int r = a.length / dim;
            if (rows >= 0 && r != rows) {
                throw new IllegalArgumentException(first + " has " + rows + " rows but " + name + " has " + r + " (dimension " + dim + ")");
            }
            rows = r;
            first = name;
        }
        return rows;
    }

    private static void requireLength(double[] a, long length, String what) {
        if (a.length != length) {
            throw new IllegalArgumentException(what + " needs " + length + " values, got " + a.length);
        }
    }

    private static void requireFinite(double[] a) {
        for (int i = 0; i < a.length; i++) {
            if (!Double.isFinite(a[i])) {
                throw new IllegalArgumentException("value " + a[i] + " at index " + i + " is not finite");
            }
        }
    }
}
