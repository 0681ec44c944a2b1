package dev.tensorloom.hyperbolic.reasoning;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * A knowledge graph: named entities, named relations and (head, relation, tail) triples, indexed so that the
 * tails of a (head, relation) are one sorted run. Immutable and thread-safe.
 */
public final class KnowledgeGraph {

    private final List<String> entities;
    private final List<String> relations;
    private final NameIndex entityIndex;
    private final NameIndex relationIndex;
    /** Tails of (h, r): tails[offsets[h·R + r] .. offsets[h·R + r + 1]), ascending, distinct. */
    private final int[] offsets;
    private final int[] tails;

    private KnowledgeGraph(List<String> entities, List<String> relations, int[] offsets, int[] tails) {
        this.entities = entities;
        this.relations = relations;
        this.offsets = offsets;
        this.tails = tails;
        this.entityIndex = new NameIndex("entity", entities);
        this.relationIndex = new NameIndex("relation", relations);
    }

    /**
     * The graph of the triples (heads[k], relationIds[k], tails[k]); repeated triples count once.
     *
     * @throws IllegalArgumentException for no entities or relations, arrays of different lengths or an id out
     *     of range (the triple is named)
     */
    public static KnowledgeGraph of(List<String> entities, List<String> relations, int[] heads, int[] relationIds,
            int[] tails) {
        Objects.requireNonNull(entities, "entities");
        Objects.requireNonNull(relations, "relations");
        if (entities.isEmpty() || relations.isEmpty()) {
            throw new IllegalArgumentException("an empty knowledge graph: " + entities.size() + " entities and "
                    + relations.size() + " relations");
        }
        if (heads.length != relationIds.length || heads.length != tails.length) {
            throw new IllegalArgumentException("triples need as many heads, relations and tails, got " + heads.length
                    + ", " + relationIds.length + " and " + tails.length);
        }
        int n = entities.size();
        int r = relations.size();
        long[] keys = new long[heads.length];
        for (int k = 0; k < heads.length; k++) {
            if (heads[k] < 0 || heads[k] >= n || tails[k] < 0 || tails[k] >= n || relationIds[k] < 0
                    || relationIds[k] >= r) {
                throw new IllegalArgumentException("triple " + k + " (" + heads[k] + ", " + relationIds[k] + ", "
                        + tails[k] + ") is outside " + n + " entities and " + r + " relations");
            }
            keys[k] = ((long) heads[k] * r + relationIds[k]) * n + tails[k];
        }
        Arrays.sort(keys);
        long[] distinct = Arrays.stream(keys).distinct().toArray();
        int[] offsets = new int[n * r + 1];
        int[] out = new int[distinct.length];
        for (int k = 0; k < distinct.length; k++) {
            offsets[(int) (distinct[k] / n) + 1]++;
            out[k] = (int) (distinct[k] % n);
        }
        for (int i = 0; i < n * r; i++) {
            offsets[i + 1] += offsets[i];
        }
        return new KnowledgeGraph(List.copyOf(entities), List.copyOf(relations), offsets, out);
    }

    /** A training graph and the triples held out of it. */
    public record Split(KnowledgeGraph train, int[] testHeads, int[] testRelations, int[] testTails) {
        public int testTriples() {
            return testHeads.length;
        }
    }

    /** Holds out each triple with probability {@code testFraction} (drawn with {@code seed}). */
    public Split split(double testFraction, long seed) {
        if (!(testFraction > 0 && testFraction < 1)) {
            throw new IllegalArgumentException("the test fraction must lie in (0, 1), got " + testFraction);
        }
        SplittableRandom random = new SplittableRandom(seed);
        int[] h = new int[tails.length];
        int[] r = new int[tails.length];
        int[] t = new int[tails.length];
        int[] th = new int[tails.length];
        int[] tr = new int[tails.length];
        int[] tt = new int[tails.length];
        int train = 0;
        int test = 0;
        int relationCount = relations.size();
        for (int key = 0; key + 1 < offsets.length; key++) {
            for (int k = offsets[key]; k < offsets[key + 1]; k++) {
                if (random.nextDouble() < testFraction) {
                    th[test] = key / relationCount;
                    tr[test] = key % relationCount;
                    tt[test++] = tails[k];
                } else {
                    h[train] = key / relationCount;
                    r[train] = key % relationCount;
                    t[train++] = tails[k];
                }
            }
        }
        return new Split(of(entities, relations, Arrays.copyOf(h, train), Arrays.copyOf(r, train),
                Arrays.copyOf(t, train)), Arrays.copyOf(th, test), Arrays.copyOf(tr, test), Arrays.copyOf(tt, test));
    }

