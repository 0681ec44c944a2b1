/**
 * Riemannian SGD and Riemannian Adam on the Poincaré ball. They step with the family's exp map and parallel
 * transport; their per-row bookkeeping (conformal factors, moments) reads and writes host tensors, so they run on
 * the host backends.
 */
package dev.tensorloom.hyperbolic.optim;
