package dev.tensorloom.runtime.kernel;

import static dev.tensorloom.runtime.kernel.KernelAssertions.absoluteProducts;
import static dev.tensorloom.runtime.kernel.KernelAssertions.assertClose;
import static dev.tensorloom.runtime.kernel.KernelAssertions.assertProductClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.runtime.kernel.vector.VectorKernels;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every vector kernel against the scalar oracle, on sizes that are awkward for 16-lane vectors and 6-row
 * tiles (1, primes, one past a multiple, k of about 2000), on contiguous tensors and on strided views whose
 * margins must come out untouched. Products are compared within the bounds of {@link KernelAssertions};
 * kernels that only add elementwise must match exactly.
 */
class VectorKernelsTest {

    private static final Parallelism TWO_THREADS = Parallelism.of(2);
    private static final Kernels SCALAR = new ScalarKernels();
    private static final Kernels VECTOR = new VectorKernels(TWO_THREADS);

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

    static Stream<Arguments> products() {
        int[][] shapes = {
            {1, 1, 1}, {1, 7, 13}, {7, 13, 1}, {13, 31, 97}, {97, 13, 31}, {31, 97, 7}, {6, 16, 32},
            {17, 33, 47}, {1, 2003, 5}, {13, 2003, 37}, {96, 40, 33}, {97, 300, 530}, {131, 257, 97},
            {200, 31, 7}, {10, 384, 1536}, {101, 1100, 67}};
        List<Arguments> args = new ArrayList<>();
        for (int[] s : shapes) {
            args.add(Arguments.of(s[0], s[1], s[2], false));
            args.add(Arguments.of(s[0], s[1], s[2], true));
        }
        return args.stream();
    }

    @ParameterizedTest(name = "[{0}x{1}]·[{1}x{2}] strided={3}")
    @MethodSource("products")
    void matmulMatchesScalar(int m, int k, int n, boolean strided) {
        Tensor a = matrices.random(m, k, strided);
        Tensor b = matrices.random(k, n, strided);
        Tensor c = matrices.random(m, n, strided);
        float[] margins = Matrices.snapshot(c);
        Tensor expected = Tensor.allocate(arena, m, n);
        VECTOR.matmul(a, b, c);
        SCALAR.matmul(a, b, expected);
        assertProductClose(expected, c, absoluteProducts(arena, a, b, false));
        Matrices.assertMarginsUntouched(margins, c);
    }

    @ParameterizedTest(name = "[{0}x{1}]·prepared [{1}x{2}] strided={3}")
    @MethodSource("products")
    void matmulWithPreparedWeightsMatchesScalar(int m, int k, int n, boolean strided) {
        Tensor a = matrices.random(m, k, strided);
        Tensor b = matrices.random(k, n, strided);
        Tensor c = matrices.random(m, n, strided);
        float[] margins = Matrices.snapshot(c);
        Tensor expected = Tensor.allocate(arena, m, n);
        PreparedMatrix prepared = VECTOR.prepare(b);
        assertEquals(k, prepared.rows());
        assertEquals(n, prepared.cols());
        VECTOR.matmul(a, prepared, c);
        SCALAR.matmul(a, SCALAR.prepare(b), expected);
        assertProductClose(expected, c, absoluteProducts(arena, a, b, false));
        Matrices.assertMarginsUntouched(margins, c);
    }

    @Test
    void aMatrixPreparedByAnotherBackendIsRefused() {
        Tensor b = matrices.random(8, 8, false);
        Tensor a = matrices.random(3, 8, false);
        Tensor c = Tensor.allocate(arena, 3, 8);
        var e = assertThrows(IllegalArgumentException.class, () -> VECTOR.matmul(a, SCALAR.prepare(b), c));
        assertTrue(e.getMessage().contains("another backend"), e.getMessage());
    }

    @ParameterizedTest(name = "[{0}x{1}]·[{2}x{1}]ᵀ strided={3}")
    @MethodSource("products")
    void matmulTransposedBMatchesScalar(int m, int k, int n, boolean strided) {
        Tensor a = matrices.random(m, k, strided);
        Tensor b = matrices.random(n, k, strided);
        Tensor c = matrices.random(m, n, strided);
        float[] margins = Matrices.snapshot(c);
        Tensor expected = Tensor.allocate(arena, m, n);
        VECTOR.matmulTransposedB(a, b, c);
        SCALAR.matmulTransposedB(a, b, expected);
        assertProductClose(expected, c, absoluteProducts(arena, a, b, true));
        Matrices.assertMarginsUntouched(margins, c);
    }

