package dev.tensorloom.hyperbolic.reasoning;

import java.util.Arrays;

/**
 * A path query (anchor, r1, ..., rk) → ?: the entities reached from the anchor by following r1, then r2, ... . Its
 * answers are every such entity in the graph it was asked of; for a test query, hardAnswers are those the training
 * graph does not reach (each needs a held-out triple), and the rest are filtered out of its ranking.
 */
public record PathQuery(int anchor, int[] relations, int[] answers, int[] hardAnswers) {

    public int hops() {
        return relations.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PathQuery q && anchor == q.anchor && Arrays.equals(relations, q.relations)
                && Arrays.equals(answers, q.answers) && Arrays.equals(hardAnswers, q.hardAnswers);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * anchor + Arrays.hashCode(relations)) + Arrays.hashCode(answers);
    }

    @Override
    public String toString() {
        return "PathQuery[" + anchor + " " + Arrays.toString(relations) + " -> " + answers.length + " answers, "
                + hardAnswers.length + " hard]";
    }
}
