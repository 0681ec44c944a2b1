package dev.tensorloom.hyperbolic.optim;

import dev.tensorloom.hyperbolic.Curvature;
import dev.tensorloom.hyperbolic.PoincareKernels;
import dev.tensorloom.runtime.kernel.Shapes;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Objects;

/**
 * Riemannian Adam on the Poincaré ball (Bécigneul &amp; Ganea 2019, as geoopt implements it), each row its own
 * manifold: the first moment m is a tangent vector, kept at the current point by parallel transport after
 * every step; the second moment is one scalar per row, the Riemannian squared norm λ_x²||g||² of the gradient.
 * With g = ∇ᴱ/λ_x²:
 * <pre>
 *   m ← β₁m + (1 - β₁)g,   v ← β₂v + (1 - β₂)·λ_x²||g||²
 *   x' = exp_x(-lr·m̂/(√v̂ + ε)),   m ← P_{x→x'}(m)
 * </pre>
 * with the bias corrections m̂ = m/(1 - β₁ᵗ), v̂ = v/(1 - β₂ᵗ). The state lives as long as the optimizer.
 */
public final class RiemannianAdam {

    private final PoincareKernels kernels;
    private final double learningRate;
    private final double beta1;
    private final double beta2;
    private final double epsilon;
    private final Tensor firstMoment;
    private final double[] secondMoment;
    private int steps;

    public RiemannianAdam(PoincareKernels kernels, int rows, int dim, double learningRate) {
        this(kernels, rows, dim, learningRate, 0.9, 0.999, 1e-8);
    }

    public RiemannianAdam(PoincareKernels kernels, int rows, int dim, double learningRate, double beta1, double beta2,
            double epsilon) {
        this.kernels = Objects.requireNonNull(kernels, "kernels");
        if (!(learningRate > 0) || !Double.isFinite(learningRate)) {
            throw new IllegalArgumentException("learning rate must be positive and finite, got " + learningRate);
        }
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(epsilon > 0)) {
            throw new IllegalArgumentException("Adam needs 0 ≤ β₁, β₂ < 1 and ε > 0, got " + beta1 + ", " + beta2
                    + ", " + epsilon);
        }
        this.learningRate = learningRate;
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.epsilon = epsilon;
        // An automatic arena: the moments live as long as the optimizer, and any thread may touch them.
        this.firstMoment = Tensor.allocate(Arena.ofAuto(), rows, dim);
        this.secondMoment = new double[rows];
    }

    /** One step for every row of points, in place, from the Euclidean gradient (overwritten as scratch). */
    public void step(Curvature curvature, Tensor points, Tensor euclideanGradient) {
        Shapes.sameShape(points, euclideanGradient);
        Shapes.sameShape(points, firstMoment);
        float c = (float) curvature.value();
        steps++;
        double[] lambda = RiemannianSteps.scaleByInverseMetric(c, points, euclideanGradient, 1);
        double mCorrection = 1 - Math.pow(beta1, steps);
        double vCorrection = 1 - Math.pow(beta2, steps);
        int dim = points.cols();
        for (int i = 0; i < points.rows(); i++) {
            double g2 = 0;
            for (int j = 0; j < dim; j++) {
                double g = euclideanGradient.get(i, j);
                g2 += g * g;
                firstMoment.set((float) (beta1 * firstMoment.get(i, j) + (1 - beta1) * g), i, j);
            }
            secondMoment[i] = beta2 * secondMoment[i] + (1 - beta2) * lambda[i] * lambda[i] * g2;
            double k = -learningRate / mCorrection / (Math.sqrt(secondMoment[i] / vCorrection) + epsilon);
            // The gradient's storage now holds the step taken.
            for (int j = 0; j < dim; j++) {
                euclideanGradient.set((float) (k * firstMoment.get(i, j)), i, j);
            }
        }
        try (Arena step = Arena.ofShared()) {
            Tensor moved = Tensor.allocate(step, points.rows(), dim);
            Tensor transported = Tensor.allocate(step, points.rows(), dim);
            kernels.expmap(c, points, euclideanGradient, moved);
            kernels.transport(c, points, moved, firstMoment, transported);
            firstMoment.copyFrom(transported);
            points.copyFrom(moved);
        }
    }
}
