package dev.tensorloom.hyperbolic;

/**
 * Single rows of the float32 ball held in plain float arrays, for loops whose rows are too small for a kernel
 * call: a hierarchy embedding trains on rows of 10 floats, 51 distances per pair, where a call through
 * {@link PoincareKernels} (tensor views, the shape checks, the per-row lambda, the closure over the rows) costs
 * more than the arithmetic. The formulas are the kernels' own ({@code Ball32}, the same entry projection and
 * clamps, coefficients in double), so a row computed here agrees with the family's {@code distance},
 * {@code distanceBackward} and {@code expmap} up to float32 rounding (tested against the scalar kernels).
 *
 * <p>A row is {@code dim} floats of an array starting at an offset. Not thread-safe state: none; an instance is
 * the curvature and may be shared.
 */
public final class BallRows {

    private final Ball32 ball;

    public BallRows(float c) {
        this.ball = new Ball32(c);
    }

    /**
     * d(x', y') of the projected rows x' and y', with its gradient in the raw rows as coefficients over them:
     * dd/dx = grad[g]·x + grad[g+1]·y and dd/dy = grad[g+2]·x + grad[g+3]·y (the entry projection's Jacobian included,
     * as {@code distanceBackward} applies it). Both gradients lie in the span of x and y, so four numbers hold them.
     */
    public double distance(float[] a, int x, float[] b, int y, int dim, double[] grad, int g) {
        double x2raw = 0;
        double y2raw = 0;
        double xyraw = 0;
        for (int k = 0; k < dim; k++) {
            double p = a[x + k];
            double q = b[y + k];
            x2raw += p * p;
            y2raw += q * q;
            xyraw += p * q;
        }
        double kx = ball.projection(x2raw);
        double ky = ball.projection(y2raw);
        Ball32.Distance d = ball.distance(kx * ky * xyraw, kx * kx * x2raw, ky * ky * y2raw);
        // dd/dx' = 2·byX2·x' + byG·y', and x' = kx·x: coefficients over the raw rows.
        double xOnX = 2 * d.byX2() * kx;
        double xOnY = d.byG() * ky;
        double yOnX = d.byG() * kx;
        double yOnY = 2 * d.byY2() * ky;
        // Beyond the radius the projection's Jacobian k·(I - x̂x̂ᵀ) takes the outward part away.
        if (kx < 1) {
            double along = (xOnX * x2raw + xOnY * xyraw) / x2raw;
            xOnX = kx * (xOnX - along);
            xOnY = kx * xOnY;
        }
        if (ky < 1) {
            double along = (yOnX * xyraw + yOnY * y2raw) / y2raw;
            yOnX = ky * yOnX;
            yOnY = ky * (yOnY - along);
        }
        grad[g] = xOnX;
        grad[g + 1] = xOnY;
        grad[g + 2] = yOnX;
        grad[g + 3] = yOnY;
        return d.value();
    }

    /**
     * One Riemannian SGD step of a row, in place, as {@code optim.RiemannianSgd.step} takes it:
     * x ← exp_x(-lr·∇ᴱ/λ_x²), λ_x from the raw row, exp_x = x' ⊕ exp₀(λ_{x'}·v/2) with every projection of the
     * kernels. The gradient row is left as it was; tmp holds at least dim floats.
     */
    public void riemannianSgdStep(double learningRate, float[] points, int x, float[] grad, int g, int dim,
            float[] tmp) {
        double x2raw = 0;
        for (int k = 0; k < dim; k++) {
            double p = points[x + k];
            x2raw += p * p;
        }
        double rawLambda = 2 / Math.max(1 - ball.c * x2raw, Ball32.MIN_NORM);
        double scale = -learningRate / (rawLambda * rawLambda);
        // v = scale·grad (float, as the optimizer scales its gradient tensor), then (λ_{x'}/2)·v.
        double kx = ball.projection(x2raw);
        float halfLambda = (float) (ball.lambda(kx * kx * x2raw) / 2);
        double v2 = 0;
        for (int k = 0; k < dim; k++) {
            float v = halfLambda * (float) (grad[g + k] * scale);
            tmp[k] = v;
            v2 += (double) v * v;
        }
        // u = exp₀(half) = ku·half, held inside the radius.
        double ku = 1;
        if (v2 != 0) {
            double phi = ball.expScale(Math.sqrt(v2)).value();
            ku = ball.projection(phi * phi * v2) * phi;
        }
        double u2raw = 0;
        double xu = 0;
        for (int k = 0; k < dim; k++) {
            float u = (float) ku * tmp[k];
            tmp[k] = u;
            u2raw += (double) u * u;
            xu += (double) points[x + k] * u;
        }
        // x' ⊕ u' with both read projected, the result projected.
        double ku2 = ball.projection(u2raw);
        Ball32.Mobius m = ball.mobius(kx * kx * x2raw, ku2 * ku2 * u2raw, kx * ku2 * xu);
        float onX = (float) (m.onX() * kx);
        float onU = (float) (m.onY() * ku2);
        for (int k = 0; k < dim; k++) {
            points[x + k] = onX * points[x + k] + onU * tmp[k];
        }
    }
}
