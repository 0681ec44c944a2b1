package dev.tensorloom.mpo;

import dev.tensorloom.runtime.tensor.Tensor;
import java.util.Arrays;

/**
 * A matrix W [I, J] as n cores: core k is a contiguous tensor [d_k, i_k, j_k, d_{k+1}] (k from 0, bonds d₀ … dₙ
 * with d₀ = dₙ = 1), and W[(i₁…iₙ), (j₁…jₙ)] = Σ over the bonds of ∏_k core_k[d, i_k, j_k, d'] (see
 * {@link MpoShape} for the digits). The cores live wherever their tensors do: host memory, or a device
 * backend's after {@code toDevice}.
 */
public record Mpo(MpoShape shape, int[] bonds, Tensor[] cores) {

    public Mpo {
        shape.requireBonds(bonds);
        if (cores.length != shape.cores()) {
            throw new IllegalArgumentException(cores.length + " cores given for shape " + shape + " of "
                    + shape.cores() + " cores");
        }
        for (int k = 0; k < cores.length; k++) {
            long[] expected = {bonds[k], shape.rowFactor(k), shape.colFactor(k), bonds[k + 1]};
            if (!Arrays.equals(cores[k].shape(), expected) || !cores[k].isContiguous()) {
                throw new IllegalArgumentException("core " + k + " is " + cores[k] + " but bonds "
                        + Arrays.toString(bonds) + " and shape " + shape + " make it a contiguous "
                        + Arrays.toString(expected));
            }
        }
        bonds = bonds.clone();
        cores = cores.clone();
    }

    /** I. */
    public int rows() {
        return shape.rows();
    }

    /** J. */
    public int cols() {
        return shape.cols();
    }

    /** Σ_k d_k·i_k·j_k·d_{k+1}. */
    public long parameters() {
        return shape.parameters(bonds);
    }

    /** The parameters of the central core (index n/2). */
    public long centralParameters() {
        return shape.coreSize(bonds, shape.centralCore());
    }

    /** The parameters of every other core. */
    public long auxiliaryParameters() {
        return parameters() - centralParameters();
    }

    /** The cores' fp32 bytes. */
    public long bytes() {
        return parameters() * Tensor.FLOAT_BYTES;
    }

    /** Core k, [d_k, i_k, j_k, d_{k+1}]. */
    public Tensor core(int k) {
        return cores[k];
    }

    @Override
    public int[] bonds() {
        return bonds.clone();
    }

    @Override
    public Tensor[] cores() {
        return cores.clone();
    }

    @Override
    public String toString() {
        return "Mpo[" + shape + ", bonds " + Arrays.toString(bonds) + "]";
    }
}
