package dev.tensorloom.runtime.kernel;

import static dev.tensorloom.runtime.kernel.KernelAssertions.absoluteProducts;
import static dev.tensorloom.runtime.kernel.KernelAssertions.assertClose;
import static dev.tensorloom.runtime.kernel.KernelAssertions.assertProductClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.runtime.tensor.Tensor;
import dev.tensorloom.testkit.FloatAssertions;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
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
 * The contract of {@link Kernels}, written once and run against every backend (one subclass each): every
 * operation against the scalar oracle on sizes that are awkward for 4-, 8- and 16-lane vectors, 6-row tiles
 * and 64-wide GPU tiles (1, primes, one past a multiple, k of about 2000), on contiguous operands and on
 * strided views whose margins must come out untouched, with the operands placed where the backend computes
 * (the same view, offset and leading dimension, of a copy of the parent). Products are compared within the
 * bounds of {@link KernelAssertions}; kernels that only add or copy must match exactly; bad shapes fail with
 * the oracle's exception and message.
 */
abstract class KernelsContract {

    private static final Kernels SCALAR = new ScalarKernels();

    private Arena arena;
    private Matrices matrices;
    private Backend backend;
    private Kernels kernels;

    /** The backend under test. */
    abstract Backend backend();

    /**
     * GELU's relative bound against the oracle: float exp and division on the CPU err by a few ulp of x with
     * nothing from cancellation (1e-6). A backend whose erf is only documented to a few ulp of erf itself,
     * where 1 + erf cancels for negative x, states its own.
     */
    double geluRelativeTolerance() {
        return 1e-6;
    }

    @BeforeEach
    void openArena() {
        arena = Arena.ofShared();
        matrices = new Matrices(arena, new Random(42));
        backend = backend();
        kernels = backend.kernels();
    }

    @AfterEach
    void closeArena() {
        arena.close();
    }

    /** A host test matrix placed where the backend computes; {@link #result} brings its values back. */
    private final class Placed {
        private final Tensor host;
        private final float[] parentBefore;
        private final Tensor parent;
        private final Tensor view;

        Placed(Tensor host) {
            this.host = host;
            this.parentBefore = Matrices.snapshot(host);
            this.parent = backend.toDevice(Matrices.parentOf(host), arena);
            this.view = viewLike(parent, host);
        }

        /** The view's values on the host, after checking that the rest of its parent was left as it was. */
        Tensor result() {
            Tensor after = viewLike(backend.toHost(parent, arena), host);
            Matrices.assertMarginsUntouched(parentBefore, after);
            return after;
        }
    }

    private Placed place(Tensor host) {
        return new Placed(host);
    }

    private Tensor on(Tensor host) {
        return place(host).view;
    }

    /** The view of {@code parent} at the offset and shape {@code view} has in its own parent. */
    private static Tensor viewLike(Tensor parent, Tensor view) {
        if (Matrices.parentOf(view) == view) {
            return parent;
        }
        long ld = parent.dim(1);
        long row = view.offset() / ld;
        long col = view.offset() % ld;
        return parent.slice(0, row, row + view.rows()).slice(1, col, col + view.cols());
    }

    static Stream<Arguments> products() {
        int[][] shapes = {
            {1, 1, 1}, {1, 7, 13}, {7, 13, 1}, {13, 31, 97}, {97, 13, 31}, {31, 97, 7}, {6, 16, 32},
            {17, 33, 47}, {1, 2003, 5}, {13, 2003, 37}, {96, 40, 33}, {65, 129, 70}, {97, 300, 530},
            {131, 257, 97}, {130, 67, 131}, {200, 31, 7}, {10, 384, 1536}, {101, 1100, 67}, {3, 1030, 5},
            {20, 2003, 130}};
        List<Arguments> args = new ArrayList<>();
        for (int[] s : shapes) {
            args.add(Arguments.of(s[0], s[1], s[2], false));
            args.add(Arguments.of(s[0], s[1], s[2], true));
        }
        return args.stream();
    }

    @ParameterizedTest(name = "[{0}x{1}]·[{1}x{2}] strided={3}")
    @MethodSource("products")
    void matmulMatchesTheOracle(int m, int k, int n, boolean strided) {
        Tensor a = matrices.random(m, k, strided);
        Tensor b = matrices.random(k, n, strided);
        Placed c = place(matrices.random(m, n, strided));
        Tensor expected = Tensor.allocate(arena, m, n);
        SCALAR.matmul(a, b, expected);
        kernels.matmul(on(a), on(b), c.view);
        assertProductClose(expected, c.result(), absoluteProducts(arena, a, b, false));
    }

