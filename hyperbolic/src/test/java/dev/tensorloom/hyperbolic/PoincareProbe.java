package dev.tensorloom.hyperbolic;

import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.BackendProvider;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;

/**
 * Started in a child JVM by {@link PoincareFallbackTest}: takes the Poincaré family for the default backend and
 * prints its implementation and d(0, (0.5, 0)) at c = 1, which is 2·artanh(0.5) = ln 3.
 */
public final class PoincareProbe {

    private PoincareProbe() {
    }

    public static void main(String[] args) {
        Backend backend = BackendProvider.backend();
        PoincareKernels kernels = PoincareKernels.FAMILY.on(backend);
        try (Arena arena = Arena.ofConfined()) {
            Tensor x = Tensor.of(arena, new float[] {0.5f, 0}, 1, 2);
            Tensor d = Tensor.allocate(arena, 1);
            kernels.distance0(1, x, d);
            System.out.println("family=" + kernels.getClass().getSimpleName() + " " + d.get(0));
        }
    }
}
