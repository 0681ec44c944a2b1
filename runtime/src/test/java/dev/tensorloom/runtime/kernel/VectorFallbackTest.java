package dev.tensorloom.runtime.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.testkit.ChildJvm;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
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
        ChildJvm.Result r = runProbe();
        assertEquals(0, r.exit(), r.toString());
        assertTrue(r.stdout().contains("backend=scalar"), r.toString());
        assertTrue(r.stdout().contains("product=11.0"), r.toString());
        // The family's scalar implementation loads; its vector one, which links the Vector API, is never touched.
        assertTrue(r.stdout().contains("family=ScalarSumOfSquares 5.0"), r.toString());
        List<String> mentions = r.stderr().lines().filter(l -> l.contains("Vector API")).toList();
        assertEquals(1, mentions.size(), r.toString());
        assertTrue(mentions.get(0).startsWith("WARNING"), r.toString());
        assertTrue(mentions.get(0).contains("--add-modules=jdk.incubator.vector"), r.toString());
    }

    @Test
    void forcingVectorWithoutTheModuleFailsNamingTheFlag() throws Exception {
        ChildJvm.Result r = runProbe("-D" + BackendProvider.BACKEND_PROPERTY + "=vector");
        assertNotEquals(0, r.exit(), r.toString());
        assertTrue(r.stderr().contains("--add-modules=jdk.incubator.vector"), r.toString());
        assertTrue(!r.stdout().contains("backend="), r.toString());
    }

    @Test
    void anUnknownBackendFailsWithItsOwnMessage() throws Exception {
        ChildJvm.Result r = runProbe("-D" + BackendProvider.BACKEND_PROPERTY + "=tpu");
        assertNotEquals(0, r.exit(), r.toString());
        assertTrue(r.stderr().contains("unknown backend 'tpu'"), r.toString());
        assertTrue(!r.stderr().contains("ExceptionInInitializerError"), r.toString());
    }

    @Test
    void forcingCudaWithoutItsLibraryFailsSayingWhy() throws Exception {
        ChildJvm.Result r = runProbe("--enable-native-access=ALL-UNNAMED", "-D" + BackendProvider.BACKEND_PROPERTY + "=cuda",
                "-Dtensorloom.native.path=" + dir.resolve("no-such-folder"));
        assertNotEquals(0, r.exit(), r.toString());
        assertTrue(r.stderr().contains("backend 'cuda' is not available"), r.toString());
        assertTrue(r.stderr().contains("tensorloom.native.path"), r.toString());
        assertTrue(!r.stdout().contains("backend="), r.toString());
    }

    @Test
    void theScalarPathLoadsNoVectorApiNoNativeBindingAndNoOtherBackend() throws Exception {
        ChildJvm.Result r = runProbe();
        assertEquals(0, r.exit(), r.toString());
        assertEquals(List.of(), r.loaded("jdk.incubator.vector.", "dev.tensorloom.bindings.",
                "dev.tensorloom.runtime.kernel.vector.", "dev.tensorloom.runtime.kernel.cuda.",
                "dev.tensorloom.outside.VectorSumOfSquares", "dev.tensorloom.outside.CudaSumOfSquares"));
        // The log is the one this test reads: the classes that did run are in it.
        assertTrue(r.loadedClasses().contains("dev.tensorloom.outside.ScalarSumOfSquares"));
    }

    private ChildJvm.Result runProbe(String... jvmOptions) throws IOException, InterruptedException {
        return ChildJvm.run(dir, BackendProbe.class.getName(), jvmOptions);
    }
}
