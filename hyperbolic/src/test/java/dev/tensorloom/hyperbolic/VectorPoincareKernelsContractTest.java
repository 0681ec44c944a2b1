package dev.tensorloom.hyperbolic;

import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.Parallelism;
import dev.tensorloom.runtime.kernel.vector.Simd;
import dev.tensorloom.runtime.kernel.vector.VectorBackend;
import dev.tensorloom.testkit.VectorWidth;
import org.junit.jupiter.api.Test;

/**
 * The vector backend on two threads. The build runs this class three times, like runtime's vector contract: in
 * the ordinary test JVM and under {@code -XX:MaxVectorSize=16} and {@code =32}, which name the width they
 * expect in {@code -Dtensorloom.test.vectorBytes}.
 */
class VectorPoincareKernelsContractTest extends PoincareKernelsContract {

    @Override
    Backend backend() {
        return new VectorBackend(Parallelism.of(2));
    }

    @Test
    void runsAtTheVectorWidthThisJvmWasStartedFor() {
        VectorWidth.assertStartedFor(Simd.L * Float.BYTES, Simd.S.toString());
    }
}
