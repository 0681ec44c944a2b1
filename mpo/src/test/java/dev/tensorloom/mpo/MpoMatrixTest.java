package dev.tensorloom.mpo;

import static dev.tensorloom.testkit.FloatAssertions.ABSOLUTE_TOLERANCE;
import static dev.tensorloom.testkit.FloatAssertions.PRODUCT_TOLERANCE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.BackendProvider;
import dev.tensorloom.runtime.kernel.PreparedMatrix;
import dev.tensorloom.runtime.kernel.ScalarBackend;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Both paths of an {@link MpoMatrix} give x·W, the dense copy is made only when a dense path runs, and bytes say so. */
class MpoMatrixTest {

    private static final MpoKernels ORACLE = new ScalarMpoKernels(new ScalarBackend());

    @ParameterizedTest
    @ValueSource(strings = {"scalar", "vector"})
    void bothPathsMultiplyByTheMatrixTheCoresHold(String backendName) {
        Backend backend = BackendProvider.byName(backendName);
        MpoShape shape = new MpoShape(new int[] {4, 3, 2}, new int[] {2, 5, 3});
        float[] w = RandomMpos.gaussian(new Random(21), shape.rows() * shape.cols());
        Decomposition d = TtSvd.decompose(w, shape, Truncation.bondCap(4));
        try (Arena arena = Arena.ofShared()) {
            Mpo host = d.toMpo(arena);
            Tensor dense = Tensor.allocate(arena, shape.rows(), shape.cols());
            ORACLE.contractToDense(host, dense);
            int m = 5;
            Tensor x = Tensor.of(arena, RandomMpos.gaussian(new Random(22), m * shape.rows()), m, shape.rows());
            float[] expected = new float[m * shape.cols()];
            float[] scale = new float[expected.length];
            for (int b = 0; b < m; b++) {
                for (int j = 0; j < shape.cols(); j++) {
                    double s = 0;
                    double a = 0;
                    for (int i = 0; i < shape.rows(); i++) {
                        s += (double) x.get(b, i) * dense.get(i, j);
                        a += Math.abs((double) x.get(b, i) * dense.get(i, j));
                    }
                    expected[b * shape.cols() + j] = (float) s;
                    scale[b * shape.cols() + j] = (float) a;
                }
            }
            for (MpoCostModel.Path path : MpoCostModel.Path.values()) {
                MpoMatrix matrix = MpoMatrix.of(backend, d, MpoCostModel.defaults(), path, arena);
                assertEquals(path, matrix.choice(m).path());
                assertEquals(d.parameters() * 4, matrix.bytes());
                Tensor c = backend.allocate(arena, m, shape.cols());
                matrix.multiply(backend.toDevice(x, arena), c);
                float[] actual = backend.toHost(c, arena).toArray();
                for (int e = 0; e < expected.length; e++) {
                    // The MPO's own W is rounded to fp32 once more on the dense path: one more u·Σ|x||w|.
                    double tolerance = 2 * PRODUCT_TOLERANCE * scale[e] + ABSOLUTE_TOLERANCE;
                    assertTrue(Math.abs(expected[e] - actual[e]) <= tolerance,
                            path + " element " + e + ": " + expected[e] + " vs " + actual[e]);
                }
                assertEquals(path == MpoCostModel.Path.DENSE, matrix.hasDenseCache());
                // The dense W is kept in the backend's prepared form: at least W's bytes (vector panels pad
                // the last panel to whole vectors), never twice them.
                long cache = matrix.bytes() - d.parameters() * 4;
                long denseBytes = (long) shape.rows() * shape.cols() * 4;
                if (path == MpoCostModel.Path.DENSE) {
                    assertTrue(cache >= denseBytes && cache < 2 * denseBytes,
                            path + " cache of " + cache + " bytes for W of " + denseBytes);
                } else {
                    // The direct product prepared once: on the vector backend its own copies of the cores.
                    PreparedMatrix direct = MpoKernels.FAMILY.on(backend).prepareDirect(matrix.mpo());
                    assertEquals(direct.readsSource() ? 0 : direct.bytes(), cache, path + " bytes beyond the cores");
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"scalar", "vector"})
    void theModelsPickIsWhatRuns(String backendName) {
        Backend backend = BackendProvider.byName(backendName);
        MpoShape shape = MpoShape.of(64, 64, 3);
        float[] w = RandomMpos.gaussian(new Random(23), 64 * 64);
        Decomposition d = TtSvd.decompose(w, shape, Truncation.bondCap(2));
        // Rates that make a single row direct (bytes dominate) and 64 rows dense (FLOPs dominate).
        MpoCostModel model = new MpoCostModel(1e12, 1e9, 1e9);
        try (Arena arena = Arena.ofShared()) {
            MpoMatrix matrix = MpoMatrix.of(backend, d, model, null, arena);
            assertEquals(MpoCostModel.Path.DIRECT, matrix.choice(1).path());
            assertEquals(MpoCostModel.Path.DENSE, matrix.choice(64).path());
            matrix.multiply(backend.allocate(arena, 1, 64), backend.allocate(arena, 1, 64));
            assertFalse(matrix.hasDenseCache());
            matrix.multiply(backend.allocate(arena, 64, 64), backend.allocate(arena, 64, 64));
            assertTrue(matrix.hasDenseCache());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> matrix.multiply(backend.allocate(arena, 2, 63), backend.allocate(arena, 2, 64)));
            assertTrue(e.getMessage().contains("matmul shapes disagree"), e.getMessage());
        }
    }

    static Stream<Arguments> backendsAndPaths() {
        return Stream.of("scalar", "vector").flatMap(
                b -> Stream.of(MpoCostModel.Path.values()).map(p -> Arguments.of(b, p)));
    }

    @ParameterizedTest
    @MethodSource("backendsAndPaths")
    void changedCoresAreReadAfresh(String backendName, MpoCostModel.Path path) {
        Backend backend = BackendProvider.byName(backendName);
        MpoShape shape = new MpoShape(new int[] {2, 3}, new int[] {3, 2});
        Decomposition d = TtSvd.decompose(RandomMpos.gaussian(new Random(24), 36), shape, Truncation.none());
        try (Arena arena = Arena.ofShared()) {
            MpoMatrix matrix = MpoMatrix.of(backend, d, MpoCostModel.defaults(), path, arena);
            Tensor x = Tensor.of(arena, RandomMpos.gaussian(new Random(25), 6), 1, 6);
            Tensor before = Tensor.allocate(arena, 1, 6);
            matrix.multiply(x, before);
            // W is linear in each core: doubling core 0 (a training step, say) doubles the product.
            Tensor core = matrix.mpo().core(0);
            for (long e = 0; e < core.size(); e++) {
                core.segment().setAtIndex(ValueLayout.JAVA_FLOAT, core.offset() + e,
                        2 * core.segment().getAtIndex(ValueLayout.JAVA_FLOAT, core.offset() + e));
            }
            if (path == MpoCostModel.Path.DENSE) {
                Tensor stale = Tensor.allocate(arena, 1, 6);
                matrix.multiply(x, stale);
                assertEquals(before.get(0, 0), stale.get(0, 0), "the kept dense W is used until told otherwise");
            }
            matrix.coresChanged();
            assertFalse(matrix.hasDenseCache());
            Tensor after = Tensor.allocate(arena, 1, 6);
            matrix.multiply(x, after);
            for (int j = 0; j < 6; j++) {
                assertEquals(2 * before.get(0, j), after.get(0, j), 1e-5 * (1 + Math.abs(before.get(0, j))),
                        path + " element " + j);
            }
        }
    }
}
