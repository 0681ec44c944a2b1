package dev.tensorloom.hyperbolic.hierarchy;

import dev.tensorloom.runtime.kernel.Parallelism;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The reconstruction scores of Nickel &amp; Kiela (2017), computed as their published evaluation does: for each
 * node u with at least one ancestor, every other node is ranked by its distance to u; u's ancestors are the
 * positives, all other nodes but u the negatives.
 * <ul>
 *   <li><b>mean rank</b>: over all (u, ancestor v) pairs, 1 + the number of negatives closer to u than v (a
 *       negative at exactly v's distance counts one half, the expectation under a random order of ties, so a
 *       collapsed embedding scores as a random one and not as a perfect one);</li>
 *   <li><b>MAP</b>: the mean over u of the average precision of that ranking (ties grouped into one threshold,
 *       as scikit-learn's {@code average_precision_score} groups them).</li>
 * </ul>
 * Distances are the embedding's own score ({@link HierarchyEmbedding#distance}, in double, as the trainer computes
 * it), one query node per task on the shared {@link Parallelism} pool.
 *
 * @param nodes  nodes evaluated (those with an ancestor, or a sample of them)
 * @param pairs  (u, ancestor) pairs ranked
 */
public record Reconstruction(double meanRank, double map, int nodes, long pairs) {

    /** Every node with an ancestor. */
    public static Reconstruction evaluate(Hierarchy hierarchy, HierarchyEmbedding embedding) {
        return evaluate(hierarchy, embedding, 0, 0);
    }

    /**
     * @param sample 0 for every node with an ancestor; else that many of them, drawn without replacement with
     *               {@code seed} (for the noun hierarchy, where all pairs of 82k nodes are 6.7·10⁹ distances)
     */
    public static Reconstruction evaluate(Hierarchy hierarchy, HierarchyEmbedding embedding, int sample, long seed) {
        int n = hierarchy.nodes();
        if (embedding.size() != n || !embedding.names().equals(hierarchy.names())) {
            throw new IllegalArgumentException(embedding + " is not an embedding of " + hierarchy
                    + " (its names differ)");
        }
        int[] queries = queries(hierarchy, sample, seed);
        if (queries.length == 0) {
            throw new IllegalArgumentException(hierarchy + " has no node with an ancestor to evaluate");
        }
        Geometry geometry = Geometry.of(embedding.space(),
                embedding.space() == HierarchyEmbedding.Space.POINCARE ? embedding.curvature() : 1);
        float[] points = embedding.coordinates();
        int dim = embedding.dim();
        Ranking[] rankings = new Ranking[queries.length];
        Parallelism.shared().forEach(queries.length, q -> {
            int u = queries[q];
            float[] row = new float[n];
            for (int j = 0; j < n; j++) {
                row[j] = (float) geometry.score(points, u * dim, points, j * dim, dim);
            }
            rankings[q] = rank(hierarchy, u, row);
        });
        double rankSum = 0;
        double apSum = 0;
        long pairs = 0;
        for (int q = 0; q < queries.length; q++) {
            rankSum += rankings[q].rankSum();
            apSum += rankings[q].averagePrecision();
            pairs += hierarchy.ancestorCount(queries[q]);
        }
        return new Reconstruction(rankSum / pairs, apSum / queries.length, queries.length, pairs);
    }

    private static int[] queries(Hierarchy h, int sample, long seed) {
        int[] withAncestors = new int[h.nodes()];
        int count = 0;
        for (int u = 0; u < h.nodes(); u++) {
            if (h.ancestorCount(u) > 0) {
                withAncestors[count++] = u;
            }
        }
        int[] all = Arrays.copyOf(withAncestors, count);
        if (sample <= 0 || sample >= count) {
            return all;
        }
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = 0; i < sample; i++) {
            int j = i + random.nextInt(count - i);
            int t = all[i];
            all[i] = all[j];
            all[j] = t;
        }
        int[] chosen = Arrays.copyOf(all, sample);
        Arrays.sort(chosen);
        return chosen;
    }

    /** The summed ranks of u's ancestors and the average precision of u's ranking. */
    record Ranking(double rankSum, double averagePrecision) {
    }

    /** Ranks u's ancestors among all nodes but u by distance[]; see the class comment. */
    static Ranking rank(Hierarchy h, int u, float[] distance) {
        int n = distance.length;
        int positives = h.ancestorCount(u);
        // Distances are >= 0, so their float bits sort as the distances do; the low bit carries the label.
        long[] keyed = new long[n - 1];
        float[] negatives = new float[n - 1 - positives];
        int k = 0;
        int m = 0;
        for (int w = 0; w < n; w++) {
            if (w == u) {
                continue;
            }
            boolean positive = h.isA(u, w);
            float d = Math.max(distance[w], 0f);
            keyed[k++] = ((long) Float.floatToIntBits(d) << 1) | (positive ? 1 : 0);
            if (!positive) {
                negatives[m++] = d;
            }
        }
        Arrays.sort(negatives);
        double rankSum = 0;
        for (int a = 0; a < positives; a++) {
            float d = Math.max(distance[h.ancestor(u, a)], 0f);
            int below = lowerBound(negatives, d);
            int tied = lowerBound(negatives, Math.nextUp(d)) - below;
            rankSum += 1 + below + 0.5 * tied;
        }
        Arrays.sort(keyed);
        double ap = 0;
        int seen = 0;
        int truePositives = 0;
        for (int i = 0; i < keyed.length; ) {
            long bits = keyed[i] >>> 1;
            int groupPositives = 0;
            int j = i;
            while (j < keyed.length && keyed[j] >>> 1 == bits) {
                groupPositives += (int) (keyed[j] & 1);
                j++;
            }
            seen += j - i;
            truePositives += groupPositives;
            ap += (double) groupPositives / positives * truePositives / seen;
            i = j;
        }
        return new Ranking(rankSum, ap);
    }

    /** The first index whose value is >= x. */
    private static int lowerBound(float[] sorted, float x) {
        int lo = 0;
        int hi = sorted.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid] < x) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }
}
