package dev.tensorloom.bindings;

import static dev.tensorloom.bindings.NativeException.check;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

class CublasTest {
    @Test
    void anExplicitPathThatDoesNotLoadIsAnError() {
        NativeLibraryException e = assertThrows(NativeLibraryException.class,
                () -> Cublas.load("/nonexistent/libcublas.so"));
        assertTrue(e.getMessage().startsWith("-Dtensorloom.cublas.path=/nonexistent/libcublas.so could not be loaded"),
                e.getMessage());
    }

    @Test
    void aFailedCallNamesTheCallAndTheStatus() {
        CublasException e = assertThrows(CublasException.class, () -> Cublas.check(1, "cublasSgemm_v2"));
        assertEquals("cublasSgemm_v2 failed with CUBLAS_STATUS_NOT_INITIALIZED (1)", e.getMessage());
        assertEquals("CUBLAS_STATUS_INVALID_VALUE", Cublas.statusName(7));
        assertEquals("CUBLAS_STATUS_EXECUTION_FAILED", Cublas.statusName(13));
        Cublas.check(0, "cublasCreate_v2");
    }

    /** cuBLAS's row-major sgemm (and GemmEx at fp32) agree with tl_gemm on a GPU; needs libcublas and a device. */
    @Test
    void sgemmMatchesTlGemmOnTheGpu() {
        Optional<Cublas> found = Cublas.load();
        Optional<TensorloomLibrary> gpu = NativeLibraryLoader.probe("cuda");
        assumeTrue(found.isPresent() && gpu.isPresent(), "needs libcublas (found: " + found.isPresent()
                + ") and the cuda library with a device (found: " + gpu.isPresent() + "); a GPU machine has both");
        Cublas cublas = found.get();
        NativeDevice device = NativeDevice.open(gpu.get());
        TensorloomLibrary tl = device.library();
        int m = 67, n = 45, k = 129; // not multiples of any tile
        float[] a = random(m * k, 1);
        float[] b = random(k * n, 2);
        try (Arena arena = Arena.ofConfined();
             DeviceStream stream = device.createStream();
             DeviceBuffer da = TestLibrary.upload(device, stream, a);
             DeviceBuffer db = TestLibrary.upload(device, stream, b);
             DeviceBuffer expected = device.allocate((long) m * n * Float.BYTES);
             DeviceBuffer actual = device.allocate((long) m * n * Float.BYTES);
             DeviceBuffer actualEx = device.allocate((long) m * n * Float.BYTES)) {
            check(tl, tl.tl_gemm(stream.handle(), m, n, k, da.handle(), 0, k, db.handle(), 0, n,
                    expected.handle(), 0, n), "tl_gemm");

            MemorySegment handleOut = arena.allocate(ValueLayout.ADDRESS);
            Cublas.check(cublas.cublasCreate_v2(handleOut), "cublasCreate_v2");
            MemorySegment handle = handleOut.get(ValueLayout.ADDRESS, 0);
            try {
                Cublas.check(cublas.cublasSetStream_v2(handle, stream.cudaStream()), "cublasSetStream_v2");
                cublas.sgemmRowMajor(handle, m, n, k, 1f, da.devicePointer(), k, db.devicePointer(), n, 0f,
                        actual.devicePointer(), n);
                MemorySegment one = arena.allocateFrom(ValueLayout.JAVA_FLOAT, 1f);
                MemorySegment zero = arena.allocateFrom(ValueLayout.JAVA_FLOAT, 0f);
                Cublas.check(cublas.cublasGemmEx(handle, Cublas.CUBLAS_OP_N, Cublas.CUBLAS_OP_N, n, m, k, one,
                        db.devicePointer(), Cublas.CUDA_R_32F, n, da.devicePointer(), Cublas.CUDA_R_32F, k, zero,
                        actualEx.devicePointer(), Cublas.CUDA_R_32F, n, Cublas.CUBLAS_COMPUTE_32F,
                        Cublas.CUBLAS_GEMM_DEFAULT), "cublasGemmEx");
                stream.synchronize();
            } finally {
                Cublas.check(cublas.cublasDestroy_v2(handle), "cublasDestroy_v2");
            }
            float[] want = TestLibrary.download(expected, stream, m * n);
            assertClose(want, TestLibrary.download(actual, stream, m * n), "cublasSgemm_v2");
            assertClose(want, TestLibrary.download(actualEx, stream, m * n), "cublasGemmEx");
        }
    }

    private static void assertClose(float[] expected, float[] actual, String what) {
        for (int i = 0; i < expected.length; i++) {
            float tolerance = 1e-4f * Math.max(1f, Math.abs(expected[i])) * 8;
            assertEquals(expected[i], actual[i], tolerance, what + " element " + i);
        }
    }

    private static float[] random(int count, long seed) {
        Random random = new Random(seed);
        float[] values = new float[count];
        for (int i = 0; i < count; i++) {
            values[i] = random.nextFloat() * 2 - 1;
        }
        return values;
    }
}
