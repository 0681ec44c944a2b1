package dev.tensorloom.outside;

import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.MatrixPreparer;
import dev.tensorloom.runtime.kernel.PreparedMatrix;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;

/**
 * A prepared matrix made outside runtime's packages, from its public API only, as the quant and mpo modules
 * make theirs: it stores bᵀ [n, k] (a form the runtime never makes) and multiplies with a·(bᵀ)ᵀ.
 */
record TransposedWeights(Tensor transposed, Backend backend) implements PreparedMatrix {

    /** Prepares every matrix in this form on {@code backend}. */
    static MatrixPreparer on(Backend backend) {
        return (name, weight, arena) -> new TransposedWeights(
                backend.toDevice(transpose(weight, arena), arena), backend);
    }

    private static Tensor transpose(Tensor b, Arena arena) {
        Tensor t = Tensor.allocate(arena, b.cols(), b.rows());
        t.copyFrom(b.transpose(0, 1));
        return t;
    }

    @Override
    public int rows() {
        return transposed.cols();
    }

    @Override
    public int cols() {
        return transposed.rows();
    }

    @Override
    public void multiply(Tensor a, Tensor c) {
        backend.kernels().matmulTransposedB(a, transposed, c);
    }

    @Override
    public long bytes() {
        return transposed.size() * Tensor.FLOAT_BYTES;
    }
}
