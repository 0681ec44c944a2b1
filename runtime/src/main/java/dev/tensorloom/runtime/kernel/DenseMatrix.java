package dev.tensorloom.runtime.kernel;

import dev.tensorloom.runtime.tensor.Tensor;

/** A prepared matrix that is the dense matrix itself, multiplied by {@link Kernels#matmul}. */
record DenseMatrix(Tensor source, Kernels kernels) implements PreparedMatrix {

    DenseMatrix {
        Shapes.requireMatrix(source, "b");
    }

    @Override
    public int rows() {
        return source.rows();
    }

    @Override
    public int cols() {
        return source.cols();
    }

    @Override
    public void multiply(Tensor a, Tensor c) {
        Shapes.matmul(a, this, c);
        kernels.matmul(a, source, c);
    }

    @Override
    public long bytes() {
        return source.size() * Tensor.FLOAT_BYTES;
    }

    /** A device matrix is a copy made for it; the host matrix it came from is not read. */
    @Override
    public boolean readsSource() {
        return !source.isOnDevice();
    }
}
