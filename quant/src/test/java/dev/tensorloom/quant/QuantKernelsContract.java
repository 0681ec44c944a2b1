package dev.tensorloom.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.ScalarBackend;
import dev.tensorloom.runtime.tensor.Tensor;
import dev.tensorloom.testkit.FloatAssertions;
import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The contract of {@link QuantKernels}, written once and run against every backend (one subclass each): GEMM
 * and GEMV over every group format, on sizes awkward for 4-, 8- and 16-lane vectors, the dense micro-kernel's
 * 6-row tiles and 8- to 32-column panels, and the vector GEMM's 512-row decode blocks (m of 1, 5 and 17; n of 1, 13
 * and 40; per-channel k of 1, 37, 131 and 613, primes, and 256; grouped k of one and three groups, and 512 + one group),
 * with a and c strided views whose margins must stay untouched; operands are placed where the backend
 * computes ({@code toDevice}, results back by {@code toHost}; nothing moves on the host backends). The
 * implementation under test must match the float64 oracle within {@link FloatAssertions}' product bound over
 * Σ|a||ŵ| (float32 sums of k products; a GEMV over a group format within the bound over the magnitudes it may
 * sum, {@link #gemvMagnitudes}, plus, where the implementation rounds x to int8, the bound on what that rounding
 * adds, {@link #gemvTolerances}), and the oracle must match a float64 product with the dequantized weights within
 * the same bound.
 */
abstract class QuantKernelsContract {

    private static final QuantKernels ORACLE = new ScalarQuantKernels(new ScalarBackend());

    private Arena arena;
    private QuantKernels kernels;

    abstract Backend backend();

    @BeforeEach
    void open() {
        arena = Arena.ofShared();
        kernels = QuantKernels.FAMILY.on(backend());
    }

    @AfterEach
    void close() {
        arena.close();
    }

    static Stream<GroupFormat> formats() {
        return GroupFormatTest.everyFormat();
    }

    private static int[] ks(GroupFormat f) {
        // 613 and 512 + g span two of the vector GEMM's 512-row decode blocks, the second one partial.
        // 256: whole blocks of 128, where the vector GEMV rounds x to int8 for 4 bits per channel.
        return f.groupSize() == GroupFormat.PER_CHANNEL ? new int[] {1, 37, 131, 256, 613}
                : new int[] {f.groupSize(), 3 * f.groupSize(), 512 + f.groupSize()};
    }

    @Test
    void theFamilyLoadsThisBackendsImplementation() {
        assertEquals(backend().name(), switch (kernels.getClass().getSimpleName()) {
            case "ScalarQuantKernels" -> "scalar";
            case "VectorQuantKernels" -> "vector";
            case "CudaQuantKernels" -> "cuda";
            default -> "unknown " + kernels.getClass();
        });
    }

    @ParameterizedTest
    @MethodSource("formats")
    void gemmAndGemvMatchTheOracleAndTheOracleMatchesTheDequantizedProduct(GroupFormat format) {
        Random random = new Random(format.hashCode());
        for (int k : ks(format)) {
            for (int n : new int[] {1, 13, 40}) {
                PackedWeights b = Rtn.quantize(Tensor.of(arena, gaussians(random, k * n, 0.2), k, n), format);
                checkProducts(format.toString(), b, dequantized(b), random);
            }
        }
    }

    /**
     * GEMM with m of 1, 5 and 17, on a and c that are views inside wider parents (leading dimensions past their
     * widths, margins that must stay untouched), and GEMV: each against the oracle, and the oracle against the
     * float64 product with the dequantized weights w [k, n].
     */
    private void checkProducts(String what, QuantizedWeights b, float[] w, Random random) {
        checkProducts(what, b, w, random, 1, 5, 17);
    }

    /** {@link #checkProducts} with GEMMs of the given row counts. */
    private void checkProducts(String what, QuantizedWeights b, float[] w, Random random, int... rowCounts) {
        int k = b.rows();
        int n = b.cols();
        for (int m : rowCounts) {
            String where = what + ", m " + m + " k " + k + " n " + n;
            float[] av = gaussians(random, m * k, 0);
            Tensor aParent = Tensor.allocate(arena, m, k + 3);
            Tensor a = aParent.slice(1, 2, 2 + k);
            for (int i = 0; i < m; i++) {
                for (int p = 0; p < k; p++) {
                    a.set(av[i * k + p], i, p);
                }
            }
            Tensor cParent = Tensor.of(arena, gaussians(random, m * (n + 2), 0), m, n + 2);
            float[] cBefore = cParent.toArray();
            Tensor cPlaced = backend().toDevice(cParent, arena);
            gemm(kernels, backend().toDevice(aParent, arena).slice(1, 2, 2 + k), b, cPlaced.slice(1, 1, 1 + n));
            Tensor expected = Tensor.allocate(arena, m, n);
            gemm(ORACLE, a, b, expected);

            float[] got = new float[m * n];
            float[] after = backend().toHost(cPlaced, arena).toArray();
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n + 2; j++) {
                    if (j == 0 || j == n + 1) {
                        assertEquals(cBefore[i * (n + 2) + j], after[i * (n + 2) + j], where + ": margin changed");
                    } else {
                        got[i * n + j - 1] = after[i * (n + 2) + j];
                    }
                }
            }
            float[] bound = FloatAssertions.absoluteProducts(av, w, m, k, n, false);
            assertProductClose(where, expected.toArray(), got, bound, n);
            assertProductClose(where + " (oracle)", product(av, w, m, k, n), expected.toArray(), bound, n);
        }
        float[] xv = gaussians(random, k, 0);
        Tensor x = Tensor.of(arena, xv, k);
        Tensor y = backend().allocate(arena, n);
        Tensor expected = Tensor.allocate(arena, n);
        gemv(kernels, backend().toDevice(x, arena), b, y);
        gemv(ORACLE, x, b, expected);
        int block = b instanceof PackedWeights packed ? kernels.gemvInputBlock(packed) : 0;
        assertGemvClose(what + ", gemv k " + k + " n " + n, expected.toArray(), backend().toHost(y, arena).toArray(),
                gemvTolerances(xv, b, w, block));
    }

    /**
     * What {@link QuantKernels#gemvInputBlock} says is what the GEMV computes: with x built so that rounding it to
     * int8 in blocks of B has one right answer (each block's max|x| exactly 127·σ, σ a power of two that differs
     * from block to block, every other value σ·(q + f) with an integer |q| ≤ 126 and |f| ≤ 0.45), the GEMV must
     * match the oracle's product of the rounded x, σ·q, within the float bound alone; where B is 0, of x itself.
     * Truncating instead of rounding, another block length or another scale would each miss by whole steps.
     */
    @ParameterizedTest
    @MethodSource("formats")
    void theGemvRoundsXAsItSays(GroupFormat format) {
        Random random = new Random(format.hashCode() + 7);
        int k = format.groupSize() == GroupFormat.PER_CHANNEL ? 256 : 3 * format.groupSize();
        int n = 40;
        PackedWeights b = Rtn.quantize(Tensor.of(arena, gaussians(random, k * n, 0.2), k, n), format);
        int block = kernels.gemvInputBlock(b);
        float[][] grid = gridInput(random, k, block > 0 ? block : 32);
        float[] x = grid[0];
        float[] expectedInput = block > 0 ? grid[1] : x;
        Tensor y = backend().allocate(arena, n);
        Tensor expected = Tensor.allocate(arena, n);
        kernels.gemv(backend().toDevice(Tensor.of(arena, x, k), arena), b, y);
        ORACLE.gemv(Tensor.of(arena, expectedInput, k), b, expected);
        assertProductClose(format + ", gemv of x rounded in blocks of " + block, expected.toArray(),
                backend().toHost(y, arena).toArray(),
                FloatAssertions.absoluteProducts(expectedInput, gemvMagnitudes(b, dequantized(b)), 1, k, n, false), n);
    }

    /**
     * x [k] whose rounding to int8 in blocks of {@code span} has one right answer, and that rounding: in block t,
     * σ = 2^-(6 + t mod 3), one value ±127σ (the block's max|x|), the others σ·(q + f) with a random integer
     * |q| ≤ 126 and |f| ≤ 0.45, rounding to σ·q (all exact in float).
     */
    private static float[][] gridInput(Random random, int k, int span) {
        float[] x = new float[k];
        float[] rounded = new float[k];
        for (int from = 0; from < k; from += span) {
            float sigma = Math.scalb(1f, -6 - from / span % 3);
            int top = from + random.nextInt(span);
            for (int p = from; p < from + span; p++) {
                int q = p == top ? (random.nextBoolean() ? 127 : -127) : random.nextInt(253) - 126;
                float f = p == top ? 0 : (float) (0.9 * random.nextDouble() - 0.45);
                x[p] = sigma * (q + f);
                rounded[p] = sigma * q;
            }
        }
        return new float[][] {x, rounded};
    }

    /**
     * Per output, FloatAssertions' product tolerance over the magnitudes a GEMV may sum ({@link #gemvMagnitudes}),
     * and, where the kernel rounds x to int8 in blocks of B values ({@link QuantKernels#gemvInputBlock}), what
     * that rounding may add. With m = max_block|x|, s_x = m/127 and q = round(x·127/m) in [-127, 127], where the
     * kernel rounds s_x and 127/m to float and the product x·(127/m) once (u = 2⁻²⁴): |q - x·127/m| ≤ 1/2 + 254u
     * and |s_x·q - x| ≤ 127·s_x·u + s_x·(1/2 + 254u) = (s_x/2)·(1 + 762u) ≤ (s_x/2)·(1 + 2⁻¹⁴). So the rounding
     * moves an output by at most Σ_blocks (s_x/2)·(1 + 2⁻¹⁴)·Σ_block |ŵ|, and the float sums run over
     * |x| + (s_x/2)·(1 + 2⁻¹⁴) instead of |x|.
     */
    private static double[] gemvTolerances(float[] x, QuantizedWeights b, float[] w, int block) {
        int k = b.rows();
        int n = b.cols();
        float[] magnitudes = gemvMagnitudes(b, w);
        double[] half = new double[k];
        if (block > 0) {
            for (int from = 0; from < k; from += block) {
                double max = 0;
                for (int p = from; p < from + block; p++) {
                    max = Math.max(max, Math.abs(x[p]));
                }
                Arrays.fill(half, from, from + block, max / 127 / 2 * (1 + 0x1p-14));
            }
        }
        double[] tolerances = new double[n];
        for (int j = 0; j < n; j++) {
            double floatSums = 0;
            double rounding = 0;
            for (int p = 0; p < k; p++) {
                floatSums += (Math.abs(x[p]) + half[p]) * Math.abs(magnitudes[p * n + j]);
                rounding += half[p] * Math.abs(w[p * n + j]);
            }
            tolerances[j] = FloatAssertions.PRODUCT_TOLERANCE * floatSums + FloatAssertions.ABSOLUTE_TOLERANCE
                    + rounding;
        }
        return tolerances;
    }

    private static void assertGemvClose(String where, float[] expected, float[] actual, double[] tolerances) {
        for (int j = 0; j < expected.length; j++) {
            double error = Math.abs((double) expected[j] - actual[j]);
            if (!(error <= tolerances[j])) {
                throw new AssertionError(where + ": y[" + j + "] expected " + expected[j] + " but was " + actual[j]
                        + ", error " + error + " > tolerance " + tolerances[j]);
            }
        }
    }

    /**
     * The magnitudes a GEMV may sum in float: |ŵ| for ggml's blocks; for the group formats |s|·(u + z), since a
     * GEMV may take the zero point out of its inner loop (s·(Σ x·u - z·Σ x), as the vector {@code UnitGemv}
     * does), whose float sums then hold Σ|x|·u and z·Σ|x| rather than Σ|x|·|u - z|.
     */
    private static float[] gemvMagnitudes(QuantizedWeights b, float[] w) {
        if (!(b instanceof PackedWeights packed)) {
            return w;
        }
        int k = packed.rows();
        int n = packed.cols();
        float[] magnitudes = new float[k * n];
        for (int p = 0; p < k; p++) {
            int g = p / packed.groupSize();
            for (int j = 0; j < n; j++) {
                magnitudes[p * n + j] = Math.abs(packed.scale(g, j)) * (packed.code(p, j) + packed.zero(g, j));
            }
        }
        return magnitudes;
    }

    private static void gemm(QuantKernels kernels, Tensor a, QuantizedWeights b, Tensor c) {
        switch (b) {
            case PackedWeights packed -> kernels.gemm(a, packed, c);
            case GgmlWeights blocks -> kernels.gemm(a, blocks, c);
        }
    }

    private static void gemv(QuantKernels kernels, Tensor x, QuantizedWeights b, Tensor y) {
        switch (b) {
            case PackedWeights packed -> kernels.gemv(x, packed, y);
            case GgmlWeights blocks -> kernels.gemv(x, blocks, y);
        }
    }

    /**
     * Random ggml blocks: random bytes are valid blocks of every type once their fp16 scales are finite, so they
     * reach every code, scale and min; the scales are set to small random fp16 values.
     */
    static GgmlWeights randomBlocks(Random random, GgmlType type, int k, int n) {
        byte[] data = new byte[type.rowBytes(k) * n];
        random.nextBytes(data);
        int[] scaleFields = switch (type) {
            case Q4_0, Q8_0 -> new int[] {0};
            case Q4_K -> new int[] {0, 2};
            case Q6_K -> new int[] {208};
        };
        for (int o = 0; o < data.length; o += type.blockBytes()) {
            for (int f : scaleFields) {
                short h = Float.floatToFloat16((float) (random.nextGaussian() * 0.01));
                data[o + f] = (byte) h;
                data[o + f + 1] = (byte) (h >>> 8);
            }
        }
        return new GgmlWeights(type, k, n, data);
    }

    static float[] dequantized(GgmlWeights b) {
        float[] row = new float[b.rows()];
        float[] w = new float[b.rows() * b.cols()];
        for (int j = 0; j < b.cols(); j++) {
            b.dequantizeRow(j, row, 0);
            for (int p = 0; p < b.rows(); p++) {
                w[p * b.cols() + j] = row[p];
            }
        }
        return w;
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(GgmlType.class)
    void ggmlBlocksMultiplyAsTheOracleAndTheDequantizedProduct(GgmlType type) {
        Random random = new Random(type.ordinal() + 100);
        int[] ks = type.blockSize() == 32 ? new int[] {32, 96, 512, 544} : new int[] {256, 768};
        for (int k : ks) {
            for (int n : new int[] {1, 13, 40}) {
                GgmlWeights b = randomBlocks(random, type, k, n);
                checkProducts(type.toString(), b, dequantized(b), random);
            }
        }
    }

    /**
     * 11 and 12 rows (two row tiles of the vector micro-kernel, the second short by one and full), over k of whole
     * quads of units (the vector GEMM transposes four code units at once) and of a quad and one unit more, with
     * groups inside a quad and one group per channel.
     */
    @Test
    void twelveRowsOverQuadsOfUnitsMatchTheOracle() {
        Random random = new Random(12);
        for (GroupFormat format : List.of(GroupFormat.asymmetric(4, 128), GroupFormat.symmetric(4, 32),
                GroupFormat.asymmetric(2, 64), GroupFormat.symmetric(8, GroupFormat.PER_CHANNEL))) {
            // Five units (a quad and one more), or five quads where the group is a quad.
            for (int k : new int[] {384, format.groupSize() == 128 ? 640 : 5 * 128 / format.bits()}) {
                PackedWeights b = Rtn.quantize(Tensor.of(arena, gaussians(random, k * 40, 0.2), k, 40), format);
                checkProducts(format.toString(), b, dequantized(b), random, 11, 12);
            }
        }
    }

    @Test
    void aLargeProductSpreadOverThreadsMatchesTheOracle() {
        // Past Tasks' threshold (2^20 multiply-adds), so the vector kernels run on their pool.
        Random random = new Random(5);
        int m = 9;
        int k = 384;
        int n = 300;
        PackedWeights b = Rtn.quantize(Tensor.of(arena, gaussians(random, k * n, 0), k, n), GroupFormat.asymmetric(4, 64));
        float[] av = gaussians(random, m * k, 0);
        Tensor a = Tensor.of(arena, av, m, k);
        Tensor c = backend().allocate(arena, m, n);
        Tensor expected = Tensor.allocate(arena, m, n);
        kernels.gemm(backend().toDevice(a, arena), b, c);
        ORACLE.gemm(a, b, expected);
        float[] bound = FloatAssertions.absoluteProducts(av, dequantized(b), m, k, n, false);
        assertProductClose("9x384x300", expected.toArray(), backend().toHost(c, arena).toArray(), bound, n);

        PackedWeights big = Rtn.quantize(Tensor.of(arena, gaussians(random, 2048 * 640, 0), 2048, 640),
                GroupFormat.symmetric(3, 128));
        float[] xv = gaussians(random, 2048, 0);
        Tensor x = Tensor.of(arena, xv, 2048);
        Tensor y = backend().allocate(arena, 640);
        Tensor yExpected = Tensor.allocate(arena, 640);
        kernels.gemv(backend().toDevice(x, arena), big, y);
        ORACLE.gemv(x, big, yExpected);
        assertProductClose("gemv 2048x640", yExpected.toArray(), backend().toHost(y, arena).toArray(),
                FloatAssertions.absoluteProducts(xv, dequantized(big), 1, 2048, 640, false), 640);

        // 4 bits in groups of 128: the vector GEMV rounds x to int8 once and shares it between its threads; on x
        // whose rounding has one right answer it must match the oracle's product of that rounding.
        PackedWeights nibbles = Rtn.quantize(Tensor.of(arena, gaussians(random, 2048 * 640, 0), 2048, 640),
                GroupFormat.asymmetric(4, 128));
        int block = kernels.gemvInputBlock(nibbles);
        float[][] grid = gridInput(random, 2048, block > 0 ? block : 32);
        float[] expectedInput = block > 0 ? grid[1] : grid[0];
        kernels.gemv(backend().toDevice(Tensor.of(arena, grid[0], 2048), arena), nibbles, y);
        ORACLE.gemv(Tensor.of(arena, expectedInput, 2048), nibbles, yExpected);
        assertProductClose("gemv 2048x640, 4 bits", yExpected.toArray(), backend().toHost(y, arena).toArray(),
                FloatAssertions.absoluteProducts(expectedInput, gemvMagnitudes(nibbles, dequantized(nibbles)), 1, 2048,
                        640, false), 640);
    }

    /**
     * GEMVs of several passes a range over a prime number of channels: the vector kernels take the channels of one
     * pass a quarter or a half of the range apart, and no range here divides evenly, so a pass's last channels are
     * clamped to the range's last (computed twice). 4 and 2 bits in groups of 128 (the integer kernels) and 4 bits in
     * groups of 32 (two channels a pass in floats).
     */
    @Test
    void gemvsOverAPrimeNumberOfChannelsOnThreadsMatchTheOracle() {
        Random random = new Random(17);
        int k = 1024;
        int n = 1031;
        for (GroupFormat format : List.of(GroupFormat.asymmetric(4, 128), GroupFormat.symmetric(2, 128),
                GroupFormat.symmetric(4, 32))) {
            PackedWeights b = Rtn.quantize(Tensor.of(arena, gaussians(random, k * n, 0), k, n), format);
            int block = kernels.gemvInputBlock(b);
            float[][] grid = gridInput(random, k, block > 0 ? block : 32);
            float[] expectedInput = block > 0 ? grid[1] : grid[0];
            Tensor y = backend().allocate(arena, n);
            Tensor expected = Tensor.allocate(arena, n);
            kernels.gemv(backend().toDevice(Tensor.of(arena, grid[0], k), arena), b, y);
            ORACLE.gemv(Tensor.of(arena, expectedInput, k), b, expected);
            assertProductClose("gemv " + k + "x" + n + ", " + format, expected.toArray(),
                    backend().toHost(y, arena).toArray(),
                    FloatAssertions.absoluteProducts(expectedInput, gemvMagnitudes(b, dequantized(b)), 1, k, n, false),
                    n);
        }
    }

    @Test
    void badShapesFailWithTheOraclesMessage() {
        PackedWeights b = Rtn.quantize(Tensor.allocate(arena, 64, 5), GroupFormat.symmetric(4, 32));
        Tensor a = Tensor.allocate(arena, 3, 63);
        Tensor c = Tensor.allocate(arena, 3, 5);
        String expected = assertThrows(IllegalArgumentException.class, () -> ORACLE.gemm(a, b, c)).getMessage();
        assertEquals(expected, assertThrows(IllegalArgumentException.class, () -> kernels.gemm(a, b, c)).getMessage());
        assertEquals(true, expected.contains("shapes disagree"), expected);
        Tensor x = Tensor.allocate(arena, 64);
        Tensor y = Tensor.allocate(arena, 4);
        expected = assertThrows(IllegalArgumentException.class, () -> ORACLE.gemv(x, b, y)).getMessage();
        assertEquals(expected, assertThrows(IllegalArgumentException.class, () -> kernels.gemv(x, b, y)).getMessage());
    }

    private static void assertProductClose(String where, float[] expected, float[] actual, float[] bound, int cols) {
        try {
            FloatAssertions.assertProductClose(expected, actual, bound, cols);
        } catch (AssertionError e) {
            throw new AssertionError(where + ": " + e.getMessage(), e);
        }
    }

    static float[] gaussians(Random random, int count, double mean) {
        float[] v = new float[count];
        for (int i = 0; i < count; i++) {
            v[i] = (float) (mean + random.nextGaussian());
        }
        return v;
    }

    /** b's stored weights as a dense [k, n] array: for the test's own references only. */
    static float[] dequantized(PackedWeights b) {
        float[] w = new float[b.rows() * b.cols()];
        for (int p = 0; p < b.rows(); p++) {
            for (int j = 0; j < b.cols(); j++) {
                w[p * b.cols() + j] = b.value(p, j);
            }
        }
        return w;
    }

    /** a·w in float64, rounded once. */
    static float[] product(float[] a, float[] w, int m, int k, int n) {
        float[] c = new float[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    s += (double) a[i * k + p] * w[p * n + j];
                }
                c[i * n + j] = (float) s;
            }
        }
        return c;
    }
}
