package dev.tensorloom.hyperbolic;

import dev.tensorloom.runtime.kernel.Kernels;
import dev.tensorloom.runtime.kernel.Shapes;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.Objects;
import java.util.function.IntConsumer;
import java.util.function.IntToDoubleFunction;

/**
 * The Poincaré-ball operations of the host backends, row by row. Every operation is a few dot products of its
 * operand rows, a handful of scalar coefficients ({@link Ball32}) and one linear combination of the rows, so
 * a backend supplies only those three steps ({@link #dot}, {@link #combine}, {@link #forEachRow}): plain loops
 * on one thread for scalar, SIMD lanes spread by {@code Tasks} for vector. All-pairs distance and M⊗x go
 * through the dense family's GEMM ({@link Kernels#matmulTransposedB}).
 */
public abstract class RowwisePoincareKernels implements PoincareKernels {

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final Kernels dense;

    protected RowwisePoincareKernels(Kernels dense) {
        this.dense = Objects.requireNonNull(dense, "dense");
    }

    /** Σ_j a[i,j]·b[k,j], in float32. */
    protected abstract float dot(Tensor a, int i, Tensor b, int k);

    /**
     * ⟨a_i, a_i⟩, ⟨b_k, b_k⟩ and ⟨a_i, b_k⟩ into into[0..2], each as {@link #dot} sums it; a backend may read the two
     * rows once for all three.
     */
    protected void threeDots(Tensor a, int i, Tensor b, int k, double[] into) {
        into[0] = dot(a, i, a, i);
        into[1] = dot(b, k, b, k);
        into[2] = dot(a, i, b, k);
    }

    /**
     * out[o,:] = α·a[i,:] + β·b[k,:] + γ·e[l,:], element by element (out's row may be one of the operand
     * rows); b and e may be null, their terms then left out.
     */
    protected abstract void combine(Tensor out, int o, float alpha, Tensor a, int i, float beta, Tensor b, int k,
            float gamma, Tensor e, int l);

    /** body(i) for every row i in [0, rows), over operands of about {@code elements} elements in all. */
    protected abstract void forEachRow(int rows, long elements, IntConsumer body, Tensor... operands);

    // ---- projection -------------------------------------------------------------------------------------

    @Override
    public void project(float c, Tensor x, Tensor out) {
        Ball32 b = new Ball32(c);
        Shapes.sameShape(x, out);
        forEachRow(x.rows(), x.size(), i -> {
            double k = b.projection(dot(x, i, x, i));
            combine(out, i, (float) k, x, i, 0, null, 0, 0, null, 0);
        }, x, out);
    }

    @Override
    public float projectBackward(float c, Tensor x, Tensor gradOut, Tensor gradX) {
        Ball32 b = new Ball32(c);
        Shapes.sameShape(x, gradOut);
        Shapes.sameShape(x, gradX);
        return sumOverRows(x.rows(), x.size(), i -> {
            double x2 = dot(x, i, x, i);
            combine(gradX, i, 1, gradOut, i, 0, null, 0, 0, null, 0);
            return unproject(b, gradX, i, x, i, x2);
        }, x, gradOut, gradX);
    }

    /**
     * Turns grad's row, a gradient with respect to the projected point x' = k·x, into one with respect to x:
     * the projection's Jacobian k·(I - x̂x̂ᵀ) when x lies beyond the radius; returns that row's share of dL/dc
     * through the radius.
     */
    private double unproject(Ball32 b, Tensor grad, int gi, Tensor x, int xi, double x2) {
        double k = b.projection(x2);
        if (k == 1) {
            return 0;
        }
        double gx = dot(grad, gi, x, xi);
        combine(grad, gi, (float) k, grad, gi, (float) (-k * gx / x2), x, xi, 0, null, 0);
        return gx / Math.sqrt(x2) * b.maxNormByC();
    }

    // ---- Möbius addition --------------------------------------------------------------------------------

    @Override
    public void mobiusAdd(float c, Tensor x, Tensor y, Tensor out) {
        Ball32 b = new Ball32(c);
        Shapes.sameShape(x, y);
        Shapes.sameShape(x, out);
        forEachRow(x.rows(), 3 * x.size(), i -> {
            Row r = new Row(b, x, i, y, i);
            Ball32.Mobius m = b.mobius(r.x2, r.y2, r.xy);
            combine(out, i, (float) (m.onX() * r.kx), x, i, (float) (m.onY() * r.ky), y, i, 0, null, 0);
        }, x, y, out);
    }

    @Override
    public float mobiusAddBackward(float c, Tensor x, Tensor y, Tensor gradOut, Tensor gradX, Tensor gradY) {
        Ball32 b = new Ball32(c);
        for (Tensor t : new Tensor[] {y, gradOut, gradX, gradY}) {
            Shapes.sameShape(x, t);
        }
        return sumOverRows(x.rows(), 5 * x.size(), i -> {
            Row r = new Row(b, x, i, y, i);
            double gx = dot(gradOut, i, x, i) * r.kx;
            double gy = dot(gradOut, i, y, i) * r.ky;
            Ball32.Mobius m = b.mobius(r.x2, r.y2, r.xy);
            double s = m.s();
            double t = m.t();
            double den = m.den();
            // The output projection first: g' = ag·g + ax·x' + ay·y'.
            double ag = 1;
            double ax = 0;
            double ay = 0;
            double cc = 0;
            if (m.k() < 1) {
                double gz = (s * gx + t * gy) / den;
                ag = m.k();
                ax = -m.k() * gz / m.z2() * s / den;
                ay = -m.k() * gz / m.z2() * t / den;
                cc = gz / Math.sqrt(m.z2()) * b.maxNormByC();
            }
            double gX = ag * gx + ax * r.x2 + ay * r.xy;
            double gY = ag * gy + ax * r.xy + ay * r.y2;
            double p = gX / den;
            double q = gY / den;
            double rr = -(s * gX + t * gY) / (den * den);
            double cv = b.c;
            double xOnG = s / den * ag;
            double xOnX = s / den * ax - 2 * cv * q + 2 * cv * cv * r.y2 * rr;
            double xOnY = s / den * ay + 2 * cv * p + 2 * cv * rr;
            double yOnG = t / den * ag;
            double yOnX = t / den * ax + 2 * cv * p + 2 * cv * rr;
            double yOnY = t / den * ay + 2 * cv * p + 2 * cv * cv * r.x2 * rr;
            combine(gradX, i, (float) xOnG, gradOut, i, (float) (xOnX * r.kx), x, i, (float) (xOnY * r.ky), y, i);
            combine(gradY, i, (float) yOnG, gradOut, i, (float) (yOnX * r.kx), x, i, (float) (yOnY * r.ky), y, i);
            cc += p * (2 * r.xy + r.y2) - q * r.x2 + rr * (2 * r.xy + 2 * cv * r.x2 * r.y2);
            return cc + unproject(b, gradX, i, x, i, r.x2raw) + unproject(b, gradY, i, y, i, r.y2raw);
        }, x, y, gradOut, gradX, gradY);
    }

