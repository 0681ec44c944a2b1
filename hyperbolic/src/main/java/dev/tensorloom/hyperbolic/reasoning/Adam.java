package dev.tensorloom.hyperbolic.reasoning;

import static dev.tensorloom.hyperbolic.reasoning.Rows.at;
import static dev.tensorloom.hyperbolic.reasoning.Rows.put;

import dev.tensorloom.hyperbolic.Curvature;
import dev.tensorloom.runtime.tensor.Tensor;

/**
 * Plain Adam (Kingma &amp; Ba 2015) for the Euclidean parameters: the relation diagonals, everything of the
 * Euclidean variant, and the curvatures' softplus parameters ρ. One instance per parameter group (its moments and
 * step count are that group's).
 */
final class Adam {

    private static final double BETA1 = 0.9;
    private static final double BETA2 = 0.999;
    private static final double EPSILON = 1e-8;

    private final double learningRate;
    private final double[] first;
    private final double[] second;
    private int steps;

    Adam(int size, double learningRate) {
        this.learningRate = learningRate;
        this.first = new double[size];
        this.second = new double[size];
    }

    /** The step to subtract from parameter i given its gradient (call {@link #tick} once per step first). */
    private double delta(int i, double g) {
        first[i] = BETA1 * first[i] + (1 - BETA1) * g;
        second[i] = BETA2 * second[i] + (1 - BETA2) * g * g;
        double mHat = first[i] / (1 - Math.pow(BETA1, steps));
        double vHat = second[i] / (1 - Math.pow(BETA2, steps));
        return learningRate * mHat / (Math.sqrt(vHat) + EPSILON);
    }

    private void tick() {
        steps++;
    }

    /** params ← params - step, element by element. */
    void step(Tensor params, Tensor grad) {
        tick();
        int cols = params.cols();
        for (int i = 0; i < params.rows(); i++) {
            for (int k = 0; k < cols; k++) {
                put(params, i, k, (float) (at(params, i, k) - delta(i * cols + k, at(grad, i, k))));
            }
        }
    }

    /** One step on each learnable curvature's ρ from dL/dc. */
    void step(Curvature[] curvatures, double[] curvatureGradients) {
        tick();
        for (int i = 0; i < curvatures.length; i++) {
            curvatures[i].descend(delta(i, curvatures[i].rawGradient(curvatureGradients[i])));
        }
    }
}
