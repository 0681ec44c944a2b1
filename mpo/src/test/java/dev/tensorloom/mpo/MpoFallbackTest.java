package dev.tensorloom.mpo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A JVM started without {@code --add-modules=jdk.incubator.vector} (runtime's VectorFallbackTest, for this
 * family): {@link MpoProbe} in a child JVM gets the scalar MPO kernels, and nothing links the Vector API.
 */
class MpoFallbackTest {

    @TempDir
    Path dir;

    @Test
    void withoutTheVectorModuleTheScalarMpoKernelsLoad() throws Exception {
        List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), MpoProbe.class.getName());
        ProcessBuilder pb = new ProcessBuilder(command);
        // Options from the environment would reach the child and could add the module.
        pb.environment().remove("JAVA_TOOL_OPTIONS");
        pb.environment().remove("JDK_JAVA_OPTIONS");
        pb.environment().remove("_JAVA_OPTIONS");
        Path out = dir.resolve("stdout.txt");
        Path err = dir.resolve("stderr.txt");
        pb.redirectOutput(out.toFile()).redirectError(err.toFile());
        Process p = pb.start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("child JVM did not finish within 60 s: " + command);
        }
        String stdout = Files.readString(out);
        String report = "exit " + p.exitValue() + "\n--- stdout\n" + stdout + "--- stderr\n" + Files.readString(err);
        assertEquals(0, p.exitValue(), report);
        assertTrue(stdout.contains("backend=scalar"), report);
        assertTrue(stdout.contains("family=ScalarMpoKernels 11.0"), report);
    }
}
