package dev.tensorloom.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.runtime.kernel.Parallelism;
import dev.tensorloom.runtime.kernel.PreparedMatrix;
import dev.tensorloom.runtime.kernel.ScalarBackend;
import dev.tensorloom.runtime.kernel.vector.VectorBackend;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** A quantized matrix as a prepared matrix: one row through the GEMV, more through the GEMM, both as the oracle says. */
class QuantizedMatrixTest {

    @Test
    void multipliesOneRowAndManyRowsAsTheOracle() {
        Random random = new Random(3);
        int k = 192;
        int n = 21;
        try (Arena arena = Arena.ofShared()) {
            Tensor w = Tensor.of(arena, QuantKernelsContract.gaussians(random, k * n, 0), k, n);
            GroupFormat format = GroupFormat.asymmetric(3, 64);
            PreparedMatrix vector = QuantizedMatrix.rtn(new VectorBackend(Parallelism.of(2)), format)
                    .prepare("w", w, arena);
            PreparedMatrix scalar = QuantizedMatrix.rtn(new ScalarBackend(), format).prepare("w", w, arena);
            assertEquals(k, vector.rows());
            assertEquals(n, vector.cols());
            assertEquals(format.bytes(k, n), vector.bytes());
            for (int m : new int[] {1, 6}) {
                float[] av = QuantKernelsContract.gaussians(random, m * k, 0);
                Tensor a = Tensor.of(arena, av, m, k);
                Tensor c = Tensor.allocate(arena, m, n);
                Tensor expected = Tensor.allocate(arena, m, n);
                vector.multiply(a, c);
                scalar.multiply(a, expected);
                float[] bound = dev.tensorloom.testkit.FloatAssertions.absoluteProducts(av,
                        QuantKernelsContract.dequantized((PackedWeights) ((QuantizedMatrix) scalar).weights()), m, k, n, false);
                dev.tensorloom.testkit.FloatAssertions.assertProductClose(expected.toArray(), c.toArray(), bound, n);
                // The oracle is the float64 product with the stored weights, rounded once.
                assertArrayEquals(QuantKernelsContract.product(av,
                        QuantKernelsContract.dequantized((PackedWeights) ((QuantizedMatrix) scalar).weights()), m, k, n),
                        expected.toArray());
            }
            Tensor wrong = Tensor.allocate(arena, 2, k + 1);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> vector.multiply(wrong, Tensor.allocate(arena, 2, n)));
            assertTrue(e.getMessage().contains("shapes disagree"), e.getMessage());
        }
    }

    @Test
    void thePreparerNamesTheMatrixItCannotQuantize() {
        try (Arena arena = Arena.ofShared()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> QuantizedMatrix.rtn(new ScalarBackend(), GroupFormat.symmetric(4, 128))
                            .prepare("layers.3.output", Tensor.allocate(arena, 100, 8), arena));
            assertTrue(e.getMessage().startsWith("layers.3.output: k = 100 is not a multiple of the group size 128"),
                    e.getMessage());
        }
    }
}
