package dev.tensorloom.mpo.vector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.mpo.Mpo;
import dev.tensorloom.mpo.MpoShape;
import dev.tensorloom.mpo.MpoSweep;
import dev.tensorloom.mpo.RandomMpos;
import dev.tensorloom.runtime.kernel.Parallelism;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * When the direct product is cut into one part per thread, and what the parts hold. That the parts' products are
 * W's columns is {@link VectorMpoKernelsContractTest}'s (its two-thread prepared products of cases whose first
 * core's column factor is 2 or more go through {@link ColumnParts}).
 */
class ColumnPartsTest {

    /** Swept right to left: the first step absorbs core 3, whose column factor is 4. */
    private static final MpoShape SMALL = new MpoShape(new int[] {4, 6, 8, 8}, new int[] {6, 4, 4, 4});

    private Arena arena;

    @BeforeEach
    void open() {
        arena = Arena.ofShared();
    }

    @AfterEach
    void close() {
        arena.close();
    }

    @Test
    void theSweepsFirstCoreIsCutWhenItsDigitGoesRoundTheThreads() {
        Mpo mpo = RandomMpos.mpo(SMALL, new int[] {1, 14, 14, 14, 1}, new Random(3), arena);
        assertEquals(3, MpoSweep.cheapestOrder(mpo.shape(), mpo.bonds())[0]);
        assertTrue(ColumnParts.splits(mpo, Parallelism.of(2)));
        assertTrue(ColumnParts.splits(mpo, Parallelism.of(4)));
        assertFalse(ColumnParts.splits(mpo, Parallelism.of(5)), "four values of j_3 for five threads");
        assertFalse(ColumnParts.splits(mpo, Parallelism.of(1)));
        String parts = new ColumnParts(mpo, Parallelism.of(4)).toString();
        assertTrue(parts.startsWith("ColumnParts[4 parts"), parts);
        assertTrue(parts.contains("[6, 4, 4, 1]"), "each part keeps one value of j_3: " + parts);
    }

    /**
     * Cut evenly, the parts plan the same steps but the first, so they share the copies of the cores they have in
     * common: about one plan's bytes, where a copy per part would be about twice.
     */
    @Test
    void evenPartsHoldOneCopyOfTheCoresTheyShare() {
        for (int[] bonds : new int[][] {{1, 24, 35, 32, 1}, {1, 14, 14, 14, 1}, {1, 9, 9, 9, 1}}) {
            Mpo mpo = RandomMpos.mpo(SMALL, bonds, new Random(7), arena);
            long whole = new DirectProduct(mpo, Parallelism.of(1)).bytes();
            long parts = new ColumnParts(mpo, Parallelism.of(2)).bytes();
            assertTrue(parts <= whole * 11 / 10, "bonds " + Arrays.toString(bonds) + ": parts hold "
                    + parts + " bytes against one plan's " + whole);
        }
    }

    /**
     * The product is written on the caller's thread only, so y may come from a confined arena; and two callers at
     * once (the pool busy with one, the other's parts run one after the other on its own thread) each get their
     * own product.
     */
    @Test
    void callersFromTwoThreadsEachGetTheirProductInTheirOwnArena() throws Exception {
        Mpo mpo = RandomMpos.mpo(SMALL, new int[] {1, 9, 9, 9, 1}, new Random(11), arena);
        ColumnParts parts = new ColumnParts(mpo, Parallelism.of(2));
        DirectProduct whole = new DirectProduct(mpo, Parallelism.of(1));
        try (ExecutorService callers = Executors.newFixedThreadPool(2)) {
            List<Future<Float>> errors = new ArrayList<>();
            for (int caller = 0; caller < 2; caller++) {
                long seed = caller;
                errors.add(callers.submit(() -> {
                    float worst = 0;
                    try (Arena own = Arena.ofConfined()) {
                        Random random = new Random(seed);
                        Tensor x = Tensor.allocate(own, 3, mpo.rows());
                        Tensor y = Tensor.allocate(own, 3, mpo.cols());
                        Tensor expected = Tensor.allocate(own, 3, mpo.cols());
                        for (int call = 0; call < 200; call++) {
                            for (int e = 0; e < x.size(); e++) {
                                x.set((float) random.nextGaussian(), e / mpo.rows(), e % mpo.rows());
                            }
                            parts.multiply(x, y);
                            whole.multiply(x, expected);
                            for (int e = 0; e < y.size(); e++) {
                                long b = e / mpo.cols();
                                long j = e % mpo.cols();
                                float e0 = expected.get(b, j);
                                worst = Math.max(worst, Math.abs(y.get(b, j) - e0) / (1 + Math.abs(e0)));
                            }
                        }
                    }
                    return worst;
                }));
            }
            for (Future<Float> error : errors) {
                float worst = error.get();
                assertTrue(worst <= 1e-5f, "parts against the whole plan: relative error " + worst);
            }
        }
    }
}
