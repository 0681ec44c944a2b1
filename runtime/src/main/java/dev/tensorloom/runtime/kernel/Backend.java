package dev.tensorloom.runtime.kernel;

import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;

/**
 * Where tensors live and kernels run: scalar ({@link ScalarBackend}), vector (the Vector API with its
 * {@link Parallelism}) or cuda (a device context). {@link BackendProvider} decides once which one a process
 * gets; every kernel family is then obtained from the backend: the dense transformer kernels by
 * {@link #kernels()}, and the families of other modules (quantized products, MPO contraction, the Poincaré
 * ball) by {@link KernelFamily}, which loads each family's implementation for this backend by class name.
 *
 * <p>Placement belongs here, not to any one family. Callers stay backend-neutral by making working tensors
 * with {@link #allocate}, moving constants and inputs in once with {@link #toDevice} and bringing results back
 * with {@link #toHost}; for host backends all three are plain host tensors and no copy happens.
 */
public interface Backend {

    /** {@code scalar}, {@code vector} or {@code cuda}. */
    String name();

    /** The dense fp32 kernels of a transformer, on this backend. */
    Kernels kernels();

    /** A zero-filled contiguous tensor in the memory this backend computes on, freed when {@code arena} closes. */
    default Tensor allocate(Arena arena, long... shape) {
        return Tensor.allocate(arena, shape);
    }

    /**
     * {@code host} in the memory this backend computes on: the tensor itself for host backends, a contiguous
     * copy made in {@code arena} for device backends (and the tensor itself when it is already there).
     */
    default Tensor toDevice(Tensor host, Arena arena) {
        return host;
    }

    /**
     * {@code t} in host memory: the tensor itself when it is already there, else a contiguous host copy made
     * in {@code arena}. Waits for the work that computes {@code t}.
     */
    default Tensor toHost(Tensor t, Arena arena) {
        return t;
    }
}
