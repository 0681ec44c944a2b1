package dev.tensorloom.runtime.kernel.vector;

import dev.tensorloom.runtime.kernel.PreparedMatrix;
import dev.tensorloom.runtime.tensor.Tensor;

/**
 * A weight matrix packed once into the panels {@link GemmMicroKernel#packed} reads: panel p holds columns
 * [p·NR, p·NR + NR) of every row, NR floats per row, zero-padded past n. Products read only the panels;
 * the source gives the shape and answers {@link PreparedMatrix#source()}.
 */
record PackedPanels(Tensor source, float[] panels) implements PreparedMatrix {
}
