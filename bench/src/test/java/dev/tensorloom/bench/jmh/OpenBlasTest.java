package dev.tensorloom.bench.jmh;

import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.tensorloom.runtime.kernel.BackendProvider;
import dev.tensorloom.runtime.tensor.Tensor;
import dev.tensorloom.testkit.FloatAssertions;
import java.lang.foreign.Arena;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The GEMM peer's binding computes what the scalar oracle does, on views whose rows are not contiguous. */
class OpenBlasTest {

    @Test
    void sgemmOnColumnViewsMatchesTheOracle() {
        int m = 37;
        int k = 53;
        int n = 29;
        try (Arena arena = Arena.ofConfined()) {
            Random random = new Random(12);
            // Each operand is the right-hand columns of a wider matrix: row-major with a leading dimension past
            // its width and a nonzero offset, as the encoder's fused QKV views are.
            Tensor a = random(arena, random, m, k + 3).slice(1, 3, k + 3);
            Tensor b = random(arena, random, k, n + 5).slice(1, 5, n + 5);
            Tensor c = Tensor.allocate(arena, m, n + 2).slice(1, 2, n + 2);
            Tensor expected = Tensor.allocate(arena, m, n);
            OpenBlas.useThreads(2);
            OpenBlas.sgemm(a, b, c);
            BackendProvider.byName("scalar").kernels().matmul(a, b, expected);

            float[] bound = FloatAssertions.absoluteProducts(a.toArray(), b.toArray(), m, k, n, false);
            FloatAssertions.assertProductClose(expected.toArray(), c.toArray(), bound, n);
        }
    }

    @Test
    void namesTheKernelsItDispatchedTo() {
        assertFalse(OpenBlas.coreName().isBlank());
    }

    private static Tensor random(Arena arena, Random random, int rows, int cols) {
        float[] values = new float[rows * cols];
        for (int i = 0; i < values.length; i++) {
            values[i] = random.nextFloat() * 2 - 1;
        }
        return Tensor.of(arena, values, rows, cols);
    }
}
