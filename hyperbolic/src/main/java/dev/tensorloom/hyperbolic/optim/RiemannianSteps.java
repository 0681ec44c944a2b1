package dev.tensorloom.hyperbolic.optim;

import dev.tensorloom.runtime.tensor.Tensor;

/** What both optimizers do to a row: the conformal factor λ_x = 2/(1 - c||x||²) and the inverse metric 1/λ_x². */
final class RiemannianSteps {

    private RiemannianSteps() {
    }

    /** λ_x for every row of points. */
    static double[] conformalFactors(float c, Tensor points) {
        double[] lambda = new double[points.rows()];
        for (int i = 0; i < lambda.length; i++) {
            double x2 = 0;
            for (int j = 0; j < points.cols(); j++) {
                double v = points.get(i, j);
                x2 += v * v;
            }
            lambda[i] = 2 / Math.max(1 - c * x2, 1e-15);
        }
        return lambda;
    }

    /** grad[i] ← scale·grad[i]/λ_{x_i}²; returns the λs. */
    static double[] scaleByInverseMetric(float c, Tensor points, Tensor grad, double scale) {
        double[] lambda = conformalFactors(c, points);
        for (int i = 0; i < lambda.length; i++) {
            double k = scale / (lambda[i] * lambda[i]);
            for (int j = 0; j < grad.cols(); j++) {
                grad.set((float) (grad.get(i, j) * k), i, j);
            }
        }
        return lambda;
    }
}
