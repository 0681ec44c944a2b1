package dev.tensorloom.runtime.kernel.vector;

import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.Kernels;
import dev.tensorloom.runtime.kernel.Parallelism;
import java.util.Objects;

/**
 * The Vector API backend: host memory, every family's kernels in SIMD vectors of the preferred species, spread
 * over one {@link Parallelism} pool. {@code BackendProvider} loads this class by name, and only after checking
 * that the JVM has {@code jdk.incubator.vector}, so nothing else in the library links a Vector API class.
 */
public final class VectorBackend implements Backend {

    private final Parallelism parallelism;
    private final VectorKernels kernels;

    public VectorBackend(Parallelism parallelism) {
        this.parallelism = Objects.requireNonNull(parallelism, "parallelism");
        this.kernels = new VectorKernels(parallelism);
    }

    @Override
    public String name() {
        return "vector";
    }

    @Override
    public Kernels kernels() {
        return kernels;
    }

    /** The threads every family's kernels on this backend share. */
    public Parallelism parallelism() {
        return parallelism;
    }

    @Override
    public String toString() {
        return "VectorBackend[" + Simd.S + ", " + parallelism.threads() + " threads]";
    }
}
