package dev.tensorloom.hyperbolic.hierarchy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The transitive closure of an is-a relation over named nodes: node u is-a v for every ancestor v of u, direct
 * or not. This is what Nickel &amp; Kiela (2017) embed: the WordNet noun hierarchy as the closure of its
 * hypernym links. As in their published data, a node is not its own ancestor (no self loops), and the pairs are
 * directed (hyponym, hypernym).
 *
 * <p>Each node's ancestors are kept sorted, so {@link #isA} is a binary search. Immutable and thread-safe.
 */
public final class Hierarchy {

    private final List<String> names;
    private final Map<String, Integer> index;
    /** Ancestors of node u: ancestors[offsets[u] .. offsets[u + 1]), ascending. */
    private final int[] offsets;
    private final int[] ancestors;

    private Hierarchy(List<String> names, int[] offsets, int[] ancestors) {
        this.names = names;
        this.offsets = offsets;
        this.ancestors = ancestors;
        this.index = new HashMap<>(names.size() * 2);
        for (int i = 0; i < names.size(); i++) {
            Integer earlier = index.put(names.get(i), i);
            if (earlier != null) {
                throw new IllegalArgumentException("node name '" + names.get(i) + "' appears twice (at " + earlier
                        + " and " + i + ")");
            }
        }
    }

    /**
     * The closure of the direct links {@code names[hyponyms[k]]} is-a {@code names[hypernyms[k]]}.
     *
     * @throws IllegalArgumentException when there are no nodes, a link names a node out of range or links a node
     *     to itself, or the links form a cycle (the node it passes through is named)
     */
    public static Hierarchy closureOf(List<String> names, int[] hyponyms, int[] hypernyms) {
        Objects.requireNonNull(names, "names");
        int n = names.size();
        if (n == 0) {
            throw new IllegalArgumentException("an empty hierarchy: no nodes");
        }
        if (hyponyms.length != hypernyms.length) {
            throw new IllegalArgumentException("links need as many hyponyms as hypernyms, got " + hyponyms.length
                    + " and " + hypernyms.length);
        }
        int[] parentCount = new int[n + 1];
        for (int k = 0; k < hyponyms.length; k++) {
            for (int node : new int[] {hyponyms[k], hypernyms[k]}) {
                if (node < 0 || node >= n) {
                    throw new IllegalArgumentException("link " + k + " names node " + node + ", outside [0, " + n + ")");
                }
            }
            if (hyponyms[k] == hypernyms[k]) {
                throw new IllegalArgumentException("link " + k + " makes '" + names.get(hyponyms[k]) + "' its own parent");
            }
            parentCount[hyponyms[k] + 1]++;
        }
        for (int i = 0; i < n; i++) {
            parentCount[i + 1] += parentCount[i];
        }
        int[] parents = new int[hyponyms.length];
        int[] fill = Arrays.copyOf(parentCount, n);
        for (int k = 0; k < hyponyms.length; k++) {
            parents[fill[hyponyms[k]]++] = hypernyms[k];
        }
        int[][] closure = new int[n][];
        // Iterative depth-first search: a node's ancestors are its parents and theirs, finished parents first.
        byte[] state = new byte[n];  // 0 unseen, 1 on the stack, 2 done
        int[] stack = new int[n];
        int[] next = new int[n];
        int[] stamp = new int[n];
        Arrays.fill(stamp, -1);
        for (int start = 0; start < n; start++) {
            if (state[start] != 0) {
                continue;
            }
            int top = 0;
            stack[0] = start;
            state[start] = 1;
            next[start] = parentCount[start];
            while (top >= 0) {
                int u = stack[top];
                if (next[u] < parentCount[u + 1]) {
                    int p = parents[next[u]++];
                    if (state[p] == 1) {
                        throw new IllegalArgumentException("the is-a links form a cycle through '" + names.get(p) + "'");
                    }
                    if (state[p] == 0) {
                        state[p] = 1;
                        next[p] = parentCount[p];
                        stack[++top] = p;
                    }
                    continue;
                }
                closure[u] = union(u, parents, parentCount[u], parentCount[u + 1], closure, stamp);
                state[u] = 2;
                top--;
            }
        }
        return fromClosure(List.copyOf(names), closure);
    }

