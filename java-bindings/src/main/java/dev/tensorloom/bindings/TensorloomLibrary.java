package dev.tensorloom.bindings;

import java.lang.foreign.AddressLayout;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * kernels-cuda/include/tensorloom.h, bound the way jextract would: one downcall handle and one method per
 * header function, with the C function's name and parameter order, returning the raw {@code tl_status}
 * (use {@link NativeException#check}) or, for {@code const char *}, the raw pointer ({@code
 * HeaderBindingsTest} holds this class to the header). Handles ({@code tl_buffer}, {@code tl_stream}) and
 * pointers are {@link MemorySegment}s; out-parameters are segments the caller allocates. Offsets and
 * leading dimensions count elements for kernels and bytes for memory functions, as the header says.
 *
 * <p>Get an instance from {@link NativeLibraryLoader}. It is immutable; every function may be called from
 * any thread (the header promises it).
 */
public final class TensorloomLibrary {
    private static final ValueLayout.OfInt STATUS = Downcalls.STATUS;
    private static final ValueLayout.OfInt INT32 = Downcalls.INT32;
    private static final ValueLayout.OfLong INT64 = Downcalls.INT64;
    private static final ValueLayout.OfLong UINT64 = Downcalls.UINT64;
    private static final ValueLayout.OfFloat FLOAT = Downcalls.FLOAT;
    private static final AddressLayout POINTER = Downcalls.POINTER;
    private static final AddressLayout HANDLE = Downcalls.HANDLE;
    private static final Linker.Option[] QUICK = Downcalls.QUICK;
    private static final Linker.Option[] ORDINARY = Downcalls.ORDINARY;

    private final SymbolLookup symbols;
    private final String fileName;

    private final MethodHandle tl_library_variant;
    private final MethodHandle tl_status_name;
    private final MethodHandle tl_last_error;
    private final MethodHandle tl_device_count;
    private final MethodHandle tl_set_device;
    private final MethodHandle tl_device_name;
    private final MethodHandle tl_memory_in_use;
    private final MethodHandle tl_malloc;
    private final MethodHandle tl_free;
    private final MethodHandle tl_buffer_size;
    private final MethodHandle tl_buffer_device_pointer;
    private final MethodHandle tl_copy_to_device;
    private final MethodHandle tl_copy_to_host;
    private final MethodHandle tl_copy_on_device;
    private final MethodHandle tl_memset;
    private final MethodHandle tl_stream_create;
    private final MethodHandle tl_stream_destroy;
    private final MethodHandle tl_stream_synchronize;
    private final MethodHandle tl_stream_native;
    private final MethodHandle tl_gemm;
    private final MethodHandle tl_gemm_transposed_b;
    private final MethodHandle tl_gemv;
    private final MethodHandle tl_add_bias;
    private final MethodHandle tl_add;
    private final MethodHandle tl_layer_norm;
    private final MethodHandle tl_gelu;
    private final MethodHandle tl_add_bias_gelu;
    private final MethodHandle tl_add_bias_residual_layer_norm;
    private final MethodHandle tl_softmax_rows;
    private final MethodHandle tl_attention;
    private final MethodHandle tl_gather_rows;
    private final MethodHandle tl_mean_pool;
    private final MethodHandle tl_l2_normalize_rows;
    private final MethodHandle tl_launch_check;

