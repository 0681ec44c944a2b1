package dev.tensorloom.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A JVM started without {@code --add-modules=jdk.incubator.vector} (most users') gets the quant family's scalar
 * implementation, and never links its vector one: runtime's VectorFallbackTest, for this family.
 */
class QuantFallbackTest {

    @TempDir
    Path dir;

    @Test
    void withoutTheVectorModuleTheScalarKernelsLoadAndCompute() throws Exception {
        List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), QuantProbe.class.getName());
        ProcessBuilder pb = new ProcessBuilder(command);
        // Options from the environment would reach the child and could add the module.
        pb.environment().remove("JAVA_TOOL_OPTIONS");
        pb.environment().remove("JDK_JAVA_OPTIONS");
        pb.environment().remove("_JAVA_OPTIONS");
        Path out = dir.resolve("stdout.txt");
        Path err = dir.resolve("stderr.txt");
        pb.redirectOutput(out.toFile());
        pb.redirectError(err.toFile());
        Process p = pb.start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("child JVM did not finish within 60 s: " + command);
        }
        String stdout = Files.readString(out, StandardCharsets.UTF_8);
        String report = "exit " + p.exitValue() + "\n--- stdout\n" + stdout + "--- stderr\n"
                + Files.readString(err, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), report);
        assertTrue(stdout.contains("backend=scalar"), report);
        // Σ 1..32 = 528; a column of ones is exact in 4 bits (scale 1/7 rounded up to fp16, 7 levels).
        assertTrue(stdout.matches("(?s).*family=ScalarQuantKernels 52[78]\\.\\d+.*"), report);
    }
}