    @ParameterizedTest(name = "[{0}x{1}]·prepared [{1}x{2}] strided={3}")
    @MethodSource("products")
    void aPreparedMatrixMultipliesLikeTheOracle(int m, int k, int n, boolean strided) {
        Tensor a = matrices.random(m, k, strided);
        Tensor b = matrices.random(k, n, strided);
        Placed c = place(matrices.random(m, n, strided));
        Tensor expected = Tensor.allocate(arena, m, n);
        SCALAR.matmul(a, b, expected);
        PreparedMatrix prepared = kernels.prepare(on(b));
        assertEquals(k, prepared.rows());
        assertEquals(n, prepared.cols());
        // A dense prepared matrix holds its k·n floats, and panels pad n to their width (at most 32 floats).
        long floats = prepared.bytes() / Float.BYTES;
        assertTrue(floats >= (long) k * n && floats <= (long) k * (n + 32), prepared.bytes() + " bytes");
        prepared.multiply(on(a), c.view);
        assertProductClose(expected, c.result(), absoluteProducts(arena, a, b, false));
    }

    /**
     * Every edge of the 6-row tile (1, 5, 6, 7, 13 rows) against every edge of a 2-vector panel at 4, 8 and 16 lanes
     * (widths one short of, at and one past 8, 16 and 32), depths of one block and of three 512-deep blocks, and a
     * product wide and tall enough to be cut among the threads.
     */
    static Stream<Arguments> linearShapes() {
        int[][] shapes = {
            {1, 1, 1}, {5, 37, 7}, {6, 384, 8}, {7, 13, 9}, {13, 1100, 15}, {6, 5, 16}, {5, 1100, 17}, {7, 384, 31},
            {1, 1030, 32}, {13, 64, 33}, {0, 384, 64}, {97, 1100, 70}, {200, 384, 97}};
        List<Arguments> args = new ArrayList<>();
        for (int[] s : shapes) {
            for (boolean gelu : new boolean[] {false, true}) {
                args.add(Arguments.of(s[0], s[1], s[2], gelu, (s[0] + s[2]) % 2 == 0));
            }
        }
        return args.stream();
    }

    /**
     * The linear layer (fused where the backend fuses) against the unfused oracle: product, bias, then GELU. The
     * bias adds one rounding to the product's error, which GELU passes on scaled by its slope (at most 1.13,
     * taken as 1.2), and GELU adds its own relative error.
     */
    @ParameterizedTest(name = "[{0}x{1}]·prepared [{1}x{2}] + bias, gelu={3} strided={4}")
    @MethodSource("linearShapes")
    void linearMatchesTheUnfusedOracle(int m, int k, int n, boolean gelu, boolean strided) {
        Tensor a = matrices.random(m, k, strided);
        Tensor b = matrices.random(k, n, strided);
        // A bias away from zero, as a view that starts past its parent's first float.
        Tensor bias = scaled(matrices.random(1, n + 3, false), 2f, 0.5f).reshape(n + 3).slice(0, 3, n + 3);
        Placed c = place(matrices.random(m, n, strided));
        Tensor expected = Tensor.allocate(arena, m, n);
        SCALAR.matmul(a, b, expected);
        SCALAR.addBias(expected, bias);
        if (gelu) {
            SCALAR.gelu(expected);
        }
        kernels.linear(on(a), kernels.prepare(on(b)), on(bias), gelu, c.view);
        float[] products = absoluteProducts(arena, a, b, false).toArray();
        float[] biases = bias.toArray();
        float[] values = expected.toArray();
        float[] bound = new float[products.length];
        double geluScale = geluRelativeTolerance() / FloatAssertions.PRODUCT_TOLERANCE;
        for (int i = 0; i < bound.length; i++) {
            double linear = products[i] + Math.abs(biases[i % n]);
            bound[i] = (float) (gelu ? 1.2 * linear + geluScale * Math.abs(values[i]) : linear);
        }
        assertProductClose(expected, c.result(), Tensor.of(arena, bound, m, n));
    }

    @ParameterizedTest(name = "[{0}x{1}]·[{2}x{1}]ᵀ strided={3}")
    @MethodSource("products")
    void matmulTransposedBMatchesTheOracle(int m, int k, int n, boolean strided) {
        Tensor a = matrices.random(m, k, strided);
        Tensor b = matrices.random(n, k, strided);
        Placed c = place(matrices.random(m, n, strided));
        Tensor expected = Tensor.allocate(arena, m, n);
        SCALAR.matmulTransposedB(a, b, expected);
        kernels.matmulTransposedB(on(a), on(b), c.view);
        assertProductClose(expected, c.result(), absoluteProducts(arena, a, b, true));
    }

