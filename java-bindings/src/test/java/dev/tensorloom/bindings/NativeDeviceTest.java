package dev.tensorloom.bindings;

import static dev.tensorloom.bindings.NativeException.check;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/** The owned-handle layer and plain calls, on the library under test. */
class NativeDeviceTest {
    private final TensorloomLibrary tl = TestLibrary.library();
    private final NativeDevice device = TestLibrary.device();

    @Test
    void theEmulationReportsADeviceWithANameAndItsVariant() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment count = arena.allocate(ValueLayout.JAVA_INT);
            check(tl, tl.tl_device_count(count), "tl_device_count");
            assertTrue(count.get(ValueLayout.JAVA_INT, 0) >= 1, "the library sees at least one device");
        }
        assertFalse(device.name().isBlank(), "device name");
        assertEquals(TestLibrary.variant(), device.variant());
        assertEquals(TestLibrary.variant(), CString.read(tl.tl_library_variant()));
        assertEquals(0, device.ordinal());
        assertTrue(NativeLibraryLoader.probe(TestLibrary.variant()).isPresent(), "a usable device");
    }

    @Test
    void statusNamesAreTheLibrarysOwn() {
        for (Status status : Status.values()) {
            assertEquals(status.cName(), CString.read(tl.tl_status_name(status.code())));
        }
    }

    @Test
    void copiesRoundTripWithOffsets() {
        float[] values = new float[1000];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) Math.sin(i) * 1000;
        }
        try (Arena arena = Arena.ofConfined();
             DeviceStream stream = device.createStream();
             DeviceBuffer buffer = device.allocate(2000L * Float.BYTES)) {
            MemorySegment host = TestLibrary.floats(arena, values);
            // the last 600 floats of host go to device floats 1000..1599, and come back to a fresh segment
            buffer.copyFrom(host, 400L * Float.BYTES, 1000L * Float.BYTES, 600L * Float.BYTES, stream);
            MemorySegment back = arena.allocate(ValueLayout.JAVA_FLOAT, 700);
            buffer.copyTo(back, 100L * Float.BYTES, 1000L * Float.BYTES, 600L * Float.BYTES, stream);
            stream.synchronize();
            float[] expected = new float[600];
            System.arraycopy(values, 400, expected, 0, 600);
            assertArrayEquals(expected, back.asSlice(100L * Float.BYTES).toArray(ValueLayout.JAVA_FLOAT));
        }
    }

    @Test
    void gemmComputesRowMajorProductThroughTheRawBinding() {
        try (DeviceStream stream = device.createStream();
             DeviceBuffer a = TestLibrary.upload(device, stream, 1, 2, 3, 4, 5, 6);          // [2,3]
             DeviceBuffer b = TestLibrary.upload(device, stream, 7, 8, 9, 10, 11, 12);       // [3,2]
             DeviceBuffer c = device.allocate(4L * Float.BYTES)) {
            check(tl, tl.tl_gemm(stream.handle(), 2, 2, 3, a.handle(), 0, 3, b.handle(), 0, 2, c.handle(), 0, 2),
                    "tl_gemm");
            stream.synchronize();
            assertArrayEquals(new float[] {58, 64, 139, 154}, TestLibrary.download(c, stream, 4));
        }
    }

    @Test
    void anArenaOwnedBufferIsFreedWhenTheArenaCloses() {
        MemoryInUse before = device.memoryInUse();
        DeviceBuffer buffer;
        try (Arena arena = Arena.ofConfined()) {
            buffer = device.allocate(4096, arena);
            assertEquals(new MemoryInUse(before.bytes() + 4096, before.buffers() + 1), device.memoryInUse());
            assertFalse(buffer.isClosed());
        }
        assertTrue(buffer.isClosed());
        assertEquals(before, device.memoryInUse());
        assertDoesNotThrow(buffer::close, "closing again after the arena did is harmless");
    }

    @Test
    void anArenaOwnedBufferClosedEarlyIsNotFreedTwice() {
        MemoryInUse before = device.memoryInUse();
        try (Arena arena = Arena.ofConfined()) {
            device.allocate(512, arena).close();
            assertEquals(before, device.memoryInUse());
        } // the arena's cleanup finds it closed; a second tl_free would throw INVALID_HANDLE here
        assertEquals(before, device.memoryInUse());
    }

    @Test
    void allocatingInAClosedArenaLeaksNothing() {
        MemoryInUse before = device.memoryInUse();
        Arena arena = Arena.ofConfined();
        arena.close();
        assertThrows(IllegalStateException.class, () -> device.allocate(256, arena));
        assertEquals(before, device.memoryInUse());
    }

    @Test
    void aClosedBufferOrStreamFailsOnTheJavaSide() {
        DeviceBuffer buffer = device.allocate(64);
        DeviceStream stream = device.createStream();
        buffer.close();
        buffer.close();
        stream.close();
        stream.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, buffer::handle);
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
        assertThrows(IllegalStateException.class, stream::synchronize);
        try (Arena arena = Arena.ofConfined(); DeviceStream open = device.createStream()) {
            MemorySegment host = arena.allocate(64);
            assertThrows(IllegalStateException.class, () -> buffer.copyFrom(host, 0, 0, 64, open));
        }
    }

    @Test
    void copiesNeedOffHeapHostMemoryWithinItsBounds() {
        try (Arena arena = Arena.ofConfined();
             DeviceStream stream = device.createStream();
             DeviceBuffer buffer = device.allocate(64)) {
            MemorySegment heap = MemorySegment.ofArray(new float[16]);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> buffer.copyFrom(heap, 0, 0, 64, stream));
            assertTrue(e.getMessage().contains("off-heap"), e.getMessage());
            MemorySegment small = arena.allocate(32);
            assertThrows(IndexOutOfBoundsException.class, () -> buffer.copyTo(small, 0, 0, 64, stream));
        }
    }

    @Test
    void checkPassesOkAndRejectsCodesTheHeaderDoesNotKnow() {
        assertDoesNotThrow(() -> check(tl, Status.OK.code(), "tl_anything"));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> check(tl, 42, "tl_anything"));
        assertTrue(e.getMessage().contains("tl_anything returned 42"), e.getMessage());
    }
}
