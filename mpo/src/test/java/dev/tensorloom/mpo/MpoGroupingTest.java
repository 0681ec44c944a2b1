package dev.tensorloom.mpo;

import static dev.tensorloom.testkit.FloatAssertions.ABSOLUTE_TOLERANCE;
import static dev.tensorloom.testkit.FloatAssertions.PRODUCT_TOLERANCE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.BackendProvider;
import dev.tensorloom.runtime.kernel.ScalarBackend;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class MpoGroupingTest {

    private static final ScalarMpoKernels ORACLE = new ScalarMpoKernels(new ScalarBackend());

    @Test
    void theWorkedExampleMergesEachPairOfCores() {
        // REFERENCE.md: 4096×4096 as 4 cores of 8×8 with bonds (64, D, 64), D = 409 (5× compression).
        MpoShape shape = MpoShape.of(4096, 4096, 4);
        int[] bonds = {1, 64, 409, 64, 1};
        assertEquals(8_192 + 8_192L * 409, shape.parameters(bonds));
        MpoGrouping.Plan sweep = MpoGrouping.plan(shape, bonds, 1, new int[] {1, 1, 1, 1});
        // Core by core: 2·(512·4096 + 8·64·64·64·409) multiply-adds.
        assertEquals(2 * (512L * 4096 + 8L * 64 * 64 * 64 * 409), sweep.multiplyAdds());
        MpoGrouping.Plan best = MpoGrouping.cheapest(shape, bonds, 1, 1.0);
        assertArrayEquals(new int[] {2, 2}, best.groups());
        // Each merged pair [64·64 entries × D] meets x once: 2·D·64³ multiply-adds, ≈ 430 MFLOP in all.
        assertEquals(2L * 409 * 64 * 64 * 64, best.multiplyAdds());
        assertEquals(2L * 4096 * 409, best.parameters());
        assertTrue(sweep.multiplyAdds() > 8 * best.multiplyAdds());
    }

    @Test
    void mergedCoresHoldTheSameMatrix() {
        Random random = new Random(61);
        MpoShape shape = new MpoShape(new int[] {2, 3, 2}, new int[] {3, 1, 4});
        int[] bonds = {1, 3, 5, 1};
        try (Arena arena = Arena.ofConfined()) {
            Mpo mpo = RandomMpos.mpo(shape, bonds, random, arena);
            Tensor expected = Tensor.allocate(arena, 12, 12);
            ORACLE.contractToDense(mpo, expected);
            for (int[] groups : new int[][] {{3}, {2, 1}, {1, 2}, {1, 1, 1}}) {
                Mpo merged = MpoGrouping.merge(mpo, MpoGrouping.plan(shape, bonds, 1, groups), arena);
                assertEquals(groups.length, merged.shape().cores());
                Tensor actual = Tensor.allocate(arena, 12, 12);
                ORACLE.contractToDense(merged, actual);
                for (int i = 0; i < 12; i++) {
                    for (int j = 0; j < 12; j++) {
                        // Both sides are one fp32 rounding of the same sum of products of ~N(0,1) numbers.
                        assertEquals(expected.get(i, j), actual.get(i, j), 1e-5 * (1 + Math.abs(expected.get(i, j))),
                                Arrays.toString(groups) + " (" + i + ", " + j + ")");
                    }
                }
            }
        }
    }

    @Test
    void aGroupedPreparerMultipliesLikeAnUngroupedOne() {
        // 256×256 in 4 cores of 4×4 with bonds (16, 64, 16): merging the pairs is 4× cheaper for one row, and the
        // whole dense matrix would hold twice the parameters, past the growth allowed.
        Random random = new Random(62);
        MpoShape shape = MpoShape.of(256, 256, 4);
        Backend backend = BackendProvider.byName("vector");
        try (Arena arena = Arena.ofShared()) {
            Tensor w = Tensor.of(arena, RandomMpos.gaussian(random, 256 * 256), 256, 256);
            MpoPreparer plain = new MpoPreparer(backend, 4, Truncation.bondCap(64), MpoCostModel.defaults(),
                    MpoCostModel.Path.DIRECT);
            MpoMatrix sweep = (MpoMatrix) plain.prepare("w", w, arena);
            MpoMatrix grouped = (MpoMatrix) plain.groupedFor(1, 1.5).prepare("w", w, arena);
            assertEquals(4, sweep.mpo().shape().cores());
            assertEquals(2, grouped.mpo().shape().cores());
            // Core by core 64·256 + 4·16·(16·16·64) + 16·4·(16·16·64) + 64·256; by pairs 16·(16·16·64) twice.
            assertEquals(2_129_920, MpoCost.directMultiplyAdds(shape, sweep.mpo().bonds(), 1));
            assertEquals(524_288, MpoCost.directMultiplyAdds(grouped.mpo().shape(), grouped.mpo().bonds(), 1));
            Tensor x = Tensor.of(arena, RandomMpos.gaussian(random, 256), 1, 256);
            Tensor a = Tensor.allocate(arena, 1, 256);
            Tensor b = Tensor.allocate(arena, 1, 256);
            sweep.multiply(x, a);
            grouped.multiply(x, b);
            Tensor dense = Tensor.allocate(arena, 256, 256);
            ORACLE.contractToDense(sweep.mpo(), dense);
            for (int j = 0; j < 256; j++) {
                double scale = 0;
                for (int i = 0; i < 256; i++) {
                    scale += Math.abs(x.get(0, i) * dense.get(i, j));
                }
                // Both are x·W' up to fp32 rounding: FloatAssertions' product tolerance, twice (two orders of sums).
                assertEquals(a.get(0, j), b.get(0, j), 2 * PRODUCT_TOLERANCE * scale + ABSOLUTE_TOLERANCE, "column " + j);
            }
        }
    }

    @Test
    void badPlansAreNamed() {
        MpoShape shape = new MpoShape(new int[] {2, 2}, new int[] {2, 2});
        int[] bonds = {1, 4, 1};
        assertTrue(assertThrows(IllegalArgumentException.class, () -> MpoGrouping.cheapest(shape, bonds, 1, 0.5))
                .getMessage().contains("growth must be >= 1"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> MpoGrouping.plan(shape, bonds, 1, new int[] {1})).getMessage().contains("do not cover"));
    }
}
