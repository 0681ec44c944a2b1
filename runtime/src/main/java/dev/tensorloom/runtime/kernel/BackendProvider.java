package dev.tensorloom.runtime.kernel;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.Locale;
import java.util.Optional;
import java.util.logging.Logger;

/**
 * Chooses the backend once per process, the way Lucene's vectorization provider does: cuda when the GPU build
 * of the native library loads and sees a device, else vector when {@code jdk.incubator.vector} is readable,
 * else scalar. The cuda and vector backends are loaded by class name only when chosen, so the scalar path
 * never links a Vector API or native-binding class. {@code -Dtensorloom.backend=scalar|vector|cuda} forces a
 * backend and fails loudly when it cannot be had; a forced cuda uses the library named by
 * {@code -Dtensorloom.native.library} (cuda, or emu for the CPU emulation, which is never chosen on its own).
 */
public final class BackendProvider {

    /** System property that forces a backend. */
    public static final String BACKEND_PROPERTY = "tensorloom.backend";

    private static final Logger LOG = Logger.getLogger(BackendProvider.class.getName());
    private static final String VECTOR_MODULE = "jdk.incubator.vector";
    private static final String VECTOR_CLASS = "dev.tensorloom.runtime.kernel.vector.VectorBackend";
    private static final String CUDA_CLASS = "dev.tensorloom.runtime.kernel.cuda.CudaBackend";

    private static Backend chosen;

    private BackendProvider() {
    }

    /** The process-wide backend: forced by {@code -Dtensorloom.backend}, else the fastest available. */
    public static synchronized Backend backend() {
        // Not a static initializer: a bad -Dtensorloom.backend must fail with its own message on every
        // call, not once with ExceptionInInitializerError and then with NoClassDefFoundError.
        if (chosen == null) {
            chosen = chooseDefault();
        }
        return chosen;
    }

    /** The named backend with the shared thread pool; throws if it cannot be had here. */
    public static Backend byName(String name) {
        return byName(name, Parallelism.shared());
    }

    /** The named backend, a vector one with its own thread pool; throws if it cannot be had here. */
    public static Backend byName(String name, Parallelism parallelism) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "scalar" -> new ScalarBackend();
            case "vector" -> {
                if (!vectorModuleReadable()) {
                    throw new IllegalStateException("backend 'vector' needs the Vector API: start the JVM with "
                            + "--add-modules=jdk.incubator.vector");
                }
                yield loadVector(parallelism);
            }
            case "cuda" -> (Backend) invokeCuda("open");
            default -> throw new IllegalArgumentException(
                    "unknown backend '" + name + "' (-D" + BACKEND_PROPERTY + "=scalar|vector|cuda)");
        };
    }

    /** True when the JVM was started with the Vector API module. */
    public static boolean vectorModuleReadable() {
        return ModuleLayer.boot().findModule(VECTOR_MODULE).isPresent();
    }

    private static Backend chooseDefault() {
        String forced = System.getProperty(BACKEND_PROPERTY);
        if (forced != null && !forced.isBlank()) {
            return byName(forced.trim());
        }
        Backend gpu = gpuIfPresent();
        if (gpu != null) {
            return gpu;
        }
        if (!vectorModuleReadable()) {
            LOG.warning("Java Vector API not enabled; tensorloom uses its scalar kernels, which are several times "
                    + "slower. Start the JVM with --add-modules=jdk.incubator.vector to use SIMD.");
            return new ScalarBackend();
        }
        return loadVector(Parallelism.shared());
    }

    /** The cuda backend on a real GPU, or null (with the reason logged) when there is none. */
    private static Backend gpuIfPresent() {
        if (!BackendProvider.class.getModule().isNativeAccessEnabled()) {
            // Probing would make the JDK warn about native access on every start of a CPU-only user's JVM.
            LOG.info("tensorloom: native access is not enabled, so no GPU is looked for; start the JVM with "
                    + "--enable-native-access=ALL-UNNAMED to use one");
            return null;
        }
        try {
            Optional<?> gpu = (Optional<?>) invokeCuda("openOnGpu");
            if (gpu.isPresent()) {
                return (Backend) gpu.get();
            }
            LOG.info("tensorloom: no GPU (the cuda library, its driver or a device is missing); running CPU-only");
        } catch (RuntimeException | LinkageError e) {
            LOG.info("tensorloom: the cuda backend could not start (" + e + "); running CPU-only");
        }
        return null;
    }

    private static Object invokeCuda(String factory) {
        MethodHandle method;
        try {
            Class<?> type = Class.forName(CUDA_CLASS);
            method = MethodHandles.publicLookup().findStatic(type, factory, MethodType.methodType(
                    factory.equals("open") ? type : Optional.class));
        } catch (ReflectiveOperationException | LinkageError e) {
            throw new IllegalStateException("could not load the cuda backend " + CUDA_CLASS, e);
        }
        try {
            return method.invoke();
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    private static Backend loadVector(Parallelism parallelism) {
        try {
            Class<?> type = Class.forName(VECTOR_CLASS);
            var constructor = MethodHandles.publicLookup()
                    .findConstructor(type, MethodType.methodType(void.class, Parallelism.class));
            return (Backend) constructor.invoke(parallelism);
        } catch (Throwable e) {
            throw new IllegalStateException("could not load the vector backend " + VECTOR_CLASS, e);
        }
    }
}
