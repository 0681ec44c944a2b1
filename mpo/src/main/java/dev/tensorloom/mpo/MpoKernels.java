package dev.tensorloom.mpo;

import dev.tensorloom.runtime.kernel.KernelFamily;
import dev.tensorloom.runtime.kernel.PreparedMatrix;
import dev.tensorloom.runtime.tensor.Tensor;
import java.util.List;

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

    /**
     * The direct product by {@code mpo} made ready for many calls: a {@link PreparedMatrix} whose products are those
     * of {@link #multiply}, with whatever {@code multiply} works out per call (the order, cores rearranged into the
     * layout their steps read) worked out once here. It may copy the cores' values: prepare again after they
     * change. The default prepares nothing and reads the cores in place.
     */
    default PreparedMatrix prepareDirect(Mpo mpo) {
        MpoKernels kernels = this;
        return new PreparedMatrix() {
            @Override
            public int rows() {
                return mpo.rows();
            }

            @Override
            public int cols() {
                return mpo.cols();
            }

            @Override
            public void multiply(Tensor a, Tensor c) {
                kernels.multiply(mpo, a, c);
            }

            @Override
            public long bytes() {
                return mpo.bytes();
            }
        };
    }

    /**
     * The products of MPOs that share core {@code shared} (one shape and bonds, and core {@code shared} holding the
     * same values in each), prepared once. The default prepares each MPO's direct product and runs them one after
     * another, reading the shared core once per group of rows; the vector backend absorbs the shared core into every
     * group's rows in one step, so it reads it once per call.
     */
    default SharedCoreProduct prepareSharedCore(List<Mpo> mpos, int shared) {
        SharedCoreProduct.requireMpos(mpos, shared);
        List<PreparedMatrix> products = mpos.stream().map(this::prepareDirect).toList();
        return (starts, x, y) -> {
            MpoArguments.multiply(mpos.get(0), x, y);
            SharedCoreProduct.requireGroups(starts, mpos.size(), x.rows());
            long bytes = 0;
            for (int g = 0; g < products.size(); g++) {
                if (starts[g + 1] > starts[g]) {
                    products.get(g).multiply(x.slice(0, starts[g], starts[g + 1]), y.slice(0, starts[g], starts[g + 1]));
                    bytes += mpos.get(g).bytes();
                }
            }
            return bytes;
        };
    }
}
