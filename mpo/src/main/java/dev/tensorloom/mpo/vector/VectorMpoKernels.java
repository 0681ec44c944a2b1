package dev.tensorloom.mpo.vector;

import static dev.tensorloom.runtime.kernel.vector.Simd.L;
import static dev.tensorloom.runtime.kernel.vector.Simd.NATIVE;
import static dev.tensorloom.runtime.kernel.vector.Simd.S;

import dev.tensorloom.mpo.Mpo;
import dev.tensorloom.mpo.MpoArguments;
import dev.tensorloom.mpo.MpoCost;
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
import java.util.ArrayList;
import java.util.List;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

/**
 * MPO contraction in SIMD vectors on the backend's threads.
 *
 * <p>To dense: the chain L_k = L_{k-1}·core_k is a GEMM per core, so it runs on the backend's own packed GEMM,
 * then one permutation copy takes W out of the interleaved order. Direct: each core is one batched product
 * state[P, d·i, Q] → [P, j·d', Q]; when Q (the row digits not yet reached) spans a vector, lanes run along Q and
 * four outputs share each load of the state; near the end of the sweep Q is short, and lanes run along the
 * core's row instead. Work is cut along P, or along the outputs when P is too small to feed every thread.
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
        int m = x.rows();
        List<MpoSweep.Step> steps = MpoSweep.of(mpo, m);
        List<Tensor> operands = new ArrayList<>(List.of(x, y));
        operands.addAll(List.of(mpo.cores()));
        Tasks tasks = Tasks.forMultiplyAdds(parallelism, MpoCost.directMultiplyAdds(mpo.shape(), mpo.bonds(), m),
                operands.toArray(Tensor[]::new));

        int rowsOfW = mpo.rows();
        float[] state = new float[m * rowsOfW];
        MemorySegment xs = x.segment();
        for (int b = 0; b < m; b++) {
            MemorySegment.copy(xs, F, Rows.byteOffset(x, b), state, b * rowsOfW, rowsOfW);
        }
        for (MpoSweep.Step step : steps) {
            float[] next = new float[step.outputSize()];
            Tensor core = mpo.core(step.core());
            step(core.segment(), Rows.start(core), step.r(), step.s(), state, next, step.blocks(), step.q(), tasks);
            state = next;
        }
        int colsOfW = mpo.cols();
        MemorySegment ys = y.segment();
        for (int b = 0; b < m; b++) {
            MemorySegment.copy(state, b * colsOfW, ys, F, Rows.byteOffset(y, b), colsOfW);
        }
    }

    /** out[p][s][q] = Σ_r core[r][s]·in[p][r][q] for every p < pCount, core [r, s] at byte core0 of its segment. */
    private static void step(MemorySegment core, long core0, int r, int s, float[] in, float[] out, int pCount, int q,
            Tasks tasks) {
        int threads = tasks.threads();
        if (pCount >= 4 * threads) {
            int chunks = Math.min(pCount, 4 * threads);
            int perChunk = Math.ceilDiv(pCount, chunks);
            tasks.forEach(Math.ceilDiv(pCount, perChunk), chunk -> {
                int end = Math.min(pCount, (chunk + 1) * perChunk);
                for (int p = chunk * perChunk; p < end; p++) {
                    block(core, core0, r, s, in, out, p, q, 0, s);
                }
            });
        } else {
            int parts = Math.min(Math.ceilDiv(4 * threads, pCount), Math.ceilDiv(s, 4));
            int perPart = Math.ceilDiv(s, parts);
            tasks.forEach(pCount * parts, unit -> {
                int p = unit / parts;
                int from = (unit % parts) * perPart;
                block(core, core0, r, s, in, out, p, q, from, Math.min(s, from + perPart));
            });
        }
    }

    /** Outputs [from, to) of block p. */
    private static void block(MemorySegment core, long core0, int r, int s, float[] in, float[] out, int p, int q,
            int from, int to) {
        int in0 = p * r * q;
        int out0 = p * s * q;
        if (q >= L) {
            alongQ(core, core0, r, s, in, in0, out, out0, q, from, to);
        } else {
            alongS(core, core0, r, s, in, in0, out, out0, q, from, to);
        }
    }

    /** Lanes along q, four outputs at a time sharing each load of the state. */
    private static void alongQ(MemorySegment core, long core0, int r, int s, float[] in, int in0, float[] out,
            int out0, int q, int from, int to) {
        int o = from;
        for (; o + 4 <= to; o += 4) {
            for (int t = 0; t < q; t += L) {
                VectorMask<Float> mask = S.indexInRange(t, q);
                FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
                for (int i = 0; i < r; i++) {
                    FloatVector v = FloatVector.fromArray(S, in, in0 + i * q + t, mask);
                    long c = core0 + ((long) i * s + o) * Float.BYTES;
                    a0 = v.fma(FloatVector.broadcast(S, core.get(F, c)), a0);
                    a1 = v.fma(FloatVector.broadcast(S, core.get(F, c + Float.BYTES)), a1);
                    a2 = v.fma(FloatVector.broadcast(S, core.get(F, c + 2 * Float.BYTES)), a2);
                    a3 = v.fma(FloatVector.broadcast(S, core.get(F, c + 3 * Float.BYTES)), a3);
                }
                a0.intoArray(out, out0 + o * q + t, mask);
                a1.intoArray(out, out0 + (o + 1) * q + t, mask);
                a2.intoArray(out, out0 + (o + 2) * q + t, mask);
                a3.intoArray(out, out0 + (o + 3) * q + t, mask);
            }
        }
        for (; o < to; o++) {
            for (int t = 0; t < q; t += L) {
                VectorMask<Float> mask = S.indexInRange(t, q);
                FloatVector a = FloatVector.zero(S);
                for (int i = 0; i < r; i++) {
                    a = FloatVector.fromArray(S, in, in0 + i * q + t, mask)
                            .fma(FloatVector.broadcast(S, core.get(F, core0 + ((long) i * s + o) * Float.BYTES)), a);
                }
                a.intoArray(out, out0 + o * q + t, mask);
            }
        }
    }

    /** Lanes along the core's row (q shorter than a vector): out[o][t] for L outputs o at once. */
    private static void alongS(MemorySegment core, long core0, int r, int s, float[] in, int in0, float[] out,
            int out0, int q, int from, int to) {
        float[] lanes = q == 1 ? null : new float[L];
        for (int t = 0; t < q; t++) {
            for (int o = from; o < to; o += L) {
                VectorMask<Float> mask = S.indexInRange(o, to);
                FloatVector a = FloatVector.zero(S);
                for (int i = 0; i < r; i++) {
                    FloatVector c = FloatVector.fromMemorySegment(S, core, core0 + ((long) i * s + o) * Float.BYTES,
                            NATIVE, mask);
                    a = c.fma(FloatVector.broadcast(S, in[in0 + i * q + t]), a);
                }
                if (q == 1) {
                    a.intoArray(out, out0 + o, mask);
                } else {
                    a.intoArray(lanes, 0);
                    for (int l = 0, end = Math.min(L, to - o); l < end; l++) {
                        out[out0 + (o + l) * q + t] = lanes[l];
                    }
                }
            }
        }
    }
}
