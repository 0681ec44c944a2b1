package dev.tensorloom.runtime.kernel.vector;

import dev.tensorloom.runtime.kernel.Parallelism;
import dev.tensorloom.runtime.kernel.PreparedMatrix;
import dev.tensorloom.runtime.kernel.Shapes;
import dev.tensorloom.runtime.kernel.Tasks;
import dev.tensorloom.runtime.tensor.Tensor;

/**
 * A weight matrix [k, n] packed once into the panels {@link GemmMicroKernel#packed} reads: panel p holds
 * columns [p·NR, p·NR + NR) of every row, NR floats per row, zero-padded past n. Products read only the
 * panels; the source it was packed from is not kept.
 */
record PackedPanels(int rows, int cols, float[] panels, Parallelism parallelism) implements PreparedMatrix {

    @Override
    public void multiply(Tensor a, Tensor c) {
        Shapes.matmul(a, this, c);
        VectorGemm.multiply(a, this, c, Tasks.forMultiplyAdds(parallelism, (long) a.rows() * rows * cols, a, c));
    }

    /** c = a·b + bias, then GELU if the epilogue asks, applied to each tile of c as its last depth block lands. */
    void multiply(Tensor a, Tensor c, GemmMicroKernel.Epilogue epilogue) {
        VectorGemm.multiply(a, null, this, c, epilogue,
                Tasks.forMultiplyAdds(parallelism, (long) a.rows() * rows * cols, a, c, epilogue.bias()),
                VectorGemm.Blocking.CACHES);
    }

    @Override
    public long bytes() {
        return (long) panels.length * Float.BYTES;
    }

    /** Only the panels are read; the matrix they were packed from may be freed. */
    @Override
    public boolean readsSource() {
        return false;
    }

    @Override
    public String toString() {
        return "PackedPanels[" + rows + "x" + cols + "]";
    }
}
