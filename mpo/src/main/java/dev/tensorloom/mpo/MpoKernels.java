package dev.tensorloom.mpo;

import dev.tensorloom.runtime.kernel.KernelFamily;
import dev.tensorloom.runtime.tensor.Tensor;

/**
 * The MPO contraction family: an {@link Mpo}'s cores multiplied out to its dense matrix, or applied to a batch
 * directly, core by core. Obtained for a backend by {@code MpoKernels.FAMILY.on(backend)}; operands (cores
 * included) live where that backend computes, and 2-D operands have unit column stride with their row stride
 * as leading dimension.
 */
public interface MpoKernels {

    KernelFamily<MpoKernels> FAMILY = new KernelFamily<>(MpoKernels.class,
            "dev.tensorloom.mpo.ScalarMpoKernels",
            "dev.tensorloom.mpo.vector.VectorMpoKernels",
            "dev.tensorloom.mpo.cuda.CudaMpoKernels");

    /** w [I, J] = the matrix the cores hold. */
    void contractToDense(Mpo mpo, Tensor w);

    /**
     * y [m, J] = x [m, I] · W without forming W: the cores are absorbed into the state one at a time, in the order
     * of fewest multiply-adds ({@link MpoSweep#cheapestOrder}; every order gives the same product). Each step is a
     * product with the core read as a matrix [r, s] (see {@link MpoSweep}); left to right, step k reads core k as
     * stored, [d_k·i_k, j_k·d_{k+1}], and costs m·(∏_{l<k} j_l)·(∏_{l>k} i_l)·d_k·i_k·j_k·d_{k+1} multiply-adds
     * (REFERENCE.md section 2).
     */
    void multiply(Mpo mpo, Tensor x, Tensor y);
}
