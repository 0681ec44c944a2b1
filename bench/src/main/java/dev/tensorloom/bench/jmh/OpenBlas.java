package dev.tensorloom.bench.jmh;

import static org.bytedeco.openblas.global.openblas_nolapack.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas_nolapack.blas_get_num_threads;
import static org.bytedeco.openblas.global.openblas_nolapack.blas_set_num_threads;
import static org.bytedeco.openblas.global.openblas_nolapack.cblas_sgemm;

import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.openblas.global.openblas_nolapack;

/**
 * OpenBLAS, the GEMM peer, through JavaCPP's preset (org.bytedeco:openblas, its BLAS-only library). The
 * preset binds cblas_sgemm and the thread count but not {@code openblas_get_corename}, which says which
 * kernels OpenBLAS's run-time dispatch picked (OPENBLAS_CORETYPE=Haswell forces its AVX2 ones); that one
 * is called through java.lang.foreign at the address JavaCPP resolves.
 */
final class OpenBlas {

    private OpenBlas() {
    }

    /** Sets OpenBLAS's thread count and fails unless it took. */
    static void useThreads(int threads) {
        Loader.load(openblas_nolapack.class);
        blas_set_num_threads(threads);
        if (blas_get_num_threads() != threads) {
            throw new IllegalStateException("OpenBLAS runs " + blas_get_num_threads() + " threads, not " + threads
                    + " (is OPENBLAS_NUM_THREADS lower, or is this not OpenBLAS?)");
        }
    }

    /** The kernels OpenBLAS dispatched to on this CPU, e.g. "Cooperlake", "Zen" or "Haswell". */
    static String coreName() {
        Loader.load(openblas_nolapack.class);
        Pointer function = Loader.addressof("openblas_get_corename");
        if (function == null) {
            throw new IllegalStateException("the loaded BLAS has no openblas_get_corename: it is not OpenBLAS");
        }
        try {
            var corename = Linker.nativeLinker().downcallHandle(MemorySegment.ofAddress(function.address()),
                    FunctionDescriptor.of(ValueLayout.ADDRESS));
            MemorySegment name = (MemorySegment) corename.invokeExact();
            return name.reinterpret(Long.MAX_VALUE).getString(0);
        } catch (Throwable e) {
            throw new IllegalStateException("openblas_get_corename failed", e);
        }
    }

    /** c = a·b with cblas_sgemm, row-major, on the tensors' own memory (rows leadingDim apart). */
    static void sgemm(Tensor a, Tensor b, Tensor c) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, a.rows(), b.cols(), a.cols(), 1f, floats(a),
                a.leadingDim(), floats(b), b.leadingDim(), 0f, floats(c), c.leadingDim());
    }

    /** A pointer to the tensor's first element, over its memory (no copy). */
    static FloatPointer floats(Tensor t) {
        if (t.cols() > 0 && t.stride(1) != 1) {
            throw new IllegalArgumentException("cblas_sgemm needs unit column stride, got " + t);
        }
        long first = t.offset() * Float.BYTES;
        long extent = ((long) (t.rows() - 1) * t.leadingDim() + t.cols()) * Float.BYTES;
        MemorySegment span = t.segment().asSlice(first, extent);
        return new FloatPointer(span.asByteBuffer().order(ByteOrder.nativeOrder()).asFloatBuffer());
    }
}
