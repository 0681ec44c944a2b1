package dev.tensorloom.hyperbolic.optim;

import dev.tensorloom.hyperbolic.Curvature;
import dev.tensorloom.hyperbolic.PoincareKernels;
import dev.tensorloom.runtime.kernel.Shapes;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Objects;

/**
 * Riemannian stochastic gradient descent on the Poincaré ball (Bonnabel 2013; Nickel &amp; Kiela 2017 with the
 * exponential map instead of their retraction): each row x takes x ← exp_x(-lr·∇ᴱ/λ_x²), the Euclidean
 * gradient turned Riemannian by the inverse metric. A learnable curvature takes a plain gradient step on its
 * softplus parameter ρ.
 */
public final class RiemannianSgd {

    private final PoincareKernels kernels;
    private final double learningRate;

    public RiemannianSgd(PoincareKernels kernels, double learningRate) {
        this.kernels = Objects.requireNonNull(kernels, "kernels");
        if (!(learningRate > 0) || !Double.isFinite(learningRate)) {
            throw new IllegalArgumentException("learning rate must be positive and finite, got " + learningRate);
        }
        this.learningRate = learningRate;
    }

    /**
     * One step for every row of points, in place, from the Euclidean gradient dL/dx (overwritten: it becomes
     * the tangent step taken).
     */
    public void step(Curvature curvature, Tensor points, Tensor euclideanGradient) {
        try (Arena arena = Arena.ofShared()) {
            step(curvature, points, euclideanGradient, Tensor.allocate(arena, points.rows(), points.cols()));
        }
    }

    /**
     * {@link #step(Curvature, Tensor, Tensor)} with the moved points computed in the caller's scratch tensor (of
     * the points' shape) instead of a fresh arena: for a training loop that steps many small batches, where
     * opening and closing a shared arena per step would cost more than the step.
     */
    public void step(Curvature curvature, Tensor points, Tensor euclideanGradient, Tensor scratch) {
        Shapes.sameShape(points, euclideanGradient);
        Shapes.sameShape(points, scratch);
        float c = (float) curvature.value();
        RiemannianSteps.scaleByInverseMetric(c, points, euclideanGradient, -learningRate);
        kernels.expmap(c, points, euclideanGradient, scratch);
        points.copyFrom(scratch);
    }

    /** A gradient step on a learnable curvature's ρ from dL/dc (what the backward passes return). */
    public void step(Curvature curvature, double curvatureGradient) {
        curvature.descend(learningRate * curvature.rawGradient(curvatureGradient));
    }
}
