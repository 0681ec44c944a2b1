package dev.tensorloom.mpo;

import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.BackendProvider;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;

/**
 * Started in a child JVM by {@link MpoFallbackTest}: takes the MPO family for the default backend and prints the
 * backend, the implementation's class and [1, 2] times the one-core MPO [[3], [4]].
 */
public final class MpoProbe {

    private MpoProbe() {
    }

    public static void main(String[] args) {
        Backend backend = BackendProvider.backend();
        MpoKernels kernels = MpoKernels.FAMILY.on(backend);
        try (Arena arena = Arena.ofConfined()) {
            Mpo mpo = new Mpo(new MpoShape(new int[] {2}, new int[] {1}), new int[] {1, 1},
                    new Tensor[] {Tensor.of(arena, new float[] {3, 4}, 1, 2, 1, 1)});
            Tensor y = Tensor.allocate(arena, 1, 1);
            kernels.multiply(mpo, Tensor.of(arena, new float[] {1, 2}, 1, 2), y);
            System.out.println("backend=" + backend.name());
            System.out.println("family=" + kernels.getClass().getSimpleName() + " " + y.get(0, 0));
        }
    }
}
