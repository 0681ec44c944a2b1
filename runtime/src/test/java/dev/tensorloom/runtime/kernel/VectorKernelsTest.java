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
import java.util.Arrays;
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

    /**
     * The kernels keep a thread's arrays from call to call: on one thread (every task on the caller), a smaller
     * attention and product after larger ones still match the oracle, so nothing the larger calls left is read.
     */
    @Test
    void smallerCallsAfterLargerOnesOnTheSameThreadMatchTheOracle() {
        Kernels vector = new VectorBackend(Parallelism.of(1)).kernels();
        for (int[] s : new int[][] {{2, 97, 64, 2}, {3, 5, 21, 3}, {1, 1, 16, 1}}) {
            int batch = s[0];
            int seq = s[1];
            int hidden = s[2];
            int heads = s[3];
            Tensor qkv = matrices.random(batch * seq, 3 * hidden, false);
            float[] mask = new float[batch * seq];
            for (int i = 0; i < mask.length; i++) {
                mask[i] = i % seq < Math.max(1, seq - 2 * (i / seq)) ? 1f : 0f;
            }
            Tensor keyMask = Tensor.of(arena, mask, batch, seq);
            Tensor expected = Tensor.allocate(arena, batch * seq, hidden);
            Tensor actual = Tensor.allocate(arena, batch * seq, hidden);
            SCALAR.attention(qkv.slice(1, 0, hidden), qkv.slice(1, hidden, 2L * hidden),
                    qkv.slice(1, 2L * hidden, 3L * hidden), keyMask, heads, expected);
            vector.attention(qkv.slice(1, 0, hidden), qkv.slice(1, hidden, 2L * hidden),
                    qkv.slice(1, 2L * hidden, 3L * hidden), keyMask, heads, actual);
            KernelAssertions.assertClose(expected, actual, 1e-5, 1e-5);
        }
        for (int[] s : new int[][] {{100, 37, 70}, {30, 5, 9}}) {
            Tensor a = matrices.random(s[0], s[1], false);
            Tensor b = matrices.random(s[1], s[2], false);
            Tensor c = Tensor.allocate(arena, s[0], s[2]);
            Tensor expected = Tensor.allocate(arena, s[0], s[2]);
            vector.prepare(b).multiply(a, c);
            SCALAR.matmul(a, b, expected);
            assertProductClose(expected, c, absoluteProducts(arena, a, b, false));
        }
    }

    /**
     * A NaN key reaches every output of its head and text, as in the oracle: the attention's running maximum is a
     * compare and blend, which passes a NaN over, so it must be the exponentials that carry it.
     */
    @Test
    void aNanKeyMakesItsHeadsOutputsNanAsInTheOracle() {
        int seq = 40;
        int hidden = 64;
        Tensor qkv = matrices.random(2 * seq, 3 * hidden, false);
        qkv.set(Float.NaN, 3, hidden + 32 + 5); // text 0, token 3, head 1's key
        float[] mask = new float[2 * seq];
        Arrays.fill(mask, 1f);
        Tensor keyMask = Tensor.of(arena, mask, 2, seq);
        Tensor expected = Tensor.allocate(arena, 2 * seq, hidden);
        Tensor actual = Tensor.allocate(arena, 2 * seq, hidden);
        SCALAR.attention(qkv.slice(1, 0, hidden), qkv.slice(1, hidden, 2L * hidden),
                qkv.slice(1, 2L * hidden, 3L * hidden), keyMask, 2, expected);
        VECTOR.kernels().attention(qkv.slice(1, 0, hidden), qkv.slice(1, hidden, 2L * hidden),
                qkv.slice(1, 2L * hidden, 3L * hidden), keyMask, 2, actual);
        for (int t = 0; t < 2 * seq; t++) {
            for (int j = 0; j < hidden; j++) {
                boolean nan = t < seq && j >= 32;
                assertEquals(nan, Float.isNaN(expected.get(t, j)), "oracle at " + t + ", " + j);
                assertEquals(nan, Float.isNaN(actual.get(t, j)), "vector at " + t + ", " + j);
            }
        }
    }

    @Test
    void reportsItsNameAndThreads() {
        assertEquals("vector", VECTOR.name());
        assertTrue(VECTOR.toString().contains("2 threads"), VECTOR.toString());
    }
}