    @Test
    void matmulWithAnEmptySharedDimensionIsZero() {
        Placed c = place(matrices.random(3, 5, true));
        kernels.matmul(on(Tensor.allocate(arena, 3, 0)), on(Tensor.allocate(arena, 0, 5)), c.view);
        assertArrayEquals(new float[15], c.result().toArray());
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
    void gemvMatchesTheOracle(int m, int k, boolean strided) {
        Tensor a = matrices.random(m, k, strided);
        Tensor x = matrices.vector(k);
        Placed y = place(matrices.vector(m));
        Tensor expected = Tensor.allocate(arena, m);
        SCALAR.gemv(a, x, expected);
        kernels.gemv(on(a), on(x), y.view);
        assertProductClose(expected.reshape(m, 1), y.result().reshape(m, 1),
                absoluteProducts(arena, a, x.reshape(k, 1), false));
    }

    static Stream<Arguments> rowShapes() {
        int[][] shapes = {{1, 1}, {1, 7}, {7, 13}, {33, 17}, {31, 97}, {97, 33}, {3, 384}, {2, 2003}, {5, 1031},
            {300, 385}};
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
        SCALAR.add(expected, y);
        SCALAR.addBias(expected, bias);
        Placed placed = place(x);
        kernels.add(placed.view, on(y));
        kernels.addBias(placed.view, on(bias));
        assertArrayEquals(expected.toArray(), placed.result().toArray());
    }

    @ParameterizedTest(name = "[{0}x{1}] strided={2}")
    @MethodSource("rowShapes")
    void layerNormMatchesTheOracle(int m, int n, boolean strided) {
        // An offset mean tests that the variance is taken around the mean, not as E[x²] - E[x]².
        Tensor x = scaled(matrices.random(m, n, strided), 1f, 30f);
        Tensor gamma = matrices.vector(n);
        Tensor beta = matrices.vector(n);
        Tensor expected = matrices.copyOf(x, strided);
        SCALAR.layerNorm(expected, gamma, beta, 1e-5f);
        Placed placed = place(x);
        kernels.layerNorm(placed.view, on(gamma), on(beta), 1e-5f);
        // Normalized values are O(1) times gamma; the mean of values near 30 is known to about 30·√n·u.
        assertClose(expected, placed.result(), 2e-4, 1e-4);
    }

    @ParameterizedTest(name = "[{0}x{1}] strided={2}")
    @MethodSource("rowShapes")
    void layerNormWithATinyEpsilonMatchesTheOracle(int m, int n, boolean strided) {
        // BERT's epsilon of 1e-12 adds nothing to a variance of about 1/3: the rows' own spread decides.
        Tensor x = matrices.random(m, n, strided);
        Tensor gamma = matrices.vector(n);
        Tensor beta = matrices.vector(n);
        Tensor expected = matrices.copyOf(x, strided);
        SCALAR.layerNorm(expected, gamma, beta, 1e-12f);
        Placed placed = place(x);
        kernels.layerNorm(placed.view, on(gamma), on(beta), 1e-12f);
        assertClose(expected, placed.result(), 1e-5, 1e-5);
    }

    @ParameterizedTest(name = "[{0}x{1}] strided={2}")
    @MethodSource("rowShapes")
    void geluMatchesTheOracle(int m, int n, boolean strided) {
        Tensor x = scaled(matrices.random(m, n, strided), 7f, 0f);
        Tensor expected = matrices.copyOf(x, strided);
        SCALAR.gelu(expected);
        Placed placed = place(x);
        kernels.gelu(placed.view);
        assertClose(expected, placed.result(), 1e-6, geluRelativeTolerance());
    }

    @ParameterizedTest(name = "[{0}x{1}] strided={2}")
    @MethodSource("epilogueShapes")
    void fusedBiasGeluMatchesTheUnfusedOracle(int m, int n, boolean strided) {
        Tensor x = scaled(matrices.random(m, n, strided), 5f, 0f);
        Tensor bias = scaled(matrices.random(1, n, false), 2f, 0f).reshape(n);
        Tensor expected = matrices.copyOf(x, strided);
        SCALAR.addBias(expected, bias);
        SCALAR.gelu(expected);
        Placed placed = place(x);
        kernels.addBiasGelu(placed.view, on(bias));
        // The bias sum is exact in both; what is left is GELU's own bound.
        assertClose(expected, placed.result(), 1e-6, geluRelativeTolerance());
    }

    @ParameterizedTest(name = "[{0}x{1}] strided={2}")
    @MethodSource("epilogueShapes")
    void fusedBiasResidualLayerNormMatchesTheUnfusedOracle(int m, int n, boolean strided) {
        // The residual carries an offset mean, as the encoder's hidden states do, so the variance must be
        // taken around the mean of the summed row, not of x alone.
        Tensor x = matrices.random(m, n, strided);
        Tensor residual = scaled(matrices.random(m, n, !strided), 3f, 20f);
        Tensor bias = matrices.vector(n);
        Tensor gamma = matrices.vector(n);
        Tensor beta = matrices.vector(n);
        Tensor residualBefore = matrices.copyOf(residual, false);
        Tensor expected = matrices.copyOf(x, strided);
        SCALAR.addBias(expected, bias);
        SCALAR.add(expected, residual);
        SCALAR.layerNorm(expected, gamma, beta, 1e-12f);
        Placed placed = place(x);
        Placed placedResidual = place(residual);
        kernels.addBiasResidualLayerNorm(placed.view, on(bias), placedResidual.view, on(gamma), on(beta), 1e-12f);
        // As for layerNorm with an offset mean: the mean of values near 20 is known to about 20·√n·u.
        assertClose(expected, placed.result(), 2e-4, 1e-4);
        assertArrayEquals(residualBefore.toArray(), placedResidual.result().toArray(), "residual unchanged");
    }

    /**
     * Rows as the encoder has them (0 rows for an empty batch, 1 for one padded token, 384 and 1536 wide)
     * and widths that leave every vector length a tail.
     */
    static Stream<Arguments> epilogueShapes() {
        int[][] shapes = {{0, 384}, {1, 384}, {1, 1}, {7, 13}, {10, 1536}, {33, 17}, {5, 1031}, {130, 385}};
        List<Arguments> args = new ArrayList<>();
        for (int[] s : shapes) {
            args.add(Arguments.of(s[0], s[1], false));
            args.add(Arguments.of(s[0], s[1], true));
        }
        return args.stream();
    }

    @Test
    void geluAtKnownPoints() {
        float[] xs = {0f, 1f, -1f, 3f, -3f, 10f, -10f, 1e-20f, -40f};
        Placed x = place(Tensor.of(arena, xs, 1, xs.length));
        kernels.gelu(x.view);
        float[] y = x.result().toArray();
        for (int i = 0; i < xs.length; i++) {
            double exact = 0.5 * xs[i] * (1 + Erf.erf(xs[i] / Math.sqrt(2)));
            assertEquals(exact, y[i], 1e-6 * Math.max(1, Math.abs(xs[i])), "gelu(" + xs[i] + ")");
        }
        assertEquals(0f, y[8], 0f, "gelu(-40) underflows to zero");
    }

    @ParameterizedTest(name = "[{0}x{1}] strided={2}")
    @MethodSource("rowShapes")
    void softmaxRowsMatchesTheOracle(int m, int n, boolean strided) {
        Tensor x = matrices.random(m, n, strided);
        float[] values = x.toArray();
        for (int i = 0; i < values.length; i++) {
            values[i] = i % 5 == 3 ? Float.NEGATIVE_INFINITY : values[i] * 20f;
        }
        Arrays.fill(values, 0, n, Float.NEGATIVE_INFINITY);
        x.copyFrom(Tensor.of(arena, values, m, n));
        Tensor expected = matrices.copyOf(x, strided);
        SCALAR.softmaxRows(expected);
        Placed placed = place(x);
        kernels.softmaxRows(placed.view);
        Tensor result = placed.result();
        assertClose(expected, result, 1e-6, 1e-5);
        assertArrayEquals(new float[n], result.row(0).toArray(), "a row of -inf becomes zeros");
    }

    @ParameterizedTest(name = "[{0}x{1}] strided={2}")
    @MethodSource("rowShapes")
    void l2NormalizeRowsMatchesTheOracle(int m, int n, boolean strided) {
        Tensor x = matrices.random(m, n, strided);
        x.row(0).copyFrom(Tensor.allocate(arena, n));
        Tensor expected = matrices.copyOf(x, strided);
        SCALAR.l2NormalizeRows(expected);
        Placed placed = place(x);
        kernels.l2NormalizeRows(placed.view);
        Tensor result = placed.result();
        assertClose(expected, result, 1e-6, 1e-5);
        assertArrayEquals(new float[n], result.row(0).toArray(), "a row of zeros stays zero");
    }

    @ParameterizedTest(name = "table [{0}x{1}] strided={2}")
    @MethodSource("rowShapes")
    void gatherRowsMatchesExactly(int rows, int cols, boolean strided) {
        Tensor table = matrices.random(rows, cols, strided);
        Random r = new Random(rows * 31L + cols);
        int[] ids = new int[rows + 3];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = r.nextInt(rows);
        }
        Tensor expected = Tensor.allocate(arena, ids.length, cols);
        SCALAR.gatherRows(table, ids, expected);
        Placed out = place(matrices.random(ids.length, cols, strided));
        kernels.gatherRows(on(table), ids, out.view);
        assertArrayEquals(expected.toArray(), out.result().toArray());
    }

