package dev.tensorloom.runtime.kernel;

import dev.tensorloom.outside.SumOfSquares;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;

/**
 * Started in a child JVM by {@link VectorFallbackTest}: asks for the default backend, multiplies [[1, 2]] by
 * [[3], [4]], takes a test kernel family for that backend and prints the backend's name, the product and the
 * family's implementation with its sum of squares of [1, 2], one per line.
 */
public final class BackendProbe {

    private BackendProbe() {
    }

    public static void main(String[] args) {
        Backend backend = BackendProvider.backend();
        Kernels kernels = backend.kernels();
        try (Arena arena = Arena.ofConfined()) {
            Tensor a = Tensor.of(arena, new float[] {1, 2}, 1, 2);
            Tensor b = Tensor.of(arena, new float[] {3, 4}, 2, 1);
            Tensor c = Tensor.allocate(arena, 1, 1);
            kernels.matmul(a, b, c);
            System.out.println("backend=" + backend.name());
            System.out.println("product=" + c.get(0, 0));
            // A family of another module, loaded by name for the chosen backend.
            SumOfSquares family = SumOfSquares.FAMILY.on(backend);
            System.out.println("family=" + family.getClass().getSimpleName() + " " + family.of(a.reshape(2)));
        }
    }
}
