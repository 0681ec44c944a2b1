package dev.tensorloom.bindings;

import java.lang.foreign.AddressLayout;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * kernels-cuda/include/tensorloom_mpo.h, the mpo family's header, bound like {@link TensorloomLibrary}: one
 * downcall handle and one method per function, with the C names and parameter order, returning the raw
 * {@code tl_status}. Its functions live in the same library as the core's, so buffers and streams of
 * {@link TensorloomLibrary} are valid here.
 */
public final class TensorloomMpo {
    private static final ValueLayout.OfInt STATUS = Downcalls.STATUS;
    private static final ValueLayout.OfInt INT32 = Downcalls.INT32;
    private static final ValueLayout.OfLong INT64 = Downcalls.INT64;
    private static final ValueLayout.OfLong UINT64 = Downcalls.UINT64;
    private static final AddressLayout POINTER = Downcalls.POINTER;
    private static final AddressLayout HANDLE = Downcalls.HANDLE;
    private static final Linker.Option[] ORDINARY = Downcalls.ORDINARY;

    private final MethodHandle tl_mpo_step;
    private final MethodHandle tl_mpo_core_matrix;
    private final MethodHandle tl_mpo_deinterleave;

    /** Binds every function of the header in {@code symbols}; {@code name} is for messages only. */
    TensorloomMpo(SymbolLookup symbols, String name) {
        tl_mpo_step = bind(symbols, name, "tl_mpo_step", FunctionDescriptor.of(STATUS, HANDLE,
                INT64, INT64, INT64, INT64, INT64, HANDLE, UINT64, HANDLE, UINT64, INT64, HANDLE, UINT64, INT64),
                ORDINARY);
        tl_mpo_core_matrix = bind(symbols, name, "tl_mpo_core_matrix", FunctionDescriptor.of(STATUS, HANDLE,
                INT64, INT64, INT64, INT64, INT32, INT32, HANDLE, UINT64, HANDLE, UINT64), ORDINARY);
        tl_mpo_deinterleave = bind(symbols, name, "tl_mpo_deinterleave", FunctionDescriptor.of(STATUS, HANDLE,
                INT32, POINTER, POINTER, HANDLE, UINT64, HANDLE, UINT64, INT64), ORDINARY);
    }

    /** The header's functions in the library {@code library} was loaded from. */
    public static TensorloomMpo of(TensorloomLibrary library) {
        return new TensorloomMpo(library.symbols(), library.fileName());
    }

    private static MethodHandle bind(SymbolLookup symbols, String library, String function,
                                     FunctionDescriptor descriptor, Linker.Option[] options) {
        return Downcalls.bind(symbols, library, "tensorloom_mpo.h", function, descriptor, options);
    }

    public int tl_mpo_step(MemorySegment stream, long m, long blocks, long r, long s, long q,
                           MemorySegment core, long coreOffset, MemorySegment in, long inOffset, long ldin,
                           MemorySegment out, long outOffset, long ldout) {
        try {
            return (int) tl_mpo_step.invokeExact(stream, m, blocks, r, s, q, core, coreOffset, in, inOffset, ldin,
                    out, outOffset, ldout);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_mpo_core_matrix(MemorySegment stream, long dLeft, long i, long j, long dRight, int leftIn,
                                  int rightIn, MemorySegment core, long coreOffset, MemorySegment matrix,
                                  long matrixOffset) {
        try {
            return (int) tl_mpo_core_matrix.invokeExact(stream, dLeft, i, j, dRight, leftIn, rightIn, core, coreOffset,
                    matrix, matrixOffset);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_mpo_deinterleave(MemorySegment stream, int cores, MemorySegment rowFactors,
                                   MemorySegment colFactors, MemorySegment interleaved, long interleavedOffset,
                                   MemorySegment w, long wOffset, long ldw) {
        try {
            return (int) tl_mpo_deinterleave.invokeExact(stream, cores, rowFactors, colFactors, interleaved,
                    interleavedOffset, w, wOffset, ldw);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }
}
