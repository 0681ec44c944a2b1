package dev.tensorloom.runtime.kernel.vector;

import static dev.tensorloom.runtime.kernel.vector.PanelGemm.PANEL_WIDTH;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.runtime.kernel.Kernels;
import dev.tensorloom.runtime.kernel.Parallelism;
import dev.tensorloom.runtime.kernel.ScalarKernels;
import dev.tensorloom.runtime.kernel.Tasks;
import dev.tensorloom.runtime.kernel.vector.VectorGemm.Blocking;
import dev.tensorloom.runtime.tensor.Tensor;
import dev.tensorloom.testkit.FloatAssertions;
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
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The dense GEMM's cache blocking against the scalar oracle. The blocks at their real sizes need products of
 * millions of rows·columns to cross every edge, so most shapes run a blocking shrunk to a few floats: depth blocks
 * of 37, column blocks of two panels, blocks of a of 48 rows, crossed by one, by primes and by whole multiples, with
 * b packed per call and prepared, on one thread and on two. The contract test's products are too small for the L3
 * loop; one product here runs it at the real block sizes. Runs at every vector width the build tests (the panel
 * width follows it).
 */
class VectorGemmBlockingTest {

    private static final Kernels SCALAR = new ScalarKernels();
    private static final int NR = PANEL_WIDTH;
    /** kc = 37; two panels per block of b; 48 rows of a per block when a is cut in depth (48·37 floats). */
    private static final Blocking SMALL = new Blocking(37, 2, 48 * 37, 0);

    private Arena arena;
    private Random random;

    @BeforeEach
    void openArena() {
        arena = Arena.ofShared();
        random = new Random(7);
    }

    @AfterEach
    void closeArena() {
        arena.close();
    }

    static Stream<Arguments> smallBlockShapes() {
        int[][] shapes = {
            {49, 75, 4 * NR + 1}, // a cut in depth: row blocks of 48 + 1, depth 37 + 37 + 1, 2 + 2 + 1 panels
            {97, 111, 2 * NR - 3}, // row blocks 48 + 48 + 1, three whole depth blocks, one partial panel
            {96, 74, 5 * NR}, // every edge met exactly
            {23, 38, 5 * NR + 7}, // a whole (874 floats): one block of all its depth, walked 37 + 1 deep
            {131, 13, 3 * NR + 1}, // a whole, one depth block, a bottom-edge tile of 5 rows
            {1, 200, NR}, {6, 37, 1}, {7, 1, 2 * NR + 5}};
        List<Arguments> args = new ArrayList<>();
        for (int[] s : shapes) {
            for (boolean prepared : new boolean[] {false, true}) {
                for (int threads : new int[] {1, 2}) {
                    args.add(Arguments.of(s[0], s[1], s[2], prepared, threads));
                }
            }
        }
        return args.stream();
    }

    @ParameterizedTest(name = "[{0}x{1}]·[{1}x{2}] prepared={3} threads={4}")
    @MethodSource("smallBlockShapes")
    void smallBlocksMultiplyLikeTheOracle(int m, int k, int n, boolean prepared, int threads) {
        assertBlockedProductMatches(m, k, n, prepared, threads, SMALL);
    }

    /**
     * The L3 loop's block of a and its tasks' blocks of b live in each thread's reused arrays, which still hold the
     * last product's floats: a product of fewer rows, less depth and fewer columns right after a larger one, on the
     * same threads, reads none of them (its bottom tile's padding rows and its last panel's padding columns included).
     */
    @ParameterizedTest(name = "threads={0}")
    @ValueSource(ints = {1, 2})
    void aSmallerProductReadsNothingTheLastOneLeftInTheReusedBlocks(int threads) {
        assertBlockedProductMatches(97, 111, 5 * NR + 3, false, threads, SMALL);
        assertBlockedProductMatches(13, 40, NR + 1, false, threads, SMALL);
        assertBlockedProductMatches(5, 3, 2, true, threads, SMALL);
    }

    static Stream<Arguments> epilogueShapes() {
        return smallBlockShapes().map(args -> {
            Object[] a = args.get();
            return Arguments.of(a[0], a[1], a[2], a[3], a[4], ((Integer) a[0] + (Integer) a[2]) % 2 == 0);
        });
    }

