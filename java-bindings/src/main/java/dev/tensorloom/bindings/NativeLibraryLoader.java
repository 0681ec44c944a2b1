package dev.tensorloom.bindings;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.CodeSource;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Finds and loads libtensorloom_&lt;variant&gt;.so, once per variant per process.
 *
 * <p>{@code -Dtensorloom.native.library=cuda|emu} picks the variant (default {@code cuda}; {@code emu} runs
 * the same kernels on the CPU). The file is the first of:
 * <ol>
 *   <li>{@code -Dtensorloom.native.path}: the library file itself, or a directory that holds it;</li>
 *   <li>the directory of the jar this class came from, for installs that keep native files beside jars;</li>
 *   <li>the resource {@code /native/<os>-<arch>/<file>} (e.g. {@code /native/linux-x86_64/libtensorloom_cuda.so})
 *   that the java-bindings build puts in its jar: used where it lies when it is a plain file (a reactor
 *   build's target/classes), otherwise copied to a new owner-only temp directory first.</li>
 * </ol>
 * Properties are read when a variant is first loaded; later changes do not reload it.
 */
@SuppressWarnings("restricted") // native access is this module's job; --enable-native-access grants it
public final class NativeLibraryLoader {
    public static final String VARIANT_PROPERTY = "tensorloom.native.library";
    public static final String PATH_PROPERTY = "tensorloom.native.path";
    public static final List<String> VARIANTS = List.of("cuda", "emu");

    private static final Map<String, TensorloomLibrary> LOADED = new HashMap<>();

    private NativeLibraryLoader() {
    }

    /** The variant named by {@code -Dtensorloom.native.library}, default cuda; an unknown name throws. */
    public static String configuredVariant() {
        return checkVariant(System.getProperty(VARIANT_PROPERTY, "cuda"));
    }

    /** Loads the configured variant, or throws a {@link NativeLibraryException} that says where it looked. */
    public static TensorloomLibrary load() {
        return load(configuredVariant());
    }

    /** Loads {@code variant} ("cuda" or "emu"): the first call finds and opens the file, later calls reuse it. */
    public static synchronized TensorloomLibrary load(String variant) {
        checkVariant(variant);
        TensorloomLibrary library = LOADED.get(variant);
        if (library == null) {
            library = open(locate(variant, System.getProperty(PATH_PROPERTY), NativeLibraryLoader.class), variant);
            LOADED.put(variant, library);
        }
        return library;
    }

    /**
     * The configured variant's library if it loads and sees at least one device, else empty; never throws
     * for a missing library, driver or device, so a caller can choose a backend quietly. (An unknown
     * variant name is a configuration error and still throws.) Call {@link #load()} and
     * {@link NativeDevice#open} to learn why a device is not usable.
     */
    public static Optional<TensorloomLibrary> probe() {
        return probe(configuredVariant());
    }

    public static Optional<TensorloomLibrary> probe(String variant) {
        checkVariant(variant);
        TensorloomLibrary library;
        try {
            library = load(variant);
        } catch (NativeLibraryException | UncheckedIOException e) { // not there, or could not be extracted
            return Optional.empty();
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment count = arena.allocate(ValueLayout.JAVA_INT);
            // TL_ERROR_NO_DEVICE (no driver) or any other failure to count means no usable device.
            if (library.tl_device_count(count) != Status.OK.code() || count.get(ValueLayout.JAVA_INT, 0) <= 0) {
                return Optional.empty();
            }
        }
        return Optional.of(library);
    }

    // ---- finding the file --------------------------------------------------------------------------

    static String checkVariant(String variant) {
        if (!VARIANTS.contains(variant)) {
            throw new IllegalArgumentException("-D" + VARIANT_PROPERTY + "=" + variant + " names no tensorloom"
                    + " native library: use cuda (the GPU build) or emu (the CPU emulation)");
        }
        return variant;
    }

    /** libtensorloom_cuda.so on Linux (what CMake builds), the platform's own spelling elsewhere. */
    static String fileName(String variant) {
        return System.mapLibraryName("tensorloom_" + variant);
    }

    /** The folder name under /native/ in the jar, e.g. linux-x86_64; build-native.sh uses the same words. */
    static String platform() {
        String os = System.getProperty("os.name").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch").toLowerCase(Locale.ROOT);
        String osName = os.startsWith("linux") ? "linux" : os.startsWith("mac") ? "macos"
                : os.startsWith("windows") ? "windows" : os.replace(' ', '_');
        String archName = switch (arch) {
            case "amd64", "x86_64" -> "x86_64";
            case "aarch64", "arm64" -> "aarch64";
            default -> arch;
        };
        return osName + "-" + archName;
    }

    /**
     * Where the loader finds {@code variant}'s file: {@code explicitPath} is the path property's value or null,
     * {@code anchor} the class whose jar and resources are searched.
     */
    static Path locate(String variant, String explicitPath, Class<?> anchor) {
        String file = fileName(variant);
        if (explicitPath != null && !explicitPath.isBlank()) {
            Path given = Path.of(explicitPath);
            Path candidate = Files.isDirectory(given) ? given.resolve(file) : given;
            if (!Files.isRegularFile(candidate)) {
                throw new NativeLibraryException("-D" + PATH_PROPERTY + "=" + explicitPath + " does not lead to "
                        + file + ": " + candidate.toAbsolutePath() + " is not a file. Point it at the library"
                        + " file or at the directory that holds it, or leave it unset to use the one in the jar.");
            }
            return candidate;
        }
        List<String> looked = new ArrayList<>();
        looked.add("-D" + PATH_PROPERTY + " (not set)");

        Path besideJar = besideJar(codeSourceOf(anchor), file);
        if (besideJar != null) {
            if (Files.isRegularFile(besideJar)) {
                return besideJar;
            }
            looked.add(besideJar.toString() + " (beside the jar)");
        }

        String resource = "/native/" + platform() + "/" + file;
        URL url = anchor.getResource(resource);
        if (url != null) {
            return "file".equals(url.getProtocol()) ? pathOf(url) : extract(url, file);
        }
        looked.add("the resource " + resource + " (not in the jar: the java-bindings build found no CMake"
                + (variant.equals("cuda") ? ", C++ compiler or CUDA toolkit" : " or C++ compiler")
                + ", or this platform is not built)");
        throw new NativeLibraryException("No " + file + " found. Looked at: " + String.join("; ", looked)
                + ". Set -D" + PATH_PROPERTY + "=<the file or its directory>"
                + (variant.equals("cuda") ? ", or -D" + VARIANT_PROPERTY + "=emu to run the kernels on the CPU"
                        + " emulation" : "") + ".");
    }

    private static URL codeSourceOf(Class<?> type) {
        CodeSource source = type.getProtectionDomain().getCodeSource();
        return source == null ? null : source.getLocation();
    }

    /** The file beside the jar at {@code codeSource}, or null when the classes do not come from a jar file. */
    static Path besideJar(URL codeSource, String file) {
        if (codeSource == null || !"file".equals(codeSource.getProtocol())) {
            return null;
        }
        Path jar = pathOf(codeSource);
        return Files.isRegularFile(jar) && jar.getParent() != null ? jar.getParent().resolve(file) : null;
    }

    private static Path pathOf(URL url) {
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new NativeLibraryException("cannot read " + url + " as a file path", e);
        }
    }

    /**
     * Copies a library out of a jar into a fresh temp directory that only this user may read (another user
     * must not be able to swap the file before it is loaded). Both are deleted when the JVM exits.
     */
    static Path extract(URL resource, String file) {
        try {
            boolean posix = FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
            Path dir = posix
                    ? Files.createTempDirectory("tensorloom-native-",
                            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")))
                    : Files.createTempDirectory("tensorloom-native-");
            dir.toFile().deleteOnExit(); // registered first, so it is deleted after the file in it
            Path target = dir.resolve(file);
            target.toFile().deleteOnExit();
            try (InputStream in = resource.openStream()) {
                Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
            }
            if (posix) {
                Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rwx------"));
            }
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot extract " + resource + " to a temp directory", e);
        }
    }

    // ---- opening it --------------------------------------------------------------------------------

    /** Opens {@code file} for good (the global arena: a loaded library is never unloaded) and binds the header. */
    static TensorloomLibrary open(Path file, String variant) {
        SymbolLookup symbols;
        try {
            symbols = SymbolLookup.libraryLookup(file, Arena.global());
        } catch (IllegalArgumentException e) {
            throw new NativeLibraryException("cannot load " + file.toAbsolutePath() + ": " + whyNotLoadable(file)
                    + (variant.equals("cuda") ? ". The cuda library needs the CUDA runtime and an NVIDIA driver;"
                            + " without them use -D" + VARIANT_PROPERTY + "=emu" : ""), e);
        }
        TensorloomLibrary library = new TensorloomLibrary(symbols, file.getFileName().toString());
        String reported = CString.read(library.tl_library_variant());
        if (!reported.equals(variant)) {
            throw new NativeLibraryException(file.toAbsolutePath() + " is the " + reported + " library, but "
                    + variant + " was asked for (-D" + VARIANT_PROPERTY + "=" + variant + ")");
        }
        return library;
    }

    /**
     * SymbolLookup only says that dlopen failed; System.load reports dlerror (say, a missing libcudart.so.13).
     * It is only called after the load has failed once, so it fails again and loads nothing.
     */
    private static String whyNotLoadable(Path file) {
        try {
            System.load(file.toAbsolutePath().toString());
            return "the dynamic loader refused it";
        } catch (UnsatisfiedLinkError e) {
            return e.getMessage();
        }
    }
}
