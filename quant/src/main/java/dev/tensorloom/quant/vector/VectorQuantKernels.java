package dev.tensorloom.quant.vector;

import dev.tensorloom.quant.GgmlWeights;
import dev.tensorloom.quant.PackedWeights;
import dev.tensorloom.quant.QuantKernels;
import dev.tensorloom.quant.QuantShapes;
import dev.tensorloom.runtime.kernel.Parallelism;
import dev.tensorloom.runtime.kernel.Tasks;
import dev.tensorloom.runtime.kernel.vector.VectorBackend;
import dev.tensorloom.runtime.tensor.Tensor;

/**
 * The quant family in Vector API code on the vector backend's threads: GEMV decodes the packed codes in
 * registers ({@link QuantGemv}, {@link BlockGemv}; 4- and 2-bit groups in 16-bit integer lanes against x rounded
 * to int8, {@link IntegerGemv}); GEMM decodes b into panels that the dense GEMM's micro-kernel multiplies
 * ({@link QuantGemm}). Whether a call spreads over the threads is {@link Tasks}'s decision.
 */
public final class VectorQuantKernels implements QuantKernels {

    private final Parallelism parallelism;

    public VectorQuantKernels(VectorBackend backend) {
        this.parallelism = backend.parallelism();
    }

    @Override
    public void gemv(Tensor x, PackedWeights b, Tensor y) {
        QuantShapes.gemv(x, b, y);
        QuantGemv.multiply(x, b, y, Tasks.forMultiplyAdds(parallelism, (long) b.rows() * b.cols(), x, y));
    }

    /** 4- and 2-bit groups of 128, and per channel over whole blocks of 128: {@link IntegerGemv}. */
    @Override
    public int gemvInputBlock(PackedWeights b) {
        return IntegerGemv.applies(b) ? IntegerGemv.BLOCK : 0;
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
        BlockGemv.multiply(x, b, y, Tasks.forMultiplyAdds(parallelism, (long) b.rows() * b.cols(), x, y));
    }

    @Override
    public void gemm(Tensor a, GgmlWeights b, Tensor c) {
        QuantShapes.gemm(a, b, c);
        QuantGemm.multiply(a, b.rows(), b.cols(), (j, from, to, out, at) -> GgmlRows.dequantize(b, j, from, to, out, at),
                GgmlRows.panels(b), c, Tasks.forMultiplyAdds(parallelism, (long) a.rows() * b.rows() * b.cols(), a, c));
    }
}