    /** The dot products of a row pair of points, read as their projections x' = kx·x and y' = ky·y. */
    private final class Row {
        final double x2raw;
        final double y2raw;
        final double kx;
        final double ky;
        final double x2;
        final double y2;
        final double xy;

        Row(Ball32 b, Tensor x, int i, Tensor y, int j) {
            double[] dots = new double[3];
            threeDots(x, i, y, j, dots);
            x2raw = dots[0];
            y2raw = dots[1];
            kx = b.projection(x2raw);
            ky = b.projection(y2raw);
            x2 = kx * kx * x2raw;
            y2 = ky * ky * y2raw;
            xy = kx * ky * dots[2];
        }
    }

    // ---- scalar and matrix multiplication ----------------------------------------------------------------

    @Override
    public void scalarMul(float c, Tensor r, Tensor x, Tensor out) {
        Ball32 b = new Ball32(c);
        Shapes.sameShape(x, out);
        requireVector(r, x.rows(), "r (one scalar per row)");
        forEachRow(x.rows(), 2 * x.size(), i -> {
            double x2raw = dot(x, i, x, i);
            double kx = b.projection(x2raw);
            double n = Ball32.norm(kx * kx * x2raw);
            double t = Ball32.tanh(at(r, i) * Ball32.artanh(b.sqrtC * n));
            double k = x2raw == 0 ? 0 : b.projection(t * t / b.c) * t / (b.sqrtC * n) * kx;
            combine(out, i, (float) k, x, i, 0, null, 0, 0, null, 0);
        }, x, out);
    }

    @Override
    public void matVec(float c, Tensor m, Tensor x, Tensor out) {
        Ball32 b = new Ball32(c);
        dense.matmulTransposedB(x, m, out);
        forEachRow(x.rows(), x.size() + out.size(), i -> {
            double x2raw = dot(x, i, x, i);
            double kx = b.projection(x2raw);
            double xn = Ball32.norm(kx * kx * x2raw);
            double mx2 = kx * kx * dot(out, i, out, i);
            double k = 0;
            if (x2raw != 0 && mx2 != 0) {
                double mxn = Ball32.norm(mx2);
                double t = Ball32.tanh(mxn / xn * Ball32.artanh(b.sqrtC * xn));
                k = b.projection(t * t / b.c) * t / (b.sqrtC * mxn) * kx;
            }
            combine(out, i, (float) k, out, i, 0, null, 0, 0, null, 0);
        }, x, out);
    }

    // ---- exp and log maps ---------------------------------------------------------------------------------

    @Override
    public void expmap0(float c, Tensor v, Tensor out) {
        Ball32 b = new Ball32(c);
        Shapes.sameShape(v, out);
        forEachRow(v.rows(), 2 * v.size(), i -> {
            double n2 = dot(v, i, v, i);
            double k = 1;
            if (n2 != 0) {
                double n = Math.sqrt(n2);
                double phi = b.expScale(n).value();
                k = b.projection(phi * phi * n2) * phi;
            }
            combine(out, i, (float) k, v, i, 0, null, 0, 0, null, 0);
        }, v, out);
    }

    @Override
    public float expmap0Backward(float c, Tensor v, Tensor gradOut, Tensor gradV) {
        Ball32 b = new Ball32(c);
        Shapes.sameShape(v, gradOut);
        Shapes.sameShape(v, gradV);
        return sumOverRows(v.rows(), 3 * v.size(), i -> {
            double n2 = dot(v, i, v, i);
            if (n2 == 0) {
                // The Jacobian of exp₀ at 0 is the identity.
                combine(gradV, i, 1, gradOut, i, 0, null, 0, 0, null, 0);
                return 0;
            }
            double n = Math.sqrt(n2);
            double gv = dot(gradOut, i, v, i);
            Ball32.Scale phi = b.expScale(n);
            if (b.projection(phi.value() * phi.value() * n2) < 1) {
                // Projected: exp₀(v) = maxNorm·v/n.
                double k = b.maxNorm / n;
                combine(gradV, i, (float) k, gradOut, i, (float) (-k * gv / n2), v, i, 0, null, 0);
                return gv / n * b.maxNormByC();
            } else {
                combine(gradV, i, (float) phi.value(), gradOut, i, (float) (phi.byN() * gv / n), v, i, 0, null, 0);
                return gv * phi.byC();
            }
        }, v, gradOut, gradV);
    }

    @Override
    public void logmap0(float c, Tensor y, Tensor out) {
        Ball32 b = new Ball32(c);
        Shapes.sameShape(y, out);
        forEachRow(y.rows(), 2 * y.size(), i -> {
            double y2raw = dot(y, i, y, i);
            double ky = b.projection(y2raw);
            double k = y2raw == 0 ? 0 : b.logScale(Math.sqrt(ky * ky * y2raw)).value() * ky;
            combine(out, i, (float) k, y, i, 0, null, 0, 0, null, 0);
        }, y, out);
    }

