package dev.tensorloom.mpo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.testkit.ChildJvm;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A JVM started without {@code --add-modules=jdk.incubator.vector} (runtime's VectorFallbackTest, for this
 * family): {@link MpoProbe} in a child JVM gets the scalar MPO kernels, and its class-load log shows that
 * nothing linked the Vector API, the vector or cuda kernels, or the native bindings.
 */
class MpoFallbackTest {

    @TempDir
    Path dir;

    @Test
    void withoutTheVectorModuleTheScalarMpoKernelsLoad() throws Exception {
        ChildJvm.Result r = ChildJvm.run(dir, MpoProbe.class.getName());
        assertEquals(0, r.exit(), r.toString());
        assertTrue(r.stdout().contains("backend=scalar"), r.toString());
        assertTrue(r.stdout().contains("family=ScalarMpoKernels 11.0"), r.toString());
        assertEquals(List.of(), r.loaded("jdk.incubator.vector.", "dev.tensorloom.mpo.vector.",
                "dev.tensorloom.mpo.cuda.", "dev.tensorloom.bindings."));
    }
}
