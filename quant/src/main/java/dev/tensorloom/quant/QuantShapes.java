package dev.tensorloom.quant;

import dev.tensorloom.runtime.kernel.Shapes;
import dev.tensorloom.runtime.tensor.Tensor;

/** Argument checks of the quant family, shared by every implementation so that all fail with the same words. */
public final class QuantShapes {

    private QuantShapes() {
    }

    public static void gemv(Tensor x, QuantizedWeights b, Tensor y) {
        if (x.rank() != 1 || y.rank() != 1 || x.dim(0) != b.rows() || y.dim(0) != b.cols()
                || !x.isContiguous() || !y.isContiguous()) {
            throw new IllegalArgumentException("quantized gemv shapes disagree: x " + x + " · " + b + " -> y " + y);
        }
    }

    public static void gemm(Tensor a, QuantizedWeights b, Tensor c) {
        Shapes.requireMatrix(a, "a");
        Shapes.requireMatrix(c, "c");
        if (a.cols() != b.rows() || c.rows() != a.rows() || c.cols() != b.cols()) {
            throw new IllegalArgumentException("quantized matmul shapes disagree: a " + a + " · " + b + " -> c " + c);
        }
    }
}