    static Stream<Arguments> attentionShapes() {
        // batch, seq, hidden, heads: lengths 1, 7, 128 and 512 among them, so that the keys of a text span
        // several blocks of a streaming kernel (with padding and holes cutting the blocks short); head dims of
        // 7 to 48, so that a kernel taking two vectors of the head dimension at once also meets an odd third.
        return Stream.of(Arguments.of(2, 37, 96, 2),
                Arguments.of(1, 1, 16, 1), Arguments.of(2, 7, 21, 3), Arguments.of(3, 13, 48, 4),
                Arguments.of(3, 13, 384, 12), Arguments.of(2, 33, 64, 2), Arguments.of(4, 40, 96, 3),
                Arguments.of(1, 97, 32, 1), Arguments.of(2, 128, 64, 2), Arguments.of(2, 200, 64, 8),
                Arguments.of(2, 512, 32, 1));
    }

    @ParameterizedTest(name = "batch={0} seq={1} hidden={2} heads={3}")
    @MethodSource("attentionShapes")
    void attentionAndMeanPoolingMatchTheOracle(int batch, int seq, int hidden, int heads) {
        int tokens = batch * seq;
        // q, k and v are column blocks of one fused projection, as the encoder produces them.
        Tensor qkv = matrices.random(tokens, 3 * hidden, false);
        Tensor keyMask = Tensor.of(arena, paddingMask(batch, seq), batch, seq);
        Tensor expected = Tensor.allocate(arena, tokens, hidden);
        SCALAR.attention(qkv.slice(1, 0, hidden), qkv.slice(1, hidden, 2L * hidden),
                qkv.slice(1, 2L * hidden, 3L * hidden), keyMask, heads, expected);

        Tensor placedQkv = on(qkv);
        Tensor placedMask = on(keyMask);
        Placed out = place(matrices.random(tokens, hidden, true));
        kernels.attention(placedQkv.slice(1, 0, hidden), placedQkv.slice(1, hidden, 2L * hidden),
                placedQkv.slice(1, 2L * hidden, 3L * hidden), placedMask, heads, out.view);
        // Outputs are convex combinations of values in [-1, 1]; scores are short dot products.
        assertClose(expected, out.result(), 1e-5, 1e-5);

        // Both sides pool the same input: the oracle's attention output, strided on odd head counts.
        Tensor states = matrices.random(tokens, hidden, heads % 2 == 1);
        states.copyFrom(expected);
        Tensor pooled = Tensor.allocate(arena, batch, hidden);
        SCALAR.meanPool(states, keyMask, pooled);
        Placed placedPooled = place(matrices.random(batch, hidden, true));
        kernels.meanPool(on(states), placedMask, placedPooled.view);
        assertClose(pooled, placedPooled.result(), 1e-6, 1e-5);
    }

