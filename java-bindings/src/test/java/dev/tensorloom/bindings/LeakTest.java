package dev.tensorloom.bindings;

import static dev.tensorloom.bindings.NativeException.check;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/** Thousands of allocate-compute-free cycles leave device memory where it started, bytes and buffers. */
class LeakTest {
    private static final int CYCLES = 3000;
    private static final int COLS = 8; // one row of 8 floats: the emulation is slow, the handles are the point

    @Test
    void allocateComputeFreeCyclesReturnMemoryInUseToItsStart() {
        NativeDevice device = TestLibrary.device();
        TensorloomLibrary tl = device.library();
        MemoryInUse start = device.memoryInUse();
        float[] result = new float[COLS];
        try (DeviceStream stream = device.createStream(); Arena host = Arena.ofConfined()) {
            MemorySegment ones = host.allocate(ValueLayout.JAVA_FLOAT, COLS).fill((byte) 0);
            for (int j = 0; j < COLS; j++) {
                ones.setAtIndex(ValueLayout.JAVA_FLOAT, j, 1f);
            }
            MemorySegment out = host.allocate(ValueLayout.JAVA_FLOAT, COLS);
            for (int cycle = 0; cycle < CYCLES; cycle++) {
                long bytes = (long) COLS * Float.BYTES;
                // half the cycles free by hand, half through an arena
                try (Arena arena = Arena.ofConfined()) {
                    DeviceBuffer x = cycle % 2 == 0 ? device.allocate(bytes) : device.allocate(bytes, arena);
                    DeviceBuffer y = cycle % 2 == 0 ? device.allocate(bytes) : device.allocate(bytes, arena);
                    if (cycle == 0) {
                        assertEquals(new MemoryInUse(start.bytes() + 2 * bytes, start.buffers() + 2),
                                device.memoryInUse(), "tl_memory_in_use counts live buffers");
                    }
                    x.copyFrom(ones, 0, 0, bytes, stream);
                    y.copyFrom(ones, 0, 0, bytes, stream);
                    check(tl, tl.tl_add(stream.handle(), 1, COLS, x.handle(), 0, COLS, y.handle(), 0, COLS), "tl_add");
                    x.copyTo(out, 0, 0, bytes, stream);
                    stream.synchronize();
                    if (cycle % 2 == 0) {
                        x.close();
                        y.close();
                    }
                }
            }
            result = out.toArray(ValueLayout.JAVA_FLOAT);
        }
        float[] twos = new float[COLS];
        java.util.Arrays.fill(twos, 2f);
        assertArrayEquals(twos, result, "the last cycle computed 1 + 1");
        assertEquals(start, device.memoryInUse(), "after " + CYCLES + " cycles");
    }
}
