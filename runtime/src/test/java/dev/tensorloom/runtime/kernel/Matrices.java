package dev.tensorloom.runtime.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Random;

/**
 * Test matrices, either contiguous or as a strided view into a larger parent: the view starts one row and
 * three columns in and its rows are five floats longer than it is wide, so a kernel that ignores the offset
 * or the leading dimension, or writes past a row's end, reads or clobbers the parent's margin.
 */
record Matrices(Arena arena, Random random) {

    private static final int MARGIN_ROWS = 1;
    private static final int MARGIN_COLS = 3;
    private static final int EXTRA_STRIDE = 5;

    /** A rows×cols matrix of uniform values in [-1, 1), margins filled with random values too. */
    Tensor random(int rows, int cols, boolean strided) {
        Tensor parent = Tensor.allocate(arena, parentRows(rows, strided), parentCols(cols, strided));
        float[] values = new float[Math.toIntExact(parent.size())];
        for (int i = 0; i < values.length; i++) {
            values[i] = random.nextFloat() * 2 - 1;
        }
        Tensor filled = Tensor.of(arena, values, parent.shape());
        return view(filled, rows, cols, strided);
    }

    /** A matrix of the same shape and layout as {@code like} holding a copy of its values and its margin. */
    Tensor copyOf(Tensor like, boolean strided) {
        Tensor parent = Tensor.allocate(arena, parentRows(like.rows(), strided), parentCols(like.cols(), strided));
        Tensor copy = view(parent, like.rows(), like.cols(), strided);
        if (strided) {
            parent.copyFrom(parentOf(like));
        } else {
            copy.copyFrom(like);
        }
        return copy;
    }

    /** A contiguous vector of uniform values in [-1, 1). */
    Tensor vector(int n) {
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = random.nextFloat() * 2 - 1;
        }
        return Tensor.of(arena, values, n);
    }

    /** The whole allocation behind a matrix made here, margins included. */
    static Tensor parentOf(Tensor view) {
        if (view.rank() != 2 || view.offset() == 0) { // not a view made here: its own parent
            return view;
        }
        long ld = view.leadingDim();
        long rows = view.rows() + MARGIN_ROWS;
        return Tensor.wrap(view.segment(), rows, ld);
    }

    /** Every float of the allocation behind a matrix made here, margins included. */
    static float[] snapshot(Tensor view) {
        return parentOf(view).toArray();
    }

    /** Asserts that the margins around {@code after} still hold what {@link #snapshot} saw. */
    static void assertMarginsUntouched(float[] b, Tensor after) {
        if (parentOf(after) == after) {
            return; // no margin
        }
        float[] a = parentOf(after).toArray();
        long ld = parentOf(after).dim(1);
        long r0 = after.offset() / ld;
        long c0 = after.offset() % ld;
        for (int e = 0; e < a.length; e++) {
            long r = e / ld;
            long c = e % ld;
            boolean inside = r >= r0 && r < r0 + after.rows() && c >= c0 && c < c0 + after.cols();
            if (!inside) {
                assertEquals(b[e], a[e], "margin element (" + r + ", " + c + ") was written");
            }
        }
    }

    private static long parentRows(int rows, boolean strided) {
        return strided ? rows + MARGIN_ROWS : rows;
    }

    private static long parentCols(int cols, boolean strided) {
        return strided ? cols + EXTRA_STRIDE : cols;
    }

    private static Tensor view(Tensor parent, int rows, int cols, boolean strided) {
        if (!strided) {
            return parent;
        }
        return parent.slice(0, MARGIN_ROWS, MARGIN_ROWS + rows).slice(1, MARGIN_COLS, MARGIN_COLS + cols);
    }
}
