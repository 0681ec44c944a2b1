/**
 * The Poincaré ball of curvature -c: the float32 kernel family {@link dev.tensorloom.hyperbolic.PoincareKernels}
 * (scalar here, Vector API in {@code vector}; got for a backend by {@code PoincareKernels.FAMILY.on(backend)}),
 * the curvature, fixed or learnable through softplus ({@link dev.tensorloom.hyperbolic.Curvature}), the float64
 * oracle in {@code reference} and the Riemannian optimizers in {@code optim}.
 *
 * <p>Policy for points, in both precisions: a point argument on or outside the boundary is read as its projection
 * to the radius (1 - ε)/√c (ε = 4e-3 in float32, 1e-5 in float64), and its gradient is that projection's
 * Jacobian (no outward component); every point result is projected the same way. c ≤ 0 (or not finite) and
 * operands whose shapes disagree are errors with a message naming them.
 */
package dev.tensorloom.hyperbolic;
