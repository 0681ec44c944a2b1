/**
 * Multi-hop reasoning over a knowledge graph (issue item 5): the {@link
 * dev.tensorloom.hyperbolic.reasoning.KnowledgeGraph} with its train/test split and neighbourhoods, the 1-, 2- and
 * 3-hop {@link dev.tensorloom.hyperbolic.reasoning.PathQuery path queries} drawn from it ({@link
 * dev.tensorloom.hyperbolic.reasoning.PathQueries}), the HyperMR-style {@link
 * dev.tensorloom.hyperbolic.reasoning.PathReasoner} (a MuRP relation transformation per hop, a Poincaré ball with its
 * own learnable curvature per stage), its {@link dev.tensorloom.hyperbolic.reasoning.ReasonerTrainer} and the
 * filtered ranking of held-out queries ({@link dev.tensorloom.hyperbolic.reasoning.QueryEvaluation}).
 */
package dev.tensorloom.hyperbolic.reasoning;
