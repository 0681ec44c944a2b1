package dev.tensorloom.runtime.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The oracle against answers worked out by hand: every other backend is tested against it, so it is tested
 * against something that is not code. Small integers keep every product exact in float32.
 */
class ScalarKernelsTest {

    private static final Kernels SCALAR = new ScalarKernels();

    private Arena arena;

    @BeforeEach
    void openArena() {
        arena = Arena.ofConfined();
    }

    @AfterEach
    void closeArena() {
        arena.close();
    }

    private Tensor matrix(int rows, int cols, float... values) {
        return Tensor.of(arena, values, rows, cols);
    }

    @Test
    void matmul() {
        Tensor a = matrix(2, 3, 1, 2, 3, 4, 5, 6);
        Tensor b = matrix(3, 2, 7, 8, 9, 10, 11, 12);
        Tensor c = Tensor.allocate(arena, 2, 2);
        SCALAR.matmul(a, b, c);
        assertArrayEquals(new float[] {58, 64, 139, 154}, c.toArray());
    }

    @Test
    void matmulTransposedB() {
        Tensor a = matrix(2, 3, 1, 2, 3, 4, 5, 6);
        Tensor b = matrix(2, 3, 7, 9, 11, 8, 10, 12); // the b of matmul(), transposed
        Tensor c = Tensor.allocate(arena, 2, 2);
        SCALAR.matmulTransposedB(a, b, c);
        assertArrayEquals(new float[] {58, 64, 139, 154}, c.toArray());
    }

    @Test
    void gemvReadsAStridedMatrix() {
        Tensor parent = matrix(2, 4, 1, 2, 3, -100, 4, 5, 6, -100);
        Tensor a = parent.slice(1, 0, 3); // leading dimension 4, the last column left out
        Tensor x = Tensor.of(arena, new float[] {1, 0, -1}, 3);
        Tensor y = Tensor.allocate(arena, 2);
        SCALAR.gemv(a, x, y);
        assertArrayEquals(new float[] {-2, -2}, y.toArray());
    }

    @Test
    void preparedMatrixMultipliesLikeMatmul() {
        Tensor b = matrix(3, 2, 7, 8, 9, 10, 11, 12);
        Tensor c = Tensor.allocate(arena, 2, 2);
        SCALAR.prepare(b).multiply(matrix(2, 3, 1, 2, 3, 4, 5, 6), c);
        assertArrayEquals(new float[] {58, 64, 139, 154}, c.toArray());
        assertEquals(24, SCALAR.prepare(b).bytes());
    }

    @Test
    void softmaxRows() {
        float inf = Float.POSITIVE_INFINITY;
        Tensor x = matrix(4, 3,
                0, 0, 0,                   // uniform
                0, (float) Math.log(3), -inf, // e^0 : e^ln3 : 0 = 1 : 3 : 0
                -inf, -inf, -inf,          // nothing to attend to: all zeros, never NaN
                1000, 1000, -inf);         // large logits must not overflow
        SCALAR.softmaxRows(x);
        float[] y = x.toArray();
        float third = 1f / 3;
        assertArrayEquals(new float[] {third, third, third}, slice(y, 0), 1e-7f);
        assertArrayEquals(new float[] {0.25f, 0.75f, 0}, slice(y, 1), 1e-7f);
        assertArrayEquals(new float[] {0, 0, 0}, slice(y, 2));
        assertArrayEquals(new float[] {0.5f, 0.5f, 0}, slice(y, 3), 1e-7f);
    }

    @Test
    void layerNormOfAKnownRow() {
        Tensor x = matrix(1, 4, 1, 2, 3, 4); // mean 2.5, biased variance 1.25
        Tensor gamma = Tensor.of(arena, new float[] {1, 1, 2, 2}, 4);
        Tensor beta = Tensor.of(arena, new float[] {0, 0, 0, 1}, 4);
        SCALAR.layerNorm(x, gamma, beta, 0f);
        double s = Math.sqrt(1.25);
        assertArrayEquals(new float[] {(float) (-1.5 / s), (float) (-0.5 / s), (float) (1.0 / s),
            (float) (3.0 / s + 1)}, x.toArray(), 1e-6f);
    }

    @Test
    void attentionWithOneKeyCopiesItsValueAndIgnoresPadding() {
        // One text of two tokens, the second padding: every query can attend only to token 0.
        Tensor q = matrix(2, 2, 1, 2, 3, 4);
        Tensor k = matrix(2, 2, 5, 6, 7, 8);
        Tensor v = matrix(2, 2, 9, 10, 11, 12);
        Tensor mask = matrix(1, 2, 1, 0);
        Tensor out = Tensor.allocate(arena, 2, 2);
        SCALAR.attention(q, k, v, mask, 1, out);
        assertArrayEquals(new float[] {9, 10, 9, 10}, out.toArray());
    }

    @Test
    void meanPoolAndL2Normalize() {
        Tensor x = matrix(3, 2, 3, 0, 1, 4, 100, 100); // one text of three tokens, the last padding
        Tensor mask = matrix(1, 3, 1, 1, 0);
        Tensor pooled = Tensor.allocate(arena, 1, 2);
        SCALAR.meanPool(x, mask, pooled);
        assertArrayEquals(new float[] {2, 2}, pooled.toArray());
        Tensor v = matrix(2, 2, 3, 4, 0, 0);
        SCALAR.l2NormalizeRows(v);
        assertArrayEquals(new float[] {0.6f, 0.8f, 0, 0}, v.toArray(), 1e-7f);
    }

    private static float[] slice(float[] values, int row) {
        return Arrays.copyOfRange(values, row * 3, row * 3 + 3);
    }
}
