package dev.tensorloom.hyperbolic;

import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.cuda.CudaBackend;

/**
 * The cuda Poincaré kernels through whichever native library is configured: the CPU emulation of the same kernel
 * sources in the build ({@code -Dtensorloom.native.library=emu}), the GPU build on a GPU machine.
 */
class CudaPoincareKernelsContractTest extends PoincareKernelsContract {

    private static final CudaBackend CUDA = CudaBackend.open();

    @Override
    Backend backend() {
        return CUDA;
    }
}
