package dev.tensorloom.quant;

import dev.tensorloom.runtime.kernel.PreparedMatrix;
import dev.tensorloom.runtime.kernel.Shapes;
import dev.tensorloom.runtime.tensor.Tensor;
import java.util.List;

/**
 * Prepared matrices side by side, b = [b₀ | b₁ | ...] with the same k: the fused QKV projection when Q, K and V are
 * stored in different forms. Each block writes its own columns of c (a column view, which every kernel takes: the
 * row stride is the leading dimension), so the product is the blocks' products, nothing copied.
 */
final class ColumnBlocks implements PreparedMatrix {

    private final List<PreparedMatrix> blocks;
    private final int rows;
    private final int cols;

    ColumnBlocks(List<PreparedMatrix> blocks) {
        this.blocks = List.copyOf(blocks);
        this.rows = blocks.getFirst().rows();
        int n = 0;
        for (PreparedMatrix b : blocks) {
            if (b.rows() != rows) {
                throw new IllegalArgumentException("column blocks of " + rows + " and " + b.rows() + " rows");
            }
            n += b.cols();
        }
        this.cols = n;
    }

    @Override
    public int rows() {
        return rows;
    }

    @Override
    public int cols() {
        return cols;
    }

    @Override
    public void multiply(Tensor a, Tensor c) {
        Shapes.matmul(a, this, c);
        int from = 0;
        for (PreparedMatrix b : blocks) {
            b.multiply(a, c.slice(1, from, from + b.cols()));
            from += b.cols();
        }
    }

    @Override
    public long bytes() {
        long bytes = 0;
        for (PreparedMatrix b : blocks) {
            bytes += b.bytes();
        }
        return bytes;
    }

    /** The source is read only if a block reads it. */
    @Override
    public boolean readsSource() {
        return blocks.stream().anyMatch(PreparedMatrix::readsSource);
    }
}
