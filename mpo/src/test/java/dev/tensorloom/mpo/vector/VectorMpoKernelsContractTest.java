package dev.tensorloom.mpo.vector;

import dev.tensorloom.mpo.MpoKernelsContract;
import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.Parallelism;
import dev.tensorloom.runtime.kernel.vector.Simd;
import dev.tensorloom.runtime.kernel.vector.VectorBackend;
import dev.tensorloom.testkit.VectorWidth;
import org.junit.jupiter.api.Test;

/**
 * The vector MPO kernels on two threads. The build runs this class three times: in the ordinary test JVM (the
 * CPU's widest vectors) and in JVMs started with {@code -XX:MaxVectorSize=16} and {@code =32}, which name the
 * width they expect in {@code -Dtensorloom.test.vectorBytes}.
 */
class VectorMpoKernelsContractTest extends MpoKernelsContract {

    @Override
    protected Backend backend() {
        return new VectorBackend(Parallelism.of(2));
    }

    @Test
    void runsAtTheVectorWidthThisJvmWasStartedFor() {
        VectorWidth.assertStartedFor(Simd.L * Float.BYTES, Simd.S.toString());
    }
}
