package dev.tensorloom.runtime.kernel.cuda;

import static dev.tensorloom.bindings.NativeException.check;

import dev.tensorloom.bindings.DeviceStream;
import dev.tensorloom.bindings.NativeDevice;
import dev.tensorloom.bindings.NativeLibraryLoader;
import dev.tensorloom.bindings.TensorloomLibrary;
import dev.tensorloom.runtime.kernel.Kernels;
import dev.tensorloom.runtime.kernel.PreparedMatrix;
import dev.tensorloom.runtime.kernel.Shapes;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The kernels of kernels-cuda (through {@link TensorloomLibrary}) on device tensors: every operand must
 * live in this backend's device memory ({@link #allocate}, {@link #toDevice}), and only {@link #toDevice}
 * and {@link #toHost} move data across. Work is queued on one stream, so calls from many threads are
 * ordered and results are ready when {@link #toHost} returns.
 *
 * <p>The same class runs on a GPU (the cuda library) and, for tests without one, on the CPU emulation of
 * the same kernel sources ({@code -Dtensorloom.native.library=emu}), which is correct but very slow.
 *
 * <p>There is one instance per loaded library (device 0), like a thread pool: it lives as long as the
 * process, and tensors of one instance are never used on another's stream. Device memory comes from a
 * {@link DeviceBufferPool}: an Arena's close gives its tensors' buffers back for the next call.
 */
public final class CudaKernels implements Kernels {

    private static final Map<TensorloomLibrary, CudaKernels> OPEN = new HashMap<>();

    /** Idle device memory kept for the next forward pass at most. */
    private static final long MAX_IDLE_BYTES = 512L << 20;

    private final NativeDevice device;
    private final TensorloomLibrary tl;
    private final DeviceStream stream;
    private final DeviceBufferPool pool;

    private CudaKernels(NativeDevice device) {
        this.device = device;
        this.tl = device.library();
        this.stream = device.createStream();
        this.pool = new DeviceBufferPool(device, MAX_IDLE_BYTES);
    }

    private static synchronized CudaKernels on(TensorloomLibrary library) {
        return OPEN.computeIfAbsent(library, l -> new CudaKernels(NativeDevice.open(l)));
    }

    /**
     * The backend on device 0 of the configured native library; throws an IllegalStateException that says
     * why when there is none (no library, no driver, no device).
     */
    public static CudaKernels open() {
        try {
            return on(NativeLibraryLoader.load());
        } catch (RuntimeException e) {
            throw new IllegalStateException("backend 'cuda' is not available: " + e.getMessage()
                    + " (use -Dtensorloom.backend=vector or scalar)", e);
        }
    }

    /** The backend on a real GPU, or empty when the GPU build, its driver or a device is missing. */
    public static Optional<CudaKernels> openOnGpu() {
        return NativeLibraryLoader.probe("cuda").map(CudaKernels::on);
    }

    public NativeDevice device() {
        return device;
    }

    /**
     * Frees the device memory this backend keeps for reuse (buffers whose arenas have closed); memory in
     * use by live tensors stays.
     */
    public void releaseCachedMemory() {
        pool.trim();
    }

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public Tensor allocate(Arena arena, long... shape) {
        Tensor t = uninitialized(arena, shape);
        CudaMemory memory = (CudaMemory) t.deviceMemory();
        check(tl, tl.tl_memset(stream.handle(), memory.buffer().handle(), 0, 0, memory.byteSize()), "tl_memset");
        return t;
    }

    /** A device tensor whose contents are whatever the memory held (a copy is about to overwrite it). */
    private Tensor uninitialized(Arena arena, long... shape) {
        long elements = 1;
        for (long d : shape) {
            elements = Math.multiplyExact(elements, d);
        }
        // A buffer is never empty, so an empty tensor still gets one element's worth.
        long bytes = Math.max(1, elements) * Tensor.FLOAT_BYTES;
        return Tensor.onDevice(new CudaMemory(pool.take(bytes, arena), this), shape);
    }

    @Override
    public Tensor toDevice(Tensor host, Arena arena) {
        if (host.isOnDevice()) {
            memory(host, "tensor");
            return host;
        }
        Tensor resident = uninitialized(arena, host.shape());
        long bytes = host.size() * Tensor.FLOAT_BYTES;
        if (bytes == 0) {
            return resident;
        }
        CudaMemory memory = memory(resident, "copy");
        if (host.isContiguous()) {
            memory.buffer().copyFrom(host.segment(), host.offset() * Tensor.FLOAT_BYTES, 0, bytes, stream);
        } else {
            try (Arena staging = Arena.ofConfined()) {
                Tensor packed = Tensor.of(staging, host.toArray(), host.shape());
                memory.buffer().copyFrom(packed.segment(), 0, 0, bytes, stream);
            }
        }
        return resident;
    }

    @Override
    public Tensor toHost(Tensor t, Arena arena) {
        if (!t.isOnDevice()) {
            return t;
        }
        CudaMemory memory = memory(t, "tensor");
        Tensor host = Tensor.allocate(arena, t.shape());
        if (t.size() == 0) {
            return host;
        }
        if (t.isContiguous()) {
            memory.buffer().copyTo(host.segment(), 0, t.offset() * Tensor.FLOAT_BYTES,
                    t.size() * Tensor.FLOAT_BYTES, stream);
        } else if (t.rank() == 2 && t.stride(1) == 1) {
            // One copy of the rows' whole span (one wait for the stream), then the rows picked out on the host.
            long span = (long) (t.rows() - 1) * t.leadingDim() + t.cols();
            try (Arena staging = Arena.ofConfined()) {
                Tensor rows = Tensor.allocate(staging, t.rows(), t.leadingDim());
                memory.buffer().copyTo(rows.segment(), 0, t.offset() * Tensor.FLOAT_BYTES,
                        span * Tensor.FLOAT_BYTES, stream);
                host.copyFrom(rows.slice(1, 0, t.cols()));
            }
        } else {
            throw new IllegalArgumentException("cannot copy " + t + " to the host: only contiguous tensors and "
                    + "row-strided matrices can be");
        }
        return host;
    }

    /**
     * b itself when it is already on this device; a host b is uploaded once, into memory that lives as long
     * as the returned matrix (it holds the automatic arena that frees the upload once both are unreachable).
     */
    @Override
    public PreparedMatrix prepare(Tensor b) {
        Shapes.requireMatrix(b, "b");
        if (b.isOnDevice()) {
            memory(b, "b");
            return () -> b;
        }
        Arena lifetime = Arena.ofAuto();
        return new Uploaded(toDevice(b, lifetime), lifetime);
    }

    /** A host matrix's device copy and the arena that owns it, kept reachable together. */
    private record Uploaded(Tensor source, Arena lifetime) implements PreparedMatrix {
    }

    @Override
    public void matmul(Tensor a, Tensor b, Tensor c) {
        Shapes.matmul(a, b, c);
        check(tl, tl.tl_gemm(stream.handle(), a.rows(), b.cols(), a.cols(),
                handle(a, "a"), a.offset(), a.leadingDim(),
                handle(b, "b"), b.offset(), b.leadingDim(),
                handle(c, "c"), c.offset(), c.leadingDim()), "tl_gemm");
    }

    @Override
    public void matmulTransposedB(Tensor a, Tensor b, Tensor c) {
        Shapes.matmulTransposedB(a, b, c);
        check(tl, tl.tl_gemm_transposed_b(stream.handle(), a.rows(), b.rows(), a.cols(),
                handle(a, "a"), a.offset(), a.leadingDim(),
                handle(b, "b"), b.offset(), b.leadingDim(),
                handle(c, "c"), c.offset(), c.leadingDim()), "tl_gemm_transposed_b");
    }

    @Override
    public void gemv(Tensor a, Tensor x, Tensor y) {
        Shapes.gemv(a, x, y);
        check(tl, tl.tl_gemv(stream.handle(), a.rows(), a.cols(), handle(a, "a"), a.offset(), a.leadingDim(),
                handle(x, "x"), x.offset(), handle(y, "y"), y.offset()), "tl_gemv");
    }

    @Override
    public void addBias(Tensor x, Tensor bias) {
        Shapes.rowVector(x, bias, "bias");
        check(tl, tl.tl_add_bias(stream.handle(), x.rows(), x.cols(), handle(x, "x"), x.offset(), x.leadingDim(),
                handle(bias, "bias"), bias.offset()), "tl_add_bias");
    }

    @Override
    public void add(Tensor x, Tensor y) {
        Shapes.sameShape(x, y);
        check(tl, tl.tl_add(stream.handle(), x.rows(), x.cols(), handle(x, "x"), x.offset(), x.leadingDim(),
                handle(y, "y"), y.offset(), y.leadingDim()), "tl_add");
    }

    @Override
    public void layerNorm(Tensor x, Tensor gamma, Tensor beta, float epsilon) {
        Shapes.rowVector(x, gamma, "gamma");
        Shapes.rowVector(x, beta, "beta");
        check(tl, tl.tl_layer_norm(stream.handle(), x.rows(), x.cols(), handle(x, "x"), x.offset(), x.leadingDim(),
                handle(gamma, "gamma"), gamma.offset(), handle(beta, "beta"), beta.offset(), epsilon),
                "tl_layer_norm");
    }

    @Override
    public void gelu(Tensor x) {
        check(tl, tl.tl_gelu(stream.handle(), x.rows(), x.cols(), handle(x, "x"), x.offset(), x.leadingDim()),
                "tl_gelu");
    }

    @Override
    public void softmaxRows(Tensor x) {
        check(tl, tl.tl_softmax_rows(stream.handle(), x.rows(), x.cols(), handle(x, "x"), x.offset(),
                x.leadingDim()), "tl_softmax_rows");
    }

    @Override
    public void attention(Tensor q, Tensor k, Tensor v, Tensor keyMask, int heads, Tensor out) {
        int seq = Shapes.attention(q, k, v, keyMask, heads, out);
        requireContiguous(keyMask, "key mask");
        check(tl, tl.tl_attention(stream.handle(), keyMask.rows(), seq, heads, q.cols() / heads,
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
            check(tl, tl.tl_gather_rows(stream.handle(), ids.length, table.cols(),
                    handle(table, "table"), table.offset(), table.leadingDim(), table.rows(), hostIds,
                    handle(out, "out"), out.offset(), out.leadingDim()), "tl_gather_rows");
        }
    }

    @Override
    public void meanPool(Tensor x, Tensor mask, Tensor out) {
        int seq = Shapes.meanPool(x, mask, out);
        requireContiguous(mask, "mask");
        check(tl, tl.tl_mean_pool(stream.handle(), mask.rows(), seq, x.cols(),
                handle(x, "x"), x.offset(), x.leadingDim(), handle(mask, "mask"), mask.offset(),
                handle(out, "out"), out.offset(), out.leadingDim()), "tl_mean_pool");
    }

    @Override
    public void l2NormalizeRows(Tensor x) {
        check(tl, tl.tl_l2_normalize_rows(stream.handle(), x.rows(), x.cols(), handle(x, "x"), x.offset(),
                x.leadingDim()), "tl_l2_normalize_rows");
    }

    private MemorySegment handle(Tensor t, String role) {
        return memory(t, role).buffer().handle();
    }

    private CudaMemory memory(Tensor t, String role) {
        if (!t.isOnDevice()) {
            throw new IllegalArgumentException(role + " " + t + " lives in host memory, but the cuda backend "
                    + "computes on device tensors: make it with allocate or toDevice");
        }
        if (!(t.deviceMemory() instanceof CudaMemory memory) || memory.owner() != this) {
            throw new IllegalArgumentException(role + " " + t + " belongs to another backend or device than "
                    + device.label());
        }
        return memory;
    }

    private static void requireContiguous(Tensor t, String role) {
        if (!t.isContiguous()) {
            throw new IllegalArgumentException(role + " " + t + " must be contiguous");
        }
    }
}
