package dev.tensorloom.bindings;

import static dev.tensorloom.bindings.NativeException.check;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A {@code tl_buffer}: device memory, freed by {@link #close()} (or by its arena, see
 * {@link NativeDevice#allocate(long, Arena)}). After close every method but close throws
 * IllegalStateException before reaching native code, so a freed handle is never passed on by mistake.
 */
public final class DeviceBuffer implements AutoCloseable {
    private final TensorloomLibrary library;
    private final long byteSize;
    private final AtomicReference<MemorySegment> handle;

    DeviceBuffer(TensorloomLibrary library, MemorySegment handle, long byteSize) {
        this.library = library;
        this.handle = new AtomicReference<>(handle);
        this.byteSize = byteSize;
    }

    /** The {@code tl_buffer} to pass to {@link TensorloomLibrary} calls. */
    public MemorySegment handle() {
        MemorySegment h = handle.get();
        if (h == null) {
            throw new IllegalStateException("this DeviceBuffer (" + byteSize + " bytes) is closed; its device"
                    + " memory has been freed");
        }
        return h;
    }

    public long byteSize() {
        return byteSize;
    }

    public boolean isClosed() {
        return handle.get() == null;
    }

    /** The raw device address, for other CUDA libraries (cuBLAS); in the emulation a host address. */
    public MemorySegment devicePointer() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pointer = arena.allocate(ValueLayout.ADDRESS);
            check(library, library.tl_buffer_device_pointer(handle(), pointer), "tl_buffer_device_pointer");
            return pointer.get(ValueLayout.ADDRESS, 0);
        }
    }

    /**
     * host → device: {@code bytes} from {@code host} at {@code hostOffset} into this buffer at
     * {@code deviceOffset}. Returns when the host memory may be reused. {@code host} must be off-heap.
     */
    public void copyFrom(MemorySegment host, long hostOffset, long deviceOffset, long bytes, DeviceStream stream) {
        MemorySegment source = hostRange(host, hostOffset, bytes);
        check(library, library.tl_copy_to_device(stream.handle(), handle(), deviceOffset, source, bytes),
                "tl_copy_to_device");
    }

    /** device → host: {@code bytes} of this buffer from {@code deviceOffset} into {@code host} at {@code hostOffset}. */
    public void copyTo(MemorySegment host, long hostOffset, long deviceOffset, long bytes, DeviceStream stream) {
        MemorySegment dest = hostRange(host, hostOffset, bytes);
        check(library, library.tl_copy_to_host(stream.handle(), dest, handle(), deviceOffset, bytes),
                "tl_copy_to_host");
    }

    // The native side checks the device range; the host range only Java can check.
    private static MemorySegment hostRange(MemorySegment host, long offset, long bytes) {
        if (!host.isNative()) {
            throw new IllegalArgumentException("host memory for a device copy must be off-heap (a native"
                    + " MemorySegment); got a heap segment");
        }
        return host.asSlice(offset, bytes);
    }

    /**
     * Frees the device memory; later calls do nothing. Work queued on any stream that uses the buffer must
     * have finished ({@link DeviceStream#synchronize()}).
     */
    @Override
    public void close() {
        MemorySegment h = handle.getAndSet(null);
        if (h != null) {
            check(library, library.tl_free(h), "tl_free");
        }
    }

    @Override
    public String toString() {
        return "DeviceBuffer[" + byteSize + " bytes" + (isClosed() ? ", closed]" : "]");
    }
}