    @Override
    public float logmap0Backward(float c, Tensor y, Tensor gradOut, Tensor gradY) {
        Ball32 b = new Ball32(c);
        Shapes.sameShape(y, gradOut);
        Shapes.sameShape(y, gradY);
        return sumOverRows(y.rows(), 3 * y.size(), i -> {
            double y2raw = dot(y, i, y, i);
            if (y2raw == 0) {
                combine(gradY, i, 1, gradOut, i, 0, null, 0, 0, null, 0);
                return 0;
            }
            double ky = b.projection(y2raw);
            double n = Math.sqrt(ky * ky * y2raw);
            double gy = dot(gradOut, i, y, i) * ky;
            Ball32.Scale psi = b.logScale(n);
            combine(gradY, i, (float) psi.value(), gradOut, i, (float) (psi.byN() * gy / n * ky), y, i, 0, null, 0);
            return gy * psi.byC() + unproject(b, gradY, i, y, i, y2raw);
        }, y, gradOut, gradY);
    }

    /**
     * exp_x(v) = x' ⊕ exp₀(λ_{x'}·v/2), the composition the backward pass follows, in one pass over the rows:
     * exp₀ of a multiple of v is a multiple of v, u = k·v, so x'⊕u needs only ⟨x,x⟩, ⟨v,v⟩ and ⟨x,v⟩ and the
     * result is one combination of x and v (no temporary rows; each step's scale and projection as composed).
     */
    @Override
    public void expmap(float c, Tensor x, Tensor v, Tensor out) {
        Ball32 b = new Ball32(c);
        Shapes.sameShape(x, v);
        Shapes.sameShape(x, out);
        forEachRow(x.rows(), 3 * x.size(), i -> {
            double[] dots = new double[3];
            threeDots(x, i, v, i, dots);
            double x2raw = dots[0];
            double v2raw = dots[1];
            double xvraw = dots[2];
            double kx = b.projection(x2raw);
            double x2 = kx * kx * x2raw;
            // half = (λ_{x'}/2)·v, then u = exp₀(half) = ku·half, held inside the radius.
            double halfLambda = (float) (b.lambda(x2) / 2);
            double half2 = halfLambda * halfLambda * v2raw;
            double ku = 1;
            if (half2 != 0) {
                double phi = b.expScale(Math.sqrt(half2)).value();
                ku = b.projection(phi * phi * half2) * phi;
            }
            double onV = ku * halfLambda;
            // x' ⊕ u' with u read projected, as mobiusAdd reads its operands.
            double u2raw = onV * onV * v2raw;
            double kuEntry = b.projection(u2raw);
            Ball32.Mobius m = b.mobius(x2, kuEntry * kuEntry * u2raw, kx * kuEntry * onV * xvraw);
            combine(out, i, (float) (m.onX() * kx), x, i, (float) (m.onY() * kuEntry * onV), v, i, 0, null, 0);
        }, x, v, out);
    }

    @Override
    public float expmapBackward(float c, Tensor x, Tensor v, Tensor gradOut, Tensor gradX, Tensor gradV) {
        Ball32 b = new Ball32(c);
        Shapes.sameShape(x, v);
        Shapes.sameShape(x, gradOut);
        Shapes.sameShape(x, gradX);
        Shapes.sameShape(x, gradV);
        int rows = x.rows();
        try (Arena arena = Arena.ofShared()) {
            Tensor half = Tensor.allocate(arena, rows, x.cols());
            Tensor u = Tensor.allocate(arena, rows, x.cols());
            Tensor gradU = Tensor.allocate(arena, rows, x.cols());
            Tensor gradHalf = Tensor.allocate(arena, rows, x.cols());
            Tensor extra = Tensor.allocate(arena, rows, x.cols());
            double[] halfLambda = halfLambdaTimes(b, x, v, half);
            expmap0(c, half, u);
            double dc = mobiusAddBackward(c, x, u, gradOut, gradX, gradU);
            dc += expmap0Backward(c, half, gradU, gradHalf);
            double[] dcRows = new double[rows];
            forEachRow(rows, 5 * x.size(), i -> {
                combine(gradV, i, (float) halfLambda[i], gradHalf, i, 0, null, 0, 0, null, 0);
                // λ_x/2 = 1/(1 - c||x'||²): d/dx' = (λ²/2)·c·x', d/dc = λ²·||x'||²/4.
                double x2raw = dot(x, i, x, i);
                double kx = b.projection(x2raw);
                double lambda = 2 * halfLambda[i];
                double gv = dot(gradHalf, i, v, i);
                combine(extra, i, (float) (gv * lambda * lambda / 2 * b.c * kx), x, i, 0, null, 0, 0, null, 0);
                dcRows[i] = gv * lambda * lambda * kx * kx * x2raw / 4 + unproject(b, extra, i, x, i, x2raw);
                combine(gradX, i, 1, gradX, i, 1, extra, i, 0, null, 0);
            }, x, v, gradHalf, gradX, gradV, extra);
            return (float) (dc + sum(dcRows));
        }
    }

    /** out[i] = (λ_{x_i'}/2)·v[i]; returns the factors. */
    private double[] halfLambdaTimes(Ball32 b, Tensor x, Tensor v, Tensor out) {
        double[] halfLambda = new double[x.rows()];
        forEachRow(x.rows(), 2 * x.size(), i -> {
            double x2raw = dot(x, i, x, i);
            double kx = b.projection(x2raw);
            halfLambda[i] = b.lambda(kx * kx * x2raw) / 2;
            combine(out, i, (float) halfLambda[i], v, i, 0, null, 0, 0, null, 0);
        }, x, v, out);
        return halfLambda;
    }

