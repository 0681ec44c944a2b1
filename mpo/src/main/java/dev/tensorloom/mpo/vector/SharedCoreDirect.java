package dev.tensorloom.mpo.vector;

import static dev.tensorloom.runtime.kernel.vector.Simd.L;

import dev.tensorloom.mpo.Mpo;
import dev.tensorloom.mpo.MpoArguments;
import dev.tensorloom.mpo.SharedCoreProduct;
import dev.tensorloom.runtime.kernel.Parallelism;
import dev.tensorloom.runtime.kernel.vector.Rows;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;

/**
 * MPOs sharing one core on the vector backend: each group's rows swept through its own MPO's steps before the shared
 * core's, the states of all groups then stacked along the batch axis (every state puts the batch outermost, so
 * stacking is placing each group's floats after the previous group's) and multiplied by the shared core in one step,
 * and split again for each MPO's steps after it. The shared core is read once per call however many groups there
 * are; the other cores once per group with rows. Every MPO absorbs its cores in the same order (one shape and bonds
 * give one cheapest order).
 */
final class SharedCoreDirect implements SharedCoreProduct {

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final List<Mpo> mpos;
    /** Group 0's plan runs the shared step for all; the others leave it out. */
    private final DirectProduct[] plans;
    private final int sharedStep;
    private final long sharedBytes;

    SharedCoreDirect(List<Mpo> mpos, int shared, Parallelism parallelism) {
        SharedCoreProduct.requireMpos(mpos, shared);
        float[] core = mpos.get(0).core(shared).toArray();
        for (int g = 1; g < mpos.size(); g++) {
            if (!Arrays.equals(core, mpos.get(g).core(shared).toArray())) {
                throw new IllegalArgumentException("core " + shared + " of MPO " + g + " is not MPO 0's: the MPOs do"
                        + " not share it");
            }
        }
        this.mpos = List.copyOf(mpos);
        this.plans = new DirectProduct[mpos.size()];
        for (int g = 0; g < plans.length; g++) {
            plans[g] = new DirectProduct(mpos.get(g), parallelism, g == 0 ? -1 : shared);
        }
        this.sharedStep = plans[0].stepOf(shared);
        this.sharedBytes = (long) core.length * Float.BYTES;
    }

    @Override
    public long multiply(int[] starts, Tensor x, Tensor y) {
        MpoArguments.multiply(mpos.get(0), x, y);
        SharedCoreProduct.requireGroups(starts, plans.length, x.rows());
        int rows = x.rows();
        if (rows == 0) {
            return 0;
        }
        DirectProduct.Scratch scratch = DirectProduct.Scratch.of();
        int before = plans[0].stateSize(sharedStep);
        int after = plans[0].stateSize(sharedStep + 1);
        int steps = mpos.get(0).shape().cores();
        long bytes = sharedBytes;
        // Each group through the steps before the shared one, into the stack.
        float[] stack = scratch.floats(DirectProduct.Scratch.KEPT, rows * before + L);
        for (int g = 0; g < plans.length; g++) {
            int m = starts[g + 1] - starts[g];
            if (m == 0) {
                continue;
            }
            float[] in = scratch.floats(DirectProduct.Scratch.INPUT, m * mpos.get(g).rows());
            copyRows(x, starts[g], m, in);
            float[] out = plans[g].run(in, m, 0, sharedStep);
            System.arraycopy(out, 0, stack, starts[g] * before, m * before);
            bytes += mpos.get(g).bytes() - sharedBytes;
        }
        // The shared core, once for every row.
        float[] shared = plans[0].run(stack, rows, sharedStep, sharedStep + 1);
        float[] split = scratch.floats(DirectProduct.Scratch.KEPT_TOO, rows * after + L);
        System.arraycopy(shared, 0, split, 0, rows * after);
        // Each group through the steps after it.
        int cols = y.cols();
        MemorySegment ys = y.segment();
        for (int g = 0; g < plans.length; g++) {
            int m = starts[g + 1] - starts[g];
            if (m == 0) {
                continue;
            }
            float[] in = scratch.floats(DirectProduct.Scratch.INPUT, m * after);
            System.arraycopy(split, starts[g] * after, in, 0, m * after);
            float[] out = plans[g].run(in, m, sharedStep + 1, steps);
            for (int b = 0; b < m; b++) {
                MemorySegment.copy(out, b * cols, ys, F, Rows.byteOffset(y, starts[g] + b), cols);
            }
        }
        return bytes;
    }

    /** in[b·I + i] = x[from + b][i] for b &lt; m. */
    private static void copyRows(Tensor x, int from, int m, float[] in) {
        int cols = x.cols();
        MemorySegment xs = x.segment();
        for (int b = 0; b < m; b++) {
            MemorySegment.copy(xs, F, Rows.byteOffset(x, from + b), in, b * cols, cols);
        }
    }
}
