package dev.tensorloom.quant;

import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.ScalarBackend;

/** The oracle against itself (trivially) and against the float64 product with the dequantized weights. */
class ScalarQuantKernelsContractTest extends QuantKernelsContract {

    @Override
    Backend backend() {
        return new ScalarBackend();
    }
}
