package dev.tensorloom.mpo.vector;

import dev.tensorloom.mpo.Mpo;
import dev.tensorloom.mpo.MpoArguments;
import dev.tensorloom.mpo.MpoKernels;
import dev.tensorloom.mpo.MpoShape;
import dev.tensorloom.mpo.SharedCoreProduct;
import dev.tensorloom.runtime.kernel.Kernels;
import dev.tensorloom.runtime.kernel.Parallelism;
import dev.tensorloom.runtime.kernel.PreparedMatrix;
import dev.tensorloom.runtime.kernel.Tasks;
import dev.tensorloom.runtime.kernel.vector.Rows;
import dev.tensorloom.runtime.kernel.vector.VectorBackend;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * MPO contraction on the vector backend and its threads: to dense on the backend's own GEMM, direct on the GEMM's
 * micro-kernel.
 *
 * <p>To dense: the chain L_k = L_{k-1}·core_k is a GEMM per core, so it runs on the backend's own packed GEMM,
 * then one permutation copy takes W out of the interleaved order. Direct: a {@link DirectProduct}, the steps of
 * {@link dev.tensorloom.mpo.MpoSweep} in its cheapest order, each a batched product state[P, r, Q] → [P, s, Q] with
 * the core as a matrix [r, s]: each is one {@link StepProduct} on the GEMM's micro-kernel, its core copied once into
 * the order it reads, multiplied as it stands or transposed (lanes along the core's columns or along the state's
 * rows, whichever the plan finds fills its vectors at less cost), and its tiles written where the next step reads
 * them. {@link #multiply} plans for every call; {@link #prepareDirect} plans once, on several threads as
 * {@link ColumnParts} (one sweep per thread over its own columns) where the sweep's first core allows;
 * {@link #prepareSharedCore} runs a core several MPOs share once for all their rows ({@link SharedCoreDirect}).
 */
public final class VectorMpoKernels implements MpoKernels {

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final Parallelism parallelism;
    private final Kernels dense;

    public VectorMpoKernels(VectorBackend backend) {
        this.parallelism = backend.parallelism();
        this.dense = backend.kernels();
    }

    @Override
    public void contractToDense(Mpo mpo, Tensor w) {
        MpoArguments.contractToDense(mpo, w);
        MpoShape shape = mpo.shape();
        int[] d = mpo.bonds();
        int n = shape.cores();
        try (Arena arena = Arena.ofShared()) {
            // L_0 = core_0 as [i_0·j_0, d_1]; L_k [∏_{l≤k} i_l·j_l, d_{k+1}] = L_{k-1} · core_k [d_k, i_k·j_k·d_{k+1}].
            Tensor left = mpo.core(0).reshape(shape.rowFactor(0) * shape.colFactor(0), d[1]);
            for (int k = 1; k < n; k++) {
                int width = shape.rowFactor(k) * shape.colFactor(k) * d[k + 1];
                Tensor next = Tensor.allocate(arena, left.rows(), width);
                dense.matmul(left, mpo.core(k).reshape(d[k], width), next);
                left = next.reshape((long) left.rows() * shape.rowFactor(k) * shape.colFactor(k), d[k + 1]);
            }
            deinterleave(shape, left, w);
        }
    }

    /** w[i][j] = interleaved[rowOffset[i] + colOffset[j]], row by row on the pool. */
    private void deinterleave(MpoShape shape, Tensor interleaved, Tensor w) {
        int[] rowOffsets = shape.interleavedRowOffsets();
        int[] colOffsets = shape.interleavedColOffsets();
        MemorySegment from = interleaved.segment();
        long from0 = Rows.start(interleaved);
        MemorySegment to = w.segment();
        Tasks tasks = Tasks.forElements(parallelism, (long) shape.rows() * shape.cols(), interleaved, w);
        tasks.forEachRow(shape.rows(), i -> {
            long row = Rows.byteOffset(w, i);
            long base = from0 + (long) rowOffsets[i] * Float.BYTES;
            for (int j = 0; j < colOffsets.length; j++) {
                to.set(F, row + (long) j * Float.BYTES, from.get(F, base + (long) colOffsets[j] * Float.BYTES));
            }
        });
    }

    @Override
    public void multiply(Mpo mpo, Tensor x, Tensor y) {
        MpoArguments.multiply(mpo, x, y);
        new DirectProduct(mpo, parallelism).multiply(x, y);
    }

    @Override
    public PreparedMatrix prepareDirect(Mpo mpo) {
        return ColumnParts.splits(mpo, parallelism) ? new ColumnParts(mpo, parallelism)
                : new DirectProduct(mpo, parallelism);
    }

    @Override
    public SharedCoreProduct prepareSharedCore(List<Mpo> mpos, int shared) {
        return new SharedCoreDirect(mpos, shared, parallelism);
    }
}
