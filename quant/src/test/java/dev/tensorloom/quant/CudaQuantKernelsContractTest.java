package dev.tensorloom.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tensorloom.bindings.NativeDevice;
import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.cuda.CudaBackend;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The cuda quant kernels through whichever native library is configured: the CPU emulation of the same kernel
 * sources in the build ({@code -Dtensorloom.native.library=emu}), the GPU build on a GPU machine.
 */
class CudaQuantKernelsContractTest extends QuantKernelsContract {

    private static final CudaBackend CUDA = CudaBackend.open();

    @Override
    Backend backend() {
        return CUDA;
    }

    @Test
    void weightsAreUploadedOnceThenOnlyActivationsMove() {
        NativeDevice device = CUDA.device().nativeDevice();
        QuantKernels kernels = QuantKernels.FAMILY.on(CUDA);
        Random random = new Random(11);
        try (Arena arena = Arena.ofShared()) {
            PackedWeights b = Rtn.quantize(Tensor.of(arena, gaussians(random, 128 * 24, 0), 128, 24),
                    GroupFormat.asymmetric(4, 32));
            Tensor x = CUDA.toDevice(Tensor.of(arena, gaussians(random, 128, 0), 128), arena);
            Tensor y = CUDA.allocate(arena, 24);
            Tensor a = CUDA.toDevice(Tensor.of(arena, gaussians(random, 3 * 128, 0), 3, 128), arena);
            Tensor c = CUDA.allocate(arena, 3, 24);
            kernels.gemv(x, b, y);
            long buffers = device.memoryInUse().buffers();
            for (int i = 0; i < 3; i++) {
                kernels.gemv(x, b, y);
                kernels.gemm(a, b, c);
            }
            assertEquals(buffers, device.memoryInUse().buffers(), "device buffers after products with uploaded weights");
        }
    }
}
