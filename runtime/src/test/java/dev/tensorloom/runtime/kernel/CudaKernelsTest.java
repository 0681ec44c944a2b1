package dev.tensorloom.runtime.kernel;

import static dev.tensorloom.runtime.kernel.KernelAssertions.absoluteProducts;
import static dev.tensorloom.runtime.kernel.KernelAssertions.assertProductClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.bindings.DeviceBuffer;
import dev.tensorloom.bindings.MemoryInUse;
import dev.tensorloom.runtime.kernel.cuda.CudaBackend;
import dev.tensorloom.runtime.kernel.cuda.CudaDevice;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What only the cuda backend has, beyond {@link KernelsContract}: uploads that live as long as what holds them,
 * refusal of host operands, and device memory that comes back (through whichever native library is configured:
 * the CPU emulation in the build).
 */
class CudaKernelsTest {

    private static final Kernels SCALAR = new ScalarKernels();
    private static final CudaBackend CUDA_BACKEND = CudaBackend.open();
    private static final Kernels CUDA = CUDA_BACKEND.kernels();
    private static final CudaDevice DEVICE = CUDA_BACKEND.device();

    private Arena arena;
    private Matrices matrices;

    @BeforeEach
    void openArena() {
        arena = Arena.ofShared();
        matrices = new Matrices(arena, new Random(7));
    }

    @AfterEach
    void closeArena() {
        arena.close();
    }

    @Test
    void aMatrixPreparedFromTheHostLivesAsLongAsThePreparedMatrix() throws InterruptedException {
        Tensor a = matrices.random(3, 5, false);
        Tensor b = matrices.random(5, 4, false);
        Tensor expected = Tensor.allocate(arena, 3, 4);
        SCALAR.matmul(a, b, expected);
        PreparedMatrix prepared = CUDA.prepare(b);
        for (int i = 0; i < 3; i++) { // a collection must not free the upload while the matrix is in use
            System.gc();
            Thread.sleep(20);
        }
        Tensor c = DEVICE.allocate(arena, 3, 4);
        prepared.multiply(DEVICE.toDevice(a, arena), c);
        assertProductClose(expected, DEVICE.toHost(c, arena), absoluteProducts(arena, a, b, false));
    }

    @Test
    void hostOperandsAreRefusedWithAMessage() {
        Tensor host = matrices.random(2, 3, false);
        Tensor device = DEVICE.toDevice(host, arena);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CUDA.add(device, host));
        assertTrue(e.getMessage().contains("host memory"), e.getMessage());
        IllegalStateException read = assertThrows(IllegalStateException.class, () -> device.get(0, 0));
        assertTrue(read.getMessage().contains("device memory"), read.getMessage());
    }

    @Test
    void deviceMemoryReturnsToItsStartAfterThousandsOfCycles() {
        DEVICE.releaseCachedMemory();
        MemoryInUse start = DEVICE.nativeDevice().memoryInUse();
        Tensor host = matrices.random(3, 8, false);
        for (int i = 0; i < 1000; i++) {
            try (Arena cycle = Arena.ofConfined()) {
                Tensor x = DEVICE.toDevice(host, cycle);
                Tensor y = DEVICE.allocate(cycle, 3, 8);
                CUDA.add(y, x);
                if (i % 250 == 0) {
                    assertArrayEquals(host.toArray(), DEVICE.toHost(y, cycle).toArray());
                }
            }
        }
        // The cycles reuse two cached buffers; releasing the cache gives the device back its memory.
        assertEquals(start.buffers() + 2, DEVICE.nativeDevice().memoryInUse().buffers());
        DEVICE.releaseCachedMemory();
        assertEquals(start, DEVICE.nativeDevice().memoryInUse());
    }

    @Test
    void cachedBuffersAreReusedButNeverShared() {
        Tensor ones = Tensor.of(arena, new float[] {1, 1, 1}, 1, 3);
        Tensor twos = Tensor.of(arena, new float[] {2, 2, 2}, 1, 3);
        DEVICE.releaseCachedMemory();
        try (Arena first = Arena.ofConfined()) {
            DEVICE.toDevice(ones, first);
        }
        long buffers = DEVICE.nativeDevice().memoryInUse().buffers();
        try (Arena second = Arena.ofConfined()) {
            Tensor a = DEVICE.toDevice(twos, second); // takes the buffer the first arena gave back
            assertEquals(buffers, DEVICE.nativeDevice().memoryInUse().buffers());
            Tensor b = DEVICE.allocate(second, 1, 3); // a live buffer of the same size is not handed out twice
            assertEquals(buffers + 1, DEVICE.nativeDevice().memoryInUse().buffers());
            assertArrayEquals(new float[] {2, 2, 2}, DEVICE.toHost(a, second).toArray());
            assertArrayEquals(new float[] {0, 0, 0}, DEVICE.toHost(b, second).toArray());
        }
    }

    @Test
    void rawBytesGoUpAsTheyAreAndTheirBufferReturnsWithTheArena() {
        byte[] packed = new byte[301]; // an odd length: packed 4-bit weights need not fill whole floats
        for (int i = 0; i < packed.length; i++) {
            packed[i] = (byte) (i * 37 + 11);
        }
        DEVICE.releaseCachedMemory();
        MemoryInUse start = DEVICE.nativeDevice().memoryInUse();
        try (Arena upload = Arena.ofConfined()) {
            DeviceBuffer buffer = DEVICE.upload(upload.allocateFrom(ValueLayout.JAVA_BYTE, packed), upload);
            MemorySegment back = upload.allocate(packed.length);
            buffer.copyTo(back, 0, 0, packed.length, DEVICE.stream());
            assertArrayEquals(packed, back.toArray(ValueLayout.JAVA_BYTE));
        }
        DEVICE.releaseCachedMemory();
        assertEquals(start, DEVICE.nativeDevice().memoryInUse());
    }

    @Test
    void aStridedHostViewGoesUpAsItsValues() {
        Tensor view = matrices.random(5, 7, true); // rows 12 floats apart in a larger parent
        Tensor device = DEVICE.toDevice(view, arena);
        assertTrue(device.isContiguous());
        assertArrayEquals(view.toArray(), DEVICE.toHost(device, arena).toArray());
    }

    @Test
    void reportsItsName() {
        assertEquals("cuda", CUDA_BACKEND.name());
    }
}