    @Test
    void matmulGivesTheSameBitsForAnyThreadCount() {
        // k = 600 spans two depth blocks, so the partial sums are accumulated into c.
        Tensor a = matrices.random(131, 600, true);
        Tensor b = matrices.random(600, 97, false);
        float[] reference = null;
        for (int threads : new int[] {1, 2, 3}) {
            Tensor c = Tensor.allocate(arena, 131, 97);
            new VectorKernels(Parallelism.of(threads)).matmul(a, b, c);
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
            VECTOR.matmul(a, b, c);
            SCALAR.matmul(a, b, expected);
            assertProductClose(expected, c, absoluteProducts(arena, a, b, false));
        }
    }

    @Test
    void matmulWithEmptySharedDimensionIsZero() {
        Tensor a = Tensor.allocate(arena, 3, 0);
        Tensor b = Tensor.allocate(arena, 0, 5);
        Tensor c = matrices.random(3, 5, true);
        VECTOR.matmul(a, b, c);
        assertArrayEquals(new float[15], c.toArray());
    }

    static Stream<Arguments> gemvShapes() {
        int[][] shapes = {{1, 1}, {7, 13}, {13, 97}, {97, 31}, {33, 2003}, {1024, 513}, {3, 17}};
        List<Arguments> args = new ArrayList<>();
        for (int[] s : shapes) {
            args.add(Arguments.of(s[0], s[1], false));
            args.add(Arguments.of(s[0], s[1], true));
        }
        return args.stream();
    }

    @ParameterizedTest(name = "[{0}x{1}]·x strided={2}")
    @MethodSource("gemvShapes")
    void gemvMatchesScalar(int m, int k, boolean strided) {
        Tensor a = matrices.random(m, k, strided);
        Tensor x = matrices.vector(k);
        Tensor y = matrices.vector(m);
        Tensor expected = Tensor.allocate(arena, m);
        VECTOR.gemv(a, x, y);
        SCALAR.gemv(a, x, expected);
        Tensor bound = absoluteProducts(arena, a, Tensor.wrap(x.segment(), k, 1), false);
        assertProductClose(expected.reshape(m, 1), y.reshape(m, 1), bound);
    }

    static Stream<Arguments> rowShapes() {
        int[][] shapes = {{1, 1}, {1, 7}, {7, 13}, {31, 97}, {97, 33}, {2, 2003}, {300, 385}};
        List<Arguments> args = new ArrayList<>();
        for (int[] s : shapes) {
            args.add(Arguments.of(s[0], s[1], false));
            args.add(Arguments.of(s[0], s[1], true));
        }
        return args.stream();
    }

    @ParameterizedTest(name = "[{0}x{1}] strided={2}")
    @MethodSource("rowShapes")
    void addAndAddBiasMatchExactly(int m, int n, boolean strided) {
        Tensor x = matrices.random(m, n, strided);
        Tensor y = matrices.random(m, n, !strided);
        Tensor bias = matrices.vector(n);
        Tensor expected = matrices.copyOf(x, strided);
        float[] margins = Matrices.snapshot(x);
        VECTOR.add(x, y);
        VECTOR.addBias(x, bias);
        SCALAR.add(expected, y);
        SCALAR.addBias(expected, bias);
        assertArrayEquals(expected.toArray(), x.toArray());
        Matrices.assertMarginsUntouched(margins, x);
    }

    @ParameterizedTest(name = "[{0}x{1}] strided={2}")
    @MethodSource("rowShapes")
    void layerNormMatchesScalar(int m, int n, boolean strided) {
        Tensor x = matrices.random(m, n, strided);
        // An offset mean tests that the variance is taken around the mean, not as E[x²] - E[x]².
        float[] shifted = x.toArray();
        for (int i = 0; i < shifted.length; i++) {
            shifted[i] += 30f;
        }
        x.copyFrom(Tensor.of(arena, shifted, m, n));
        Tensor gamma = matrices.vector(n);
        Tensor beta = matrices.vector(n);
        Tensor expected = matrices.copyOf(x, strided);
        float[] margins = Matrices.snapshot(x);
        VECTOR.layerNorm(x, gamma, beta, 1e-5f);
        SCALAR.layerNorm(expected, gamma, beta, 1e-5f);
        // Normalized values are O(1) times gamma; the mean of values near 30 is known to about 30·√n·u.
        assertClose(expected, x, 2e-4, 1e-4);
        Matrices.assertMarginsUntouched(margins, x);
    }

    @ParameterizedTest(name = "[{0}x{1}] strided={2}")
    @MethodSource("rowShapes")
    void geluMatchesScalar(int m, int n, boolean strided) {
        Tensor x = matrices.random(m, n, strided);
        float[] wide = x.toArray();
        for (int i = 0; i < wide.length; i++) {
            wide[i] *= 7f;
        }
        x.copyFrom(Tensor.of(arena, wide, m, n));
        Tensor expected = matrices.copyOf(x, strided);
        float[] margins = Matrices.snapshot(x);
        VECTOR.gelu(x);
        SCALAR.gelu(expected);
        // float exp and division against the oracle's double: a few ulp of x, nothing from cancellation.
        assertClose(expected, x, 1e-6, 1e-6);
        Matrices.assertMarginsUntouched(margins, x);
    }

