package dev.tensorloom.runtime.kernel;

import dev.tensorloom.runtime.tensor.Tensor;

/**
 * A constant right-hand matrix b [k, n] (a layer's weights) in the layout its backend multiplies fastest,
 * made once by {@link Kernels#prepare} and used by {@link Kernels#matmul(Tensor, PreparedMatrix, Tensor)}
 * for every product after: the vector backend packs it into panels, a device backend would upload it.
 * Only the backend that prepared a matrix can use it.
 */
public interface PreparedMatrix {

    /** The matrix as given, row-major [k, n]; it must stay alive and unchanged as long as this one. */
    Tensor source();

    /** k. */
    default int rows() {
        return source().rows();
    }

    /** n. */
    default int cols() {
        return source().cols();
    }
}
