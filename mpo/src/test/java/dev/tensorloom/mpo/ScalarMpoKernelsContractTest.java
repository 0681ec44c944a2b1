package dev.tensorloom.mpo;

import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.ScalarBackend;

/** The oracle holds to its own contract: placement, margins, views and messages. */
class ScalarMpoKernelsContractTest extends MpoKernelsContract {

    @Override
    protected Backend backend() {
        return new ScalarBackend();
    }
}
