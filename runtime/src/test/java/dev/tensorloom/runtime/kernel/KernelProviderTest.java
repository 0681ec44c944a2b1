package dev.tensorloom.runtime.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.runtime.kernel.cuda.CudaKernels;
import dev.tensorloom.runtime.kernel.vector.VectorKernels;
import org.junit.jupiter.api.Test;

/** Backend selection in a JVM that has the Vector API and native access (the build's test JVMs all do). */
class KernelProviderTest {

    @Test
    void byNameGivesEachBackend() {
        assertInstanceOf(ScalarKernels.class, KernelProvider.byName("scalar"));
        assertEquals("scalar", KernelProvider.byName("Scalar").name());
        Kernels vector = KernelProvider.byName("VECTOR", Parallelism.of(3));
        assertInstanceOf(VectorKernels.class, vector);
        assertEquals("vector", vector.name());
        assertTrue(vector.toString().contains("3 threads"), vector.toString());
    }

    @Test
    void theDefaultIsCudaOnAGpuElseVectorWhenTheModuleIsThere() {
        assertTrue(KernelProvider.vectorModuleReadable());
        String forced = System.getProperty(KernelProvider.BACKEND_PROPERTY);
        String automatic = CudaKernels.openOnGpu().isPresent() ? "cuda" : "vector";
        String expected = forced == null || forced.isBlank() ? automatic : forced.trim();
        assertEquals(expected, KernelProvider.kernels().name());
    }

    @Test
    void unknownBackendFailsNamingTheChoices() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KernelProvider.byName("gpu"));
        assertTrue(e.getMessage().contains("'gpu'"), e.getMessage());
        assertTrue(e.getMessage().contains("scalar|vector|cuda"), e.getMessage());
    }

    @Test
    void cudaByNameRunsOnTheConfiguredNativeLibrary() {
        // The build's test JVMs name the CPU emulation (-Dtensorloom.native.library=emu).
        Kernels cuda = KernelProvider.byName("CUDA");
        assertInstanceOf(CudaKernels.class, cuda);
        assertEquals("cuda", cuda.name());
        assertEquals(System.getProperty("tensorloom.native.library", "cuda"),
                ((CudaKernels) cuda).device().variant());
    }
}
