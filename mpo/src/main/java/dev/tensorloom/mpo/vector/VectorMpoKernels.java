package dev.tensorloom.mpo.vector;

import static dev.tensorloom.runtime.kernel.vector.PanelGemm.PANEL_WIDTH;
import static dev.tensorloom.runtime.kernel.vector.Simd.L;
import static dev.tensorloom.runtime.kernel.vector.Simd.S;

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
import jdk.incubator.vector.FloatVector;

/**
 * MPO contraction on the vector backend, its products on the backend's own GEMM kernels (and its threads).
 *
 * <p>To dense: the chain L_k = L_{k-1}·core_k is a GEMM per core, so it runs on the backend's own packed GEMM,
 * then one permutation copy takes W out of the interleaved order. Direct: the steps of {@link MpoSweep} in its
 * cheapest order, each a batched product state[P, r, Q] → [P, s, Q] with the core as a matrix [r, s]. A step of
 * few rows (P·Q up to {@link StepProduct#MAX_ROWS}, every step of a 1536×384 MPO at batch 1) is one
 * {@link StepProduct}: a's rows gathered from the state as it lies, the core streamed by the GEMM's micro-kernel,
 * each tile scattered into the next state, so no pass rearranges the state. A step of more rows runs on the
 * backend's packed GEMM: the state transposed to [P·Q, r] (nothing to do when Q = 1, as in the last step of a left
 * to right sweep), multiplied by the core and transposed back, or, for few wide blocks, one GEMM per block. A core
 * read in another order than stored is copied into the step's order first (its size, once per call; the copy
 * writes in order from offset tables, as the core's index splits into a part fixed by the row and one by the
 * column).
 */
public final class VectorMpoKernels implements MpoKernels {

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /**
     * A GEMM call's fixed cost counted in floats copied: a step runs as one GEMM per block rather than transposing
     * the state when the blocks' calls cost less than the transposes would copy.
     */
    private static final long CALL_FLOATS = 4096;
    /** A core of at most this many floats (16 KiB) is streamed from the first-level cache. */
    private static final int CACHED_CORE_FLOATS = 4096;
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
        int stateFloats = m * Math.max(mpo.rows(), mpo.cols());
        int coreFloats = 0;
        int rowsFloats = 0;
        for (MpoSweep.Step step : steps) {
            stateFloats = Math.max(stateFloats, Math.max(step.blocks() * step.r() * step.q(), step.outputSize()));
            coreFloats = Math.max(coreFloats, step.r() * step.s());
            if (fused(step)) {
                rowsFloats = Math.max(rowsFloats, (step.blocks() * step.q() + 1) * step.r());
            }
        }
        // The states (this one, the next, and the two transposed around the backend's GEMM), a's rows and a
        // rearranged core, from this thread's scratch: kernel threads may touch it (heap arrays and an automatic
        // arena), and nothing is allocated (or zeroed) per call.
        Scratch scratch = SCRATCH.get();
        float[] state = scratch.floats(Scratch.STATE, stateFloats);
        float[] next = scratch.floats(Scratch.NEXT, stateFloats);

