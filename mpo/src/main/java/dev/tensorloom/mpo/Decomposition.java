package dev.tensorloom.mpo;

import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Arrays;

/**
 * What {@link TtSvd} made of a matrix: the cores (fp32, row-major [d_k, i_k, j_k, d_{k+1}]), and what it cost.
 *
 * @param spectra   per bond k (1 … n-1), the singular values of W's k-th unfolding, descending: the canonical
 *                  spectrum the truncation chose from ({@code spectra[0]} and {@code spectra[n]} are empty)
 * @param discarded per bond k, the singular values the truncating sweep dropped there
 * @param norm      ||W||_F
 */
public record Decomposition(MpoShape shape, int[] bonds, float[][] cores, double[][] spectra, double[][] discarded,
        double norm) {

    /** sqrt(Σ_k ε_k²), ε_k² the sum of squares of {@code discarded[k]}: ||W - MPO||_F is at most this. */
    public double bound() {
        double sum = 0;
        for (double[] bond : discarded) {
            for (double s : bond) {
                sum += s * s;
            }
        }
        return Math.sqrt(sum);
    }

    /** {@link #bound()} / ||W||_F (0 for a zero matrix). */
    public double relativeBound() {
        return norm == 0 ? 0 : bound() / norm;
    }

    /** Σ_k d_k·i_k·j_k·d_{k+1}. */
    public long parameters() {
        return shape.parameters(bonds);
    }

    /** The cores as host tensors in {@code arena}. */
    public Mpo toMpo(Arena arena) {
        Tensor[] tensors = new Tensor[cores.length];
        for (int k = 0; k < cores.length; k++) {
            tensors[k] = Tensor.of(arena, cores[k], bonds[k], shape.rowFactor(k), shape.colFactor(k), bonds[k + 1]);
        }
        return new Mpo(shape, bonds, tensors);
    }

    @Override
    public int[] bonds() {
        return bonds.clone();
    }

    @Override
    public String toString() {
        return "Decomposition[" + shape + ", bonds " + Arrays.toString(bonds) + ", " + parameters()
                + " parameters, bound " + bound() + " of norm " + norm + "]";
    }
}
