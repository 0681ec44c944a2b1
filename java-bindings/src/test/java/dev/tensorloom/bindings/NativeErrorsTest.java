package dev.tensorloom.bindings;

import static dev.tensorloom.bindings.NativeException.check;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Each kind of bad input comes back as a NativeException naming the call, the status and the library's
 * reason, and leaves the library working: nothing reaches the device unchecked, nothing crashes the JVM.
 */
class NativeErrorsTest {
    private final TensorloomLibrary tl = TestLibrary.library();
    private final NativeDevice device = TestLibrary.device();
    private final DeviceStream stream = device.createStream();

    @AfterEach
    void libraryStillWorks() {
        try (DeviceBuffer buffer = TestLibrary.upload(device, stream, 1, 2, 3)) {
            assertEquals(3f, TestLibrary.download(buffer, stream, 3)[2]);
        }
        stream.close();
    }

    private NativeException fails(Status status, String call, Executable action) {
        NativeException e = assertThrows(NativeException.class, action);
        assertEquals(status, e.status(), e.getMessage());
        assertEquals(call, e.call());
        assertFalse(e.nativeMessage().isBlank(), "tl_last_error says why: " + e.getMessage());
        assertTrue(e.getMessage().startsWith(call + " failed with " + status.cName() + ": "), e.getMessage());
        return e;
    }

    @Test
    void nullHandles() {
        fails(Status.INVALID_HANDLE, "tl_free", () -> check(tl, tl.tl_free(MemorySegment.NULL), "tl_free"));
        try (DeviceBuffer buffer = device.allocate(64)) {
            MemorySegment b = buffer.handle();
            fails(Status.INVALID_HANDLE, "tl_gemm", () -> check(tl,
                    tl.tl_gemm(MemorySegment.NULL, 2, 2, 2, b, 0, 2, b, 0, 2, b, 0, 2), "tl_gemm"));
            fails(Status.INVALID_HANDLE, "tl_add", () -> check(tl,
                    tl.tl_add(stream.handle(), 2, 2, b, 0, 2, MemorySegment.NULL, 0, 2), "tl_add"));
        }
    }

    @Test
    void useAfterFree() {
        DeviceBuffer buffer = device.allocate(64);
        MemorySegment freed = buffer.handle();
        buffer.close();
        try (DeviceBuffer live = device.allocate(64)) {
            MemorySegment ok = live.handle();
            fails(Status.INVALID_HANDLE, "tl_gemm", () -> check(tl,
                    tl.tl_gemm(stream.handle(), 2, 2, 2, freed, 0, 2, ok, 0, 2, ok, 0, 2), "tl_gemm"));
        }
        fails(Status.INVALID_HANDLE, "tl_free", () -> check(tl, tl.tl_free(freed), "tl_free"));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(64);
            fails(Status.INVALID_HANDLE, "tl_copy_to_host",
                    () -> check(tl, tl.tl_copy_to_host(stream.handle(), host, freed, 0, 64), "tl_copy_to_host"));
        }
    }

    @Test
    void anOperandThatDoesNotFitItsBuffer() {
        // B is [k=4, n=4] = 16 floats, its buffer holds 8: rejected before anything is launched.
        try (DeviceBuffer a = device.allocate(16L * Float.BYTES);
             DeviceBuffer b = device.allocate(8L * Float.BYTES);
             DeviceBuffer c = device.allocate(16L * Float.BYTES)) {
            NativeException e = fails(Status.INVALID_ARGUMENT, "tl_gemm", () -> check(tl, tl.tl_gemm(stream.handle(),
                    4, 4, 4, a.handle(), 0, 4, b.handle(), 0, 4, c.handle(), 0, 4), "tl_gemm"));
            assertTrue(e.nativeMessage().contains("tl_gemm"), "the message names the function: " + e.nativeMessage());
        }
        try (DeviceBuffer buffer = device.allocate(64); Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(128);
            fails(Status.INVALID_ARGUMENT, "tl_copy_to_device",
                    () -> buffer.copyFrom(host, 0, 0, 128, stream));
        }
    }

    @Test
    void aLaunchWithTooManyThreadsPerBlock() {
        NativeException e = fails(Status.LAUNCH_FAILED, "tl_launch_check",
                () -> check(tl, tl.tl_launch_check(stream.handle(), 2048), "tl_launch_check"));
        // CUDA 12 and the emulation answer cudaErrorInvalidConfiguration, CUDA 13.0 (seen on an H200)
        // cudaErrorInvalidValue.
        assertTrue(e.nativeMessage().contains("cudaErrorInvalidConfiguration")
                || e.nativeMessage().contains("cudaErrorInvalidValue"), e.nativeMessage());
        check(tl, tl.tl_launch_check(stream.handle(), 256), "tl_launch_check");
        stream.synchronize();
    }

    @Test
    void deviceOutOfMemory() {
        MemoryInUse before = device.memoryInUse();
        NativeException e = fails(Status.OUT_OF_MEMORY, "tl_malloc", () -> device.allocate(1L << 50)); // 1 PiB
        assertTrue(e.nativeMessage().contains("cudaErrorMemoryAllocation"), e.nativeMessage());
        assertEquals(before, device.memoryInUse());
    }

    @Test
    void theMessageBelongsToTheFailingThread() throws InterruptedException {
        fails(Status.INVALID_HANDLE, "tl_free", () -> check(tl, tl.tl_free(MemorySegment.NULL), "tl_free"));
        String[] seenElsewhere = new String[1];
        Thread other = Thread.ofPlatform().start(() -> seenElsewhere[0] = CString.read(tl.tl_last_error()));
        other.join();
        assertEquals("", seenElsewhere[0], "another thread has no failure of its own");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment count = arena.allocate(ValueLayout.JAVA_INT);
            check(tl, tl.tl_device_count(count), "tl_device_count");
        }
    }
}
