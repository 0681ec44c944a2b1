package dev.tensorloom.runtime.kernel;

import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;

/**
 * Started in a child JVM by {@link VectorFallbackTest}: asks for the default backend, multiplies [[1, 2]] by
 * [[3], [4]] and prints the backend's name and the product, one per line.
 */
public final class BackendProbe {

    private BackendProbe() {
    }

    public static void main(String[] args) {
        Kernels kernels = KernelProvider.kernels();
        try (Arena arena = Arena.ofConfined()) {
            Tensor a = Tensor.of(arena, new float[] {1, 2}, 1, 2);
            Tensor b = Tensor.of(arena, new float[] {3, 4}, 2, 1);
            Tensor c = Tensor.allocate(arena, 1, 1);
            kernels.matmul(a, b, c);
            System.out.println("backend=" + kernels.name());
            System.out.println("product=" + c.get(0, 0));
        }
    }
}
