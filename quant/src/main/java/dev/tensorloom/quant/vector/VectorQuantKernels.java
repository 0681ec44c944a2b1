package dev.tensorloom.quant.vector;

import dev.tensorloom.quant.GgmlType;
import dev.tensorloom.quant.GgmlWeights;
import dev.tensorloom.quant.PackedWeights;
import dev.tensorloom.quant.QuantKernels;
import dev.tensorloom.quant.QuantShapes;
import dev.tensorloom.runtime.kernel.Parallelism;
import dev.tensorloom.runtime.kernel.Tasks;
import dev.tensorloom.runtime.kernel.vector.Rows;
import dev.tensorloom.runtime.kernel.vector.VectorBackend;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The quant family in Vector API code on the vector backend's threads: GEMV decodes the packed codes in
 * registers ({@link QuantGemv}, {@link GgmlRows}); GEMM dequantizes a panel of output channels at a time into
 * scratch ({@link QuantGemm}). Whether a call spreads over the threads is {@link Tasks}'s decision.
 */
public final class VectorQuantKernels implements QuantKernels {

    /** TEMPORARY: the previous kernels, for a side-by-side JMH comparison. */
    public static volatile boolean legacy;

    private final Parallelism parallelism;

    public VectorQuantKernels(VectorBackend backend) {
        this.parallelism = backend.parallelism();
    }

    @Override
    public void gemv(Tensor x, PackedWeights b, Tensor y) {
        QuantShapes.gemv(x, b, y);
        QuantGemv.multiply(x, b, y, Tasks.forMultiplyAdds(parallelism, (long) b.rows() * b.cols(), x, y));
    }

    @Override
    public void gemm(Tensor a, PackedWeights b, Tensor c) {
        QuantShapes.gemm(a, b, c);
        QuantGemm.multiply(a, b, c,
                Tasks.forMultiplyAdds(parallelism, (long) a.rows() * b.rows() * b.cols(), a, c));
    }

    @Override
    public void gemv(Tensor x, GgmlWeights b, Tensor y) {
        QuantShapes.gemv(x, b, y);
        Tasks tasks = Tasks.forMultiplyAdds(parallelism, (long) b.rows() * b.cols(), x, y);
        int n = b.cols();
        int chunks = Math.min(n, 2 * tasks.threads());
        int perChunk = Math.ceilDiv(n, chunks);
        MemorySegment ys = y.segment();
        if (!legacy) {
            BlockGemv.Input in = BlockGemv.Input.of(b, x.segment(), Rows.start(x));
            long y0 = Rows.start(y);
            tasks.forEach(Math.ceilDiv(n, perChunk), chunk -> {
                int end = Math.min(n, (chunk + 1) * perChunk);
                for (int j = chunk * perChunk; j < end; j += 2) {
                    BlockGemv.dot2(b, in, j, Math.min(j + 1, end - 1), ys, y0);
                }
            });
            return;
        }
        tasks.forEach(Math.ceilDiv(n, perChunk), chunk -> {
            float[] block = new float[256];
            int end = Math.min(n, (chunk + 1) * perChunk);
            for (int j = chunk * perChunk; j < end; j++) {
                ys.set(ValueLayout.JAVA_FLOAT_UNALIGNED, Rows.start(y) + (long) j * Float.BYTES,
                        GgmlRows.dot(b, j, x.segment(), Rows.start(x), block));
            }
        });
    }

    @Override
    public void gemm(Tensor a, GgmlWeights b, Tensor c) {
        QuantShapes.gemm(a, b, c);
        QuantGemm.multiply(a, b.rows(), b.cols(), (j, scratch, at) -> GgmlRows.dequantize(b, j, scratch, at), c,
                Tasks.forMultiplyAdds(parallelism, (long) a.rows() * b.rows() * b.cols(), a, c));
    }
}
