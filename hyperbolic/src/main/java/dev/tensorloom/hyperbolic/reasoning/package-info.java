/**
 * Multi-hop reasoning over a knowledge graph (issue item 5, begun): the {@link
 * dev.tensorloom.hyperbolic.reasoning.KnowledgeGraph} with its train/test split and the 1-, 2- and 3-hop {@link
 * dev.tensorloom.hyperbolic.reasoning.PathQuery path queries} drawn from it ({@link
 * dev.tensorloom.hyperbolic.reasoning.PathQueries}). The reasoner itself (a relation transformation per hop, a
 * Poincaré ball with its own curvature per stage) is not written yet.
 */
package dev.tensorloom.hyperbolic.reasoning;
