package dev.tensorloom.mpo;

import dev.tensorloom.runtime.bert.BertWeights;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The stable rank of every projection matrix of a BERT-family model, and the structure-aware selection the
 * calibration seed makes from them (REFERENCE.md section 2): matrices are compared only with others of their own
 * type (query with query, FFN output with FFN output), since the types differ in shape and role, and the top k of
 * each type are chosen.
 */
public final class ModelStableRanks {

    private ModelStableRanks() {
    }

    /** The matrix types of a BERT layer, in the order a layer holds them. */
    public static final List<String> TYPES = List.of("query", "key", "value", "attention.output", "intermediate",
            "output");

    /**
     * One matrix's stable rank.
     *
     * @param name {@code layers.<layer>.<type>}
     */
    public record MatrixRank(String name, String type, int layer, int rows, int cols, StableRank.Estimate estimate) {

        public double stableRank() {
            return estimate.stableRank();
        }
    }

    /** Which end of each type's ranking to take. */
    public enum Order {
        HIGHEST, LOWEST
    }

    /** Every projection matrix of {@code weights}, layer by layer, in {@link #TYPES} order. */
    public static List<MatrixRank> of(BertWeights weights) {
        List<MatrixRank> ranks = new ArrayList<>();
        for (int l = 0; l < weights.layers().size(); l++) {
            BertWeights.Layer layer = weights.layers().get(l);
            List<BertWeights.Linear> linears = List.of(layer.query(), layer.key(), layer.value(),
                    layer.attentionOutput(), layer.intermediate(), layer.output());
            for (int t = 0; t < TYPES.size(); t++) {
                BertWeights.Linear linear = linears.get(t);
                ranks.add(new MatrixRank("layers." + l + "." + TYPES.get(t), TYPES.get(t), l, linear.in(),
                        linear.out(), StableRank.of(linear.weight())));
            }
        }
        return List.copyOf(ranks);
    }

    /**
     * Per type (in order of first appearance), the {@code k} matrices of highest or lowest stable rank, best
     * first; a type with fewer than k matrices gives all of them.
     */
    public static Map<String, List<MatrixRank>> topPerType(List<MatrixRank> ranks, int k, Order order) {
        if (k < 1) {
            throw new IllegalArgumentException("k must be >= 1, got " + k);
        }
        Map<String, List<MatrixRank>> byType = new LinkedHashMap<>();
        for (MatrixRank r : ranks) {
            byType.computeIfAbsent(r.type(), t -> new ArrayList<>()).add(r);
        }
        Comparator<MatrixRank> ascending = Comparator.comparingDouble(MatrixRank::stableRank);
        Comparator<MatrixRank> best = order == Order.HIGHEST ? ascending.reversed() : ascending;
        Map<String, List<MatrixRank>> top = new LinkedHashMap<>();
        byType.forEach((type, list) -> top.put(type, list.stream().sorted(best).limit(k).toList()));
        return top;
    }
}
