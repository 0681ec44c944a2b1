package dev.tensorloom.mpo.vector;

import static dev.tensorloom.runtime.kernel.vector.Simd.L;

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
 * MPO contraction on the vector backend, its products on the backend's own GEMM (and its threads).
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
    /**
     * A GEMM call's fixed cost counted in floats copied: a step runs as one GEMM per block rather than transposing
     * the state when the blocks' calls cost less than the transposes would copy.
     */
    private static final long CALL_FLOATS = 4096;
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
            coreFloats = Math.max(coreFloats, (long) step.r() * step.s());
        }
        // Four state-sized regions (the state, the next one, and the two transposed around the GEMM) and a
        // rearranged core, from this thread's scratch: kernel threads may touch it, and nothing is allocated
        // (or zeroed) per call.
        Scratch scratch = SCRATCH.get();
        MemorySegment memory = scratch.reserve(4 * stateFloats + coreFloats);
        long region = stateFloats * Float.BYTES;
        MemorySegment state = memory.asSlice(0, region);
        MemorySegment next = memory.asSlice(region, region);
        MemorySegment across = memory.asSlice(2 * region, region);
        MemorySegment product = memory.asSlice(3 * region, region);
        MemorySegment rearranged = memory.asSlice(4 * region, coreFloats * Float.BYTES);

        int rowsOfW = mpo.rows();
        MemorySegment xs = x.segment();
        for (int b = 0; b < m; b++) {
            MemorySegment.copy(xs, Rows.byteOffset(x, b), state, (long) b * rowsOfW * Float.BYTES,
                    (long) rowsOfW * Float.BYTES);
        }
        for (MpoSweep.Step step : steps) {
            Tensor core = mpo.core(step.core());
            int p = step.blocks();
            int q = step.q();
            int r = step.r();
            int s = step.s();
            long rs = (long) r * s;
            long transposing = (long) p * q * (r + s) + (step.coreAsStored() ? 0 : rs);
            long perBlock = p * CALL_FLOATS + rs;
            if (q == 1) {
                // The state is already [p, r]: one GEMM, no copy of the state.
                dense.matmul(Tensor.wrap(state, p, r), coreMatrix(core, step, false, scratch, rearranged),
                        Tensor.wrap(next, p, s));
            } else if (q >= L && perBlock < transposing) {
                // Few blocks, each wide: out_p [s, q] = coreᵀ [s, r]·in_p [r, q], a GEMM per block.
                Tensor transposed = coreMatrix(core, step, true, scratch, rearranged);
                long in = (long) r * q * Float.BYTES;
                long out = (long) s * q * Float.BYTES;
                for (int block = 0; block < p; block++) {
                    dense.matmul(transposed, Tensor.wrap(state.asSlice(block * in, in), r, q),
                            Tensor.wrap(next.asSlice(block * out, out), s, q));
                }
            } else {
                // [p][r][q] → [p·q, r], one GEMM with the core [r, s], then [p][q][s] → [p][s][q].
                transposeBlocks(state, across, p, r, q, scratch);
                dense.matmul(Tensor.wrap(across, (long) p * q, r), coreMatrix(core, step, false, scratch, rearranged),
                        Tensor.wrap(product, (long) p * q, s));
                transposeBlocks(product, next, p, q, s, scratch);
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

    /**
     * Core k as the step's matrix [r, s], or its transpose [s, r]: the core itself when it is stored that way,
     * else rearranged into {@code to}, walking the core in its stored order (d, i, j, d') so reads are sequential.
     */
    private static Tensor coreMatrix(Tensor core, MpoSweep.Step step, boolean transposed, Scratch scratch,
            MemorySegment to) {
        int r = step.r();
        int s = step.s();
        if (step.coreAsStored() && !transposed) {
            return core.reshape(r, s);
        }
        float[] from = scratch.from(r * s);
        float[] into = scratch.into(r * s);
        MemorySegment.copy(core.segment(), F, Rows.start(core), from, 0, r * s);
        int left = step.leftBond();
        int rows = step.rowFactor();
        int cols = step.colFactor();
        int right = step.rightBond();
        boolean leftIn = step.leftIn();
        boolean rightIn = step.rightIn();
        int e = 0;
        for (int dl = 0; dl < left; dl++) {
            for (int i = 0; i < rows; i++) {
                int row0 = ((leftIn ? dl : 0) * rows + i) * (rightIn ? right : 1);
                for (int j = 0; j < cols; j++) {
                    int col0 = ((leftIn ? 0 : dl) * cols + j) * (rightIn ? 1 : right);
                    for (int dr = 0; dr < right; dr++, e++) {
                        int row = rightIn ? row0 + dr : row0;
                        int col = rightIn ? col0 : col0 + dr;
                        into[transposed ? col * r + row : row * s + col] = from[e];
                    }
                }
            }
        }
        MemorySegment.copy(into, 0, to, F, 0, r * s);
        return transposed ? Tensor.wrap(to, s, r) : Tensor.wrap(to, r, s);
    }

    /**
     * to[p][b][a] = from[p][a][b] for every block p. Staged through two arrays (bulk copies in and out), where
     * the strided loop compiles to plain loads and stores; in tiles that keep both sides' lines in cache.
     */
    private static void transposeBlocks(MemorySegment from, MemorySegment to, int blocks, int a, int b,
            Scratch scratch) {
        int size = blocks * a * b;
        float[] in = scratch.from(size);
        float[] out = scratch.into(size);
        MemorySegment.copy(from, F, 0, in, 0, size);
        for (int block = 0; block < size; block += a * b) {
            for (int i0 = 0; i0 < a; i0 += TILE) {
                int i1 = Math.min(a, i0 + TILE);
                for (int j0 = 0; j0 < b; j0 += TILE) {
                    int j1 = Math.min(b, j0 + TILE);
                    for (int i = i0; i < i1; i++) {
                        int row = block + i * b;
                        for (int j = j0; j < j1; j++) {
                            out[block + j * a + i] = in[row + j];
                        }
                    }
                }
            }
        }
        MemorySegment.copy(out, 0, to, F, 0, size);
    }

    /** A thread's reusable scratch, grown when a call needs more; freed with the thread. */
    private static final class Scratch {
        private MemorySegment memory = MemorySegment.NULL;
        private float[] from = new float[0];
        private float[] into = new float[0];

        float[] from(int floats) {
            if (from.length < floats) {
                from = new float[floats];
            }
            return from;
        }

        float[] into(int floats) {
            if (into.length < floats) {
                into = new float[floats];
            }
            return into;
        }

        MemorySegment reserve(long floats) {
            long bytes = Math.max(Float.BYTES, floats * Float.BYTES);
            if (memory.byteSize() < bytes) {
                memory = Arena.ofAuto().allocate(Math.max(bytes, 2 * memory.byteSize()), 64);
            }
            return memory;
        }
    }
}
