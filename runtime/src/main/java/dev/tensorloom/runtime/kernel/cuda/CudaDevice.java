package dev.tensorloom.runtime.kernel.cuda;

import static dev.tensorloom.bindings.NativeException.check;

import dev.tensorloom.bindings.DeviceBuffer;
import dev.tensorloom.bindings.DeviceStream;
import dev.tensorloom.bindings.NativeDevice;
import dev.tensorloom.bindings.NativeLibraryLoader;
import dev.tensorloom.bindings.TensorloomLibrary;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The device context every kernel family of the cuda backend shares: the device, the one stream all work is
 * queued on (so calls from many threads, and the kernels of different families, run in the order they were
 * made), the pool its device memory comes from, and the moves between host and device, of fp32 tensors and
 * of raw bytes (packed low-bit weights are not fp32 tensors).
 *
 * <p>There is one instance per loaded native library (device 0), like a thread pool: it lives as long as the
 * process, and memory of one instance is never used on another's stream. Device memory comes from a
 * {@link DeviceBufferPool}: an Arena's close gives its buffers back for the next call.
 *
 * <p>The same class runs on a GPU (the cuda library) and, for tests without one, on the CPU emulation of the
 * same kernel sources ({@code -Dtensorloom.native.library=emu}), which is correct but very slow.
 */
public final class CudaDevice {

    private static final Map<TensorloomLibrary, CudaDevice> OPEN = new HashMap<>();

    /** Idle device memory kept for the next forward pass at most. */
    private static final long MAX_IDLE_BYTES = 512L << 20;

    private final NativeDevice device;
    private final TensorloomLibrary tl;
    private final DeviceStream stream;
    private final DeviceBufferPool pool;

    private CudaDevice(NativeDevice device) {
        this.device = device;
        this.tl = device.library();
        this.stream = device.createStream();
        this.pool = new DeviceBufferPool(device, MAX_IDLE_BYTES);
    }

    private static synchronized CudaDevice on(TensorloomLibrary library) {
        return OPEN.computeIfAbsent(library, l -> new CudaDevice(NativeDevice.open(l)));
    }

    /**
     * Device 0 of the configured native library; throws an IllegalStateException that says why when there is
     * none (no library, no driver, no device).
     */
    public static CudaDevice open() {
        try {
            return on(NativeLibraryLoader.load());
        } catch (RuntimeException e) {
            throw new IllegalStateException("backend 'cuda' is not available: " + e.getMessage()
                    + " (use -Dtensorloom.backend=vector or scalar)", e);
        }
    }

    /** Device 0 of the GPU build, or empty when the GPU build, its driver or a device is missing. */
    public static Optional<CudaDevice> openOnGpu() {
        return NativeLibraryLoader.probe("cuda").map(CudaDevice::on);
    }

    /** The device as the bindings see it. */
    public NativeDevice nativeDevice() {
        return device;
    }

    /** The loaded native library whose kernels run here; a family's binding class binds the same library. */
    public TensorloomLibrary library() {
        return tl;
    }

    /** The one stream every family queues its work on. */
    public DeviceStream stream() {
        return stream;
    }

    /** "cuda:0 (NVIDIA H100 80GB HBM3)", say. */
    public String label() {
        return device.label();
    }

    /**
     * A device buffer of at least {@code bytes} from the pool, given back when {@code arena} closes. Its
     * contents are whatever the memory held.
     */
    public DeviceBuffer allocateBuffer(long bytes, Arena arena) {
        return pool.take(bytes, arena);
    }

    /**
     * {@code bytes} of native (off-heap) host memory copied into a buffer that is given back when {@code arena}
     * closes.
     */
    public DeviceBuffer upload(MemorySegment bytes, Arena arena) {
        if (!bytes.isNative()) {
            throw new IllegalArgumentException("upload needs native memory (allocate it in an Arena), not a heap "
                    + "segment of " + bytes.byteSize() + " bytes");
        }
        DeviceBuffer buffer = allocateBuffer(Math.max(1, bytes.byteSize()), arena);
        if (bytes.byteSize() > 0) {
            buffer.copyFrom(bytes, 0, 0, bytes.byteSize(), stream);
        }
        return buffer;
    }

    /** A zero-filled device tensor, given back to the pool when {@code arena} closes. */
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
        return Tensor.onDevice(new CudaMemory(allocateBuffer(bytes, arena), this), shape);
    }

    /** {@code host} copied to this device (contiguous), or the tensor itself when it already lives here. */
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

    /** {@code t} copied to the host after the work that computes it, or the tensor itself when it lives there. */
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
     * The buffer handle behind a device tensor of this device, for a kernel call; {@code role} names the operand
     * in the message when the tensor lives in host memory or on another device.
     */
    public MemorySegment handle(Tensor t, String role) {
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

    /**
     * Frees the device memory kept for reuse (buffers whose arenas have closed); memory in use by live tensors
     * stays.
     */
    public void releaseCachedMemory() {
        pool.trim();
    }

    @Override
    public String toString() {
        return "CudaDevice[" + device.label() + "]";
    }
}
