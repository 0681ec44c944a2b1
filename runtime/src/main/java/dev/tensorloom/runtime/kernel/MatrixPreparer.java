package dev.tensorloom.runtime.kernel;

import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;

/**
 * Makes the form a model multiplies a constant weight matrix by: dense on the backend ({@link #dense}), or a
 * compressed form from another module (quantized blocks, MPO cores). A model calls it once per weight matrix
 * when it is built, so the same model code runs on any form.
 */
@FunctionalInterface
public interface MatrixPreparer {

    /**
     * The prepared form of {@code weight} [k, n] (host memory; it stays alive and unchanged as long as the
     * model). {@code name} says which matrix it is (for a per-layer policy), and whatever is made may live in
     * {@code arena}, which the model closes with itself.
     */
    PreparedMatrix prepare(String name, Tensor weight, Arena arena);

    /** The dense matrix, moved to where {@code backend} computes and prepared by its kernels. */
    static MatrixPreparer dense(Backend backend) {
        return (name, weight, arena) -> backend.kernels().prepare(backend.toDevice(weight, arena));
    }
}
