package dev.tensorloom.hyperbolic.hierarchy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.hyperbolic.hierarchy.HierarchyEmbedding.Space;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Mean rank and average precision against rankings worked by hand, and the evaluation against float64 distances. */
class ReconstructionTest {

    /** animal ← carnivore ← canine ← dog, dog → pet → animal, cat → carnivore (as in HierarchyTest). */
    private static final Hierarchy DIAMOND = Hierarchy.closureOf(
            List.of("animal", "carnivore", "canine", "pet", "dog", "cat"),
            new int[] {1, 2, 3, 4, 4, 5}, new int[] {0, 1, 0, 2, 3, 1});

    @Test
    void dogsRankingWorkedByHand() {
        // From dog: canine 1, carnivore 2, cat 3 (the one negative), pet 4, animal 5; dog's own entry is ignored.
        float[] d = {5, 2, 1, 4, 0, 3};
        Reconstruction.Ranking r = Reconstruction.rank(DIAMOND, 4, d);
        // Ranks 1, 1, 2, 2; precisions at the positives 1, 1, 3/4, 4/5.
        assertEquals(6, r.rankSum(), 0);
        assertEquals((1 + 1 + 0.75 + 0.8) / 4, r.averagePrecision(), 1e-12);
    }

    @Test
    void tiesCountAsARandomOrderNotAsAWin() {
        float[] d = {1, 1, 1, 1, 1, 1};
        Reconstruction.Ranking r = Reconstruction.rank(DIAMOND, 4, d);
        assertEquals(4 * 1.5, r.rankSum(), 0);  // each positive ties with the one negative
        assertEquals(4.0 / 5, r.averagePrecision(), 1e-12);  // one threshold: precision 4/5, recall 1
    }

    @Test
    void evaluationAgreesWithFloat64DistancesRowByRow() {
        Random random = new Random(3);
        float[] coordinates = new float[DIAMOND.nodes() * 3];
        for (int i = 0; i < coordinates.length; i++) {
            coordinates[i] = (float) (random.nextGaussian() * 0.3);
        }
        for (Space space : Space.values()) {
            HierarchyEmbedding e = new HierarchyEmbedding(DIAMOND.names(), space, 1.0, 3, coordinates);
            Reconstruction r = Reconstruction.evaluate(DIAMOND, e);
            double rankSum = 0;
            double ap = 0;
            int nodes = 0;
            for (int u = 0; u < DIAMOND.nodes(); u++) {
                if (DIAMOND.ancestorCount(u) == 0) {
                    continue;
                }
                float[] d = new float[DIAMOND.nodes()];
                for (int w = 0; w < d.length; w++) {
                    d[w] = (float) e.distance(u, w);
                }
                Reconstruction.Ranking one = Reconstruction.rank(DIAMOND, u, d);
                rankSum += one.rankSum();
                ap += one.averagePrecision();
                nodes++;
            }
            assertEquals(5, r.nodes());
            assertEquals(DIAMOND.pairs(), r.pairs());
            assertEquals(rankSum / DIAMOND.pairs(), r.meanRank(), 1e-12, space.toString());
            assertEquals(ap / nodes, r.map(), 1e-12, space.toString());
        }
    }

    @Test
    void aSampledEvaluationIsTheEvaluationOfSomeSubsetOfThatSize() {
        Random random = new Random(4);
        float[] coordinates = new float[DIAMOND.nodes() * 2];
        for (int i = 0; i < coordinates.length; i++) {
            coordinates[i] = (float) (random.nextGaussian() * 0.3);
        }
        HierarchyEmbedding e = new HierarchyEmbedding(DIAMOND.names(), Space.POINCARE, 1.0, 2, coordinates);
        Reconstruction all = Reconstruction.evaluate(DIAMOND, e);
        assertEquals(all, Reconstruction.evaluate(DIAMOND, e, 5, 9), "a sample of all is all");
        Reconstruction three = Reconstruction.evaluate(DIAMOND, e, 3, 9);
        assertEquals(3, three.nodes());
        assertEquals(three, Reconstruction.evaluate(DIAMOND, e, 3, 9), "a function of the seed");
        // The five nodes with an ancestor are 1..5 (animal, node 0, has none): one 3-subset must give these scores.
        boolean matched = false;
        for (int mask = 0; mask < 32; mask++) {
            if (Integer.bitCount(mask) != 3) {
                continue;
            }
            double rankSum = 0;
            double ap = 0;
            long pairs = 0;
            for (int k = 0; k < 5; k++) {
                if ((mask & (1 << k)) != 0) {
                    int u = k + 1;
                    float[] d = new float[DIAMOND.nodes()];
                    for (int w = 0; w < d.length; w++) {
                        d[w] = (float) e.distance(u, w);
                    }
                    Reconstruction.Ranking one = Reconstruction.rank(DIAMOND, u, d);
                    rankSum += one.rankSum();
                    ap += one.averagePrecision();
                    pairs += DIAMOND.ancestorCount(u);
                }
            }
            matched |= pairs == three.pairs() && Math.abs(rankSum / pairs - three.meanRank()) < 1e-9
                    && Math.abs(ap / 3 - three.map()) < 1e-9;
        }
        assertTrue(matched, three.toString());
    }

    @Test
    void anEmbeddingOfAnotherHierarchyIsRefused() {
        HierarchyEmbedding other = new HierarchyEmbedding(List.of("a", "b"), Space.EUCLIDEAN, 0, 1, new float[2]);
        assertThrows(IllegalArgumentException.class, () -> Reconstruction.evaluate(DIAMOND, other));
    }
}
