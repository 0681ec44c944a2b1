package dev.tensorloom.hyperbolic.reasoning;

import dev.tensorloom.hyperbolic.PoincareKernels;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Filtered ranking of held-out path queries (Bordes et al. 2013; the multi-hop protocol of Query2Box): each hard
 * answer of a test query is ranked against every entity that does not answer the query (the other answers, easy
 * and hard, are filtered out), by distance from the query point. Ties count against the answer, so a model that
 * scores every entity alike ranks last, not first.
 */
public final class QueryEvaluation {

    private QueryEvaluation() {
    }

    /** Scores over the (query, hard answer) pairs of one hop count. */
    public record HopScores(int hops, int queries, int answers, double mrr, double hitsAt1, double hitsAt10) {
    }

    /** Per hop count present in {@code test}, ascending. */
    public static List<HopScores> evaluate(PathReasoner model, PoincareKernels kernels, List<PathQuery> test) {
        List<HopScores> out = new ArrayList<>();
        for (int hops = 1; hops <= PathReasoner.STAGES; hops++) {
            int queries = 0;
            int answers = 0;
            double rr = 0;
            double hits1 = 0;
            double hits10 = 0;
            for (PathQuery q : test) {
                if (q.hops() != hops) {
                    continue;
                }
                queries++;
                float[] d = model.distances(kernels, q.anchor(), q.relations());
                for (int a : q.hardAnswers()) {
                    int rank = 1;
                    for (int e = 0; e < d.length; e++) {
                        if (e != a && d[e] <= d[a] && Arrays.binarySearch(q.answers(), e) < 0) {
                            rank++;
                        }
                    }
                    answers++;
                    rr += 1.0 / rank;
                    hits1 += rank <= 1 ? 1 : 0;
                    hits10 += rank <= 10 ? 1 : 0;
                }
            }
            if (answers > 0) {
                out.add(new HopScores(hops, queries, answers, rr / answers, hits1 / answers, hits10 / answers));
            }
        }
        return out;
    }
}
