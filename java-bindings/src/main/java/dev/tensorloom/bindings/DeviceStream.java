package dev.tensorloom.bindings;

import static dev.tensorloom.bindings.NativeException.check;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicReference;

/** A {@code tl_stream}: an ordered queue of device work. {@link #close()} waits for the work, then destroys it. */
public final class DeviceStream implements AutoCloseable {
    private final TensorloomLibrary library;
    private final AtomicReference<MemorySegment> handle;

    DeviceStream(TensorloomLibrary library, MemorySegment handle) {
        this.library = library;
        this.handle = new AtomicReference<>(handle);
    }

    /** The {@code tl_stream} to pass to {@link TensorloomLibrary} calls. */
    public MemorySegment handle() {
        MemorySegment h = handle.get();
        if (h == null) {
            throw new IllegalStateException("this DeviceStream is closed");
        }
        return h;
    }

    /** Waits for all queued work; a kernel that failed while running surfaces here as LAUNCH_FAILED. */
    public void synchronize() {
        check(library, library.tl_stream_synchronize(handle()), "tl_stream_synchronize");
    }

    /** The underlying cudaStream_t, for cublasSetStream; NULL in the emulation. */
    public MemorySegment cudaStream() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pointer = arena.allocate(ValueLayout.ADDRESS);
            check(library, library.tl_stream_native(handle(), pointer), "tl_stream_native");
            return pointer.get(ValueLayout.ADDRESS, 0);
        }
    }

    public boolean isClosed() {
        return handle.get() == null;
    }

    /** Waits for the stream's work and destroys it; later calls do nothing. */
    @Override
    public void close() {
        MemorySegment h = handle.getAndSet(null);
        if (h != null) {
            check(library, library.tl_stream_destroy(h), "tl_stream_destroy");
        }
    }
}
