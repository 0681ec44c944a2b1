package dev.tensorloom.bindings;

import java.lang.foreign.AddressLayout;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * kernels-cuda/include/tensorloom_quant.h, the quant family's header, bound like {@link TensorloomLibrary}: one
 * downcall handle and one method per function, with the C names and parameter order, returning the raw
 * {@code tl_status}; the header's ggml type numbers as constants. Its functions live in the same library as the
 * core's, so buffers and streams of {@link TensorloomLibrary} are valid here.
 */
public final class TensorloomQuant {
    /** ggml's type numbers ({@code enum ggml_type}) of the block formats the kernels read. */
    public static final int TL_GGML_Q4_0 = 2;
    public static final int TL_GGML_Q8_0 = 8;
    public static final int TL_GGML_Q4_K = 12;
    public static final int TL_GGML_Q6_K = 14;

    private static final ValueLayout.OfInt STATUS = Downcalls.STATUS;
    private static final ValueLayout.OfInt INT32 = Downcalls.INT32;
    private static final ValueLayout.OfLong INT64 = Downcalls.INT64;
    private static final ValueLayout.OfLong UINT64 = Downcalls.UINT64;
    private static final AddressLayout HANDLE = Downcalls.HANDLE;
    private static final Linker.Option[] ORDINARY = Downcalls.ORDINARY;

    private final MethodHandle tl_qgemv_group;
    private final MethodHandle tl_qgemm_group;
    private final MethodHandle tl_qgemv_ggml;
    private final MethodHandle tl_qgemm_ggml;

    /** Binds every function of the header in {@code symbols}; {@code name} is for messages only. */
    TensorloomQuant(SymbolLookup symbols, String name) {
        tl_qgemv_group = bind(symbols, name, "tl_qgemv_group", FunctionDescriptor.of(STATUS, HANDLE,
                INT64, INT64, INT32, INT32, INT32, HANDLE, UINT64,
                HANDLE, UINT64, HANDLE, UINT64, HANDLE, UINT64, HANDLE, UINT64), ORDINARY);
        tl_qgemm_group = bind(symbols, name, "tl_qgemm_group", FunctionDescriptor.of(STATUS, HANDLE,
                INT64, INT64, INT64, INT32, INT32, INT32, HANDLE, UINT64, INT64,
                HANDLE, UINT64, HANDLE, UINT64, HANDLE, UINT64, HANDLE, UINT64, INT64), ORDINARY);
        tl_qgemv_ggml = bind(symbols, name, "tl_qgemv_ggml", FunctionDescriptor.of(STATUS, HANDLE,
                INT64, INT64, INT32, HANDLE, UINT64, HANDLE, UINT64, HANDLE, UINT64), ORDINARY);
        tl_qgemm_ggml = bind(symbols, name, "tl_qgemm_ggml", FunctionDescriptor.of(STATUS, HANDLE,
                INT64, INT64, INT64, INT32, HANDLE, UINT64, INT64, HANDLE, UINT64, HANDLE, UINT64, INT64), ORDINARY);
    }

    /** The header's functions in the library {@code library} was loaded from. */
    public static TensorloomQuant of(TensorloomLibrary library) {
        return new TensorloomQuant(library.symbols(), library.fileName());
    }

    private static MethodHandle bind(SymbolLookup symbols, String library, String function,
                                     FunctionDescriptor descriptor, Linker.Option[] options) {
        return Downcalls.bind(symbols, library, "tensorloom_quant.h", function, descriptor, options);
    }

    public int tl_qgemv_group(MemorySegment stream, long n, long k, int bits, int groupSize, int asymmetric,
                              MemorySegment x, long xOffset, MemorySegment codes, long codesOffset,
                              MemorySegment scales, long scalesOffset, MemorySegment zeros, long zerosOffset,
                              MemorySegment y, long yOffset) {
        try {
            return (int) tl_qgemv_group.invokeExact(stream, n, k, bits, groupSize, asymmetric, x, xOffset, codes,
                    codesOffset, scales, scalesOffset, zeros, zerosOffset, y, yOffset);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_qgemm_group(MemorySegment stream, long m, long n, long k, int bits, int groupSize, int asymmetric,
                              MemorySegment a, long aOffset, long lda, MemorySegment codes, long codesOffset,
                              MemorySegment scales, long scalesOffset, MemorySegment zeros, long zerosOffset,
                              MemorySegment c, long cOffset, long ldc) {
        try {
            return (int) tl_qgemm_group.invokeExact(stream, m, n, k, bits, groupSize, asymmetric, a, aOffset, lda,
                    codes, codesOffset, scales, scalesOffset, zeros, zerosOffset, c, cOffset, ldc);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_qgemv_ggml(MemorySegment stream, long n, long k, int type, MemorySegment x, long xOffset,
                             MemorySegment blocks, long blocksOffset, MemorySegment y, long yOffset) {
        try {
            return (int) tl_qgemv_ggml.invokeExact(stream, n, k, type, x, xOffset, blocks, blocksOffset, y, yOffset);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_qgemm_ggml(MemorySegment stream, long m, long n, long k, int type, MemorySegment a, long aOffset,
                             long lda, MemorySegment blocks, long blocksOffset, MemorySegment c, long cOffset,
                             long ldc) {
        try {
            return (int) tl_qgemm_ggml.invokeExact(stream, m, n, k, type, a, aOffset, lda, blocks, blocksOffset, c,
                    cOffset, ldc);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }
}
