package dev.tensorloom.mpo;

import static dev.tensorloom.testkit.FloatAssertions.ABSOLUTE_TOLERANCE;
import static dev.tensorloom.testkit.FloatAssertions.PRODUCT_TOLERANCE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.PreparedMatrix;
import dev.tensorloom.runtime.kernel.ScalarBackend;
import dev.tensorloom.runtime.tensor.Tensor;
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
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The contract of {@link MpoKernels}, written once and run against every backend (one subclass each): both
 * contractions against the float64 oracle on core shapes awkward for 4-, 8- and 16-lane vectors (one core, bonds
 * of 1, odd factors, a 33-long row tail, factors of 1), for batch sizes from 1 to past the threads' chunking,
 * on work large enough to be spread over threads even for one row, with x and y strided views whose margins must come out untouched, all placed where the backend computes.
 *
 * <p>Tolerance: every output is a sum of products of one x (or none) and one entry per core. Running the oracle
 * on |x| and |cores| gives Σ|term| for each output, the scale of its rounding error; within
 * {@code PRODUCT_TOLERANCE} of that (168u, several times the error of n + log₂(terms) roundings) is a pass.
 */
public abstract class MpoKernelsContract {

    private static final MpoKernels ORACLE = new ScalarMpoKernels(new ScalarBackend());
    private static final int MARGIN = 3;

    private Arena arena;
    private Backend backend;
    private MpoKernels kernels;

    /** The backend under test. */
    protected abstract Backend backend();

    @BeforeEach
    void open() {
        arena = Arena.ofShared();
        backend = backend();
        kernels = MpoKernels.FAMILY.on(backend);
    }

    @AfterEach
    void close() {
        arena.close();
    }

    record Case(int[] rowFactors, int[] colFactors, int[] bonds) {
        MpoShape shape() {
            return new MpoShape(rowFactors, colFactors);
        }

        @Override
        public String toString() {
            return Arrays.toString(rowFactors) + "x" + Arrays.toString(colFactors) + " bonds " + Arrays.toString(bonds);
        }
    }

    static Stream<Case> cases() {
        return Stream.of(
                new Case(new int[] {5}, new int[] {7}, new int[] {1, 1}),
                new Case(new int[] {3, 5}, new int[] {7, 2}, new int[] {1, 6, 1}),
                new Case(new int[] {2, 33}, new int[] {3, 5}, new int[] {1, 4, 1}),
                new Case(new int[] {2, 3, 5}, new int[] {3, 1, 4}, new int[] {1, 5, 7, 1}),
                new Case(new int[] {1, 17, 2}, new int[] {19, 1, 3}, new int[] {1, 1, 9, 1}),
                new Case(new int[] {2, 2, 3, 2}, new int[] {3, 2, 2, 3}, new int[] {1, 4, 9, 5, 1}),
                new Case(new int[] {4, 4, 4}, new int[] {6, 4, 4}, new int[] {1, 16, 16, 1}),
                // Row factors growing to the right: swept right to left, every core read permuted, the state's
                // trailing digits Q > 1 in the middle steps.
                new Case(new int[] {2, 3, 4, 4}, new int[] {3, 2, 2, 2}, new int[] {1, 6, 9, 8, 1}),
                // Right to left as well, the last step 40 columns wide (more than one 32-wide tile) beside Q = 2.
                new Case(new int[] {3, 5}, new int[] {40, 2}, new int[] {1, 3, 1}),
                // Over a million multiply-adds even for one row: the work is spread over the threads.
                new Case(new int[] {8, 8, 8}, new int[] {8, 8, 8}, new int[] {1, 32, 32, 1}),
                // Bonds 9 on 512×192: cores 36 columns wide over 32-64 rows, whose middle steps the vector plan
                // multiplies transposed, lanes along the rows, the steps beside them writing into that layout.
                new Case(new int[] {2, 4, 8, 8}, new int[] {3, 4, 4, 4}, new int[] {1, 9, 9, 9, 1}));
    }

