package dev.tensorloom.runtime.embed;

/** How token states become one sentence vector. */
public enum Pooling {
    /** Mean of the real tokens' states (sentence-transformers' default, and all-MiniLM-L6-v2's). */
    MEAN,
    /** The state of the first token, [CLS]. */
    CLS
}
