package dev.tensorloom.mpo.cuda;

import static dev.tensorloom.bindings.NativeException.check;

import dev.tensorloom.bindings.TensorloomLibrary;
import dev.tensorloom.bindings.TensorloomMpo;
import dev.tensorloom.mpo.Mpo;
import dev.tensorloom.mpo.MpoArguments;
import dev.tensorloom.mpo.MpoKernels;
import dev.tensorloom.mpo.MpoShape;
import dev.tensorloom.mpo.MpoSweep;
import dev.tensorloom.runtime.kernel.PreparedMatrix;
import dev.tensorloom.runtime.kernel.cuda.CudaBackend;
import dev.tensorloom.runtime.kernel.cuda.CudaDevice;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The MPO kernels of the {@link CudaBackend}: kernels-cuda's tensorloom_mpo.h (through {@link TensorloomMpo})
 * on device tensors, queued on the device's one stream. To dense is the chain of GEMMs of the backend's own
 * kernels, then {@code tl_mpo_deinterleave}. The direct product is one {@code tl_mpo_step} per core in the order of
 * {@link MpoSweep#cheapestOrder}, each core read as its step's matrix (permuted by {@code tl_mpo_core_matrix} where
 * the order needs it: per call in {@link #multiply}, once in {@link #prepareDirect}), with the intermediate states
 * in pooled device buffers that go back to the pool when the call returns (safe: every later use of them is
 * queued on the same stream).
 */
public final class CudaMpoKernels implements MpoKernels {

    private final CudaBackend backend;
    private final CudaDevice device;
    private final TensorloomLibrary core;
    private final TensorloomMpo tl;

    public CudaMpoKernels(CudaBackend backend) {
        this.backend = backend;
        this.device = backend.device();
        this.core = device.library();
        this.tl = TensorloomMpo.of(core);
    }

    @Override
    public void contractToDense(Mpo mpo, Tensor w) {
        MpoArguments.contractToDense(mpo, w);
        MpoShape shape = mpo.shape();
        int[] d = mpo.bonds();
        try (Arena arena = Arena.ofShared()) {
            Tensor left = mpo.core(0).reshape(shape.rowFactor(0) * shape.colFactor(0), d[1]);
            for (int k = 1; k < shape.cores(); k++) {
                int width = shape.rowFactor(k) * shape.colFactor(k) * d[k + 1];
                Tensor next = backend.allocate(arena, left.rows(), width);
                backend.kernels().matmul(left, mpo.core(k).reshape(d[k], width), next);
                left = next.reshape((long) left.rows() * shape.rowFactor(k) * shape.colFactor(k), d[k + 1]);
            }
            MemorySegment rows = arena.allocateFrom(ValueLayout.JAVA_INT, shape.rowFactors());
            MemorySegment cols = arena.allocateFrom(ValueLayout.JAVA_INT, shape.colFactors());
            check(core, tl.tl_mpo_deinterleave(stream(), shape.cores(), rows, cols,
                    device.handle(left, "interleaved"), left.offset(),
                    device.handle(w, "w"), w.offset(), w.leadingDim()), "tl_mpo_deinterleave");
        }
    }

    @Override
    public void multiply(Mpo mpo, Tensor x, Tensor y) {
        MpoArguments.multiply(mpo, x, y);
        int[] order = MpoSweep.cheapestOrder(mpo.shape(), mpo.bonds());
        try (Arena arena = Arena.ofShared()) {
            sweep(mpo, order, coreMatrices(mpo, order, arena), x, y);
        }
    }

    /** The order chosen and the cores read permuted into their steps' matrices once, for every later call. */
    @Override
    public PreparedMatrix prepareDirect(Mpo mpo) {
        int[] order = MpoSweep.cheapestOrder(mpo.shape(), mpo.bonds());
        Arena lifetime = Arena.ofAuto();
        List<Tensor> matrices = coreMatrices(mpo, order, lifetime);
        long copied = 0;
        for (int t = 0; t < order.length; t++) {
            copied += matrices.get(t) == mpo.core(order[t]) ? 0 : matrices.get(t).size() * Tensor.FLOAT_BYTES;
        }
        long bytes = mpo.bytes() + copied;
        return new PreparedMatrix() {
            // Keeps the permuted copies' device memory alive as long as this form is reachable.
            private final Arena owner = lifetime;

            @Override
            public int rows() {
                return mpo.rows();
            }

            @Override
            public int cols() {
                return mpo.cols();
            }

            @Override
            public void multiply(Tensor a, Tensor c) {
                MpoArguments.multiply(mpo, a, c);
                sweep(mpo, order, matrices, a, c);
            }

            @Override
            public long bytes() {
                return bytes;
            }

            @Override
            public String toString() {
                return "cuda direct MPO product, order " + Arrays.toString(order) + " (" + owner + ")";
            }
        };
    }

    /**
     * Each step's core as the matrix [r, s] it reads, in the order of the steps: the core itself where it is
     * stored that way (every core, left to right), else a copy permuted by {@code tl_mpo_core_matrix} into
     * {@code arena}.
     */
    private List<Tensor> coreMatrices(Mpo mpo, int[] order, Arena arena) {
        List<Tensor> matrices = new ArrayList<>(order.length);
        for (MpoSweep.Step step : MpoSweep.of(mpo.shape(), mpo.bonds(), 1, order)) {
            Tensor stored = mpo.core(step.core());
            if (step.coreAsStored()) {
                matrices.add(stored);
                continue;
            }
            Tensor matrix = backend.allocate(arena, step.r(), step.s());
            check(core, tl.tl_mpo_core_matrix(stream(), step.leftBond(), step.rowFactor(), step.colFactor(),
                    step.rightBond(), step.leftIn() ? 1 : 0, step.rightIn() ? 1 : 0,
                    device.handle(stored, "core"), stored.offset(),
                    device.handle(matrix, "matrix"), matrix.offset()), "tl_mpo_core_matrix");
            matrices.add(matrix);
        }
        return matrices;
    }

    /** y = x·W, one {@code tl_mpo_step} per core in {@code order}, reading step t's core from matrices[t]. */
    private void sweep(Mpo mpo, int[] order, List<Tensor> matrices, Tensor x, Tensor y) {
        int m = x.rows();
        if (m == 0) {
            return;
        }
        List<MpoSweep.Step> steps = MpoSweep.of(mpo.shape(), mpo.bonds(), m, order);
        try (Arena arena = Arena.ofShared()) {
            Tensor in = x;
            for (int t = 0; t < steps.size(); t++) {
                MpoSweep.Step step = steps.get(t);
                int blocksPerRow = step.blocks() / m;
                Tensor out = t == steps.size() - 1 ? y
                        : backend.allocate(arena, m, (long) blocksPerRow * step.s() * step.q());
                Tensor c = matrices.get(t);
                check(core, tl.tl_mpo_step(stream(), m, blocksPerRow, step.r(), step.s(), step.q(),
                        device.handle(c, "core"), c.offset(),
                        device.handle(in, "in"), in.offset(), in.leadingDim(),
                        device.handle(out, "out"), out.offset(), out.leadingDim()), "tl_mpo_step");
                in = out;
            }
        }
    }

    private MemorySegment stream() {
        return device.stream().handle();
    }
}
