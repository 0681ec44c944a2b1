package dev.tensorloom.hyperbolic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A JVM started without {@code --add-modules=jdk.incubator.vector} (most users' JVM) loads the scalar Poincaré
 * kernels and never links the vector ones: a child JVM runs {@link PoincareProbe} on this test's classpath, as
 * runtime's VectorFallbackTest does for the dense family.
 */
class PoincareFallbackTest {

    @TempDir
    Path dir;

    @Test
    void withoutTheVectorModuleTheScalarKernelsLoad() throws Exception {
        Path out = dir.resolve("stdout.txt");
        Path err = dir.resolve("stderr.txt");
        ProcessBuilder pb = new ProcessBuilder(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), PoincareProbe.class.getName()));
        // Options from the environment would reach the child and could add the module.
        pb.environment().remove("JAVA_TOOL_OPTIONS");
        pb.environment().remove("JDK_JAVA_OPTIONS");
        pb.environment().remove("_JAVA_OPTIONS");
        pb.redirectOutput(out.toFile());
        pb.redirectError(err.toFile());
        Process p = pb.start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child JVM did not finish within 60 s");
        String report = "--- stdout\n" + Files.readString(out) + "--- stderr\n" + Files.readString(err);
        assertEquals(0, p.exitValue(), report);
        assertTrue(Files.readString(out).contains("family=ScalarPoincareKernels " + (float) Math.log(3)), report);
    }
}
