package dev.tensorloom.quant;

import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.Parallelism;
import dev.tensorloom.runtime.kernel.vector.Simd;
import dev.tensorloom.runtime.kernel.vector.VectorBackend;
import dev.tensorloom.testkit.VectorWidth;
import org.junit.jupiter.api.Test;

/**
 * The vector kernels on two threads. The build runs this class three times, as runtime does its own: at the
 * CPU's widest vectors and under {@code -XX:MaxVectorSize=16} and {@code =32} (4- and 8-lane decoding, which
 * load bytes differently), each naming the width it expects in {@code -Dtensorloom.test.vectorBytes}.
 */
class VectorQuantKernelsContractTest extends QuantKernelsContract {

    @Override
    Backend backend() {
        return new VectorBackend(Parallelism.of(2));
    }

    @Test
    void runsAtTheVectorWidthThisJvmWasStartedFor() {
        VectorWidth.assertStartedFor(Simd.L * Float.BYTES, Simd.S.toString());
    }
}