    private static int[] union(int u, int[] parents, int from, int to, int[][] closure, int[] stamp) {
        int size = 0;
        for (int k = from; k < to; k++) {
            size += 1 + closure[parents[k]].length;
        }
        int[] out = new int[size];
        int count = 0;
        for (int k = from; k < to; k++) {
            int p = parents[k];
            if (stamp[p] != u) {
                stamp[p] = u;
                out[count++] = p;
            }
            for (int a : closure[p]) {
                if (stamp[a] != u) {
                    stamp[a] = u;
                    out[count++] = a;
                }
            }
        }
        int[] result = Arrays.copyOf(out, count);
        Arrays.sort(result);
        return result;
    }

    private static Hierarchy fromClosure(List<String> names, int[][] closure) {
        int n = names.size();
        int[] offsets = new int[n + 1];
        for (int i = 0; i < n; i++) {
            offsets[i + 1] = offsets[i] + closure[i].length;
        }
        int[] ancestors = new int[offsets[n]];
        for (int i = 0; i < n; i++) {
            System.arraycopy(closure[i], 0, ancestors, offsets[i], closure[i].length);
        }
        return new Hierarchy(names, offsets, ancestors);
    }

    /**
     * The subtree under {@code root}: root and every node that is-a root, with the closure pairs whose both ends
     * lie in it (the construction of Nickel &amp; Kiela's mammal subtree). Nodes keep their relative order.
     */
    public Hierarchy subtree(String root) {
        int r = indexOf(root);
        int n = nodes();
        int[] renumber = new int[n];
        Arrays.fill(renumber, -1);
        List<String> kept = new ArrayList<>();
        for (int u = 0; u < n; u++) {
            if (u == r || isA(u, r)) {
                renumber[u] = kept.size();
                kept.add(names.get(u));
            }
        }
        int[][] closure = new int[kept.size()][];
        for (int u = 0; u < n; u++) {
            if (renumber[u] < 0) {
                continue;
            }
            int[] inside = new int[offsets[u + 1] - offsets[u]];
            int count = 0;
            for (int k = offsets[u]; k < offsets[u + 1]; k++) {
                if (renumber[ancestors[k]] >= 0) {
                    inside[count++] = renumber[ancestors[k]];
                }
            }
            closure[renumber[u]] = Arrays.copyOf(inside, count);
        }
        return fromClosure(List.copyOf(kept), closure);
    }

    public int nodes() {
        return names.size();
    }

    /** The number of (node, ancestor) pairs. */
    public int pairs() {
        return ancestors.length;
    }

    public String name(int node) {
        return names.get(node);
    }

    public List<String> names() {
        return names;
    }

    /** The node called {@code name}, or an exception naming it and suggesting close names. */
    public int indexOf(String name) {
        Integer i = index.get(name);
        if (i == null) {
            throw new IllegalArgumentException("no node '" + name + "' in this hierarchy of " + nodes() + " nodes"
                    + CloseNames.suggest(name, names));
        }
        return i;
    }

    /** Whether u is-a v through one or more links (false for u = v). */
    public boolean isA(int u, int v) {
        return Arrays.binarySearch(ancestors, offsets[u], offsets[u + 1], v) >= 0;
    }

    /** How many ancestors u has. */
    public int ancestorCount(int u) {
        return offsets[u + 1] - offsets[u];
    }

    /** u's k-th ancestor in ascending order. */
    public int ancestor(int u, int k) {
        if (k < 0 || k >= ancestorCount(u)) {
            throw new IndexOutOfBoundsException("node " + u + " has " + ancestorCount(u) + " ancestors, asked for " + k);
        }
        return ancestors[offsets[u] + k];
    }

    /** Every (node, ancestor) pair as two arrays, ordered by node then ancestor. */
    public int[][] pairArrays() {
        int[] child = new int[ancestors.length];
        for (int u = 0; u < nodes(); u++) {
            Arrays.fill(child, offsets[u], offsets[u + 1], u);
        }
        return new int[][] {child, ancestors.clone()};
    }

    /** How often each node is an ancestor: its number of descendants. */
    public int[] descendantCounts() {
        int[] counts = new int[nodes()];
        for (int a : ancestors) {
            counts[a]++;
        }
        return counts;
    }

    @Override
    public String toString() {
        return "Hierarchy[" + nodes() + " nodes, " + pairs() + " is-a pairs]";
    }
}
