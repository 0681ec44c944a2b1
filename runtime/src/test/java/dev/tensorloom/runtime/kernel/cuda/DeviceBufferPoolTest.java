package dev.tensorloom.runtime.kernel.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.bindings.DeviceBuffer;
import dev.tensorloom.bindings.NativeDevice;
import java.lang.foreign.Arena;
import org.junit.jupiter.api.Test;

/** The cache of device buffers, on the configured native library (the emulation in the build). */
class DeviceBufferPoolTest {

    private final NativeDevice device = CudaDevice.open().nativeDevice();

    @Test
    void sizeClassesArePowersOfTwoFrom256() {
        assertEquals(256, DeviceBufferPool.sizeClass(1));
        assertEquals(256, DeviceBufferPool.sizeClass(256));
        assertEquals(512, DeviceBufferPool.sizeClass(257));
        assertEquals(1L << 20, DeviceBufferPool.sizeClass(1L << 20));
        assertEquals(1L << 21, DeviceBufferPool.sizeClass((1L << 20) + 1));
    }

    @Test
    void aClosedArenasBufferIsReusedAndTheIdleCapIsKept() {
        DeviceBufferPool pool = new DeviceBufferPool(device, 1024);
        DeviceBuffer first;
        DeviceBuffer second;
        try (Arena arena = Arena.ofConfined()) {
            first = pool.take(1000, arena);
            second = pool.take(1000, arena);
            assertNotSame(first, second);
            assertEquals(1024, first.byteSize());
        }
        // Both came back, but only one fits under the cap of 1024 idle bytes: the other was freed.
        assertEquals(1024, pool.idleBytes());
        assertTrue(first.isClosed() != second.isClosed(), "exactly one of the two was freed");
        DeviceBuffer kept = first.isClosed() ? second : first;
        try (Arena arena = Arena.ofConfined()) {
            assertSame(kept, pool.take(600, arena));
            assertEquals(0, pool.idleBytes());
        }
        pool.trim();
        assertEquals(0, pool.idleBytes());
        assertTrue(kept.isClosed());
    }
}