    @Test
    void geluAtKnownPoints() {
        float[] xs = {0f, 1f, -1f, 3f, -3f, 10f, -10f, 1e-20f, -40f};
        Tensor x = Tensor.of(arena, xs, 1, xs.length);
        VECTOR.gelu(x);
        float[] y = x.toArray();
        for (int i = 0; i < xs.length; i++) {
            double exact = 0.5 * xs[i] * (1 + Erf.erf(xs[i] / Math.sqrt(2)));
            assertEquals(exact, y[i], 1e-6 * Math.max(1, Math.abs(xs[i])), "gelu(" + xs[i] + ")");
        }
        assertEquals(0f, y[8], 0f, "gelu(-40) underflows to zero");
    }

    @ParameterizedTest(name = "[{0}x{1}] strided={2}")
    @MethodSource("rowShapes")
    void softmaxRowsMatchesScalar(int m, int n, boolean strided) {
        Tensor x = matrices.random(m, n, strided);
        float[] values = x.toArray();
        for (int i = 0; i < values.length; i++) {
            values[i] = i % 5 == 3 ? Float.NEGATIVE_INFINITY : values[i] * 20f;
        }
        java.util.Arrays.fill(values, 0, n, Float.NEGATIVE_INFINITY);
        x.copyFrom(Tensor.of(arena, values, m, n));
        Tensor expected = matrices.copyOf(x, strided);
        float[] margins = Matrices.snapshot(x);
        VECTOR.softmaxRows(x);
        SCALAR.softmaxRows(expected);
        assertClose(expected, x, 1e-6, 1e-5);
        float[] first = x.toArray();
        for (int j = 0; j < n; j++) {
            assertEquals(0f, first[j], "a row of -inf becomes zeros");
        }
        Matrices.assertMarginsUntouched(margins, x);
    }

    @ParameterizedTest(name = "[{0}x{1}] strided={2}")
    @MethodSource("rowShapes")
    void l2NormalizeRowsMatchesScalar(int m, int n, boolean strided) {
        Tensor x = matrices.random(m, n, strided);
        float[] values = x.toArray();
        java.util.Arrays.fill(values, 0, n, 0f);
        x.copyFrom(Tensor.of(arena, values, m, n));
        Tensor expected = matrices.copyOf(x, strided);
        float[] margins = Matrices.snapshot(x);
        VECTOR.l2NormalizeRows(x);
        SCALAR.l2NormalizeRows(expected);
        assertClose(expected, x, 1e-6, 1e-5);
        Matrices.assertMarginsUntouched(margins, x);
    }

