package dev.tensorloom.runtime.kernel;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.Locale;
import java.util.logging.Logger;

/**
 * Chooses the kernel backend once per process, the way Lucene's vectorization provider does: the vector
 * implementation is loaded by class name only after checking that {@code jdk.incubator.vector} is
 * readable, so the scalar path never links a Vector API class. {@code -Dtensorloom.backend=scalar|vector}
 * forces a backend and fails loudly when it cannot be had.
 */
public final class KernelProvider {

    /** System property that forces a backend. */
    public static final String BACKEND_PROPERTY = "tensorloom.backend";

    private static final Logger LOG = Logger.getLogger(KernelProvider.class.getName());
    private static final String VECTOR_MODULE = "jdk.incubator.vector";
    private static final String VECTOR_CLASS = "dev.tensorloom.runtime.kernel.vector.VectorKernels";

    private static Kernels chosen;

    private KernelProvider() {
    }

    /** The process-wide backend: forced by {@code -Dtensorloom.backend}, else the fastest available. */
    public static synchronized Kernels kernels() {
        // Not a static initializer: a bad -Dtensorloom.backend must fail with its own message on every
        // call, not once with ExceptionInInitializerError and then with NoClassDefFoundError.
        if (chosen == null) {
            chosen = chooseDefault();
        }
        return chosen;
    }

    /** The named backend with the shared thread pool; throws if it cannot be had here. */
    public static Kernels byName(String name) {
        return byName(name, Parallelism.shared());
    }

    /** The named backend with its own thread pool; throws if it cannot be had here. */
    public static Kernels byName(String name, Parallelism parallelism) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "scalar" -> new ScalarKernels();
            case "vector" -> {
                if (!vectorModuleReadable()) {
                    throw new IllegalStateException("backend 'vector' needs the Vector API: start the JVM with "
                            + "--add-modules=jdk.incubator.vector");
                }
                yield loadVector(parallelism);
            }
            case "cuda" -> throw new IllegalStateException(
                    "backend 'cuda' is not available: this build has no native kernels yet (use scalar or vector)");
            default -> throw new IllegalArgumentException(
                    "unknown backend '" + name + "' (-D" + BACKEND_PROPERTY + "=scalar|vector)");
        };
    }

    /** True when the JVM was started with the Vector API module. */
    public static boolean vectorModuleReadable() {
        return ModuleLayer.boot().findModule(VECTOR_MODULE).isPresent();
    }

    private static Kernels chooseDefault() {
        String forced = System.getProperty(BACKEND_PROPERTY);
        if (forced != null && !forced.isBlank()) {
            return byName(forced.trim());
        }
        if (!vectorModuleReadable()) {
            LOG.warning("Java Vector API not enabled; tensorloom uses its scalar kernels, which are several times "
                    + "slower. Start the JVM with --add-modules=jdk.incubator.vector to use SIMD.");
            return new ScalarKernels();
        }
        return loadVector(Parallelism.shared());
    }

    private static Kernels loadVector(Parallelism parallelism) {
        try {
            Class<?> type = Class.forName(VECTOR_CLASS);
            var constructor = MethodHandles.publicLookup()
                    .findConstructor(type, MethodType.methodType(void.class, Parallelism.class));
            return (Kernels) constructor.invoke(parallelism);
        } catch (Throwable e) {
            throw new IllegalStateException("could not load the vector backend " + VECTOR_CLASS, e);
        }
    }
}
