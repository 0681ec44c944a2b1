package dev.tensorloom.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.testkit.ChildJvm;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A JVM started without {@code --add-modules=jdk.incubator.vector} (most users') gets the quant family's scalar
 * implementation, and its class-load log shows that it never linked the Vector API, the vector kernels or the
 * native bindings: runtime's VectorFallbackTest, for this family.
 */
class QuantFallbackTest {

    @TempDir
    Path dir;

    @Test
    void withoutTheVectorModuleTheScalarKernelsLoadAndCompute() throws Exception {
        ChildJvm.Result r = ChildJvm.run(dir, QuantProbe.class.getName());
        assertEquals(0, r.exit(), r.toString());
        assertTrue(r.stdout().contains("backend=scalar"), r.toString());
        // Σ 1..32 = 528; a column of ones is exact in 4 bits (scale 1/7 rounded up to fp16, 7 levels).
        assertTrue(r.stdout().matches("(?s).*family=ScalarQuantKernels 52[78]\\.\\d+.*"), r.toString());
        assertEquals(List.of(), r.loaded("jdk.incubator.vector.", "dev.tensorloom.quant.vector.",
                "dev.tensorloom.bindings."));
    }
}
