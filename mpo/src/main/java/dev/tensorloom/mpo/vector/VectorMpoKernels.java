package dev.tensorloom.mpo.vector;

import dev.tensorloom.mpo.Mpo;
import dev.tensorloom.mpo.MpoArguments;
import dev.tensorloom.mpo.MpoKernels;
import dev.tensorloom.mpo.MpoShape;
import dev.tensorloom.mpo.MpoSweep;
import dev.tensorloom.runtime.kernel.Kernels;
import dev.tensorloom.runtime.kernel.Parallelism;
import dev.tensorloom.runtime.kernel.Tasks;
import dev.tensorloom.runtime.kernel.vector.Rows;
import dev.tensorloom.runtime.kernel.vector.VectorBackend;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * MPO contraction on the vector backend: its GEMM for the products, its threads for the copies between them.
 *
 * <p>To dense: the chain L_k = L_{k-1}·core_k is a GEMM per core, so it runs on the backend's own packed GEMM,
 * then one permutation copy takes W out of the interleaved order. Direct: the steps of {@link MpoSweep} in its
 * cheapest order, each a batched product state[P, r, Q] → [P, s, Q] with the core as a matrix [r, s]. Each is
 * made one GEMM on the backend's own kernels: the state is transposed to [P·Q, r] (nothing to do when Q = 1, as
 * in the last step of a left-to-right sweep), multiplied by the core, and transposed back from [P·Q, s]. The
 * transposes touch each state float twice where the GEMM does r (or s) multiply-adds per float, and the GEMM
 * then runs at the backend's GEMM rate with its blocking, packing and threads rather than a loop of its own; a
 * core read in another order than stored is permuted first (its size, once per call).
 */
public final class VectorMpoKernels implements MpoKernels {

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /** Side of the square tiles the state transposes copy. */
    private static final int TILE = 16;
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

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
        int m = x.rows();
        if (m == 0) {
            return;
        }
        List<MpoSweep.Step> steps = MpoSweep.of(mpo, m);
        long stateFloats = (long) m * Math.max(mpo.rows(), mpo.cols());
        long coreFloats = 0;
        for (MpoSweep.Step step : steps) {
            stateFloats = Math.max(stateFloats, Math.max((long) step.blocks() * step.r() * step.q(),
                    step.outputSize()));
            if (!step.coreAsStored()) {
                coreFloats = Math.max(coreFloats, (long) step.r() * step.s());
            }
        }
        // Four state-sized regions (the state, the next one, and the two transposed around the GEMM) and a
        // permuted core, from this thread's scratch: kernels threads may touch it, and nothing is allocated
        // (or zeroed) per call.
        MemorySegment scratch = SCRATCH.get().reserve(4 * stateFloats + coreFloats);
        long region = stateFloats * Float.BYTES;
        MemorySegment state = scratch.asSlice(0, region);
        MemorySegment next = scratch.asSlice(region, region);
        MemorySegment across = scratch.asSlice(2 * region, region);
        MemorySegment product = scratch.asSlice(3 * region, region);
        MemorySegment permuted = scratch.asSlice(4 * region, coreFloats * Float.BYTES);

        int rowsOfW = mpo.rows();
        MemorySegment xs = x.segment();
        for (int b = 0; b < m; b++) {
            MemorySegment.copy(xs, Rows.byteOffset(x, b), state, (long) b * rowsOfW * Float.BYTES,
                    (long) rowsOfW * Float.BYTES);
        }
        for (MpoSweep.Step step : steps) {
            Tensor core = coreMatrix(mpo.core(step.core()), step, permuted);
            int p = step.blocks();
            int q = step.q();
            if (q == 1) {
                dense.matmul(Tensor.wrap(state, p, step.r()), core, Tensor.wrap(next, p, step.s()));
            } else {
                // [p][r][q] → [p·q, r], one GEMM with the core [r, s], then [p][q][s] → [p][s][q].
                transposeBlocks(state, across, p, step.r(), q);
                dense.matmul(Tensor.wrap(across, (long) p * q, step.r()), core,
                        Tensor.wrap(product, (long) p * q, step.s()));
                transposeBlocks(product, next, p, q, step.s());
            }
            MemorySegment done = state;
            state = next;
            next = done;
        }
        int colsOfW = mpo.cols();
        MemorySegment ys = y.segment();
        for (int b = 0; b < m; b++) {
            MemorySegment.copy(state, (long) b * colsOfW * Float.BYTES, ys, Rows.byteOffset(y, b),
                    (long) colsOfW * Float.BYTES);
        }
    }

    /** Core k as the step's matrix [r, s]: the core itself when stored that way, else permuted into {@code to}. */
    private Tensor coreMatrix(Tensor core, MpoSweep.Step step, MemorySegment to) {
        int r = step.r();
        int s = step.s();
        if (step.coreAsStored()) {
            return core.reshape(r, s);
        }
        MemorySegment from = core.segment();
        long from0 = Rows.start(core);
        Tasks tasks = Tasks.forElements(parallelism, (long) r * s, core);
        tasks.forEachRow(r, row -> {
            for (int col = 0; col < s; col++) {
                to.setAtIndex(F, (long) row * s + col, from.get(F, from0 + (long) step.coreIndex(row, col) * Float.BYTES));
            }
        });
        return Tensor.wrap(to, r, s);
    }

    /** to[p][b][a] = from[p][a][b] for every block p, in tiles that keep both sides' lines in cache. */
    private void transposeBlocks(MemorySegment from, MemorySegment to, int blocks, int a, int b) {
        int tilesA = Math.ceilDiv(a, TILE);
        int tilesB = Math.ceilDiv(b, TILE);
        Tasks tasks = Tasks.forElements(parallelism, (long) blocks * a * b, Tensor.wrap(from, 1));
        tasks.forEachRow(blocks * tilesA, unit -> {
            long block = (long) (unit / tilesA) * a * b;
            int a0 = (unit % tilesA) * TILE;
            int a1 = Math.min(a, a0 + TILE);
            for (int tb = 0; tb < tilesB; tb++) {
                int b0 = tb * TILE;
                int b1 = Math.min(b, b0 + TILE);
                for (int i = a0; i < a1; i++) {
                    for (int j = b0; j < b1; j++) {
                        to.setAtIndex(F, block + (long) j * a + i, from.getAtIndex(F, block + (long) i * b + j));
                    }
                }
            }
        });
    }

    /** A thread's reusable native scratch memory, grown when a call needs more; freed with the thread. */
    private static final class Scratch {
        private MemorySegment memory = MemorySegment.NULL;

        MemorySegment reserve(long floats) {
            long bytes = Math.max(Float.BYTES, floats * Float.BYTES);
            if (memory.byteSize() < bytes) {
                memory = Arena.ofAuto().allocate(Math.max(bytes, 2 * memory.byteSize()), 64);
            }
            return memory;
        }
    }
}
