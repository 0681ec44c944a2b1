/**
 * Hierarchy embeddings (Nickel &amp; Kiela 2017): a {@link dev.tensorloom.hyperbolic.hierarchy.Hierarchy} (the
 * transitive closure of an is-a relation), {@link dev.tensorloom.hyperbolic.hierarchy.HierarchyTrainer} (softmax
 * over sampled negatives of -distance, burn-in, Hogwild threads, Riemannian SGD or Adam; each pair over plain float
 * rows with the published ball's distance and retraction in double, or the Euclidean baseline in the same loop), the
 * trained
 * {@link dev.tensorloom.hyperbolic.hierarchy.HierarchyEmbedding} (saved as docs/FORMATS.md describes) and
 * {@link dev.tensorloom.hyperbolic.hierarchy.Reconstruction} (mean rank and MAP). The module reads no WordNet itself:
 * the links come from the caller (testkit's {@code WordNetNouns} in tests and the bench).
 */
package dev.tensorloom.hyperbolic.hierarchy;