    @Override
    public void logmap(float c, Tensor x, Tensor y, Tensor out) {
        Ball32 b = new Ball32(c);
        Shapes.sameShape(x, y);
        Shapes.sameShape(x, out);
        forEachRow(x.rows(), 3 * x.size(), i -> {
            Row r = new Row(b, x, i, y, i);
            // w = (-x')⊕y' = wx·x + wy·y.
            Ball32.Mobius m = b.mobius(r.x2, r.y2, -r.xy);
            double wn = Ball32.norm(m.k() * m.k() * m.z2());
            double k = 2 / (b.sqrtC * b.lambda(r.x2)) * Ball32.artanh(b.sqrtC * wn) / wn;
            combine(out, i, (float) (-k * m.onX() * r.kx), x, i, (float) (k * m.onY() * r.ky), y, i, 0, null, 0);
        }, x, y, out);
    }

    /** log_x(y) = (2/λ_x)·log₀((-x)⊕y), differentiated as that composition. */
    @Override
    public float logmapBackward(float c, Tensor x, Tensor y, Tensor gradOut, Tensor gradX, Tensor gradY) {
        Ball32 b = new Ball32(c);
        Shapes.sameShape(x, y);
        Shapes.sameShape(x, gradOut);
        Shapes.sameShape(x, gradX);
        Shapes.sameShape(x, gradY);
        int rows = x.rows();
        try (Arena arena = Arena.ofShared()) {
            Tensor negX = Tensor.allocate(arena, rows, x.cols());
            Tensor w = Tensor.allocate(arena, rows, x.cols());
            Tensor log = Tensor.allocate(arena, rows, x.cols());
            Tensor gradLog = Tensor.allocate(arena, rows, x.cols());
            Tensor gradW = Tensor.allocate(arena, rows, x.cols());
            Tensor gradNegX = Tensor.allocate(arena, rows, x.cols());
            forEachRow(rows, 2 * x.size(), i -> combine(negX, i, -1, x, i, 0, null, 0, 0, null, 0), x, negX);
            mobiusAdd(c, negX, y, w);
            logmap0(c, w, log);
            double[] dcRows = new double[rows];
            double[] gl = new double[rows];
            double[] x2raws = new double[rows];
            forEachRow(rows, 3 * x.size(), i -> {
                double x2raw = dot(x, i, x, i);
                double kx = b.projection(x2raw);
                double x2 = kx * kx * x2raw;
                x2raws[i] = x2raw;
                gl[i] = dot(gradOut, i, log, i);
                // The factor 2/λ_x = 1 - c||x'||².
                combine(gradLog, i, (float) (1 - b.c * x2), gradOut, i, 0, null, 0, 0, null, 0);
                dcRows[i] = -gl[i] * x2;
            }, x, gradOut, log, gradLog);
            double dc = logmap0Backward(c, w, gradLog, gradW);
            dc += mobiusAddBackward(c, negX, y, gradW, gradNegX, gradY);
            forEachRow(rows, 3 * x.size(), i -> {
                // gradX = -gradNegX + d(1 - c||x'||²)/dx·⟨g, log⟩, the second through x's projection.
                double kx = b.projection(x2raws[i]);
                combine(gradX, i, (float) (-2 * b.c * gl[i] * kx), x, i, 0, null, 0, 0, null, 0);
                dcRows[i] += unproject(b, gradX, i, x, i, x2raws[i]);
                combine(gradX, i, 1, gradX, i, -1, gradNegX, i, 0, null, 0);
            }, x, gradX, gradNegX);
            return (float) (dc + sum(dcRows));
        }
    }

    /** r⊗x = exp₀(r·log₀(x)), differentiated as that composition. */
    @Override
    public float scalarMulBackward(float c, Tensor r, Tensor x, Tensor gradOut, Tensor gradR, Tensor gradX) {
        Shapes.sameShape(x, gradOut);
        Shapes.sameShape(x, gradX);
        requireVector(r, x.rows(), "r (one scalar per row)");
        requireVector(gradR, x.rows(), "gradient of r (one per row)");
        int rows = x.rows();
        try (Arena arena = Arena.ofShared()) {
            Tensor log = Tensor.allocate(arena, rows, x.cols());
            Tensor z = Tensor.allocate(arena, rows, x.cols());
            Tensor gradZ = Tensor.allocate(arena, rows, x.cols());
            logmap0(c, x, log);
            forEachRow(rows, 2 * x.size(), i -> combine(z, i, (float) at(r, i), log, i, 0, null, 0, 0, null, 0), log, z);
            double dc = expmap0Backward(c, z, gradOut, gradZ);
            forEachRow(rows, 2 * x.size(), i -> {
                put(gradR, i, dot(gradZ, i, log, i));
                combine(gradZ, i, (float) at(r, i), gradZ, i, 0, null, 0, 0, null, 0);
            }, log, gradZ, gradR);
            return (float) (dc + logmap0Backward(c, x, gradZ, gradX));
        }
    }

