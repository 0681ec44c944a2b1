package dev.tensorloom.hyperbolic;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.Parallelism;
import dev.tensorloom.runtime.kernel.vector.Simd;
import dev.tensorloom.runtime.kernel.vector.VectorBackend;
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
        String expected = System.getProperty("tensorloom.test.vectorBytes");
        if (expected != null) {
            assertEquals(Integer.parseInt(expected), Simd.L * Float.BYTES, "vector width of " + Simd.S);
        }
    }
}