    /** Binds every function of the header in {@code symbols}; {@code name} is for messages only. */
    TensorloomLibrary(SymbolLookup symbols, String name) {
        this.symbols = symbols;
        this.fileName = name;
        tl_library_variant = bind(symbols, name, "tl_library_variant", FunctionDescriptor.of(POINTER), QUICK);
        tl_status_name = bind(symbols, name, "tl_status_name", FunctionDescriptor.of(POINTER, STATUS), QUICK);
        tl_last_error = bind(symbols, name, "tl_last_error", FunctionDescriptor.of(POINTER), QUICK);
        tl_device_count = bind(symbols, name, "tl_device_count", FunctionDescriptor.of(STATUS, POINTER), ORDINARY);
        tl_set_device = bind(symbols, name, "tl_set_device", FunctionDescriptor.of(STATUS, INT32), ORDINARY);
        tl_device_name = bind(symbols, name, "tl_device_name",
                FunctionDescriptor.of(STATUS, INT32, POINTER, INT64), ORDINARY);
        tl_memory_in_use = bind(symbols, name, "tl_memory_in_use",
                FunctionDescriptor.of(STATUS, POINTER, POINTER), QUICK);

        tl_malloc = bind(symbols, name, "tl_malloc", FunctionDescriptor.of(STATUS, UINT64, POINTER), ORDINARY);
        tl_free = bind(symbols, name, "tl_free", FunctionDescriptor.of(STATUS, HANDLE), ORDINARY);
        tl_buffer_size = bind(symbols, name, "tl_buffer_size", FunctionDescriptor.of(STATUS, HANDLE, POINTER), QUICK);
        tl_buffer_device_pointer = bind(symbols, name, "tl_buffer_device_pointer",
                FunctionDescriptor.of(STATUS, HANDLE, POINTER), QUICK);
        tl_copy_to_device = bind(symbols, name, "tl_copy_to_device",
                FunctionDescriptor.of(STATUS, HANDLE, HANDLE, UINT64, POINTER, UINT64), ORDINARY);
        tl_copy_to_host = bind(symbols, name, "tl_copy_to_host",
                FunctionDescriptor.of(STATUS, HANDLE, POINTER, HANDLE, UINT64, UINT64), ORDINARY);
        tl_copy_on_device = bind(symbols, name, "tl_copy_on_device",
                FunctionDescriptor.of(STATUS, HANDLE, HANDLE, UINT64, HANDLE, UINT64, UINT64), ORDINARY);
        tl_memset = bind(symbols, name, "tl_memset",
                FunctionDescriptor.of(STATUS, HANDLE, HANDLE, UINT64, INT32, UINT64), ORDINARY);

        tl_stream_create = bind(symbols, name, "tl_stream_create", FunctionDescriptor.of(STATUS, POINTER), ORDINARY);
        tl_stream_destroy = bind(symbols, name, "tl_stream_destroy", FunctionDescriptor.of(STATUS, HANDLE), ORDINARY);
        tl_stream_synchronize = bind(symbols, name, "tl_stream_synchronize",
                FunctionDescriptor.of(STATUS, HANDLE), ORDINARY);
        tl_stream_native = bind(symbols, name, "tl_stream_native",
                FunctionDescriptor.of(STATUS, HANDLE, POINTER), QUICK);

        tl_gemm = bind(symbols, name, "tl_gemm", FunctionDescriptor.of(STATUS, HANDLE, INT64, INT64, INT64,
                HANDLE, UINT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64, INT64), ORDINARY);
        tl_gemm_transposed_b = bind(symbols, name, "tl_gemm_transposed_b", FunctionDescriptor.of(STATUS, HANDLE,
                INT64, INT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64, INT64), ORDINARY);
        tl_gemv = bind(symbols, name, "tl_gemv", FunctionDescriptor.of(STATUS, HANDLE, INT64, INT64,
                HANDLE, UINT64, INT64, HANDLE, UINT64, HANDLE, UINT64), ORDINARY);
        tl_add_bias = bind(symbols, name, "tl_add_bias", FunctionDescriptor.of(STATUS, HANDLE, INT64, INT64,
                HANDLE, UINT64, INT64, HANDLE, UINT64), ORDINARY);
        tl_add = bind(symbols, name, "tl_add", FunctionDescriptor.of(STATUS, HANDLE, INT64, INT64,
                HANDLE, UINT64, INT64, HANDLE, UINT64, INT64), ORDINARY);
        tl_layer_norm = bind(symbols, name, "tl_layer_norm", FunctionDescriptor.of(STATUS, HANDLE, INT64, INT64,
                HANDLE, UINT64, INT64, HANDLE, UINT64, HANDLE, UINT64, FLOAT), ORDINARY);
        tl_gelu = bind(symbols, name, "tl_gelu", FunctionDescriptor.of(STATUS, HANDLE, INT64, INT64,
                HANDLE, UINT64, INT64), ORDINARY);
        tl_add_bias_gelu = bind(symbols, name, "tl_add_bias_gelu", FunctionDescriptor.of(STATUS, HANDLE, INT64, INT64,
                HANDLE, UINT64, INT64, HANDLE, UINT64), ORDINARY);
        tl_add_bias_residual_layer_norm = bind(symbols, name, "tl_add_bias_residual_layer_norm",
                FunctionDescriptor.of(STATUS, HANDLE, INT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64,
                        HANDLE, UINT64, INT64, HANDLE, UINT64, HANDLE, UINT64, FLOAT), ORDINARY);
        tl_softmax_rows = bind(symbols, name, "tl_softmax_rows", FunctionDescriptor.of(STATUS, HANDLE, INT64, INT64,
                HANDLE, UINT64, INT64), ORDINARY);
        tl_attention = bind(symbols, name, "tl_attention", FunctionDescriptor.of(STATUS, HANDLE,
                INT64, INT64, INT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64, INT64,
                HANDLE, UINT64, HANDLE, UINT64, INT64), ORDINARY);
        tl_gather_rows = bind(symbols, name, "tl_gather_rows", FunctionDescriptor.of(STATUS, HANDLE, INT64, INT64,
                HANDLE, UINT64, INT64, INT64, POINTER, HANDLE, UINT64, INT64), ORDINARY);
        tl_mean_pool = bind(symbols, name, "tl_mean_pool", FunctionDescriptor.of(STATUS, HANDLE, INT64, INT64, INT64,
                HANDLE, UINT64, INT64, HANDLE, UINT64, HANDLE, UINT64, INT64), ORDINARY);
        tl_l2_normalize_rows = bind(symbols, name, "tl_l2_normalize_rows", FunctionDescriptor.of(STATUS, HANDLE,
                INT64, INT64, HANDLE, UINT64, INT64), ORDINARY);
        tl_launch_check = bind(symbols, name, "tl_launch_check", FunctionDescriptor.of(STATUS, HANDLE, INT32), ORDINARY);
    }

