package dev.tensorloom.mpo.cuda;

import dev.tensorloom.mpo.MpoKernelsContract;
import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.cuda.CudaBackend;

/**
 * The cuda MPO kernels through whichever native library is configured: the CPU emulation of the same kernel
 * sources in the build ({@code -Dtensorloom.native.library=emu}), the GPU build on a GPU machine.
 */
class CudaMpoKernelsContractTest extends MpoKernelsContract {

    private static final Backend CUDA = CudaBackend.open();

    @Override
    protected Backend backend() {
        return CUDA;
    }
}