        int rowsOfW = mpo.rows();
        MemorySegment xs = x.segment();
        for (int b = 0; b < m; b++) {
            MemorySegment.copy(xs, F, Rows.byteOffset(x, b), state, b * rowsOfW, rowsOfW);
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
            if (fused(step)) {
                // Few rows: a's rows gathered from the state, the core streamed, the tiles scattered; no transposes.
                Tensor b = coreMatrix(core, step, false, scratch);
                StepProduct.multiply(state, p, r, q, b, next, scratch.floats(Scratch.ROWS, rowsFloats),
                        Tasks.forMultiplyAdds(parallelism, step.multiplyAdds(), b));
            } else if (q == 1) {
                // The state is already [p, r]: one GEMM, no copy of the state.
                dense.matmul(wrap(state, p, r), coreMatrix(core, step, false, scratch), wrap(next, p, s));
            } else if (q >= L && perBlock < transposing) {
                // Few blocks, each wide: out_p [s, q] = coreᵀ [s, r]·in_p [r, q], a GEMM per block.
                Tensor transposed = coreMatrix(core, step, true, scratch);
                MemorySegment in = MemorySegment.ofArray(state);
                MemorySegment out = MemorySegment.ofArray(next);
                long inBytes = (long) r * q * Float.BYTES;
                long outBytes = (long) s * q * Float.BYTES;
                for (int block = 0; block < p; block++) {
                    dense.matmul(transposed, Tensor.wrap(in.asSlice(block * inBytes, inBytes), r, q),
                            Tensor.wrap(out.asSlice(block * outBytes, outBytes), s, q));
                }
            } else {
                // [p][r][q] → [p·q, r], one GEMM with the core [r, s], then [p][q][s] → [p][s][q].
                float[] across = scratch.floats(Scratch.ACROSS, stateFloats);
                float[] product = scratch.floats(Scratch.PRODUCT, stateFloats);
                transposeBlocks(state, across, p, r, q);
                dense.matmul(wrap(across, (long) p * q, r), coreMatrix(core, step, false, scratch),
                        wrap(product, (long) p * q, s));
                transposeBlocks(product, next, p, q, s);
            }
            float[] done = state;
            state = next;
            next = done;
        }
        int colsOfW = mpo.cols();
        MemorySegment ys = y.segment();
        for (int b = 0; b < m; b++) {
            MemorySegment.copy(state, b * colsOfW, ys, F, Rows.byteOffset(y, b), colsOfW);
        }
    }

    /**
     * Whether a step runs as {@link StepProduct}: few enough rows that streaming the core beats packing it, or, with
     * Q = 1 (rows gathered and tiles scattered by plain copies), a core small enough ({@value #CACHED_CORE_FLOATS}
     * floats) to stay in the first-level cache while it is streamed for every tile row. With many rows and Q > 1 the
     * scatter writes Q apart across a state larger than the caches (a 4096×4096 MPO's first step at batch 1 writes
     * 143,360 floats 512 apart), where one GEMM per block writes in order.
     */
    private static boolean fused(MpoSweep.Step step) {
        return (long) step.blocks() * step.q() <= StepProduct.MAX_ROWS
                || step.q() == 1 && (long) step.r() * step.s() <= CACHED_CORE_FLOATS;
    }

    private static Tensor wrap(float[] values, long rows, long cols) {
        return Tensor.wrap(MemorySegment.ofArray(values), rows, cols);
    }

    /**
     * Core k as the step's matrix [r, s], or its transpose [s, r]: the core itself when it is stored that way,
     * else a rearranged copy in this thread's scratch.
     */
    private static Tensor coreMatrix(Tensor core, MpoSweep.Step step, boolean transposed, Scratch scratch) {
        int r = step.r();
        int s = step.s();
        if (step.coreAsStored() && !transposed) {
            return core.reshape(r, s);
        }
        float[] from = scratch.floats(Scratch.FROM, r * s);
        float[] into = scratch.floats(Scratch.INTO, r * s);
        MemorySegment.copy(core.segment(), F, Rows.start(core), from, 0, r * s);
        // Where (row, col) lies is a part fixed by the row plus a part fixed by the column (each digit and bond
        // belongs to one side): with both parts tabled, the copy writes in order and gathers from a core in cache.
        int[] rowOffsets = scratch.offsets(Scratch.ROW_OFFSETS, r);
        int[] colOffsets = scratch.offsets(Scratch.COL_OFFSETS, s);
        for (int row = 0; row < r; row++) {
            rowOffsets[row] = step.coreIndex(row, 0);
        }
        for (int col = 0; col < s; col++) {
            colOffsets[col] = step.coreIndex(0, col);
        }
        if (transposed) {
            for (int col = 0; col < s; col++) {
                gather(from, colOffsets[col], rowOffsets, r, into, col * r);
            }
        } else {
            for (int row = 0; row < r; row++) {
                gather(from, rowOffsets[row], colOffsets, s, into, row * s);
            }
        }
        MemorySegment to = scratch.core(r * s);
        MemorySegment.copy(into, 0, to, F, 0, r * s);
        return transposed ? Tensor.wrap(to, s, r) : Tensor.wrap(to, r, s);
    }

    /** to[at + e] = from[base + offsets[e]] for e < count, a vector of lanes at a time. */
    private static void gather(float[] from, int base, int[] offsets, int count, float[] to, int at) {
        int e = 0;
        for (; e <= count - L; e += L) {
            FloatVector.fromArray(S, from, base, offsets, e).intoArray(to, at + e);
        }
        for (; e < count; e++) {
            to[at + e] = from[base + offsets[e]];
        }
    }

    /** to[p][b][a] = from[p][a][b] for every block p, in tiles that keep both sides' lines in cache. */
    private static void transposeBlocks(float[] from, float[] to, int blocks, int a, int b) {
        int size = blocks * a * b;
        for (int block = 0; block < size; block += a * b) {
            for (int i0 = 0; i0 < a; i0 += TILE) {
                int i1 = Math.min(a, i0 + TILE);
                for (int j0 = 0; j0 < b; j0 += TILE) {
                    int j1 = Math.min(b, j0 + TILE);
                    for (int i = i0; i < i1; i++) {
                        int row = block + i * b;
                        for (int j = j0; j < j1; j++) {
                            to[block + j * a + i] = from[row + j];
                        }
                    }
                }
            }
        }
    }

    /** A thread's reusable arrays, each grown when a call needs more; freed with the thread. */
    private static final class Scratch {
        static final int STATE = 0;
        static final int NEXT = 1;
        static final int ACROSS = 2;
        static final int PRODUCT = 3;
        static final int ROWS = 4;
        static final int FROM = 5;
        static final int INTO = 6;
        static final int ROW_OFFSETS = 0;
        static final int COL_OFFSETS = 1;

        private final float[][] floats = new float[7][0];
        private final int[][] offsets = new int[2][0];
        private MemorySegment core = MemorySegment.NULL;

        /** The array in {@code slot} (one of the float constants), at least {@code size} long. */
        float[] floats(int slot, int size) {
            if (floats[slot].length < size) {
                floats[slot] = new float[Math.max(size, 2 * floats[slot].length)];
            }
            return floats[slot];
        }

        /** The offset table in {@code slot} ({@link #ROW_OFFSETS} or {@link #COL_OFFSETS}), at least {@code size} long. */
        int[] offsets(int slot, int size) {
            if (offsets[slot].length < size) {
                offsets[slot] = new int[Math.max(size, 2 * offsets[slot].length)];
            }
            return offsets[slot];
        }

        /**
         * The rearranged core, in native memory as the cores themselves are, with PANEL_WIDTH floats to spare after
         * it: the micro-kernel reads b a whole tile row wide, masked, and a masked load that runs past the end of its
         * segment takes the Vector API's out-of-range path; with such loads in it the kernel ran about three times
         * slower for the whole run (loaded machine, one thread: a 1536×384 MPO at 10× direct at 16 against 48 GFLOP/s with
         * the spare floats).
         */
        MemorySegment core(int floats) {
            long bytes = ((long) floats + PANEL_WIDTH) * Float.BYTES;
            if (core.byteSize() < bytes) {
                core = Arena.ofAuto().allocate(Math.max(bytes, 2 * core.byteSize()), 64);
            }
            return core;
        }
    }
}
