package dev.tensorloom.hyperbolic.hierarchy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.hyperbolic.hierarchy.HierarchyTrainer.BurnInDistribution;
import dev.tensorloom.hyperbolic.hierarchy.HierarchyTrainer.NegativeSampler;
import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The negatives as the published sampler draws them (facebookresearch/poincare-embeddings, hype/graph_dataset.pyx),
 * on the WordNet mammals: the burn-in distribution against its closed form descendants^dampening / Σ, counted here
 * from the is-a pairs themselves, and a pair's negatives distinct, never the child nor one of its ancestors.
 */
class NegativeSamplingTest {

    /** descendants(w) counted from the pairs, independently of Hierarchy.descendantCounts. */
    private static double[] closedForm(Hierarchy h, double dampening) {
        double[] weight = new double[h.nodes()];
        for (int u = 0; u < h.nodes(); u++) {
            for (int w = 0; w < h.nodes(); w++) {
                if (h.isA(u, w)) {
                    weight[w]++;
                }
            }
        }
        double total = 0;
        for (int w = 0; w < weight.length; w++) {
            weight[w] = Math.pow(weight[w], dampening);
            total += weight[w];
        }
        for (int w = 0; w < weight.length; w++) {
            weight[w] /= total;
        }
        return weight;
    }

    @ParameterizedTest
    @ValueSource(doubles = {0.75, 1.0})
    void burnInDrawsFollowDescendantsToTheDampening(double dampening) {
        Hierarchy mammals = WordNetHierarchies.mammals();
        double[] expected = closedForm(mammals, dampening);
        BurnInDistribution distribution = new BurnInDistribution(mammals, dampening);
        int draws = 2_000_000;
        int[] seen = new int[mammals.nodes()];
        SplittableRandom random = new SplittableRandom(3);
        for (int i = 0; i < draws; i++) {
            seen[distribution.draw(random)]++;
        }
        int leaves = 0;
        double chiSquare = 0;
        int cells = 0;
        for (int w = 0; w < mammals.nodes(); w++) {
            assertEquals(expected[w], distribution.probability(w), 1e-12, mammals.name(w));
            if (expected[w] == 0) {
                leaves++;
                assertEquals(0, seen[w], "leaf " + mammals.name(w) + " is never drawn");
            } else {
                double mean = expected[w] * draws;
                chiSquare += (seen[w] - mean) * (seen[w] - mean) / mean;
                cells++;
            }
        }
        assertTrue(leaves > mammals.nodes() / 2, "most mammals are leaves: " + leaves);
        // χ² with cells - 1 degrees of freedom: mean k, standard deviation √(2k); 6 deviations is far out.
        int k = cells - 1;
        assertTrue(Math.abs(chiSquare - k) < 6 * Math.sqrt(2 * k), "χ² " + chiSquare + " for " + k + " dof");
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aPairsNegativesAreDistinctAndNeverTheChildNorAnAncestor(boolean burnIn) {
        Hierarchy mammals = WordNetHierarchies.mammals();
        BurnInDistribution distribution = burnIn ? new BurnInDistribution(mammals, 1.0) : null;
        int count = burnIn ? 6 : 51;
        NegativeSampler sampler = new NegativeSampler(mammals, distribution, 500);
        SplittableRandom random = new SplittableRandom(9);
        int[] candidate = new int[count];
        int[][] pairs = mammals.pairArrays();
        for (int e = 0; e < pairs[0].length; e += 7) {
            int child = pairs[0][e];
            candidate[0] = pairs[1][e];
            sampler.sample(child, candidate, count, random);
            assertEquals(pairs[1][e], candidate[0], "the positive is left alone");
            Set<Integer> distinct = new HashSet<>();
            for (int j = 1; j < count; j++) {
                int w = candidate[j];
                assertNotEquals(child, w);
                assertTrue(!mammals.isA(child, w), mammals.name(child) + " is a " + mammals.name(w));
                distinct.add(w);
            }
            assertEquals(count - 1, distinct.size(), "distinct negatives for " + mammals.name(child));
        }
    }

    @Test
    void generalNegativesComeFirstAndAreNeverLeavesTheRestUniform() {
        Hierarchy mammals = WordNetHierarchies.mammals();
        BurnInDistribution distribution = new BurnInDistribution(mammals, 1.0);
        int general = 10;
        int count = 51;
        NegativeSampler sampler = new NegativeSampler(mammals, distribution, general, 500);
        SplittableRandom random = new SplittableRandom(4);
        int[] candidate = new int[count];
        int[][] pairs = mammals.pairArrays();
        long leavesInRest = 0;
        long rest = 0;
        for (int e = 0; e < pairs[0].length; e += 3) {
            int child = pairs[0][e];
            candidate[0] = pairs[1][e];
            sampler.sample(child, candidate, count, random);
            Set<Integer> distinct = new HashSet<>();
            for (int j = 1; j < count; j++) {
                int w = candidate[j];
                assertTrue(w != child && !mammals.isA(child, w), mammals.name(child) + " drew " + mammals.name(w));
                distinct.add(w);
                boolean leaf = distribution.probability(w) == 0;
                if (j <= general) {
                    assertTrue(!leaf, "general negative " + j + " of " + mammals.name(child) + " is the leaf "
                            + mammals.name(w));
                } else {
                    rest++;
                    leavesInRest += leaf ? 1 : 0;
                }
            }
            assertEquals(count - 1, distinct.size(), "distinct negatives for " + mammals.name(child));
        }
        // Uniform draws land on leaves about as often as leaves are among the nodes (most mammals are leaves).
        int leaves = 0;
        for (int w = 0; w < mammals.nodes(); w++) {
            leaves += distribution.probability(w) == 0 ? 1 : 0;
        }
        double share = (double) leavesInRest / rest;
        assertTrue(Math.abs(share - (double) leaves / mammals.nodes()) < 0.05, "leaf share of the uniform rest "
                + share + " against " + (double) leaves / mammals.nodes());
    }
}
