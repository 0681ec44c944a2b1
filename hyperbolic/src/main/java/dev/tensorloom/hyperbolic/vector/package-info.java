/** The Poincaré kernels on the Vector API; loaded by name only when the vector backend is chosen. */
package dev.tensorloom.hyperbolic.vector;