    /**
     * Text b has max(1, seq - 3b) real tokens, text 2 none at all (its queries attend to nothing and it pools
     * to zero), and text 1 also has holes in the middle, not only padding at the end.
     */
    private static float[] paddingMask(int batch, int seq) {
        float[] mask = new float[batch * seq];
        Random r = new Random(seq);
        for (int b = 0; b < batch; b++) {
            int length = b == 2 ? 0 : Math.max(1, seq - b * 3);
            for (int t = 0; t < seq; t++) {
                mask[b * seq + t] = t < length && !(b == 1 && r.nextInt(4) == 0) ? 1f : 0f;
            }
        }
        return mask;
    }

    @Test
    void badArgumentsFailWithTheOraclesExceptionAndMessage() {
        Tensor a = Tensor.allocate(arena, 3, 4);
        Tensor b = Tensor.allocate(arena, 5, 6);
        Tensor c = Tensor.allocate(arena, 3, 6);
        assertSameFailure(() -> SCALAR.matmul(a, b, c), () -> kernels.matmul(on(a), on(b), on(c)));
        assertSameFailure(() -> SCALAR.matmulTransposedB(a, b, c),
                () -> kernels.matmulTransposedB(on(a), on(b), on(c)));
        assertSameFailure(() -> SCALAR.prepare(b).multiply(a, c), () -> kernels.prepare(on(b)).multiply(on(a), on(c)));
        Tensor x5 = Tensor.allocate(arena, 5);
        Tensor y3 = Tensor.allocate(arena, 3);
        Tensor w = Tensor.allocate(arena, 4, 6);
        Tensor x6 = Tensor.allocate(arena, 6);
        assertSameFailure(() -> SCALAR.linear(a, SCALAR.prepare(b), x6, true, c),
                () -> kernels.linear(on(a), kernels.prepare(on(b)), on(x6), true, on(c)));
        assertSameFailure(() -> SCALAR.linear(a, SCALAR.prepare(w), x5, true, c),
                () -> kernels.linear(on(a), kernels.prepare(on(w)), on(x5), true, on(c)));
        assertSameFailure(() -> SCALAR.gemv(a, x5, y3), () -> kernels.gemv(on(a), on(x5), on(y3)));
        assertSameFailure(() -> SCALAR.addBias(a, x5), () -> kernels.addBias(on(a), on(x5)));
        assertSameFailure(() -> SCALAR.add(a, c), () -> kernels.add(on(a), on(c)));
        assertSameFailure(() -> SCALAR.addBiasGelu(a, x5), () -> kernels.addBiasGelu(on(a), on(x5)));
        Tensor x4 = Tensor.allocate(arena, 4);
        assertSameFailure(() -> SCALAR.addBiasResidualLayerNorm(a, x4, c, x4, x4, 1e-5f),
                () -> kernels.addBiasResidualLayerNorm(on(a), on(x4), on(c), on(x4), on(x4), 1e-5f));
        assertSameFailure(() -> SCALAR.addBiasResidualLayerNorm(a, x4, a, x5, x4, 1e-5f),
                () -> kernels.addBiasResidualLayerNorm(on(a), on(x4), on(a), on(x5), on(x4), 1e-5f));
        Tensor out = Tensor.allocate(arena, 2, 4);
        assertSameFailure(() -> SCALAR.gatherRows(a, new int[] {0, 3}, out),
                () -> kernels.gatherRows(on(a), new int[] {0, 3}, on(out)));
        Tensor q = Tensor.allocate(arena, 6, 8);
        Tensor mask = Tensor.allocate(arena, 2, 3);
        assertSameFailure(() -> SCALAR.attention(q, q, q, mask, 3, q), () -> {
            Tensor placedQ = on(q);
            kernels.attention(placedQ, placedQ, placedQ, on(mask), 3, placedQ);
        });
    }

