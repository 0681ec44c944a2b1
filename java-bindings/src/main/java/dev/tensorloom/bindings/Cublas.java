package dev.tensorloom.bindings;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The few cuBLAS functions tensorloom uses, bound from the system's libcublas when there is one. Methods
 * carry the C names and return the raw cublasStatus_t; {@link #check} turns a failure into a
 * {@link CublasException}. Matrices are device pointers ({@link DeviceBuffer#devicePointer()}), not
 * tl_buffers, and scalars (alpha, beta) are host pointers (cuBLAS's default pointer mode).
 *
 * <p>cuBLAS is column-major: it reads an m×n matrix with leading dimension ld as element (i, j) at
 * i + j·ld. tensorloom is row-major; {@link #sgemmRowMajor} does the usual swap.
 */
@SuppressWarnings("restricted") // native access is this module's job; --enable-native-access grants it
public final class Cublas {
    public static final String PATH_PROPERTY = "tensorloom.cublas.path";
    /** Tried in order through the dynamic loader's search path (LD_LIBRARY_PATH, ld.so.cache, ...). */
    static final List<String> LIBRARY_NAMES =
            List.of("libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so");

    // cublasOperation_t
    public static final int CUBLAS_OP_N = 0;
    public static final int CUBLAS_OP_T = 1;
    // cudaDataType_t
    public static final int CUDA_R_32F = 0;
    public static final int CUDA_R_16F = 2;
    // cublasComputeType_t
    public static final int CUBLAS_COMPUTE_32F = 68;
    public static final int CUBLAS_COMPUTE_32F_FAST_TF32 = 77;
    // cublasGemmAlgo_t
    public static final int CUBLAS_GEMM_DEFAULT = -1;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;
    private static final ValueLayout.OfInt STATUS = ValueLayout.JAVA_INT;
    private static final ValueLayout POINTER = ValueLayout.ADDRESS;

    private final String libraryName;
    private final MethodHandle cublasCreate_v2;
    private final MethodHandle cublasDestroy_v2;
    private final MethodHandle cublasSetStream_v2;
    private final MethodHandle cublasSgemm_v2;
    private final MethodHandle cublasGemmEx;

    private Cublas(SymbolLookup symbols, String libraryName) {
        this.libraryName = libraryName;
        cublasCreate_v2 = bind(symbols, "cublasCreate_v2", FunctionDescriptor.of(STATUS, POINTER));
        cublasDestroy_v2 = bind(symbols, "cublasDestroy_v2", FunctionDescriptor.of(STATUS, POINTER));
        cublasSetStream_v2 = bind(symbols, "cublasSetStream_v2", FunctionDescriptor.of(STATUS, POINTER, POINTER));
        cublasSgemm_v2 = bind(symbols, "cublasSgemm_v2", FunctionDescriptor.of(STATUS, POINTER, INT, INT,
                INT, INT, INT, POINTER, POINTER, INT, POINTER, INT, POINTER, POINTER, INT));
        cublasGemmEx = bind(symbols, "cublasGemmEx", FunctionDescriptor.of(STATUS, POINTER, INT, INT,
                INT, INT, INT, POINTER, POINTER, INT, INT, POINTER, INT, INT, POINTER, POINTER, INT, INT, INT, INT));
    }

    private MethodHandle bind(SymbolLookup symbols, String function, FunctionDescriptor descriptor) {
        MemorySegment address = symbols.find(function).orElseThrow(() -> new NativeLibraryException(
                libraryName + " has no " + function + ": not a cuBLAS of version 11 or later"));
        return LINKER.downcallHandle(address, descriptor);
    }

    /**
     * cuBLAS from {@code -Dtensorloom.cublas.path} when set (a file that does not load is an error, since it
     * was asked for by name), else the first of {@link #LIBRARY_NAMES} the dynamic loader finds; empty when
     * there is none.
     */
    public static Optional<Cublas> load() {
        return load(System.getProperty(PATH_PROPERTY));
    }

    static Optional<Cublas> load(String explicitPath) {
        if (explicitPath != null && !explicitPath.isBlank()) {
            Path file = Path.of(explicitPath);
            try {
                return Optional.of(new Cublas(SymbolLookup.libraryLookup(file, Arena.global()), file.toString()));
            } catch (IllegalArgumentException e) {
                throw new NativeLibraryException("-D" + PATH_PROPERTY + "=" + explicitPath + " could not be loaded"
                        + " as cuBLAS (no such file, or its dependencies such as libcublasLt and libcudart are not"
                        + " on the loader's path). Point it at libcublas.so, or unset it to search the system.", e);
            }
        }
        for (String name : LIBRARY_NAMES) {
            try {
                return Optional.of(new Cublas(SymbolLookup.libraryLookup(name, Arena.global()), name));
            } catch (IllegalArgumentException notThere) {
                // try the next soname
            }
        }
        return Optional.empty();
    }

    /** The library these bindings were loaded from, e.g. libcublas.so.12. */
    public String libraryName() {
        return libraryName;
    }

    /** Throws a {@link CublasException} naming the status unless it is CUBLAS_STATUS_SUCCESS. */
    public static void check(int status, String call) {
        if (status != 0) {
            throw new CublasException(call, status);
        }
    }

    /** The cublasStatus_t's name, as cublas_api.h spells it. */
    public static String statusName(int status) {
        return switch (status) {
            case 0 -> "CUBLAS_STATUS_SUCCESS";
            case 1 -> "CUBLAS_STATUS_NOT_INITIALIZED";
            case 3 -> "CUBLAS_STATUS_ALLOC_FAILED";
            case 7 -> "CUBLAS_STATUS_INVALID_VALUE";
            case 8 -> "CUBLAS_STATUS_ARCH_MISMATCH";
            case 11 -> "CUBLAS_STATUS_MAPPING_ERROR";
            case 13 -> "CUBLAS_STATUS_EXECUTION_FAILED";
            case 14 -> "CUBLAS_STATUS_INTERNAL_ERROR";
            case 15 -> "CUBLAS_STATUS_NOT_SUPPORTED";
            case 16 -> "CUBLAS_STATUS_LICENSE_ERROR";
            default -> "cublasStatus_t " + status;
        };
    }

    /**
     * Row-major C[m,n] = alpha · A[m,k] · B[k,n] + beta · C (device pointers to fp32, leading dimensions in
     * elements). A row-major matrix read column-major is its transpose, so this computes Cᵀ = Bᵀ · Aᵀ:
     * cuBLAS's (m, n) become (n, m) and A and B trade places.
     */
    public void sgemmRowMajor(MemorySegment handle, int m, int n, int k, float alpha, MemorySegment a, int lda,
                              MemorySegment b, int ldb, float beta, MemorySegment c, int ldc) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment alphaOnHost = arena.allocateFrom(ValueLayout.JAVA_FLOAT, alpha);
            MemorySegment betaOnHost = arena.allocateFrom(ValueLayout.JAVA_FLOAT, beta);
            check(cublasSgemm_v2(handle, CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, alphaOnHost, b, ldb, a, lda,
                    betaOnHost, c, ldc), "cublasSgemm_v2");
        }
    }

    public int cublasCreate_v2(MemorySegment handle) {
        try {
            return (int) cublasCreate_v2.invokeExact(handle);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int cublasDestroy_v2(MemorySegment handle) {
        try {
            return (int) cublasDestroy_v2.invokeExact(handle);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    /** {@code stream} is a cudaStream_t, e.g. {@link DeviceStream#cudaStream()}. */
    public int cublasSetStream_v2(MemorySegment handle, MemorySegment stream) {
        try {
            return (int) cublasSetStream_v2.invokeExact(handle, stream);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int cublasSgemm_v2(MemorySegment handle, int transa, int transb, int m, int n, int k,
                              MemorySegment alpha, MemorySegment a, int lda, MemorySegment b, int ldb,
                              MemorySegment beta, MemorySegment c, int ldc) {
        try {
            return (int) cublasSgemm_v2.invokeExact(handle, transa, transb, m, n, k, alpha, a, lda, b, ldb,
                    beta, c, ldc);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int cublasGemmEx(MemorySegment handle, int transa, int transb, int m, int n, int k,
                            MemorySegment alpha, MemorySegment a, int aType, int lda,
                            MemorySegment b, int bType, int ldb, MemorySegment beta,
                            MemorySegment c, int cType, int ldc, int computeType, int algo) {
        try {
            return (int) cublasGemmEx.invokeExact(handle, transa, transb, m, n, k, alpha, a, aType, lda,
                    b, bType, ldb, beta, c, cType, ldc, computeType, algo);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }
}
