package dev.tensorloom.bindings;

import static dev.tensorloom.bindings.NativeException.check;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * One device of a loaded tensorloom library: where buffers and streams come from. Kernel calls do not go
 * through here but straight to {@link TensorloomLibrary} with {@link NativeException#check}:
 * <pre>{@code
 * TensorloomLibrary tl = device.library();
 * check(tl, tl.tl_gemm(stream.handle(), m, n, k, a.handle(), 0, k, b.handle(), 0, n, c.handle(), 0, n), "tl_gemm");
 * }</pre>
 * Thread-safe. CUDA's current device is per thread: {@link #open(TensorloomLibrary, int)} makes it current
 * for the opening thread only, which is all that is needed while there is one device (ordinal 0, the
 * default of every thread).
 */
@SuppressWarnings("restricted") // native access is this module's job; --enable-native-access grants it
public final class NativeDevice {
    private final TensorloomLibrary library;
    private final int ordinal;
    private final String name;
    private final String variant;

    private NativeDevice(TensorloomLibrary library, int ordinal, String name, String variant) {
        this.library = library;
        this.ordinal = ordinal;
        this.name = name;
        this.variant = variant;
    }

    /** Device 0 of {@code library}. */
    public static NativeDevice open(TensorloomLibrary library) {
        return open(library, 0);
    }

    /**
     * Device {@code ordinal}; throws a {@link NativeException} with status NO_DEVICE (and the library's reason)
     * when the library sees no such device.
     */
    public static NativeDevice open(TensorloomLibrary library, int ordinal) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment count = arena.allocate(ValueLayout.JAVA_INT);
            check(library, library.tl_device_count(count), "tl_device_count");
            int devices = count.get(ValueLayout.JAVA_INT, 0);
            if (ordinal < 0 || ordinal >= devices) {
                throw new NativeException("tl_device_count", Status.NO_DEVICE, "device " + ordinal
                        + " was asked for, but the library sees " + devices + " device(s)");
            }
            check(library, library.tl_set_device(ordinal), "tl_set_device");
            long capacity = 256;
            MemorySegment name = arena.allocate(capacity);
            check(library, library.tl_device_name(ordinal, name, capacity), "tl_device_name");
            return new NativeDevice(library, ordinal, name.getString(0),
                    CString.read(library.tl_library_variant()));
        }
    }

    public TensorloomLibrary library() {
        return library;
    }

    public int ordinal() {
        return ordinal;
    }

    /** The device's name, e.g. "NVIDIA H100 80GB HBM3", or the emulation's own name. */
    public String name() {
        return name;
    }

    /** "cuda" or "emu". */
    public String variant() {
        return variant;
    }

    /** Bytes and buffers held by live buffers of this library, whoever allocated them. */
    public MemoryInUse memoryInUse() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment bytes = arena.allocate(ValueLayout.JAVA_LONG);
            MemorySegment buffers = arena.allocate(ValueLayout.JAVA_LONG);
            check(library, library.tl_memory_in_use(bytes, buffers), "tl_memory_in_use");
            return new MemoryInUse(bytes.get(ValueLayout.JAVA_LONG, 0), buffers.get(ValueLayout.JAVA_LONG, 0));
        }
    }

    /** {@code bytes} (&gt; 0) of device memory, 256-byte aligned, until {@link DeviceBuffer#close()}. */
    public DeviceBuffer allocate(long bytes) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment handle = arena.allocate(ValueLayout.ADDRESS);
            check(library, library.tl_malloc(bytes, handle), "tl_malloc");
            return new DeviceBuffer(library, handle.get(ValueLayout.ADDRESS, 0), bytes);
        }
    }

    /**
     * A buffer that lives as long as {@code arena}: closing the arena frees it, and an automatic arena frees
     * it once the arena itself is unreachable, which the buffer does not prevent: keep the arena reachable
     * as long as the buffer is used. It may still be closed earlier by hand. As with
     * {@link DeviceBuffer#close()}, work queued on it must have finished when the arena closes.
     */
    public DeviceBuffer allocate(long bytes, Arena arena) {
        DeviceBuffer buffer = allocate(bytes);
        try {
            // A zero-length segment whose only job is to run the cleanup when the arena closes.
            MemorySegment.NULL.reinterpret(arena, ignored -> buffer.close());
        } catch (RuntimeException e) { // the arena is already closed, or belongs to another thread
            buffer.close();
            throw e;
        }
        return buffer;
    }

    /** A new stream: work queued on it runs in order. */
    public DeviceStream createStream() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment handle = arena.allocate(ValueLayout.ADDRESS);
            check(library, library.tl_stream_create(handle), "tl_stream_create");
            return new DeviceStream(library, handle.get(ValueLayout.ADDRESS, 0));
        }
    }

    /** "cuda:0 (NVIDIA H100 80GB HBM3)", for messages. */
    public String label() {
        return variant + ":" + ordinal + " (" + name + ")";
    }

    @Override
    public String toString() {
        return "NativeDevice[" + ordinal + ": " + name + ", " + variant + "]";
    }
}
