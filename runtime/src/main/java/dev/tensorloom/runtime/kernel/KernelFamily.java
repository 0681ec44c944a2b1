package dev.tensorloom.runtime.kernel;

import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.util.Objects;

/**
 * A kernel family of another module (quantized products, MPO contraction, the Poincaré ball) and the class
 * names of its scalar, vector and cuda implementations; {@link #on} loads the one for a backend. Only the
 * chosen class is loaded, so the scalar path never links a Vector API or native-binding class and the
 * runtime never names a family's classes.
 *
 * <p>Each implementation has a public constructor taking the backend it runs on: {@link ScalarBackend}, the
 * vector backend (for its {@link Parallelism}) or the cuda backend (for its device context). A family
 * declares itself once, beside its interface:
 *
 * <pre>{@code
 * KernelFamily<QuantKernels> FAMILY = new KernelFamily<>(QuantKernels.class,
 *         "dev.tensorloom.quant.ScalarQuantKernels",
 *         "dev.tensorloom.quant.vector.VectorQuantKernels",
 *         "dev.tensorloom.quant.cuda.CudaQuantKernels");
 * QuantKernels kernels = FAMILY.on(backend);
 * }</pre>
 */
public record KernelFamily<F>(Class<F> type, String scalarClass, String vectorClass, String cudaClass) {

    public KernelFamily {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(scalarClass, "scalarClass");
        Objects.requireNonNull(vectorClass, "vectorClass");
        Objects.requireNonNull(cudaClass, "cudaClass");
    }

    /** This family's implementation on {@code backend}, newly made; cheap, but meant to be kept. */
    public F on(Backend backend) {
        String name = switch (backend.name()) {
            case "scalar" -> scalarClass;
            case "vector" -> vectorClass;
            case "cuda" -> cudaClass;
            default -> throw new IllegalArgumentException(
                    "no " + type.getSimpleName() + " implementation for backend '" + backend.name() + "'");
        };
        try {
            Class<?> implementation = Class.forName(name, true, type.getClassLoader());
            for (Constructor<?> constructor : implementation.getConstructors()) {
                Class<?>[] parameters = constructor.getParameterTypes();
                if (parameters.length == 1 && parameters[0].isInstance(backend)) {
                    return type.cast(constructor.newInstance(backend));
                }
            }
            throw new IllegalStateException(name + " has no public constructor taking " + backend.getClass().getName());
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new IllegalStateException("could not make " + name + " on the " + backend.name() + " backend",
                    e.getCause());
        } catch (ReflectiveOperationException | LinkageError e) {
            throw new IllegalStateException("could not load " + type.getSimpleName() + " implementation " + name
                    + " for the " + backend.name() + " backend", e);
        }
    }
}
