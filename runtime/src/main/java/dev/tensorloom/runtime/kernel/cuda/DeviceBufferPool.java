package dev.tensorloom.runtime.kernel.cuda;

import dev.tensorloom.bindings.DeviceBuffer;
import dev.tensorloom.bindings.NativeDevice;
import dev.tensorloom.bindings.NativeException;
import dev.tensorloom.bindings.Status;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * Device buffers kept for reuse, the way deep-learning runtimes cache device memory: a forward pass
 * allocates the same activations every time, and cudaMalloc plus a cudaFree (which waits for the whole
 * device) per activation per call would cost more than the kernels of a small batch. Buffers come in
 * power-of-two size classes; one taken for an Arena goes back to the pool when the Arena closes, and the
 * pool keeps at most {@code maxIdleBytes} of idle buffers, freeing the rest.
 *
 * <p>Reuse needs no wait: every buffer is used only by work on the backend's one stream, which runs in
 * order, so the next user's work queues behind the last one's.
 */
final class DeviceBufferPool {

    private static final long SMALLEST_CLASS = 256;

    private final NativeDevice device;
    private final long maxIdleBytes;
    private final Map<Long, ArrayDeque<DeviceBuffer>> idle = new HashMap<>();
    private long idleBytes;

    DeviceBufferPool(NativeDevice device, long maxIdleBytes) {
        this.device = device;
        this.maxIdleBytes = maxIdleBytes;
    }

    /** A buffer of at least {@code bytes} that returns to the pool when {@code arena} closes. */
    DeviceBuffer take(long bytes, Arena arena) {
        long size = sizeClass(bytes);
        DeviceBuffer buffer = takeIdle(size);
        if (buffer == null) {
            buffer = allocate(size);
        }
        DeviceBuffer taken = buffer;
        try {
            // A zero-length segment whose only job is to give the buffer back when the arena closes.
            MemorySegment.NULL.reinterpret(arena, ignored -> giveBack(taken));
        } catch (RuntimeException e) { // the arena is already closed, or belongs to another thread
            giveBack(taken);
            throw e;
        }
        return taken;
    }

    /** Frees every idle buffer. */
    synchronized void trim() {
        for (ArrayDeque<DeviceBuffer> buffers : idle.values()) {
            buffers.forEach(DeviceBuffer::close);
        }
        idle.clear();
        idleBytes = 0;
    }

    synchronized long idleBytes() {
        return idleBytes;
    }

    private synchronized DeviceBuffer takeIdle(long size) {
        ArrayDeque<DeviceBuffer> buffers = idle.get(size);
        DeviceBuffer buffer = buffers == null ? null : buffers.pollLast();
        if (buffer != null) {
            idleBytes -= size;
        }
        return buffer;
    }

    private synchronized void giveBack(DeviceBuffer buffer) {
        if (idleBytes + buffer.byteSize() > maxIdleBytes) {
            buffer.close();
            return;
        }
        idle.computeIfAbsent(buffer.byteSize(), s -> new ArrayDeque<>()).addLast(buffer);
        idleBytes += buffer.byteSize();
    }

    private DeviceBuffer allocate(long size) {
        try {
            return device.allocate(size);
        } catch (NativeException e) {
            if (e.status() != Status.OUT_OF_MEMORY || idleBytes() == 0) {
                throw e;
            }
            trim(); // idle buffers of other sizes may be what the device lacks
            return device.allocate(size);
        }
    }

    static long sizeClass(long bytes) {
        long size = Math.max(SMALLEST_CLASS, bytes);
        return Long.bitCount(size) == 1 ? size : Long.highestOneBit(size) << 1;
    }
}