    /**
     * The subgraph induced by the first {@code maxEntities} entities a breadth-first walk from {@code centre} reaches
     * along every relation's triples: a connected sample of the graph around one entity, for small experiments.
     * Entities keep their names and order of discovery (the centre is entity 0); every relation is kept.
     */
    public KnowledgeGraph neighbourhood(String centre, int maxEntities) {
        if (maxEntities < 1) {
            throw new IllegalArgumentException("a neighbourhood needs at least one entity, got " + maxEntities);
        }
        int[] newId = new int[entities.size()];
        Arrays.fill(newId, -1);
        int[] order = new int[Math.min(maxEntities, entities.size())];
        int found = 0;
        order[found] = entity(centre);
        newId[order[found++]] = 0;
        int r = relations.size();
        for (int next = 0; next < found && found < order.length; next++) {
            int e = order[next];
            for (int k = offsets[e * r]; k < offsets[(e + 1) * r] && found < order.length; k++) {
                if (newId[tails[k]] < 0) {
                    newId[tails[k]] = found;
                    order[found++] = tails[k];
                }
            }
        }
        int[] h = new int[tails.length];
        int[] rel = new int[tails.length];
        int[] t = new int[tails.length];
        int kept = 0;
        for (int i = 0; i < found; i++) {
            int e = order[i];
            for (int key = e * r; key < (e + 1) * r; key++) {
                for (int k = offsets[key]; k < offsets[key + 1]; k++) {
                    if (newId[tails[k]] >= 0) {
                        h[kept] = i;
                        rel[kept] = key - e * r;
                        t[kept++] = newId[tails[k]];
                    }
                }
            }
        }
        List<String> names = Arrays.stream(order, 0, found).mapToObj(entities::get).toList();
        return of(names, relations, Arrays.copyOf(h, kept), Arrays.copyOf(rel, kept), Arrays.copyOf(t, kept));
    }

    public int entityCount() {
        return entities.size();
    }

    public int relationCount() {
        return relations.size();
    }

    public int triples() {
        return tails.length;
    }

    public List<String> entities() {
        return entities;
    }

    public List<String> relations() {
        return relations;
    }

    /** The entity called name, or an exception naming it with close matches. */
    public int entity(String name) {
        return entityIndex.of(name);
    }

    /** The relation called name, or an exception naming it with close matches. */
    public int relation(String name) {
        return relationIndex.of(name);
    }

    /** How many tails (head, relation) has. */
    public int tailCount(int head, int relation) {
        int key = head * relations.size() + relation;
        return offsets[key + 1] - offsets[key];
    }

    /** The k-th tail of (head, relation), ascending. */
    public int tail(int head, int relation, int k) {
        int key = head * relations.size() + relation;
        if (k < 0 || k >= offsets[key + 1] - offsets[key]) {
            throw new IndexOutOfBoundsException("(" + head + ", " + relation + ") has " + tailCount(head, relation)
                    + " tails, asked for " + k);
        }
        return tails[offsets[key] + k];
    }

    /** Whether the triple is in the graph. */
    public boolean contains(int head, int relation, int tail) {
        int key = head * relations.size() + relation;
        return Arrays.binarySearch(tails, offsets[key], offsets[key + 1], tail) >= 0;
    }

    @Override
    public String toString() {
        return "KnowledgeGraph[" + entities.size() + " entities, " + relations.size() + " relations, " + tails.length
                + " triples]";
    }
}