    /**
     * Bias (and GELU) in the flush of the last depth block, in both loop orders, is the unfused product, addBias and
     * GELU: the same sums in the same order, so the bias alone is float for float. GELU's exp is the JIT's intrinsic
     * once C2 has compiled the caller and a per-lane loop before, which can differ in the last place, and the fused
     * and the unfused GELU are compiled at different moments: so GELU agrees within 4 units in the last place.
     * Applied at an earlier depth block, or twice, it would be far off.
     */
    @ParameterizedTest(name = "[{0}x{1}]·[{1}x{2}] + bias prepared={3} threads={4} gelu={5}")
    @MethodSource("epilogueShapes")
    void anEpilogueInTheLastDepthBlockIsTheUnfusedProductBiasAndGelu(int m, int k, int n, boolean prepared,
            int threads, boolean gelu) {
        Tensor a = random(m, k, 3);
        Tensor b = random(k, n, 5);
        Tensor bias = random(1, n, 0).reshape(n);
        Tensor parent = Tensor.allocate(arena, m + 2, n + 4);
        Tensor c = parent.slice(0, 1, m + 1).slice(1, 2, n + 2);
        Tensor expected = Tensor.allocate(arena, m, n);
        multiply(a, b, prepared, expected, threads, SMALL, null);
        Kernels vector = new VectorBackend(Parallelism.of(threads)).kernels();
        if (gelu) {
            vector.addBiasGelu(expected, bias);
        } else {
            vector.addBias(expected, bias);
        }
        multiply(a, b, prepared, c, threads, SMALL, new GemmMicroKernel.Epilogue(bias, gelu));
        float[] want = expected.toArray();
        float[] got = c.toArray();
        if (gelu) {
            for (int i = 0; i < want.length; i++) {
                assertEquals(want[i], got[i], 4 * Math.ulp(want[i]), "element " + i);
            }
        } else {
            assertArrayEquals(want, got);
        }
        float[] all = parent.toArray();
        for (int j = 0; j < n + 4; j++) {
            assertEquals(0f, all[j], "written above c");
            assertEquals(0f, all[(m + 1) * (n + 4) + j], "written below c");
        }
        for (int i = 0; i < m + 2; i++) {
            for (int j : new int[] {0, 1, n + 2, n + 3}) {
                assertEquals(0f, all[i * (n + 4) + j], "written beside c");
            }
        }
    }

    /**
     * The real blocks: b of {@link VectorGemm#LARGE_B_FLOATS} floats or more takes the L3 loop, k = 2·BLOCKED_KC + 7
     * crosses its depth edge twice and n = 16·BLOCKED_NC + 5 its column edge sixteen times, at whatever panel width;
     * 13 rows end in a tile of one row.
     */
    @Test
    void cacheBlocksMultiplyLikeTheOracle() {
        int m = 13;
        int k = 2 * VectorGemm.BLOCKED_KC + 7;
        int n = 16 * VectorGemm.BLOCKED_NC + 5;
        assertTrue((long) k * n >= VectorGemm.LARGE_B_FLOATS, "b takes the L3 loop");
        Tensor a = random(m, k, 0);
        Tensor b = random(k, n, 0);
        Tensor expected = Tensor.allocate(arena, m, n);
        SCALAR.matmul(a, b, expected);
        Tensor bound = Tensor.allocate(arena, m, n);
        SCALAR.matmul(abs(a), abs(b), bound);
        for (boolean prepared : new boolean[] {false, true}) {
            Tensor c = Tensor.allocate(arena, m, n);
            multiply(a, b, prepared, c, 2, Blocking.CACHES);
            FloatAssertions.assertProductClose(expected.toArray(), c.toArray(), bound.toArray(), n);
        }
    }

    static Stream<Arguments> evenShareShapes() {
        // Past 4·MR rows and at most MC rows a thread: the row blocks' tiles are cut into one equal run per thread,
        // runs that start and end inside rows of tiles; an odd panel count leaves a one-panel unit at each row's end
        // where two panels make a unit. 100 rows are the encoder's batch 1 × ~100 tokens.
        List<Arguments> args = new ArrayList<>();
        for (int[] s : new int[][] {{25, 19, 3 * NR + 1}, {100, 40, 12 * NR}, {100, 7, 5 * NR - 3}, {137, 33, 7 * NR},
                {288, 5, 2 * NR}, {31, 600, 9 * NR}}) {
            for (int threads : new int[] {2, 3}) {
                args.add(Arguments.of(s[0], s[1], s[2], threads));
            }
        }
        return args.stream();
    }

