package dev.tensorloom.runtime.kernel.cuda;

import static dev.tensorloom.bindings.NativeException.check;

import dev.tensorloom.bindings.TensorloomLibrary;
import dev.tensorloom.runtime.kernel.Kernels;
import dev.tensorloom.runtime.kernel.PreparedMatrix;
import dev.tensorloom.runtime.kernel.Shapes;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The dense kernels of the {@link CudaBackend}: kernels-cuda's functions (through {@link TensorloomLibrary}) on
 * device tensors of one {@link CudaDevice}, queued on its stream.
 *
 * <p>The epilogues are one kernel apiece ({@link #addBiasGelu}: tl_add_bias_gelu; {@link
 * #addBiasResidualLayerNorm}: tl_add_bias_residual_layer_norm), which read and write x once where
 * {@link Kernels}' defaults would launch two and three kernels that each pass over x in device memory.
 */
final class CudaKernels implements Kernels {

    private final CudaDevice device;
    private final TensorloomLibrary tl;

    CudaKernels(CudaDevice device) {
        this.device = device;
        this.tl = device.library();
    }

    /**
     * b itself when it is already on this device; a host b is uploaded once, into memory that lives as long
     * as the returned matrix (it holds the automatic arena that frees the upload once both are unreachable).
     */
    @Override
    public PreparedMatrix prepare(Tensor b) {
        Shapes.requireMatrix(b, "b");
        if (b.isOnDevice()) {
            device.handle(b, "b");
            return Kernels.super.prepare(b);
        }
        Arena lifetime = Arena.ofAuto();
        return new Uploaded(Kernels.super.prepare(device.toDevice(b, lifetime)), lifetime);
    }

    /** A host matrix's device copy and the arena that owns it, kept reachable together. */
    private record Uploaded(PreparedMatrix onDevice, Arena lifetime) implements PreparedMatrix {

        @Override
        public int rows() {
            return onDevice.rows();
        }

        @Override
        public int cols() {
            return onDevice.cols();
        }

        @Override
        public void multiply(Tensor a, Tensor c) {
            onDevice.multiply(a, c);
        }

        @Override
        public long bytes() {
            return onDevice.bytes();
        }

        @Override
        public boolean readsSource() {
            return false;
        }
    }

    @Override
    public void matmul(Tensor a, Tensor b, Tensor c) {
        Shapes.matmul(a, b, c);
        check(tl, tl.tl_gemm(stream(), a.rows(), b.cols(), a.cols(),
                handle(a, "a"), a.offset(), a.leadingDim(),
                handle(b, "b"), b.offset(), b.leadingDim(),
                handle(c, "c"), c.offset(), c.leadingDim()), "tl_gemm");
    }

    @Override
    public void matmulTransposedB(Tensor a, Tensor b, Tensor c) {
        Shapes.matmulTransposedB(a, b, c);
        check(tl, tl.tl_gemm_transposed_b(stream(), a.rows(), b.rows(), a.cols(),
                handle(a, "a"), a.offset(), a.leadingDim(),
                handle(b, "b"), b.offset(), b.leadingDim(),
                handle(c, "c"), c.offset(), c.leadingDim()), "tl_gemm_transposed_b");
    }

    @Override
    public void gemv(Tensor a, Tensor x, Tensor y) {
        Shapes.gemv(a, x, y);
        check(tl, tl.tl_gemv(stream(), a.rows(), a.cols(), handle(a, "a"), a.offset(), a.leadingDim(),
                handle(x, "x"), x.offset(), handle(y, "y"), y.offset()), "tl_gemv");
    }

    @Override
    public void addBias(Tensor x, Tensor bias) {
        Shapes.rowVector(x, bias, "bias");
        check(tl, tl.tl_add_bias(stream(), x.rows(), x.cols(), handle(x, "x"), x.offset(), x.leadingDim(),
                handle(bias, "bias"), bias.offset()), "tl_add_bias");
    }

    @Override
    public void add(Tensor x, Tensor y) {
        Shapes.sameShape(x, y);
        check(tl, tl.tl_add(stream(), x.rows(), x.cols(), handle(x, "x"), x.offset(), x.leadingDim(),
                handle(y, "y"), y.offset(), y.leadingDim()), "tl_add");
    }

    @Override
    public void layerNorm(Tensor x, Tensor gamma, Tensor beta, float epsilon) {
        Shapes.rowVector(x, gamma, "gamma");
        Shapes.rowVector(x, beta, "beta");
        check(tl, tl.tl_layer_norm(stream(), x.rows(), x.cols(), handle(x, "x"), x.offset(), x.leadingDim(),
                handle(gamma, "gamma"), gamma.offset(), handle(beta, "beta"), beta.offset(), epsilon),
                "tl_layer_norm");
    }

    @Override
    public void gelu(Tensor x) {
        check(tl, tl.tl_gelu(stream(), x.rows(), x.cols(), handle(x, "x"), x.offset(), x.leadingDim()),
                "tl_gelu");
    }

    @Override
    public void addBiasGelu(Tensor x, Tensor bias) {
        Shapes.rowVector(x, bias, "bias");
        check(tl, tl.tl_add_bias_gelu(stream(), x.rows(), x.cols(), handle(x, "x"), x.offset(), x.leadingDim(),
                handle(bias, "bias"), bias.offset()), "tl_add_bias_gelu");
    }

    @Override
    public void addBiasResidualLayerNorm(Tensor x, Tensor bias, Tensor residual, Tensor gamma, Tensor beta,
            float epsilon) {
        Shapes.biasResidualLayerNorm(x, bias, residual, gamma, beta);
        check(tl, tl.tl_add_bias_residual_layer_norm(stream(), x.rows(), x.cols(),
                handle(x, "x"), x.offset(), x.leadingDim(),
                handle(bias, "bias"), bias.offset(),
                handle(residual, "residual"), residual.offset(), residual.leadingDim(),
                handle(gamma, "gamma"), gamma.offset(), handle(beta, "beta"), beta.offset(), epsilon),
                "tl_add_bias_residual_layer_norm");
    }

    @Override
    public void softmaxRows(Tensor x) {
        check(tl, tl.tl_softmax_rows(stream(), x.rows(), x.cols(), handle(x, "x"), x.offset(),
                x.leadingDim()), "tl_softmax_rows");
    }

    @Override
    public void attention(Tensor q, Tensor k, Tensor v, Tensor keyMask, int heads, Tensor out) {
        int seq = Shapes.attention(q, k, v, keyMask, heads, out);
        requireContiguous(keyMask, "key mask");
        check(tl, tl.tl_attention(stream(), keyMask.rows(), seq, heads, q.cols() / heads,
                handle(q, "q"), q.offset(), q.leadingDim(),
                handle(k, "k"), k.offset(), k.leadingDim(),
                handle(v, "v"), v.offset(), v.leadingDim(),
                handle(keyMask, "key mask"), keyMask.offset(),
                handle(out, "out"), out.offset(), out.leadingDim()), "tl_attention");
    }

    @Override
    public void gatherRows(Tensor table, int[] ids, Tensor out) {
        Shapes.gather(table, ids, out);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment hostIds = arena.allocateFrom(ValueLayout.JAVA_INT, ids);
            check(tl, tl.tl_gather_rows(stream(), ids.length, table.cols(),
                    handle(table, "table"), table.offset(), table.leadingDim(), table.rows(), hostIds,
                    handle(out, "out"), out.offset(), out.leadingDim()), "tl_gather_rows");
        }
    }

    @Override
    public void meanPool(Tensor x, Tensor mask, Tensor out) {
        int seq = Shapes.meanPool(x, mask, out);
        requireContiguous(mask, "mask");
        check(tl, tl.tl_mean_pool(stream(), mask.rows(), seq, x.cols(),
                handle(x, "x"), x.offset(), x.leadingDim(), handle(mask, "mask"), mask.offset(),
                handle(out, "out"), out.offset(), out.leadingDim()), "tl_mean_pool");
    }

    @Override
    public void l2NormalizeRows(Tensor x) {
        check(tl, tl.tl_l2_normalize_rows(stream(), x.rows(), x.cols(), handle(x, "x"), x.offset(),
                x.leadingDim()), "tl_l2_normalize_rows");
    }

    private MemorySegment handle(Tensor t, String role) {
        return device.handle(t, role);
    }

    private MemorySegment stream() {
        return device.stream().handle();
    }

    private static void requireContiguous(Tensor t, String role) {
        if (!t.isContiguous()) {
            throw new IllegalArgumentException(role + " " + t + " must be contiguous");
        }
    }
}
