package dev.tensorloom.hyperbolic.reasoning;

import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.ValueLayout;

/** Element and row access on host tensors whose rows are {@code leadingDim} apart (a vector is one column). */
final class Rows {

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private Rows() {
    }

    private static long index(Tensor t, int row, int col) {
        return t.offset() + (t.rank() == 1 ? row : (long) row * t.leadingDim() + col);
    }

    static float at(Tensor t, int row, int col) {
        return t.segment().getAtIndex(F, index(t, row, col));
    }

    static void put(Tensor t, int row, int col, float value) {
        t.segment().setAtIndex(F, index(t, row, col), value);
    }

    static void add(Tensor t, int row, int col, float value) {
        long i = index(t, row, col);
        t.segment().setAtIndex(F, i, t.segment().getAtIndex(F, i) + value);
    }

    /** to[j] = from[i]. */
    static void copyRow(Tensor from, int i, Tensor to, int j) {
        for (int k = 0; k < from.cols(); k++) {
            put(to, j, k, at(from, i, k));
        }
    }

    /** to[j] += from[i]. */
    static void addRow(Tensor from, int i, Tensor to, int j) {
        for (int k = 0; k < from.cols(); k++) {
            add(to, j, k, at(from, i, k));
        }
    }

    static void zero(Tensor t) {
        int rows = t.rank() == 1 ? Math.toIntExact(t.dim(0)) : t.rows();
        int cols = t.rank() == 1 ? 1 : t.cols();
        for (int i = 0; i < rows; i++) {
            for (int k = 0; k < cols; k++) {
                put(t, i, k, 0);
            }
        }
    }
}
