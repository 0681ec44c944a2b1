package dev.tensorloom.hyperbolic.reasoning;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Path queries of 1, 2 or 3 hops drawn from a knowledge graph by random walks, in the protocol of multi-hop
 * reasoning benchmarks (Query2Box, BetaE): training queries are walked on the training graph and answered there;
 * test queries are walked on the full graph and kept only when some answer needs a held-out triple (a hard answer,
 * which no training query can have taught). Queries with more than {@code maxAnswers} answers are skipped (broad
 * ones, such as the hyponyms of hyponyms of entity, rank nothing).
 */
public final class PathQueries {

    private PathQueries() {
    }

    /** The entities reached from anchor along relations in graph, ascending. */
    public static int[] answers(KnowledgeGraph graph, int anchor, int[] relations) {
        int[] frontier = {anchor};
        for (int r : relations) {
            Set<Integer> next = new HashSet<>();
            for (int e : frontier) {
                for (int k = 0; k < graph.tailCount(e, r); k++) {
                    next.add(graph.tail(e, r, k));
                }
            }
            frontier = next.stream().mapToInt(Integer::intValue).sorted().toArray();
        }
        return frontier;
    }

    /** {@code count} distinct training queries of {@code hops} hops, walked and answered on {@code train}. */
    public static List<PathQuery> training(KnowledgeGraph train, int hops, int count, int maxAnswers, long seed) {
        return draw(train, null, hops, count, maxAnswers, seed);
    }

    /**
     * {@code count} distinct test queries of {@code hops} hops, walked on {@code full} and kept when they have a
     * hard answer: one that {@code train} (the full graph less the held-out triples) does not reach.
     */
    public static List<PathQuery> test(KnowledgeGraph full, KnowledgeGraph train, int hops, int count, int maxAnswers,
            long seed) {
        return draw(full, train, hops, count, maxAnswers, seed);
    }

    private static List<PathQuery> draw(KnowledgeGraph graph, KnowledgeGraph train, int hops, int count,
            int maxAnswers, long seed) {
        if (hops < 1 || count < 0 || maxAnswers < 1) {
            throw new IllegalArgumentException("queries need hops >= 1, count >= 0 and maxAnswers >= 1, got " + hops
                    + ", " + count + ", " + maxAnswers);
        }
        if (graph.triples() == 0) {
            throw new IllegalArgumentException("no queries can be walked on " + graph + ": it has no triples");
        }
        SplittableRandom random = new SplittableRandom(seed);
        Set<List<Integer>> seen = new HashSet<>();
        List<PathQuery> out = new ArrayList<>();
        long attempts = 0;
        long maxAttempts = 200L * count + 10_000;
        int[] relationOrder = new int[graph.relationCount()];
        while (out.size() < count) {
            if (++attempts > maxAttempts) {
                throw new IllegalStateException("only " + out.size() + " of " + count + " " + hops + "-hop "
                        + (train == null ? "training" : "test") + " queries found in " + maxAttempts + " walks on "
                        + graph);
            }
            int anchor = random.nextInt(graph.entityCount());
            int[] relations = new int[hops];
            int at = anchor;
            boolean walked = true;
            for (int h = 0; h < hops && walked; h++) {
                // A relation the current entity has, chosen uniformly among those it has.
                int options = 0;
                for (int r = 0; r < graph.relationCount(); r++) {
                    if (graph.tailCount(at, r) > 0) {
                        relationOrder[options++] = r;
                    }
                }
                if (options == 0) {
                    walked = false;
                    break;
                }
                int r = relationOrder[random.nextInt(options)];
                relations[h] = r;
                at = graph.tail(at, r, random.nextInt(graph.tailCount(at, r)));
            }
            if (!walked) {
                continue;
            }
            List<Integer> key = new ArrayList<>();
            key.add(anchor);
            for (int r : relations) {
                key.add(r);
            }
            if (seen.contains(key)) {
                continue;
            }
            int[] answers = answers(graph, anchor, relations);
            if (answers.length > maxAnswers) {
                continue;
            }
            int[] hard = new int[0];
            if (train != null) {
                int[] easy = answers(train, anchor, relations);
                hard = Arrays.stream(answers).filter(a -> Arrays.binarySearch(easy, a) < 0).toArray();
                if (hard.length == 0) {
                    continue;
                }
            }
            seen.add(key);
            out.add(new PathQuery(anchor, relations, answers, hard));
        }
        return out;
    }
}
