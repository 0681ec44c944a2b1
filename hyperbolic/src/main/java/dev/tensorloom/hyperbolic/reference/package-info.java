/**
 * The float64 Poincaré ball every float32 kernel is tested against: each operation is written once on a small
 * reverse-mode tape, so that its backward pass is the derivative of exactly what it computes.
 */
package dev.tensorloom.hyperbolic.reference;