    static Stream<Arguments> casesAndBatches() {
        return cases().flatMap(c -> Stream.of(1, 2, 3, 7, 17, 33).map(m -> Arguments.of(c, m)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void contractToDenseMatchesTheOracle(Case c) {
        Random random = new Random(11);
        Mpo host = randomMpo(c, random);
        MpoShape shape = c.shape();
        Tensor expected = Tensor.allocate(arena, shape.rows(), shape.cols());
        ORACLE.contractToDense(host, expected);
        Tensor scale = Tensor.allocate(arena, shape.rows(), shape.cols());
        ORACLE.contractToDense(absolute(host), scale);

        Placed w = new Placed(Tensor.allocate(arena, shape.rows() + MARGIN, shape.cols() + MARGIN));
        kernels.contractToDense(placed(host), w.view(shape.rows(), shape.cols()));
        assertWithin(expected, w.result(), scale, c + " to dense");
    }

    @ParameterizedTest(name = "{0}, batch {1}")
    @MethodSource("casesAndBatches")
    void directProductMatchesTheOracle(Case c, int m) {
        Mpo host = randomMpo(c, new Random(31L * m + c.bonds().length));
        assertDirectProduct(c, host, m, (mpo, x, y) -> kernels.multiply(mpo, x, y));
    }

    /** One prepared product serves every batch size, and multiplies as {@code multiply} does. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void preparedDirectProductMatchesTheOracleAtEveryBatch(Case c) {
        Mpo host = randomMpo(c, new Random(5L + c.bonds().length));
        Mpo mpo = placed(host);
        PreparedMatrix prepared = kernels.prepareDirect(mpo);
        assertEquals(c.shape().rows(), prepared.rows());
        assertEquals(c.shape().cols(), prepared.cols());
        for (int m : new int[] {1, 17, 2, 33, 1}) {
            assertDirectProduct(c, host, m, (unused, x, y) -> prepared.multiply(x, y));
        }
    }

    private interface Product {
        void multiply(Mpo mpo, Tensor x, Tensor y);
    }

    private void assertDirectProduct(Case c, Mpo host, int m, Product product) {
        Random random = new Random(7L * m + c.bonds().length);
        MpoShape shape = c.shape();
        Tensor x = Tensor.allocate(arena, m + MARGIN, shape.rows() + MARGIN);
        fill(x, random);
        Tensor xView = x.slice(0, 1, 1 + m).slice(1, 2, 2 + shape.rows());
        Tensor expected = Tensor.allocate(arena, m, shape.cols());
        ORACLE.multiply(host, xView, expected);
        Tensor scale = Tensor.allocate(arena, m, shape.cols());
        ORACLE.multiply(absolute(host), absolute(xView), scale);

        Tensor xPlaced = backend.toDevice(x, arena).slice(0, 1, 1 + m).slice(1, 2, 2 + shape.rows());
        Placed y = new Placed(Tensor.allocate(arena, m + MARGIN, shape.cols() + MARGIN));
        product.multiply(placed(host), xPlaced, y.view(m, shape.cols()));
        assertWithin(expected, y.result(), scale, c + " batch " + m);
    }

    /**
     * MPOs sharing one core multiply their own groups of rows (one empty), at every position of the shared core in
     * a sweep that runs right to left, at batches of few rows and of many; the bytes read lie between the shared core
     * read once and the whole MPO read per group.
     */
    @ParameterizedTest(name = "shared core {0}")
    @ValueSource(ints = {0, 1, 2, 3})
    void sharedCoreProductsMatchTheOracleGroupByGroup(int shared) {
        Case c = new Case(new int[] {2, 3, 4, 4}, new int[] {3, 2, 2, 2}, new int[] {1, 6, 9, 8, 1});
        Random random = new Random(40 + shared);
        List<Mpo> hosts = new ArrayList<>();
        for (int g = 0; g < 3; g++) {
            Tensor[] cores = randomMpo(c, random).cores();
            if (g > 0) {
                cores[shared] = hosts.get(0).core(shared);
            }
            hosts.add(new Mpo(c.shape(), c.bonds(), cores));
        }
        SharedCoreProduct product = kernels.prepareSharedCore(hosts.stream().map(this::placed).toList(), shared);
        MpoShape shape = c.shape();
        for (int[] starts : new int[][] {{0, 2, 2, 7}, {0, 40, 41, 80}}) {
            int m = starts[3];
            Tensor x = Tensor.allocate(arena, m, shape.rows());
            fill(x, random);
            Tensor y = backend.allocate(arena, m, shape.cols());
            long bytes = product.multiply(starts, backend.toDevice(x, arena), y);
            Tensor back = backend.toHost(y, arena);
            int groups = 0;
            for (int g = 0; g < 3; g++) {
                if (starts[g + 1] == starts[g]) {
                    continue;
                }
                groups++;
                Tensor rows = x.slice(0, starts[g], starts[g + 1]);
                Tensor expected = Tensor.allocate(arena, rows.rows(), shape.cols());
                ORACLE.multiply(hosts.get(g), rows, expected);
                Tensor scale = Tensor.allocate(arena, rows.rows(), shape.cols());
                ORACLE.multiply(absolute(hosts.get(g)), absolute(rows), scale);
                assertWithin(expected, back.slice(0, starts[g], starts[g + 1]), scale,
                        "group " + g + " of " + Arrays.toString(starts));
            }
            long core = hosts.get(0).core(shared).size() * Float.BYTES;
            long whole = hosts.get(0).bytes();
            assertTrue(bytes >= core + groups * (whole - core) && bytes <= groups * whole, bytes + " bytes read");
        }
    }

    @Test
    void mposOfOtherShapesCannotShareACore() {
        Mpo a = randomMpo(new Case(new int[] {2, 3}, new int[] {4, 5}, new int[] {1, 2, 1}), new Random(8));
        Mpo b = randomMpo(new Case(new int[] {2, 3}, new int[] {4, 5}, new int[] {1, 3, 1}), new Random(9));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> kernels.prepareSharedCore(List.of(placed(a), placed(b)), 0));
        assertTrue(e.getMessage().contains("their shapes or bonds differ"), e.getMessage());
    }

    @Test
    void badShapesFailWithTheOraclesMessage() {
        Case c = new Case(new int[] {2, 3}, new int[] {4, 5}, new int[] {1, 2, 1});
        Mpo host = randomMpo(c, new Random(3));
        Mpo mpo = placed(host);
        Tensor x = backend.toDevice(Tensor.allocate(arena, 2, 5), arena);
        Tensor y = backend.toDevice(Tensor.allocate(arena, 2, 20), arena);
        // The oracle checks shapes before it touches any data, so it can be given the placed operands.
        String expected = assertThrows(IllegalArgumentException.class, () -> ORACLE.multiply(host, x, y)).getMessage();
        assertEquals(expected, assertThrows(IllegalArgumentException.class, () -> kernels.multiply(mpo, x, y))
                .getMessage());
        Tensor w = backend.toDevice(Tensor.allocate(arena, 6, 21), arena);
        expected = assertThrows(IllegalArgumentException.class, () -> ORACLE.contractToDense(host, w)).getMessage();
        assertEquals(expected, assertThrows(IllegalArgumentException.class, () -> kernels.contractToDense(mpo, w))
                .getMessage());
    }

    /** A zero-filled parent placed where the backend computes, a view inside it, and its margins checked after. */
    private final class Placed {
        private final Tensor parent;
        private Tensor view;

        Placed(Tensor hostParent) {
            this.parent = backend.toDevice(hostParent, arena);
        }

        Tensor view(int rows, int cols) {
            view = parent.slice(0, 1, 1 + rows).slice(1, 2, 2 + cols);
            return view;
        }

        Tensor result() {
            Tensor back = backend.toHost(parent, arena);
            int rows = view.rows();
            int cols = view.cols();
            for (int i = 0; i < back.rows(); i++) {
                for (int j = 0; j < back.cols(); j++) {
                    boolean inside = i >= 1 && i < 1 + rows && j >= 2 && j < 2 + cols;
                    if (!inside && back.get(i, j) != 0) {
                        fail("margin (" + i + ", " + j + ") was written: " + back.get(i, j));
                    }
                }
            }
            return back.slice(0, 1, 1 + rows).slice(1, 2, 2 + cols);
        }
    }

    private Mpo randomMpo(Case c, Random random) {
        MpoShape shape = c.shape();
        return RandomMpos.mpo(shape, c.bonds(), random, arena);
    }

    private Mpo placed(Mpo host) {
        Tensor[] cores = host.cores();
        for (int k = 0; k < cores.length; k++) {
            cores[k] = backend.toDevice(cores[k], arena);
        }
        return new Mpo(host.shape(), host.bonds(), cores);
    }

    private Mpo absolute(Mpo mpo) {
        Tensor[] cores = mpo.cores();
        for (int k = 0; k < cores.length; k++) {
            cores[k] = absolute(cores[k]);
        }
        return new Mpo(mpo.shape(), mpo.bonds(), cores);
    }

    private Tensor absolute(Tensor t) {
        float[] values = t.toArray();
        for (int i = 0; i < values.length; i++) {
            values[i] = Math.abs(values[i]);
        }
        return Tensor.of(arena, values, t.shape());
    }

    private static void fill(Tensor t, Random random) {
        for (int i = 0; i < t.rows(); i++) {
            for (int j = 0; j < t.cols(); j++) {
                t.set((float) random.nextGaussian(), i, j);
            }
        }
    }

    private static void assertWithin(Tensor expected, Tensor actual, Tensor scale, String what) {
        for (int i = 0; i < expected.rows(); i++) {
            for (int j = 0; j < expected.cols(); j++) {
                double tolerance = PRODUCT_TOLERANCE * scale.get(i, j) + ABSOLUTE_TOLERANCE;
                if (!(Math.abs(expected.get(i, j) - actual.get(i, j)) <= tolerance)) {
                    fail(what + ": element (" + i + ", " + j + ") expected " + expected.get(i, j) + " but was "
                            + actual.get(i, j) + " (tolerance " + tolerance + ")");
                }
            }
        }
    }
}
