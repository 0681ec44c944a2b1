package dev.tensorloom.outside;

import dev.tensorloom.runtime.kernel.cuda.CudaBackend;
import dev.tensorloom.runtime.kernel.cuda.CudaDevice;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;

/** Σ x² as a gemv of x with itself, queued on the device context's stream like any family's kernel. */
public final class CudaSumOfSquares implements SumOfSquares {

    private final CudaBackend backend;

    public CudaSumOfSquares(CudaBackend backend) {
        this.backend = backend;
    }

    public CudaDevice device() {
        return backend.device();
    }

    @Override
    public float of(Tensor x) {
        try (Arena arena = Arena.ofConfined()) {
            Tensor y = backend.allocate(arena, 1);
            backend.kernels().gemv(x.reshape(1, x.size()), x, y);
            return backend.toHost(y, arena).get(0);
        }
    }
}