    @ParameterizedTest(name = "table [{0}x{1}] strided={2}")
    @MethodSource("rowShapes")
    void gatherRowsMatchesExactly(int rows, int cols, boolean strided) {
        Tensor table = matrices.random(rows, cols, strided);
        Random r = new Random(rows * 31 + cols);
        int[] ids = new int[rows + 3];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = r.nextInt(rows);
        }
        Tensor out = matrices.random(ids.length, cols, strided);
        float[] margins = Matrices.snapshot(out);
        Tensor expected = Tensor.allocate(arena, ids.length, cols);
        VECTOR.gatherRows(table, ids, out);
        SCALAR.gatherRows(table, ids, expected);
        assertArrayEquals(expected.toArray(), out.toArray());
        Matrices.assertMarginsUntouched(margins, out);
    }

    static Stream<Arguments> attentionShapes() {
        // batch, seq, hidden, heads
        return Stream.of(
                Arguments.of(1, 1, 16, 1), Arguments.of(2, 7, 21, 3), Arguments.of(3, 13, 384, 12),
                Arguments.of(2, 33, 64, 2), Arguments.of(4, 40, 96, 3), Arguments.of(1, 97, 32, 1));
    }

    @ParameterizedTest(name = "batch={0} seq={1} hidden={2} heads={3}")
    @MethodSource("attentionShapes")
    void attentionMatchesScalar(int batch, int seq, int hidden, int heads) {
        int tokens = batch * seq;
        // q, k and v are column blocks of one fused projection, as the encoder produces them.
        Tensor qkv = matrices.random(tokens, 3 * hidden, false);
        Tensor q = qkv.slice(1, 0, hidden);
        Tensor k = qkv.slice(1, hidden, 2 * hidden);
        Tensor v = qkv.slice(1, 2 * hidden, 3 * hidden);
        float[] mask = new float[batch * seq];
        Random r = new Random(seq);
        for (int b = 0; b < batch; b++) {
            int length = b == 2 ? 0 : Math.max(1, seq - b * 3);
            for (int t = 0; t < seq; t++) {
                // Sequence 1 also has holes in the middle, not only padding at the end.
                mask[b * seq + t] = t < length && !(b == 1 && r.nextInt(4) == 0) ? 1f : 0f;
            }
        }
        Tensor keyMask = Tensor.of(arena, mask, batch, seq);
        Tensor out = matrices.random(tokens, hidden, true);
        float[] margins = Matrices.snapshot(out);
        Tensor expected = Tensor.allocate(arena, tokens, hidden);
        VECTOR.attention(q, k, v, keyMask, heads, out);
        SCALAR.attention(q, k, v, keyMask, heads, expected);
        // Outputs are convex combinations of values in [-1, 1]; scores are short dot products.
        assertClose(expected, out, 1e-5, 1e-5);
        Matrices.assertMarginsUntouched(margins, out);
    }

    @ParameterizedTest(name = "batch={0} seq={1} hidden={2}")
    @MethodSource("attentionShapes")
    void meanPoolMatchesScalar(int batch, int seq, int hidden, int heads) {
        Tensor x = matrices.random(batch * seq, hidden, heads % 2 == 0);
        float[] mask = new float[batch * seq];
        for (int b = 0; b < batch; b++) {
            int length = b == 2 ? 0 : Math.max(1, seq - b * 3);
            for (int t = 0; t < length; t++) {
                mask[b * seq + t] = 1f;
            }
        }
        Tensor m = Tensor.of(arena, mask, batch, seq);
        Tensor out = matrices.random(batch, hidden, true);
        float[] margins = Matrices.snapshot(out);
        Tensor expected = Tensor.allocate(arena, batch, hidden);
        VECTOR.meanPool(x, m, out);
        SCALAR.meanPool(x, m, expected);
        assertClose(expected, out, 1e-6, 1e-5);
        Matrices.assertMarginsUntouched(margins, out);
    }

    @Test
    void rejectsBadShapesWithTheScalarMessages() {
        Tensor a = Tensor.allocate(arena, 3, 4);
        Tensor b = Tensor.allocate(arena, 5, 6);
        Tensor c = Tensor.allocate(arena, 3, 6);
        assertSameFailure(() -> SCALAR.matmul(a, b, c), () -> VECTOR.matmul(a, b, c));
        assertSameFailure(() -> SCALAR.matmulTransposedB(a, b, c), () -> VECTOR.matmulTransposedB(a, b, c));
        assertSameFailure(() -> SCALAR.gemv(a, Tensor.allocate(arena, 5), Tensor.allocate(arena, 3)),
                () -> VECTOR.gemv(a, Tensor.allocate(arena, 5), Tensor.allocate(arena, 3)));
        assertSameFailure(() -> SCALAR.addBias(a, Tensor.allocate(arena, 5)),
                () -> VECTOR.addBias(a, Tensor.allocate(arena, 5)));
        assertSameFailure(() -> SCALAR.add(a, c), () -> VECTOR.add(a, c));
        assertSameFailure(() -> SCALAR.gatherRows(a, new int[] {0, 3}, Tensor.allocate(arena, 2, 4)),
                () -> VECTOR.gatherRows(a, new int[] {0, 3}, Tensor.allocate(arena, 2, 4)));
        Tensor q = Tensor.allocate(arena, 6, 8);
        Tensor mask = Tensor.allocate(arena, 2, 3);
        assertSameFailure(() -> SCALAR.attention(q, q, q, mask, 3, q), () -> VECTOR.attention(q, q, q, mask, 3, q));
        Tensor transposed = Tensor.allocate(arena, 4, 3).transpose(0, 1);
        assertSameFailure(() -> SCALAR.matmul(transposed, Tensor.allocate(arena, 4, 2), Tensor.allocate(arena, 3, 2)),
                () -> VECTOR.matmul(transposed, Tensor.allocate(arena, 4, 2), Tensor.allocate(arena, 3, 2)));
        assertSameFailure(() -> SCALAR.gelu(transposed), () -> VECTOR.gelu(transposed));
    }

    @Test
    void reportsItsName() {
        assertEquals("vector", VECTOR.name());
        assertTrue(VECTOR.toString().contains("2 threads"), VECTOR.toString());
    }

    private static void assertSameFailure(Runnable scalar, Runnable vector) {
        RuntimeException expected = assertThrows(RuntimeException.class, scalar::run);
        RuntimeException actual = assertThrows(RuntimeException.class, vector::run);
        assertEquals(expected.getClass(), actual.getClass());
        assertEquals(expected.getMessage(), actual.getMessage());
    }
}
