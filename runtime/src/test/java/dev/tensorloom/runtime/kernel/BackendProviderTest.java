package dev.tensorloom.runtime.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.runtime.kernel.cuda.CudaBackend;
import dev.tensorloom.runtime.kernel.vector.VectorBackend;
import org.junit.jupiter.api.Test;

/** Backend selection in a JVM that has the Vector API and native access (the build's test JVMs all do). */
class BackendProviderTest {

    @Test
    void byNameGivesEachBackend() {
        assertInstanceOf(ScalarBackend.class, BackendProvider.byName("scalar"));
        assertInstanceOf(ScalarKernels.class, BackendProvider.byName("scalar").kernels());
        assertEquals("scalar", BackendProvider.byName("Scalar").name());
        Backend vector = BackendProvider.byName("VECTOR", Parallelism.of(3));
        assertInstanceOf(VectorBackend.class, vector);
        assertEquals("vector", vector.name());
        assertSame(Parallelism.of(3), ((VectorBackend) vector).parallelism());
        assertTrue(vector.toString().contains("3 threads"), vector.toString());
    }

    @Test
    void theDefaultIsCudaOnAGpuElseVectorWhenTheModuleIsThere() {
        assertTrue(BackendProvider.vectorModuleReadable());
        String forced = System.getProperty(BackendProvider.BACKEND_PROPERTY);
        String automatic = CudaBackend.openOnGpu().isPresent() ? "cuda" : "vector";
        String expected = forced == null || forced.isBlank() ? automatic : forced.trim();
        assertEquals(expected, BackendProvider.backend().name());
    }

    @Test
    void unknownBackendFailsNamingTheChoices() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BackendProvider.byName("gpu"));
        assertTrue(e.getMessage().contains("'gpu'"), e.getMessage());
        assertTrue(e.getMessage().contains("scalar|vector|cuda"), e.getMessage());
    }

    @Test
    void cudaByNameRunsOnTheConfiguredNativeLibrary() {
        // The build's test JVMs name the CPU emulation (-Dtensorloom.native.library=emu).
        Backend cuda = BackendProvider.byName("CUDA");
        assertInstanceOf(CudaBackend.class, cuda);
        assertEquals("cuda", cuda.name());
        assertEquals(System.getProperty("tensorloom.native.library", "cuda"),
                ((CudaBackend) cuda).device().nativeDevice().variant());
    }
}
