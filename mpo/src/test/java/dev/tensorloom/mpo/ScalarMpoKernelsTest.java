package dev.tensorloom.mpo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tensorloom.runtime.kernel.ScalarBackend;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The oracle against hand-worked answers and against its own dense form multiplied out in double. */
class ScalarMpoKernelsTest {

    private final ScalarMpoKernels kernels = new ScalarMpoKernels(new ScalarBackend());

    @Test
    void twoCoresOfOneRowFactorAndOneColumnFactorAreAMatrixProduct() {
        // I = (2, 1), J = (1, 2), bond 2: W[i][j] = Σ_a A[i][a]·B[a][j] with A = core 0 as [2, 2], B = core 1 as [2, 2].
        MpoShape shape = new MpoShape(new int[] {2, 1}, new int[] {1, 2});
        try (Arena arena = Arena.ofConfined()) {
            Mpo mpo = new Mpo(shape, new int[] {1, 2, 1}, new Tensor[] {
                Tensor.of(arena, new float[] {1, 2, 3, 4}, 1, 2, 1, 2),
                Tensor.of(arena, new float[] {5, 6, 7, 8}, 2, 1, 2, 1)});
            Tensor w = Tensor.allocate(arena, 2, 2);
            kernels.contractToDense(mpo, w);
            assertArrayEquals(new float[] {19, 22, 43, 50}, w.toArray());
        }
    }

    @Test
    void rowAndColumnDigitsInterleave() {
        // I = (2, 2), J = (2, 2), bonds 1: W[(i1,i2)][(j1,j2)] = A[i1][j1]·B[i2][j2], the Kronecker product A ⊗ B.
        MpoShape shape = new MpoShape(new int[] {2, 2}, new int[] {2, 2});
        try (Arena arena = Arena.ofConfined()) {
            Mpo mpo = new Mpo(shape, new int[] {1, 1, 1}, new Tensor[] {
                Tensor.of(arena, new float[] {1, 2, 3, 4}, 1, 2, 2, 1),
                Tensor.of(arena, new float[] {0, 1, 10, 100}, 1, 2, 2, 1)});
            Tensor w = Tensor.allocate(arena, 4, 4);
            kernels.contractToDense(mpo, w);
            assertArrayEquals(new float[] {
                0, 1, 0, 2,
                10, 100, 20, 200,
                0, 3, 0, 4,
                30, 300, 40, 400}, w.toArray());
            Tensor x = Tensor.of(arena, new float[] {1, 0, 0, 1, 0, 1, 1, 0}, 2, 4);
            Tensor y = Tensor.allocate(arena, 2, 4);
            kernels.multiply(mpo, x, y);
            assertArrayEquals(new float[] {30, 301, 40, 402, 10, 103, 20, 204}, y.toArray());
        }
    }

    @Test
    void theDirectProductIsXTimesTheDenseMatrix() {
        Random random = new Random(7);
        MpoShape shape = new MpoShape(new int[] {3, 2, 4}, new int[] {2, 5, 3});
        int[] bonds = {1, 4, 3, 1};
        try (Arena arena = Arena.ofConfined()) {
            Mpo mpo = RandomMpos.mpo(shape, bonds, random, arena);
            Tensor w = Tensor.allocate(arena, 24, 30);
            kernels.contractToDense(mpo, w);
            int m = 3;
            Tensor x = Tensor.of(arena, RandomMpos.gaussian(random, m * 24), m, 24);
            Tensor y = Tensor.allocate(arena, m, 30);
            kernels.multiply(mpo, x, y);
            for (int b = 0; b < m; b++) {
                for (int j = 0; j < 30; j++) {
                    double expected = 0;
                    double scale = 0;
                    for (int i = 0; i < 24; i++) {
                        expected += (double) x.get(b, i) * w.get(i, j);
                        scale += Math.abs((double) x.get(b, i) * w.get(i, j));
                    }
                    assertEquals(expected, y.get(b, j), 1e-6 * scale, "(" + b + ", " + j + ")");
                }
            }
        }
    }
}
