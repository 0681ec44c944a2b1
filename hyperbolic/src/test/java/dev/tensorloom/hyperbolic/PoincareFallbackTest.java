package dev.tensorloom.hyperbolic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.testkit.ChildJvm;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A JVM started without {@code --add-modules=jdk.incubator.vector} (most users' JVM) loads the scalar Poincaré
 * kernels and never links the vector ones: a child JVM runs {@link PoincareProbe} on this test's classpath, as
 * runtime's VectorFallbackTest does for the dense family, and its class-load log shows what was loaded.
 */
class PoincareFallbackTest {

    @TempDir
    Path dir;

    @Test
    void withoutTheVectorModuleTheScalarKernelsLoadAndNothingVector() throws Exception {
        ChildJvm.Result r = ChildJvm.run(dir, PoincareProbe.class.getName());
        assertEquals(0, r.exit(), r.toString());
        assertTrue(r.stdout().contains("family=ScalarPoincareKernels " + (float) Math.log(3)), r.toString());
        assertEquals(List.of(), r.loaded("jdk.incubator.vector.", "dev.tensorloom.hyperbolic.vector.",
                "dev.tensorloom.runtime.kernel.vector.", "dev.tensorloom.bindings."));
    }
}
