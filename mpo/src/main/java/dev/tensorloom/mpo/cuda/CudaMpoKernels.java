package dev.tensorloom.mpo.cuda;

import static dev.tensorloom.bindings.NativeException.check;

import dev.tensorloom.bindings.TensorloomLibrary;
import dev.tensorloom.bindings.TensorloomMpo;
import dev.tensorloom.mpo.Mpo;
import dev.tensorloom.mpo.MpoArguments;
import dev.tensorloom.mpo.MpoKernels;
import dev.tensorloom.mpo.MpoShape;
import dev.tensorloom.mpo.MpoSweep;
import dev.tensorloom.runtime.kernel.cuda.CudaBackend;
import dev.tensorloom.runtime.kernel.cuda.CudaDevice;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * The MPO kernels of the {@link CudaBackend}: kernels-cuda's tensorloom_mpo.h (through {@link TensorloomMpo})
 * on device tensors, queued on the device's one stream. To dense is the chain of GEMMs of the backend's own
 * kernels, then {@code tl_mpo_deinterleave}; the direct product is one {@code tl_mpo_step} per core, left to right, with
 * the intermediate states in pooled device buffers that go back to the pool when the call returns (safe: every
 * later use of them is queued on the same stream).
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
        int m = x.rows();
        if (m == 0) {
            return;
        }
        // tl_mpo_step reads each core as stored, [d·i, j·d'], which is every step's matrix left to right only;
        // the cheaper orders of MpoSweep.cheapestOrder need cores permuted on the device, not done yet.
        List<MpoSweep.Step> steps = MpoSweep.of(mpo.shape(), mpo.bonds(), m, MpoSweep.leftToRight(mpo.shape().cores()));
        try (Arena arena = Arena.ofShared()) {
            Tensor in = x;
            for (MpoSweep.Step step : steps) {
                int blocksPerRow = step.blocks() / m;
                Tensor out = step.core() == steps.size() - 1 ? y
                        : backend.allocate(arena, m, (long) blocksPerRow * step.s() * step.q());
                Tensor c = mpo.core(step.core());
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
