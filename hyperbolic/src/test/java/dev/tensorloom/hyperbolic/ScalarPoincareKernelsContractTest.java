package dev.tensorloom.hyperbolic;

import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.ScalarBackend;

class ScalarPoincareKernelsContractTest extends PoincareKernelsContract {

    @Override
    Backend backend() {
        return new ScalarBackend();
    }
}