    /** M⊗x = exp₀(log₀(x)·Mᵀ), differentiated as that composition with two more products of the dense family. */
    @Override
    public float matVecBackward(float c, Tensor m, Tensor x, Tensor gradOut, Tensor gradM, Tensor gradX) {
        Shapes.sameShape(m, gradM);
        Shapes.sameShape(x, gradX);
        int rows = x.rows();
        try (Arena arena = Arena.ofShared()) {
            Tensor log = Tensor.allocate(arena, rows, x.cols());
            Tensor z = Tensor.allocate(arena, rows, m.rows());
            Tensor gradZ = Tensor.allocate(arena, rows, m.rows());
            Tensor gradZT = Tensor.allocate(arena, m.rows(), rows);
            Tensor gradLog = Tensor.allocate(arena, rows, x.cols());
            logmap0(c, x, log);
            dense.matmulTransposedB(log, m, z);
            Shapes.sameShape(z, gradOut);
            double dc = expmap0Backward(c, z, gradOut, gradZ);
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < m.rows(); j++) {
                    set(gradZT, j, i, get(gradZ, i, j));
                }
            }
            dense.matmul(gradZT, log, gradM);
            dense.matmul(gradZ, m, gradLog);
            return (float) (dc + logmap0Backward(c, x, gradLog, gradX));
        }
    }

    // ---- distances ------------------------------------------------------------------------------------------

    @Override
    public void distance(float c, Tensor x, Tensor y, Tensor out) {
        Ball32 b = new Ball32(c);
        Shapes.sameShape(x, y);
        requireVector(out, x.rows(), "distance output (one per row)");
        forEachRow(x.rows(), 2 * x.size(), i -> {
            Row r = new Row(b, x, i, y, i);
            put(out, i, b.distanceValue(r.xy, r.x2, r.y2));
        }, x, y, out);
    }

    @Override
    public float distanceBackward(float c, Tensor x, Tensor y, Tensor gradOut, Tensor gradX, Tensor gradY) {
        Ball32 b = new Ball32(c);
        Shapes.sameShape(x, y);
        Shapes.sameShape(x, gradX);
        Shapes.sameShape(x, gradY);
        requireVector(gradOut, x.rows(), "distance gradient (one per row)");
        return sumOverRows(x.rows(), 4 * x.size(), i -> {
            Row r = new Row(b, x, i, y, i);
            Ball32.Distance d = b.distance(r.xy, r.x2, r.y2);
            double g = at(gradOut, i);
            combine(gradX, i, (float) (2 * g * d.byX2() * r.kx), x, i, (float) (g * d.byG() * r.ky), y, i, 0, null, 0);
            combine(gradY, i, (float) (g * d.byG() * r.kx), x, i, (float) (2 * g * d.byY2() * r.ky), y, i, 0, null, 0);
            return g * d.byC() + unproject(b, gradX, i, x, i, r.x2raw) + unproject(b, gradY, i, y, i, r.y2raw);
        }, x, y, gradOut, gradX, gradY);
    }

    @Override
    public void distance0(float c, Tensor x, Tensor out) {
        Ball32 b = new Ball32(c);
        Shapes.requireMatrix(x, "x");
        requireVector(out, x.rows(), "distance output (one per row)");
        forEachRow(x.rows(), x.size(), i -> {
            double x2raw = dot(x, i, x, i);
            double kx = b.projection(x2raw);
            put(out, i, b.distanceValue(0, kx * kx * x2raw, 0));
        }, x, out);
    }

    @Override
    public float distance0Backward(float c, Tensor x, Tensor gradOut, Tensor gradX) {
        Ball32 b = new Ball32(c);
        Shapes.sameShape(x, gradX);
        requireVector(gradOut, x.rows(), "distance gradient (one per row)");
        return sumOverRows(x.rows(), 2 * x.size(), i -> {
            double x2raw = dot(x, i, x, i);
            double kx = b.projection(x2raw);
            Ball32.Distance d = b.distance(0, kx * kx * x2raw, 0);
            double g = at(gradOut, i);
            combine(gradX, i, (float) (2 * g * d.byX2() * kx), x, i, 0, null, 0, 0, null, 0);
            return g * d.byC() + unproject(b, gradX, i, x, i, x2raw);
        }, x, gradX);
    }

    @Override
    public void allPairsDistance(float c, Tensor x, Tensor y, Tensor out) {
        Ball32 b = new Ball32(c);
        Shapes.matmulTransposedB(x, y, out);
        double[][] xs = squaredNorms(b, x);
        double[][] ys = squaredNorms(b, y);
        gramThenRows(x, y, out, gramToDistances(c, out, xs[0], xs[1], ys[0], ys[1]));
    }

    /**
     * out = x·yᵀ, then rowStep(i) for every row of out: the dense family's product and a pass over the rows. A
     * backend may fuse the two (the vector one runs the step on each block of rows while it is still in cache).
     */
    protected void gramThenRows(Tensor x, Tensor y, Tensor out, IntConsumer rowStep) {
        dense.matmulTransposedB(x, y, out);
        forEachRow(x.rows(), out.size(), rowStep, out);
    }

    /**
     * The elementwise step of all-pairs distance, made once per call: the step it returns turns row i of out,
     * which holds ⟨x_i, y_j⟩ of the unprojected points, into d(x_i', y_j'), with x_i' = xScale[i]·x_i,
     * y_j' = yScale[j]·y_j and the projected squared norms x2, y2. This one evaluates the closed form in double,
     * entry by entry; a backend may override it with SIMD lanes.
     */
    protected IntConsumer gramToDistances(float c, Tensor out, double[] xScale, double[] x2, double[] yScale,
            double[] y2) {
        Ball32 b = new Ball32(c);
        return i -> {
            for (int j = 0; j < y2.length; j++) {
                double g = get(out, i, j) * xScale[i] * yScale[j];
                set(out, i, j, (float) b.distanceValue(g, x2[i], y2[j]));
            }
        };
    }

    @Override
    public float allPairsDistanceBackward(float c, Tensor x, Tensor y, Tensor gradOut, Tensor gradX,
            Tensor gradY) {
        Ball32 b = new Ball32(c);
        int n = x.rows();
        int m = y.rows();
        Shapes.sameShape(x, gradX);
        Shapes.sameShape(y, gradY);
        if (gradOut.rank() != 2 || gradOut.rows() != n || gradOut.cols() != m || x.cols() != y.cols()) {
            throw new IllegalArgumentException("all-pairs distance gradient " + gradOut + " does not fit x " + x
                    + " and y " + y);
        }
        try (Arena arena = Arena.ofShared()) {
            // dL/dG_ij, scaled by y's projection (for ·Y) and, transposed, by x's (for ·X).
            Tensor byGScaledY = Tensor.allocate(arena, n, m);
            Tensor byGScaledXT = Tensor.allocate(arena, m, n);
            dense.matmulTransposedB(x, y, byGScaledY);
            double[][] xs = squaredNorms(b, x);
            double[][] ys = squaredNorms(b, y);
            double[] byX2 = new double[n];
            double[][] byY2 = new double[n][];
            double[] dc = new double[n];
            forEachRow(n, 3L * n * m, i -> {
                byY2[i] = new double[m];
                for (int j = 0; j < m; j++) {
                    double g = get(byGScaledY, i, j) * xs[0][i] * ys[0][j];
                    Ball32.Distance d = b.distance(g, xs[1][i], ys[1][j]);
                    double go = get(gradOut, i, j);
                    set(byGScaledY, i, j, (float) (go * d.byG() * ys[0][j]));
                    set(byGScaledXT, j, i, (float) (go * d.byG() * xs[0][i]));
                    byX2[i] += go * d.byX2();
                    byY2[i][j] = go * d.byY2();
                    dc[i] += go * d.byC();
                }
            }, byGScaledY, byGScaledXT, gradOut);
            dense.matmul(byGScaledY, y, gradX);
            dense.matmul(byGScaledXT, x, gradY);
            double[] byY2Sum = new double[m];
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < m; j++) {
                    byY2Sum[j] += byY2[i][j];
                }
            }
            double[] dcX = new double[n];
            forEachRow(n, 2L * x.size(), i -> {
                combine(gradX, i, 1, gradX, i, (float) (2 * byX2[i] * xs[0][i]), x, i, 0, null, 0);
                dcX[i] = unproject(b, gradX, i, x, i, xs[2][i]);
            }, x, gradX);
            double[] dcY = new double[m];
            forEachRow(m, 2L * y.size(), j -> {
                combine(gradY, j, 1, gradY, j, (float) (2 * byY2Sum[j] * ys[0][j]), y, j, 0, null, 0);
                dcY[j] = unproject(b, gradY, j, y, j, ys[2][j]);
            }, y, gradY);
            return (float) (sum(dc) + sum(dcX) + sum(dcY));
        }
    }

    /** Per row: {projection factor k, projected squared norm k²||x||², raw squared norm ||x||²}. */
    private double[][] squaredNorms(Ball32 b, Tensor x) {
        double[][] r = new double[3][x.rows()];
        forEachRow(x.rows(), x.size(), i -> {
            double x2 = dot(x, i, x, i);
            double k = b.projection(x2);
            r[0][i] = k;
            r[1][i] = k * k * x2;
            r[2][i] = x2;
        }, x);
        return r;
    }

    // ---- gyration, transport, midpoint -------------------------------------------------------------------------

    @Override
    public void gyration(float c, Tensor u, Tensor v, Tensor w, Tensor out) {
        Ball32 b = new Ball32(c);
        Shapes.sameShape(u, v);
        Shapes.sameShape(u, w);
        Shapes.sameShape(u, out);
        forEachRow(u.rows(), 4 * u.size(), i -> {
            Row r = new Row(b, u, i, v, i);
            double uw = dot(u, i, w, i) * r.kx;
            double vw = dot(v, i, w, i) * r.ky;
            double[] k = b.gyration(uw, vw, r.xy, r.x2, r.y2);
            combine(out, i, 1, w, i, (float) (k[0] * r.kx), u, i, (float) (k[1] * r.ky), v, i);
        }, u, v, w, out);
    }

    @Override
    public void transport(float c, Tensor x, Tensor y, Tensor v, Tensor out) {
        Ball32 b = new Ball32(c);
        Shapes.sameShape(x, y);
        Shapes.sameShape(x, v);
        Shapes.sameShape(x, out);
        forEachRow(x.rows(), 4 * x.size(), i -> {
            // gyr[y', -x']v·λ_x/λ_y
            Row r = new Row(b, y, i, x, i);
            double yv = dot(y, i, v, i) * r.kx;
            double minusXv = -dot(x, i, v, i) * r.ky;
            double[] k = b.gyration(yv, minusXv, -r.xy, r.x2, r.y2);
            double scale = b.lambda(r.y2) / b.lambda(r.x2);
            combine(out, i, (float) scale, v, i, (float) (scale * k[0] * r.kx), y, i, (float) (-scale * k[1] * r.ky), x, i);
        }, x, y, v, out);
    }

    @Override
    public void transport0(float c, Tensor y, Tensor v, Tensor out) {
        Ball32 b = new Ball32(c);
        Shapes.sameShape(y, v);
        Shapes.sameShape(y, out);
        forEachRow(y.rows(), 3 * y.size(), i -> {
            double y2raw = dot(y, i, y, i);
            double ky = b.projection(y2raw);
            combine(out, i, (float) (1 - b.c * ky * ky * y2raw), v, i, 0, null, 0, 0, null, 0);
        }, y, v, out);
    }

    @Override
    public float gyrationBackward(float c, Tensor u, Tensor v, Tensor w, Tensor gradOut, Tensor gradU, Tensor gradV,
            Tensor gradW) {
        Ball32 b = new Ball32(c);
        for (Tensor t : new Tensor[] {v, w, gradOut, gradU, gradV, gradW}) {
            Shapes.sameShape(u, t);
        }
        return sumOverRows(u.rows(), 7 * u.size(), i -> {
            Row r = new Row(b, u, i, v, i);
            double uw = dot(u, i, w, i) * r.kx;
            double vw = dot(v, i, w, i) * r.ky;
            double su = dot(gradOut, i, u, i) * r.kx;
            double sv = dot(gradOut, i, v, i) * r.ky;
            Ball32.GyrationGrad gg = b.gyrationBackward(uw, vw, r.xy, r.x2, r.y2, su, sv);
            combine(gradW, i, 1, gradOut, i, (float) (gg.byUw() * r.kx), u, i, (float) (gg.byVw() * r.ky), v, i);
            combine(gradU, i, (float) gg.alpha(), gradOut, i, (float) gg.byUw(), w, i, (float) (gg.byUv() * r.ky), v, i);
            combine(gradU, i, 1, gradU, i, (float) (2 * gg.byU2() * r.kx), u, i, 0, null, 0);
            combine(gradV, i, (float) gg.beta(), gradOut, i, (float) gg.byVw(), w, i, (float) (gg.byUv() * r.kx), u, i);
            combine(gradV, i, 1, gradV, i, (float) (2 * gg.byV2() * r.ky), v, i, 0, null, 0);
            return gg.byC() + unproject(b, gradU, i, u, i, r.x2raw) + unproject(b, gradV, i, v, i, r.y2raw);
        }, u, v, w, gradOut, gradU, gradV, gradW);
    }

    @Override
    public float transportBackward(float c, Tensor x, Tensor y, Tensor v, Tensor gradOut, Tensor gradX, Tensor gradY,
            Tensor gradV) {
        Ball32 b = new Ball32(c);
        for (Tensor t : new Tensor[] {y, v, gradOut, gradX, gradY, gradV}) {
            Shapes.sameShape(x, t);
        }
        return sumOverRows(x.rows(), 7 * x.size(), i -> {
            // s·gyr[y', -x']v with s = λ_x/λ_y = (1 - c||y'||²)/(1 - c||x'||²); Row holds (y', x').
            Row r = new Row(b, y, i, x, i);
            double yv = dot(y, i, v, i) * r.kx;
            double minusXv = -dot(x, i, v, i) * r.ky;
            double gdotY = dot(gradOut, i, y, i) * r.kx;
            double gdotX = dot(gradOut, i, x, i) * r.ky;
            double gdotV = dot(gradOut, i, v, i);
            // In Row's names y' is "x" and x' is "y": ||x'||² = r.y2, ||y'||² = r.x2.
            double oneMinusCx2 = 1 - b.c * r.y2;
            double oneMinusCy2 = 1 - b.c * r.x2;
            double s = oneMinusCy2 / oneMinusCx2;
            Ball32.GyrationGrad gg = b.gyrationBackward(yv, minusXv, -r.xy, r.x2, r.y2, s * gdotY, -s * gdotX);
            double gGyr = gdotV + gg.alpha() * gdotY - gg.beta() * gdotX;
            double sByX2 = b.c * oneMinusCy2 / (oneMinusCx2 * oneMinusCx2);
            double sByY2 = -b.c / oneMinusCx2;
            double sByC = (r.y2 - r.x2) / (oneMinusCx2 * oneMinusCx2);
            // gradV = s·g + ∂/∂⟨u,w⟩·y' + ∂/∂⟨v,w⟩·(-x')
            combine(gradV, i, (float) s, gradOut, i, (float) (gg.byUw() * r.kx), y, i, (float) (-gg.byVw() * r.ky), x, i);
            // gradY' = α·s·g + ∂⟨u,w⟩·v + ∂⟨u,v⟩·(-x') + 2(∂||u||² + ⟨g,gyr⟩·∂s/∂||y||²)·y'
            combine(gradY, i, (float) (gg.alpha() * s), gradOut, i, (float) gg.byUw(), v, i,
                    (float) (-gg.byUv() * r.ky), x, i);
            combine(gradY, i, 1, gradY, i, (float) (2 * (gg.byU2() + gGyr * sByY2) * r.kx), y, i, 0, null, 0);
            // gradX' = -(β·s·g + ∂⟨v,w⟩·v + ∂⟨u,v⟩·y') + 2(∂||v||² + ⟨g,gyr⟩·∂s/∂||x||²)·x'
            combine(gradX, i, (float) (-gg.beta() * s), gradOut, i, (float) -gg.byVw(), v, i,
                    (float) (-gg.byUv() * r.kx), y, i);
            combine(gradX, i, 1, gradX, i, (float) (2 * (gg.byV2() + gGyr * sByX2) * r.ky), x, i, 0, null, 0);
            return gg.byC() + gGyr * sByC + unproject(b, gradY, i, y, i, r.x2raw)
                    + unproject(b, gradX, i, x, i, r.y2raw);
        }, x, y, v, gradOut, gradX, gradY, gradV);
    }

    @Override
    public float transport0Backward(float c, Tensor y, Tensor v, Tensor gradOut, Tensor gradY, Tensor gradV) {
        Ball32 b = new Ball32(c);
        for (Tensor t : new Tensor[] {v, gradOut, gradY, gradV}) {
            Shapes.sameShape(y, t);
        }
        return sumOverRows(y.rows(), 5 * y.size(), i -> {
            double y2raw = dot(y, i, y, i);
            double ky = b.projection(y2raw);
            double gv = dot(gradOut, i, v, i);
            combine(gradV, i, (float) (1 - b.c * ky * ky * y2raw), gradOut, i, 0, null, 0, 0, null, 0);
            combine(gradY, i, (float) (-2 * b.c * gv * ky), y, i, 0, null, 0, 0, null, 0);
            return -gv * ky * ky * y2raw + unproject(b, gradY, i, y, i, y2raw);
        }, y, v, gradOut, gradY, gradV);
    }

    @Override
    public void weightedMidpoint(float c, Tensor points, Tensor weights, Tensor out) {
        Ball32 b = new Ball32(c);
        Midpoint m = midpointSum(b, points, weights, out);
        double n = Math.sqrt(m.t2);
        double k = 0;
        if (n != 0) {
            // ½ ⊗ T, T = (the sum in out)/den
            double phi = b.halfScale(n).value();
            k = b.projection(phi * phi * m.t2) * phi / m.den;
        }
        combine(out, 0, (float) k, out, 0, 0, null, 0, 0, null, 0);
    }

    @Override
    public float weightedMidpointBackward(float c, Tensor points, Tensor weights, Tensor gradOut, Tensor gradPoints,
            Tensor gradWeights) {
        Ball32 b = new Ball32(c);
        Shapes.sameShape(points, gradPoints);
        requireVector(gradWeights, points.rows(), "gradient of the weights (one per point)");
        Shapes.requireMatrix(gradOut, "midpoint gradient");
        try (Arena arena = Arena.ofShared()) {
            Tensor sum = Tensor.allocate(arena, 1, points.cols());
            Midpoint m = midpointSum(b, points, weights, sum);
            Shapes.sameShape(sum, gradOut);
            double n = Math.sqrt(m.t2);
            if (n == 0) {
                throw new IllegalArgumentException("the midpoint's backward pass needs a sum Σ α_i λ_i x_i that is not 0");
            }
            // dL/dT, T = sum/den, first through ½⊗ (or, beyond the radius, the projection onto it).
            double gs = dot(gradOut, 0, sum, 0);
            double gT = gs / m.den;
            Ball32.Scale phi = b.halfScale(n);
            double onG;
            double onT;
            double dc;
            if (b.projection(phi.value() * phi.value() * m.t2) < 1) {
                onG = b.maxNorm / n;
                onT = -b.maxNorm / n * gT / m.t2;
                dc = gT / n * b.maxNormByC();
            } else {
                onG = phi.value();
                onT = phi.byN() * gT / n;
                dc = gT * phi.byC();
            }
            // dL/dS = dL/dT / den, with T = sum/den: gradS = (onG·g + onT·sum/den)/den, dL/dden = -⟨gradS, S⟩/den.
            Tensor gradS = Tensor.allocate(arena, 1, points.cols());
            combine(gradS, 0, (float) (onG / m.den), gradOut, 0, (float) (onT / (m.den * m.den)), sum, 0, 0, null, 0);
            double gDen = -dot(gradS, 0, sum, 0) / m.den;
            double[] dcRows = new double[points.rows()];
            forEachRow(points.rows(), 3 * points.size(), i -> {
                double alpha = at(weights, i);
                double k = m.k[i];
                double lambda = m.lambda[i];
                double gsx = dot(gradS, 0, points, i) * k;
                double common = alpha * (gsx + gDen) * lambda * lambda;
                // λ = 2/(1 - c||x'||²): dλ/dx' = λ²·c·x', dλ/dc = λ²·||x'||²/2.
                combine(gradPoints, i, (float) (alpha * lambda), gradS, 0, (float) (common * b.c * k), points, i, 0,
                        null, 0);
                put(gradWeights, i, lambda * gsx + (lambda - 1) * gDen);
                dcRows[i] = common * m.x2[i] / 2 + unproject(b, gradPoints, i, points, i, m.x2raw[i]);
            }, points, gradPoints, gradWeights);
            return (float) (dc + sum(dcRows));
        }
    }

    /** The midpoint's sum Σ α_i λ_i x_i' (written to out [1, dim]), its denominator and per-point values. */
    private record Midpoint(double den, double t2, double[] k, double[] lambda, double[] x2, double[] x2raw) {
    }

    private Midpoint midpointSum(Ball32 b, Tensor points, Tensor weights, Tensor out) {
        Shapes.requireMatrix(points, "points");
        int n = points.rows();
        if (n == 0) {
            throw new IllegalArgumentException("the weighted midpoint of no points is undefined");
        }
        requireVector(weights, n, "weights (one per point)");
        Shapes.requireMatrix(out, "midpoint");
        if (out.rows() != 1 || out.cols() != points.cols()) {
            throw new IllegalArgumentException("midpoint " + out + " is not [1, " + points.cols() + "]");
        }
        double[] k = new double[n];
        double[] lambda = new double[n];
        double[] x2 = new double[n];
        double[] x2raw = new double[n];
        // Accumulated into out in order: one row, no parallelism to gain.
        double den = 0;
        for (int i = 0; i < n; i++) {
            x2raw[i] = dot(points, i, points, i);
            k[i] = b.projection(x2raw[i]);
            x2[i] = k[i] * k[i] * x2raw[i];
            lambda[i] = b.lambda(x2[i]);
            double alpha = at(weights, i);
            float coefficient = (float) (alpha * lambda[i] * k[i]);
            if (i == 0) {
                combine(out, 0, coefficient, points, 0, 0, null, 0, 0, null, 0);
            } else {
                combine(out, 0, 1, out, 0, coefficient, points, i, 0, null, 0);
            }
            den += alpha * (lambda[i] - 1);
        }
        if (Math.abs(den) < Ball32.MIN_NORM) {
            den = den < 0 ? -Ball32.MIN_NORM : Ball32.MIN_NORM;
        }
        return new Midpoint(den, dot(out, 0, out, 0) / (den * den), k, lambda, x2, x2raw);
    }

    /** body(i) for every row, as {@link #forEachRow} runs it, returning the sum of the rows' shares of dL/dc. */
    private float sumOverRows(int rows, long elements, IntToDoubleFunction body, Tensor... operands) {
        double[] shares = new double[rows];
        forEachRow(rows, elements, i -> shares[i] = body.applyAsDouble(i), operands);
        return (float) sum(shares);
    }

    // ---- helpers ---------------------------------------------------------------------------------------------

    private static void requireVector(Tensor v, int length, String what) {
        if (v.size() != length || !v.isContiguous()) {
            throw new IllegalArgumentException(what + " " + v + " is not a contiguous vector of " + length + " values");
        }
    }

    private static double at(Tensor v, int i) {
        return v.segment().getAtIndex(F, v.offset() + i);
    }

    private static void put(Tensor v, int i, double value) {
        v.segment().setAtIndex(F, v.offset() + i, (float) value);
    }

    private static float get(Tensor t, int i, int j) {
        return t.segment().getAtIndex(F, t.offset() + (long) i * t.leadingDim() + j);
    }

    private static void set(Tensor t, int i, int j, float value) {
        t.segment().setAtIndex(F, t.offset() + (long) i * t.leadingDim() + j, value);
    }

    private static double sum(double[] values) {
        double s = 0;
        for (double v : values) {
            s += v;
        }
        return s;
    }
}
