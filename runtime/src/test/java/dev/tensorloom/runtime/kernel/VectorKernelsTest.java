package dev.tensorloom.runtime.kernel;

import static dev.tensorloom.runtime.kernel.KernelAssertions.absoluteProducts;
import static dev.tensorloom.runtime.kernel.KernelAssertions.assertProductClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.runtime.kernel.vector.VectorBackend;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What only the vector backend has, beyond {@link KernelsContract}: threads, which must not change a bit of
 * the result, and confined memory, which its workers must not touch.
 */
class VectorKernelsTest {

    private static final Kernels SCALAR = new ScalarKernels();
    private static final Backend VECTOR = new VectorBackend(Parallelism.of(2));

    private Arena arena;
    private Matrices matrices;

    @BeforeEach
    void openArena() {
        arena = Arena.ofShared();
        matrices = new Matrices(arena, new Random(42));
    }

    @AfterEach
    void closeArena() {
        arena.close();
    }

    @Test
    void matmulGivesTheSameBitsForAnyThreadCount() {
        // k = 600 spans two depth blocks, so the partial sums are accumulated into c.
        Tensor a = matrices.random(131, 600, true);
        Tensor b = matrices.random(600, 97, false);
        float[] reference = null;
        for (int threads : new int[] {1, 2, 3}) {
            Tensor c = Tensor.allocate(arena, 131, 97);
            new VectorBackend(Parallelism.of(threads)).kernels().matmul(a, b, c);
            if (reference == null) {
                reference = c.toArray();
            } else {
                assertArrayEquals(reference, c.toArray(), threads + " threads");
            }
        }
    }

    @Test
    void matmulOnConfinedMemoryStaysOnTheCallingThread() {
        try (Arena confined = Arena.ofConfined()) {
            Matrices local = new Matrices(confined, new Random(7));
            Tensor a = local.random(128, 128, false);
            Tensor b = local.random(128, 128, false);
            Tensor c = Tensor.allocate(confined, 128, 128);
            Tensor expected = Tensor.allocate(confined, 128, 128);
            VECTOR.kernels().matmul(a, b, c);
            SCALAR.matmul(a, b, expected);
            assertProductClose(expected, c, absoluteProducts(arena, a, b, false));
        }
    }

    @Test
    void aColumnStridedTensorIsRefusedWithTheOraclesMessage() {
        // Only a host backend can be handed such a view; placing one on a device copies it contiguous.
        Tensor transposed = Tensor.allocate(arena, 4, 3).transpose(0, 1);
        RuntimeException expected = assertThrows(RuntimeException.class, () -> SCALAR.gelu(transposed));
        RuntimeException actual = assertThrows(RuntimeException.class, () -> VECTOR.kernels().gelu(transposed));
        assertEquals(expected.getClass(), actual.getClass());
        assertEquals(expected.getMessage(), actual.getMessage());
    }

    @Test
    void reportsItsNameAndThreads() {
        assertEquals("vector", VECTOR.name());
        assertTrue(VECTOR.toString().contains("2 threads"), VECTOR.toString());
    }
}
