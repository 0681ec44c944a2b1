package dev.tensorloom.quant;

import dev.tensorloom.runtime.kernel.Shapes;
import dev.tensorloom.runtime.tensor.Tensor;

/**
 * GPTQ's H = (2/N)·Σ x·xᵀ over N calibration inputs x [k] of one layer (the rows of the activations that
 * layer multiplies by its weight), in float64: the curvature of ||XW - XŴ||² in the weights of one output
 * channel, the same for every channel. Accumulated batch by batch from captured activations.
 */
public final class Hessian {

    private final int k;
    /** Σ x·xᵀ, row-major k×k (only the sum; scaled on read). */
    private final double[] sum;
    private long samples;

    public Hessian(int k) {
        if (k < 1) {
            throw new IllegalArgumentException("k must be positive, got " + k);
        }
        this.k = k;
        this.sum = new double[Math.multiplyExact(k, k)];
    }

    public int size() {
        return k;
    }

    /** Calibration inputs seen so far. */
    public long samples() {
        return samples;
    }

    /** Adds every row of {@code inputs} [rows, k] (host, finite) as one calibration input. */
    public void accumulate(Tensor inputs) {
        Shapes.requireMatrix(inputs, "inputs");
        if (inputs.cols() != k) {
            throw new IllegalArgumentException("inputs " + inputs + " do not have the Hessian's " + k + " columns");
        }
        double[] x = new double[k];
        for (int r = 0; r < inputs.rows(); r++) {
            for (int p = 0; p < k; p++) {
                x[p] = inputs.get(r, p);
                if (!Double.isFinite(x[p])) {
                    throw new IllegalArgumentException("input (" + r + ", " + p + ") is " + x[p]);
                }
            }
            for (int p = 0; p < k; p++) {
                double xp = x[p];
                if (xp == 0) {
                    continue;
                }
                int row = p * k;
                for (int q = 0; q < k; q++) {
                    sum[row + q] += xp * x[q];
                }
            }
            samples++;
        }
    }

    /** H = (2/N)·Σ x·xᵀ as a new row-major k×k array; refuses an empty calibration set. */
    double[] matrix() {
        if (samples == 0) {
            throw new IllegalStateException("no calibration inputs: the Hessian of a " + k
                    + "-input layer needs at least one (GPTQ's paper used 128 segments of text)");
        }
        double[] h = new double[sum.length];
        double f = 2.0 / samples;
        for (int i = 0; i < h.length; i++) {
            h[i] = f * sum[i];
        }
        return h;
    }
}
