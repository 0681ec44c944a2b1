package dev.tensorloom.runtime.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The backend choice in a JVM started without {@code --add-modules=jdk.incubator.vector}, which is the
 * situation of most users: a child JVM runs {@link BackendProbe} on this test's classpath.
 */
class VectorFallbackTest {

    @TempDir
    Path dir;

    @Test
    void withoutTheModuleTheScalarBackendRunsAfterOneWarning() throws Exception {
        Result r = runProbe();
        assertEquals(0, r.exit, r.toString());
        assertTrue(r.stdout.contains("backend=scalar"), r.toString());
        assertTrue(r.stdout.contains("product=11.0"), r.toString());
        // The family's scalar implementation loads; its vector one, which links the Vector API, is never touched.
        assertTrue(r.stdout.contains("family=ScalarSumOfSquares 5.0"), r.toString());
        List<String> mentions = r.stderr.lines().filter(l -> l.contains("Vector API")).toList();
        assertEquals(1, mentions.size(), r.toString());
        assertTrue(mentions.get(0).startsWith("WARNING"), r.toString());
        assertTrue(mentions.get(0).contains("--add-modules=jdk.incubator.vector"), r.toString());
    }

    @Test
    void forcingVectorWithoutTheModuleFailsNamingTheFlag() throws Exception {
        Result r = runProbe("-D" + BackendProvider.BACKEND_PROPERTY + "=vector");
        assertNotEquals(0, r.exit, r.toString());
        assertTrue(r.stderr.contains("--add-modules=jdk.incubator.vector"), r.toString());
        assertTrue(!r.stdout.contains("backend="), r.toString());
    }

    @Test
    void anUnknownBackendFailsWithItsOwnMessage() throws Exception {
        Result r = runProbe("-D" + BackendProvider.BACKEND_PROPERTY + "=tpu");
        assertNotEquals(0, r.exit, r.toString());
        assertTrue(r.stderr.contains("unknown backend 'tpu'"), r.toString());
        assertTrue(!r.stderr.contains("ExceptionInInitializerError"), r.toString());
    }

    @Test
    void forcingCudaWithoutItsLibraryFailsSayingWhy() throws Exception {
        Result r = runProbe("--enable-native-access=ALL-UNNAMED", "-D" + BackendProvider.BACKEND_PROPERTY + "=cuda",
                "-Dtensorloom.native.path=" + dir.resolve("no-such-folder"));
        assertNotEquals(0, r.exit, r.toString());
        assertTrue(r.stderr.contains("backend 'cuda' is not available"), r.toString());
        assertTrue(r.stderr.contains("tensorloom.native.path"), r.toString());
        assertTrue(!r.stdout.contains("backend="), r.toString());
    }

    private Result runProbe(String... jvmOptions) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(List.of(jvmOptions));
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(BackendProbe.class.getName());
        ProcessBuilder pb = new ProcessBuilder(command);
        // Options from the environment would reach the child and could add the module or extra warnings.
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
        return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8));
    }

    private record Result(int exit, String stdout, String stderr) {
        @Override
        public String toString() {
            return "exit " + exit + "\n--- stdout\n" + stdout + "--- stderr\n" + stderr;
        }
    }
}
