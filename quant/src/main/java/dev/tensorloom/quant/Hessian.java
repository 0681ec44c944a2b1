package dev.tensorloom.quant;

import dev.tensorloom.runtime.kernel.MatrixPreparer;
import dev.tensorloom.runtime.kernel.Shapes;
import dev.tensorloom.runtime.tensor.Tensor;
import java.util.Map;
import java.util.Objects;
import java.util.function.Predicate;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;

/**
 * GPTQ's H = (2/N)·Σ x·xᵀ over N calibration inputs x [k] of one layer (the rows of the activations that
 * layer multiplies by its weight), in float64: the curvature of ||XW - XŴ||² in the weights of one output
 * channel, the same for every channel. Accumulated batch by batch from captured activations.
 */
public final class Hessian {

    private final int k;
    /** Σ x·xᵀ, k×k (only the sum; scaled on read). */
    private final DMatrixRMaj sum;
    private long samples;

    public Hessian(int k) {
        if (k < 1) {
            throw new IllegalArgumentException("k must be positive, got " + k);
        }
        this.k = k;
        if ((long) k * k > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("a Hessian of k = " + k + " inputs has more than 2^31 entries");
        }
        this.sum = new DMatrixRMaj(k, k);
    }

    /**
     * A preparer that prepares every matrix with {@code inner} and, each time a prepared matrix multiplies, adds
     * the inputs it is given (every row of a) to the Hessian of its name in {@code hessians} (made on first use).
     * Run the model on calibration text with it, one text per pass so that no padding row is counted, then hand
     * the Hessians to {@link QuantizedMatrix#gptq}. The inputs must be in host memory (a host backend).
     */
    public static MatrixPreparer collecting(MatrixPreparer inner, Map<String, Hessian> hessians) {
        return collecting(inner, hessians, name -> true);
    }

    /** As {@link #collecting(MatrixPreparer, Map)}, for the matrices whose names {@code which} accepts only. */
    public static MatrixPreparer collecting(MatrixPreparer inner, Map<String, Hessian> hessians,
            Predicate<String> which) {
        Objects.requireNonNull(hessians, "hessians");
        MatrixPreparer observed = ObservedInputs.preparer(inner, (name, a) -> {
            Hessian h = hessians.get(name);
            if (h != null) {
                synchronized (h) {
                    h.accumulate(a);
                }
            }
        });
        return (name, weight, arena) -> {
            if (which.test(name)) {
                hessians.computeIfAbsent(name, unused -> new Hessian(weight.rows()));
            }
            return observed.prepare(name, weight, arena);
        };
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
        // The batch's XᵀX in one EJML product (blocked, several times a plain loop's speed at k = 1536).
        DMatrixRMaj x = new DMatrixRMaj(inputs.rows(), k);
        for (int r = 0; r < inputs.rows(); r++) {
            for (int p = 0; p < k; p++) {
                double v = inputs.get(r, p);
                if (!Double.isFinite(v)) {
                    throw new IllegalArgumentException("input (" + r + ", " + p + ") is " + v);
                }
                x.unsafe_set(r, p, v);
            }
        }
        CommonOps_DDRM.multAddTransA(x, x, sum);
        samples += inputs.rows();
    }

    /** H = (2/N)·Σ x·xᵀ as a new row-major k×k array; refuses an empty calibration set. */
    double[] matrix() {
        if (samples == 0) {
            throw new IllegalStateException("no calibration inputs: the Hessian of a " + k
                    + "-input layer needs at least one (GPTQ's paper used 128 segments of text)");
        }
        double[] h = sum.getData().clone();
        double f = 2.0 / samples;
        for (int i = 0; i < h.length; i++) {
            h[i] *= f;
        }
        return h;
    }
}