    private static MethodHandle bind(SymbolLookup symbols, String library, String function,
                                     FunctionDescriptor descriptor, Linker.Option[] options) {
        return Downcalls.bind(symbols, library, "tensorloom.h", function, descriptor, options);
    }

    /** The loaded library's symbols: a family header's binding class binds its functions in the same library. */
    SymbolLookup symbols() {
        return symbols;
    }

    /** The library's file name, for messages. */
    String fileName() {
        return fileName;
    }

    // ---- library and device ------------------------------------------------------------------------

    public MemorySegment tl_library_variant() {
        try {
            return (MemorySegment) tl_library_variant.invokeExact();
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public MemorySegment tl_status_name(int status) {
        try {
            return (MemorySegment) tl_status_name.invokeExact(status);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public MemorySegment tl_last_error() {
        try {
            return (MemorySegment) tl_last_error.invokeExact();
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_device_count(MemorySegment count) {
        try {
            return (int) tl_device_count.invokeExact(count);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_set_device(int device) {
        try {
            return (int) tl_set_device.invokeExact(device);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_device_name(int device, MemorySegment name, long capacity) {
        try {
            return (int) tl_device_name.invokeExact(device, name, capacity);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_memory_in_use(MemorySegment bytes, MemorySegment buffers) {
        try {
            return (int) tl_memory_in_use.invokeExact(bytes, buffers);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    // ---- device memory -----------------------------------------------------------------------------

    public int tl_malloc(long bytes, MemorySegment buffer) {
        try {
            return (int) tl_malloc.invokeExact(bytes, buffer);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_free(MemorySegment buffer) {
        try {
            return (int) tl_free.invokeExact(buffer);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_buffer_size(MemorySegment buffer, MemorySegment bytes) {
        try {
            return (int) tl_buffer_size.invokeExact(buffer, bytes);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_buffer_device_pointer(MemorySegment buffer, MemorySegment devicePointer) {
        try {
            return (int) tl_buffer_device_pointer.invokeExact(buffer, devicePointer);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_copy_to_device(MemorySegment stream, MemorySegment dest, long destOffset, MemorySegment source,
                                 long bytes) {
        try {
            return (int) tl_copy_to_device.invokeExact(stream, dest, destOffset, source, bytes);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_copy_to_host(MemorySegment stream, MemorySegment dest, MemorySegment source, long sourceOffset,
                               long bytes) {
        try {
            return (int) tl_copy_to_host.invokeExact(stream, dest, source, sourceOffset, bytes);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_copy_on_device(MemorySegment stream, MemorySegment dest, long destOffset, MemorySegment source,
                                 long sourceOffset, long bytes) {
        try {
            return (int) tl_copy_on_device.invokeExact(stream, dest, destOffset, source, sourceOffset, bytes);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_memset(MemorySegment stream, MemorySegment dest, long offset, int value, long bytes) {
        try {
            return (int) tl_memset.invokeExact(stream, dest, offset, value, bytes);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    // ---- streams -----------------------------------------------------------------------------------

    public int tl_stream_create(MemorySegment stream) {
        try {
            return (int) tl_stream_create.invokeExact(stream);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_stream_destroy(MemorySegment stream) {
        try {
            return (int) tl_stream_destroy.invokeExact(stream);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_stream_synchronize(MemorySegment stream) {
        try {
            return (int) tl_stream_synchronize.invokeExact(stream);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_stream_native(MemorySegment stream, MemorySegment cudaStream) {
        try {
            return (int) tl_stream_native.invokeExact(stream, cudaStream);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    // ---- dense linear algebra (fp32, row-major) ----------------------------------------------------

    public int tl_gemm(MemorySegment stream, long m, long n, long k,
                       MemorySegment a, long aOffset, long lda,
                       MemorySegment b, long bOffset, long ldb,
                       MemorySegment c, long cOffset, long ldc) {
        try {
            return (int) tl_gemm.invokeExact(stream, m, n, k, a, aOffset, lda, b, bOffset, ldb, c, cOffset, ldc);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_gemm_transposed_b(MemorySegment stream, long m, long n, long k,
                                    MemorySegment a, long aOffset, long lda,
                                    MemorySegment b, long bOffset, long ldb,
                                    MemorySegment c, long cOffset, long ldc) {
        try {
            return (int) tl_gemm_transposed_b.invokeExact(stream, m, n, k, a, aOffset, lda, b, bOffset, ldb,
                    c, cOffset, ldc);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_gemv(MemorySegment stream, long m, long k,
                       MemorySegment a, long aOffset, long lda,
                       MemorySegment x, long xOffset,
                       MemorySegment y, long yOffset) {
        try {
            return (int) tl_gemv.invokeExact(stream, m, k, a, aOffset, lda, x, xOffset, y, yOffset);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    // ---- transformer layers (fp32, row-major, in place on x) ---------------------------------------

    public int tl_add_bias(MemorySegment stream, long rows, long cols,
                           MemorySegment x, long xOffset, long ldx,
                           MemorySegment bias, long biasOffset) {
        try {
            return (int) tl_add_bias.invokeExact(stream, rows, cols, x, xOffset, ldx, bias, biasOffset);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_add(MemorySegment stream, long rows, long cols,
                      MemorySegment x, long xOffset, long ldx,
                      MemorySegment y, long yOffset, long ldy) {
        try {
            return (int) tl_add.invokeExact(stream, rows, cols, x, xOffset, ldx, y, yOffset, ldy);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_layer_norm(MemorySegment stream, long rows, long cols,
                             MemorySegment x, long xOffset, long ldx,
                             MemorySegment gamma, long gammaOffset,
                             MemorySegment beta, long betaOffset, float epsilon) {
        try {
            return (int) tl_layer_norm.invokeExact(stream, rows, cols, x, xOffset, ldx, gamma, gammaOffset,
                    beta, betaOffset, epsilon);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_gelu(MemorySegment stream, long rows, long cols, MemorySegment x, long xOffset, long ldx) {
        try {
            return (int) tl_gelu.invokeExact(stream, rows, cols, x, xOffset, ldx);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_add_bias_gelu(MemorySegment stream, long rows, long cols,
                                MemorySegment x, long xOffset, long ldx,
                                MemorySegment bias, long biasOffset) {
        try {
            return (int) tl_add_bias_gelu.invokeExact(stream, rows, cols, x, xOffset, ldx, bias, biasOffset);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_add_bias_residual_layer_norm(MemorySegment stream, long rows, long cols,
                                               MemorySegment x, long xOffset, long ldx,
                                               MemorySegment bias, long biasOffset,
                                               MemorySegment residual, long residualOffset, long ldr,
                                               MemorySegment gamma, long gammaOffset,
                                               MemorySegment beta, long betaOffset, float epsilon) {
        try {
            return (int) tl_add_bias_residual_layer_norm.invokeExact(stream, rows, cols, x, xOffset, ldx, bias,
                    biasOffset, residual, residualOffset, ldr, gamma, gammaOffset, beta, betaOffset, epsilon);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_softmax_rows(MemorySegment stream, long rows, long cols, MemorySegment x, long xOffset, long ldx) {
        try {
            return (int) tl_softmax_rows.invokeExact(stream, rows, cols, x, xOffset, ldx);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_attention(MemorySegment stream, long batch, long seq, long heads, long headDim,
                            MemorySegment q, long qOffset, long ldq,
                            MemorySegment k, long kOffset, long ldk,
                            MemorySegment v, long vOffset, long ldv,
                            MemorySegment mask, long maskOffset,
                            MemorySegment out, long outOffset, long ldout) {
        try {
            return (int) tl_attention.invokeExact(stream, batch, seq, heads, headDim, q, qOffset, ldq,
                    k, kOffset, ldk, v, vOffset, ldv, mask, maskOffset, out, outOffset, ldout);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    // ---- embeddings and pooling --------------------------------------------------------------------

    public int tl_gather_rows(MemorySegment stream, long count, long cols,
                              MemorySegment table, long tableOffset, long ldtable, long tableRows,
                              MemorySegment ids,
                              MemorySegment out, long outOffset, long ldout) {
        try {
            return (int) tl_gather_rows.invokeExact(stream, count, cols, table, tableOffset, ldtable, tableRows,
                    ids, out, outOffset, ldout);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_mean_pool(MemorySegment stream, long batch, long seq, long cols,
                            MemorySegment x, long xOffset, long ldx,
                            MemorySegment mask, long maskOffset,
                            MemorySegment out, long outOffset, long ldout) {
        try {
            return (int) tl_mean_pool.invokeExact(stream, batch, seq, cols, x, xOffset, ldx, mask, maskOffset,
                    out, outOffset, ldout);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_l2_normalize_rows(MemorySegment stream, long rows, long cols,
                                    MemorySegment x, long xOffset, long ldx) {
        try {
            return (int) tl_l2_normalize_rows.invokeExact(stream, rows, cols, x, xOffset, ldx);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    // ---- diagnostics -------------------------------------------------------------------------------

    public int tl_launch_check(MemorySegment stream, int threadsPerBlock) {
        try {
            return (int) tl_launch_check.invokeExact(stream, threadsPerBlock);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }
}