    @ParameterizedTest(name = "[{0}x{1}]·[{1}x{2}] threads={3}")
    @MethodSource("evenShareShapes")
    void equalRunsOfTilesPerThreadMultiplyLikeTheOracle(int m, int k, int n, int threads) {
        assertBlockedProductMatches(m, k, n, true, threads, Blocking.CACHES);
    }

    static Stream<Arguments> streamingWidths() {
        return Stream.of(Arguments.of(1, 13, NR + 1), Arguments.of(7, 384, 2 * NR - 1), Arguments.of(96, 31, 3 * NR + 5),
                Arguments.of(10, 64, NR / 2), Arguments.of(13, 5, 1));
    }

    /**
     * A few rows read b in place, and a b whose width is no multiple of the panel's ends its segment: the last
     * panel must come through whole, with no float of it lost or invented.
     */
    @ParameterizedTest(name = "[{0}x{1}]·[{1}x{2}]")
    @MethodSource("streamingWidths")
    void streamingAtWidthsThatAreNoMultipleOfThePanel(int m, int k, int n) {
        Tensor a = random(m, k, 0);
        Tensor b = random(k, n, 0);
        Tensor c = Tensor.allocate(arena, m, n);
        Tensor expected = Tensor.allocate(arena, m, n);
        SCALAR.matmul(a, b, expected);
        multiply(a, b, false, c, 2, Blocking.CACHES);
        FloatAssertions.assertProductClose(expected.toArray(), c.toArray(),
                FloatAssertions.absoluteProducts(a.toArray(), b.toArray(), m, k, n, false), n);
    }

    /** c a view with margins on every side, a and b views with columns cut off, checked against the oracle. */
    private void assertBlockedProductMatches(int m, int k, int n, boolean prepared, int threads, Blocking blocking) {
        Tensor a = random(m, k, 3);
        Tensor b = random(k, n, 5);
        Tensor parent = Tensor.allocate(arena, m + 2, n + 4);
        Tensor c = parent.slice(0, 1, m + 1).slice(1, 2, n + 2);
        Tensor expected = Tensor.allocate(arena, m, n);
        SCALAR.matmul(a, b, expected);
        multiply(a, b, prepared, c, threads, blocking);
        FloatAssertions.assertProductClose(expected.toArray(), c.toArray(),
                FloatAssertions.absoluteProducts(a.toArray(), b.toArray(), m, k, n, false), n);
        // Nothing written outside c: its parent's margins are still zero.
        float[] all = parent.toArray();
        float[] margins = new float[all.length];
        for (int i = 0; i < m + 2; i++) {
            for (int j = 0; j < n + 4; j++) {
                boolean inside = i >= 1 && i <= m && j >= 2 && j < n + 2;
                margins[i * (n + 4) + j] = inside ? 0f : all[i * (n + 4) + j];
            }
        }
        assertArrayEquals(new float[all.length], margins, "written outside c");
    }

    private void multiply(Tensor a, Tensor b, boolean prepared, Tensor c, int threads, Blocking blocking) {
        multiply(a, b, prepared, c, threads, blocking, null);
    }

    private void multiply(Tensor a, Tensor b, boolean prepared, Tensor c, int threads, Blocking blocking,
            GemmMicroKernel.Epilogue epilogue) {
        Tasks tasks = Tasks.forMultiplyAdds(Parallelism.of(threads), Long.MAX_VALUE, a, b, c);
        assertEquals(threads, tasks.threads());
        PackedPanels packed = prepared ? VectorGemm.pack(b, tasks) : null;
        VectorGemm.multiply(a, prepared ? null : b, packed, c, epilogue, tasks, blocking);
    }

    /** A random [rows, cols] matrix, as a view that leaves {@code extraCols} columns of its parent out. */
    private Tensor random(int rows, int cols, int extraCols) {
        float[] values = new float[rows * (cols + extraCols)];
        for (int i = 0; i < values.length; i++) {
            values[i] = random.nextFloat() * 2 - 1;
        }
        Tensor parent = Tensor.of(arena, values, rows, cols + extraCols);
        return extraCols == 0 ? parent : parent.slice(1, 0, cols);
    }

    private Tensor abs(Tensor x) {
        float[] values = x.toArray();
        for (int i = 0; i < values.length; i++) {
            values[i] = Math.abs(values[i]);
        }
        return Tensor.of(arena, values, x.rows(), x.cols());
    }
}
