package dev.tensorloom.runtime.kernel;

/** Plain Java on one thread: the oracle backend, which never links a Vector API or native class. */
public final class ScalarBackend implements Backend {

    private final ScalarKernels kernels = new ScalarKernels();

    @Override
    public String name() {
        return "scalar";
    }

    @Override
    public Kernels kernels() {
        return kernels;
    }

    @Override
    public String toString() {
        return "ScalarBackend";
    }
}
