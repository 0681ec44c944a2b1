package dev.tensorloom.runtime.kernel;

/** The oracle holds to its own contract: placement, margins, views and messages. */
class ScalarKernelsContractTest extends KernelsContract {

    @Override
    Backend backend() {
        return new ScalarBackend();
    }
}
