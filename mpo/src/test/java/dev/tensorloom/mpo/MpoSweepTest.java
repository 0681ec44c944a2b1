package dev.tensorloom.mpo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.runtime.kernel.ScalarBackend;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The contraction order: the one {@link MpoSweep#cheapestOrder} picks costs no more than any of the n! orders,
 * counted by brute force with a formula of its own (a step costs the product of the sizes of every index it
 * touches), and every order gives x·W.
 */
class MpoSweepTest {

    private final ScalarMpoKernels oracle = new ScalarMpoKernels(new ScalarBackend());

    @Test
    void theChosenOrderIsTheCheapestOfAllOrders() {
        Random random = new Random(5);
        int notLeftToRight = 0;
        for (int trial = 0; trial < 400; trial++) {
            int n = 2 + random.nextInt(4);
            MpoShape shape = new MpoShape(factors(random, n), factors(random, n));
            int[] bonds = new int[n + 1];
            Arrays.fill(bonds, 1);
            for (int k = 1; k < n; k++) {
                bonds[k] = 1 + random.nextInt(12);
            }
            long fewest = Long.MAX_VALUE;
            for (int[] order : permutations(n)) {
                long cost = bruteForceMultiplyAdds(shape, bonds, order);
                assertEquals(cost, MpoSweep.multiplyAdds(shape, bonds, 1, order), shape + " " + Arrays.toString(order));
                fewest = Math.min(fewest, cost);
            }
            int[] chosen = MpoSweep.cheapestOrder(shape, bonds);
            assertEquals(fewest, bruteForceMultiplyAdds(shape, bonds, chosen),
                    shape + " bonds " + Arrays.toString(bonds) + " order " + Arrays.toString(chosen));
            assertEquals(7 * fewest, MpoCost.directMultiplyAdds(shape, bonds, 7));
            if (!Arrays.equals(chosen, MpoSweep.leftToRight(n))) {
                notLeftToRight++;
                assertTrue(fewest < MpoCost.leftToRightMultiplyAdds(shape, bonds, 1));
            } else {
                assertEquals(fewest, MpoCost.leftToRightMultiplyAdds(shape, bonds, 1));
            }
        }
        // The choice is not vacuous: a good share of random chains is cheaper in another order.
        assertTrue(notLeftToRight > 40, notLeftToRight + " of 400");
    }

    @Test
    void leftToRightIsReferenceMdsFormula() {
        // REFERENCE.md section 2's worked example: 4096×4096 as 4 cores of 8×8, bonds 64, D, 64, swept left to right
        // costs Σ_k (∏_{l<k} j_l)(∏_{l>k} i_l)·|core k| = 2·512·4096 + 2·512·4096·D multiply-adds.
        MpoShape shape = new MpoShape(new int[] {8, 8, 8, 8}, new int[] {8, 8, 8, 8});
        int[] bonds = {1, 64, 409, 64, 1};
        long expected = 2L * 512 * 4096 + 2L * 512 * 4096 * 409;
        assertEquals(expected, MpoSweep.multiplyAdds(shape, bonds, 1, MpoSweep.leftToRight(4)));
        assertEquals(expected, MpoCost.leftToRightMultiplyAdds(shape, bonds, 1));
        // Symmetric, so no order beats it (a tie keeps left to right, which reads every core as stored).
        assertArrayEquals(MpoSweep.leftToRight(4), MpoSweep.cheapestOrder(shape, bonds));
    }

    @Test
    void everyOrderGivesXTimesW() {
        Random random = new Random(17);
        MpoShape[] shapes = {
            new MpoShape(new int[] {3, 2, 4}, new int[] {2, 5, 3}),
            new MpoShape(new int[] {2, 3, 1, 2}, new int[] {3, 1, 2, 2}),
        };
        int[][] bondsOf = {{1, 4, 3, 1}, {1, 3, 5, 2, 1}};
        try (Arena arena = Arena.ofConfined()) {
            for (int c = 0; c < shapes.length; c++) {
                MpoShape shape = shapes[c];
                Mpo mpo = RandomMpos.mpo(shape, bondsOf[c], random, arena);
                Tensor w = Tensor.allocate(arena, shape.rows(), shape.cols());
                oracle.contractToDense(mpo, w);
                int m = 2;
                Tensor x = Tensor.of(arena, RandomMpos.gaussian(random, m * shape.rows()), m, shape.rows());
                for (int[] order : permutations(shape.cores())) {
                    Tensor y = Tensor.allocate(arena, m, shape.cols());
                    oracle.multiply(mpo, x, y, order);
                    for (int b = 0; b < m; b++) {
                        for (int j = 0; j < shape.cols(); j++) {
                            double expected = 0;
                            double scale = 0;
                            for (int i = 0; i < shape.rows(); i++) {
                                expected += (double) x.get(b, i) * w.get(i, j);
                                scale += Math.abs((double) x.get(b, i) * w.get(i, j));
                            }
                            assertEquals(expected, y.get(b, j), 1e-6 * scale,
                                    shape + " order " + Arrays.toString(order) + " (" + b + ", " + j + ")");
                        }
                    }
                }
            }
        }
    }

    @Test
    void anOrderThatIsNotAPermutationIsRefused() {
        MpoShape shape = new MpoShape(new int[] {2, 3}, new int[] {3, 2});
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> MpoSweep.of(shape, new int[] {1, 2, 1}, 1, new int[] {0, 0}));
        assertTrue(e.getMessage().contains("[0, 0] is not a permutation of the 2 cores"), e.getMessage());
    }

    /**
     * Absorbing core k after the cores in {@code done}: the product of the sizes of every index of the state or
     * of the core (batch 1). The state holds j for absorbed cores, i for the others, and each bond with exactly
     * one absorbed end; the core adds its i, j and both bonds.
     */
    private static long bruteForceMultiplyAdds(MpoShape shape, int[] bonds, int[] order) {
        int n = shape.cores();
        boolean[] done = new boolean[n];
        long total = 0;
        for (int k : order) {
            long cost = 1;
            for (int l = 0; l < n; l++) {
                if (done[l] || l == k) {
                    cost *= shape.colFactor(l);
                }
                if (!done[l]) {
                    cost *= shape.rowFactor(l);
                }
            }
            for (int b = 1; b < n; b++) {
                boolean inState = done[b - 1] != done[b];
                boolean onCore = b == k || b == k + 1;
                if (inState || onCore) {
                    cost *= bonds[b];
                }
            }
            total += cost;
            done[k] = true;
        }
        return total;
    }

    private static int[] factors(Random random, int n) {
        int[] f = new int[n];
        for (int k = 0; k < n; k++) {
            f[k] = 1 + random.nextInt(6);
        }
        return f;
    }

    private static List<int[]> permutations(int n) {
        List<int[]> all = new ArrayList<>();
        permute(MpoSweep.leftToRight(n), 0, all);
        return all;
    }

    private static void permute(int[] a, int from, List<int[]> all) {
        if (from == a.length) {
            all.add(a.clone());
            return;
        }
        for (int i = from; i < a.length; i++) {
            int t = a[from];
            a[from] = a[i];
            a[i] = t;
            permute(a, from + 1, all);
            a[i] = a[from];
            a[from] = t;
        }
    }
}
