package dev.tensorloom.quant;

import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.BackendProvider;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;

/**
 * Started in a child JVM by {@link QuantFallbackTest}: takes the quant family for the default backend, multiplies
 * x = [1, 2, ..., 32] by a 4-bit column of ones and prints the backend, the implementation and y.
 */
public final class QuantProbe {

    private QuantProbe() {
    }

    public static void main(String[] args) {
        Backend backend = BackendProvider.backend();
        QuantKernels kernels = QuantKernels.FAMILY.on(backend);
        try (Arena arena = Arena.ofConfined()) {
            float[] ones = new float[32];
            float[] x = new float[32];
            for (int p = 0; p < 32; p++) {
                ones[p] = 1;
                x[p] = p + 1;
            }
            PackedWeights b = Rtn.quantize(Tensor.of(arena, ones, 32, 1), GroupFormat.symmetric(4, 32));
            Tensor y = Tensor.allocate(arena, 1);
            kernels.gemv(Tensor.of(arena, x, 32), b, y);
            System.out.println("backend=" + backend.name());
            System.out.println("family=" + kernels.getClass().getSimpleName() + " " + y.get(0));
        }
    }
}
