package dev.tensorloom.bindings;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How the loader finds a library: each route, and what it says when none leads anywhere. */
class NativeLibraryLoaderTest {
    /** Where the build put the libraries; surefire passes it as the path property. */
    private static final Path BUILT = Path.of(System.getProperty(NativeLibraryLoader.PATH_PROPERTY));
    private static final String EMU = "libtensorloom_emu.so";

    @TempDir
    Path temp;

    @Test
    void anUnknownVariantSaysWhichOnesExist() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NativeLibraryLoader.load("opencl"));
        assertEquals("-Dtensorloom.native.library=opencl names no tensorloom native library: use cuda (the GPU build)"
                + " or emu (the CPU emulation)", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> NativeLibraryLoader.probe("opencl"));
    }

    @Test
    void anExplicitPathThatLeadsNowhereSaysSo() {
        Path missing = temp.resolve("nowhere");
        NativeLibraryException e = assertThrows(NativeLibraryException.class,
                () -> NativeLibraryLoader.locate("emu", missing.toString(), NativeLibraryLoader.class));
        assertTrue(e.getMessage().contains("-Dtensorloom.native.path=" + missing), e.getMessage());
        assertTrue(e.getMessage().contains(missing + " is not a file"), e.getMessage());

        NativeLibraryException inDirectory = assertThrows(NativeLibraryException.class,
                () -> NativeLibraryLoader.locate("emu", temp.toString(), NativeLibraryLoader.class));
        assertTrue(inDirectory.getMessage().contains(temp.resolve(EMU) + " is not a file"), inDirectory.getMessage());
    }

    @Test
    void withNoRouteLeftTheMessageListsWhereItLookedAndWhatToSet() {
        // String comes from no jar and has no such resource: nothing to find but the property, which is unset.
        NativeLibraryException e = assertThrows(NativeLibraryException.class,
                () -> NativeLibraryLoader.locate("cuda", null, String.class));
        String message = e.getMessage();
        assertTrue(message.startsWith("No libtensorloom_cuda.so found. Looked at: -Dtensorloom.native.path (not set);"
                + " the resource /native/" + NativeLibraryLoader.platform() + "/libtensorloom_cuda.so"), message);
        assertTrue(message.contains("Set -Dtensorloom.native.path=<the file or its directory>"), message);
        assertTrue(message.contains("-Dtensorloom.native.library=emu"), message);
    }

    @Test
    void anExplicitPathMayBeTheFileOrItsDirectory() {
        Path file = BUILT.resolve(EMU);
        assertEquals(file, NativeLibraryLoader.locate("emu", file.toString(), String.class));
        assertEquals(file, NativeLibraryLoader.locate("emu", BUILT.toString(), String.class));
        assertEquals("emu", CString.read(NativeLibraryLoader.open(file, "emu").tl_library_variant()));
    }

    @Test
    void aResourceThatIsAPlainFileIsUsedWhereItLies() throws Exception {
        URL resource = NativeLibraryLoader.class.getResource("/native/" + NativeLibraryLoader.platform() + "/" + EMU);
        assertEquals("file", resource.getProtocol(), "the reactor build's target/classes");
        assertEquals(Path.of(resource.toURI()), NativeLibraryLoader.locate("emu", null, NativeLibraryLoader.class));
        assertEquals(BUILT.resolve(EMU).toRealPath(), Path.of(resource.toURI()).toRealPath(),
                "build-native.sh puts the libraries where surefire's path property points");
    }

    @Test
    void aLibraryInsideAJarIsExtractedToAnOwnerOnlyDirectoryAndLoads() throws IOException {
        Path jar = temp.resolve("bindings.jar");
        String entry = "native/" + NativeLibraryLoader.platform() + "/" + EMU;
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
            out.putNextEntry(new JarEntry(entry));
            Files.copy(BUILT.resolve(EMU), out);
            out.closeEntry();
        }
        URL url = URI.create("jar:" + jar.toUri() + "!/" + entry).toURL();
        Path extracted = NativeLibraryLoader.extract(url, EMU);
        assertEquals(EMU, extracted.getFileName().toString());
        assertArrayEquals(Files.readAllBytes(BUILT.resolve(EMU)), Files.readAllBytes(extracted));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(extracted.getParent())));
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(extracted)));
        assertEquals("emu", CString.read(NativeLibraryLoader.open(extracted, "emu").tl_library_variant()));
    }

    @Test
    void aLibraryBesideTheJarIsFound() throws IOException {
        Path jar = Files.createFile(temp.resolve("tensorloom-java-bindings.jar"));
        assertEquals(temp.resolve(EMU), NativeLibraryLoader.besideJar(jar.toUri().toURL(), EMU));
        assertNull(NativeLibraryLoader.besideJar(temp.toUri().toURL(), EMU), "classes from a directory: no jar");
        assertNull(NativeLibraryLoader.besideJar(null, EMU));
    }

    @Test
    void aFileOfTheOtherVariantIsRefused() {
        NativeLibraryException e = assertThrows(NativeLibraryException.class,
                () -> NativeLibraryLoader.open(BUILT.resolve(EMU), "cuda"));
        assertTrue(e.getMessage().endsWith("is the emu library, but cuda was asked for (-Dtensorloom.native.library=cuda)"),
                e.getMessage());
    }

    @Test
    void aFileThatIsNoLibrarySaysWhyItDidNotLoad() throws IOException {
        Path notALibrary = Files.writeString(temp.resolve(EMU), "not an ELF file");
        NativeLibraryException e = assertThrows(NativeLibraryException.class,
                () -> NativeLibraryLoader.open(notALibrary, "emu"));
        assertTrue(e.getMessage().startsWith("cannot load " + notALibrary), e.getMessage());
        assertTrue(e.getMessage().length() > ("cannot load " + notALibrary + ": ").length() + 10,
                "the dynamic loader's reason is part of it: " + e.getMessage());
    }

    @Test
    void aVariantLoadsOnceAndProbingTheEmulationFindsItsDevice() {
        assertTrue(NativeLibraryLoader.load("emu") == NativeLibraryLoader.load("emu"), "one instance per variant");
        assertEquals(Optional.of(NativeLibraryLoader.load("emu")), NativeLibraryLoader.probe("emu"));
    }

    @Test
    void probingForTheGpuNeverThrows() {
        // Without a GPU (CI) the answer is empty; with one it is a library whose device opens.
        Optional<TensorloomLibrary> cuda = NativeLibraryLoader.probe("cuda");
        cuda.ifPresent(library -> assertEquals("cuda", NativeDevice.open(library).variant()));
    }

    @Test
    void platformNamesMatchTheBuildScript() {
        assertTrue(NativeLibraryLoader.platform().matches("[a-z]+-[a-z0-9_]+"), NativeLibraryLoader.platform());
        assertEquals(EMU, NativeLibraryLoader.fileName("emu"));
    }
}