    @Test
    void tensorsWithAColumnStrideAreRefusedLikeTheOracleRefusesThem() {
        Tensor transposed = Tensor.allocate(arena, 4, 3).transpose(0, 1);
        Tensor b = Tensor.allocate(arena, 4, 2);
        Tensor c = Tensor.allocate(arena, 3, 2);
        // A column-strided view cannot be placed on a device as a view; the refusal is the oracle's either way.
        assertSameFailure(() -> SCALAR.matmul(transposed, b, c), () -> kernels.matmul(transposed, on(b), on(c)));
    }

    private static void assertSameFailure(Runnable oracle, Runnable underTest) {
        RuntimeException expected = assertThrows(RuntimeException.class, oracle::run);
        RuntimeException actual = assertThrows(RuntimeException.class, underTest::run);
        assertEquals(expected.getClass(), actual.getClass(), actual.toString());
        // A device tensor names where it lives ("on cuda:0 (...)"); the rest of the message is the oracle's.
        assertEquals(expected.getMessage(), actual.getMessage().replaceAll(" on \\S+ \\([^)]*\\)", ""));
    }

    /** x·scale + shift, in place, for inputs away from [-1, 1). */
    private Tensor scaled(Tensor x, float scale, float shift) {
        float[] values = x.toArray();
        for (int i = 0; i < values.length; i++) {
            values[i] = values[i] * scale + shift;
        }
        x.copyFrom(Tensor.of(arena, values, x.rows(), x.cols()));
        return x;
    }
}
