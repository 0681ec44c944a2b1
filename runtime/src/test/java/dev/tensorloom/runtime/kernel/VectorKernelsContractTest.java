package dev.tensorloom.runtime.kernel;

import dev.tensorloom.runtime.kernel.vector.Simd;
import dev.tensorloom.runtime.kernel.vector.VectorBackend;
import dev.tensorloom.testkit.VectorWidth;
import org.junit.jupiter.api.Test;

/**
 * The vector backend on two threads. The build runs this class three times: in the ordinary test JVM (the
 * CPU's widest vectors) and in JVMs started with {@code -XX:MaxVectorSize=16} and {@code =32}, so 4-, 8- and
 * (on AVX-512) 16-lane kernels are all tested on every machine; those runs name the width they expect in
 * {@code -Dtensorloom.test.vectorBytes}.
 */
class VectorKernelsContractTest extends KernelsContract {

    @Override
    Backend backend() {
        return new VectorBackend(Parallelism.of(2));
    }

    @Test
    void runsAtTheVectorWidthThisJvmWasStartedFor() {
        VectorWidth.assertStartedFor(Simd.L * Float.BYTES, Simd.S.toString());
    }
}
