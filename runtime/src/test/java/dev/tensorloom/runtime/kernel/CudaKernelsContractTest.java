package dev.tensorloom.runtime.kernel;

import dev.tensorloom.runtime.kernel.cuda.CudaBackend;

/**
 * The cuda backend through whichever native library is configured: the CPU emulation of the same kernel
 * sources in the build ({@code -Dtensorloom.native.library=emu}), the GPU build on a GPU machine. Operands
 * travel as offsets and leading dimensions of strided device views.
 */
class CudaKernelsContractTest extends KernelsContract {

    private static final Backend CUDA = CudaBackend.open();

    @Override
    Backend backend() {
        return CUDA;
    }

    /** The bound the cuda tests have had since before the contract; a GPU's erff has not been measured yet. */
    @Override
    double geluRelativeTolerance() {
        return 1e-5;
    }
}
