package dev.tensorloom.quant;

import dev.tensorloom.runtime.kernel.KernelFamily;
import dev.tensorloom.runtime.tensor.Tensor;

/**
 * Dequantizing matrix products: the quant kernel family. The weights stay in their packed form
 * ({@link PackedWeights}, or ggml's blocks, {@link GgmlWeights}); no implementation ever forms a full-precision
 * copy of the matrix (a GEMM may dequantize a few output channels at a time into small scratch). Operands are
 * fp32 tensors with unit column stride, placed where the backend computes; every implementation checks them with
 * {@link QuantShapes}, so all fail with the same message.
 *
 * <p>Three implementations: the float64 oracle ({@link ScalarQuantKernels}), Vector API kernels
 * ({@code quant.vector.VectorQuantKernels}) and CUDA kernels ({@code quant.cuda.CudaQuantKernels}, over
 * {@code include/tensorloom_quant.h} and {@code src/qmatmul.cu} through the binding class {@code TensorloomQuant};
 * it uploads each weight matrix once and keeps it on the device while the weights are reachable).
 *
 * <p>What each computes. The oracle sums x·ŵ in float64 with x as given. The float kernels (cuda, and vector
 * where {@link #gemvInputBlock} is 0) sum in float32. The vector GEMV over 4- and 2-bit groups of 128, or one group
 * per channel with k a multiple of 128, first rounds x to int8, as ggml and Jlama do before their integer dot
 * products: in blocks of B = 128 consecutive values ({@link #gemvInputBlock}), each with
 * the scale s_x = max|x|/127 and q = round(x/s_x), so the product is exact integer sums Σ q·u scaled by s·s_x.
 * It then differs from the oracle by x's rounding too: at most Σ_blocks (s_x/2)·Σ_block |ŵ| per output, beside
 * the float rounding (a block whose x holds NaN or an infinity leaves the whole call to the float kernel).
 */
public interface QuantKernels {

    /** The family's implementations, by backend; {@code FAMILY.on(backend)} loads the one that backend needs. */
    KernelFamily<QuantKernels> FAMILY = new KernelFamily<>(QuantKernels.class,
            "dev.tensorloom.quant.ScalarQuantKernels",
            "dev.tensorloom.quant.vector.VectorQuantKernels",
            "dev.tensorloom.quant.cuda.CudaQuantKernels");

    /** y = x·b for one input (batch 1): x [k] and y [n] contiguous vectors, b [k, n] packed. */
    void gemv(Tensor x, PackedWeights b, Tensor y);

    /**
     * The length B of the blocks of x that {@link #gemv(Tensor, PackedWeights, Tensor)} rounds to int8 (one scale
     * max|x|/127 per block) before multiplying by b, or 0 when it multiplies x as given; 0 unless an implementation
     * says otherwise.
     */
    default int gemvInputBlock(PackedWeights b) {
        return 0;
    }

    /** c = a·b: a [m, k], c [m, n], b [k, n] packed. */
    void gemm(Tensor a, PackedWeights b, Tensor c);

    /** y = x·b for one input, b [k, n] in ggml blocks (n rows of k weights, as ggml stores it). */
    void gemv(Tensor x, GgmlWeights b, Tensor y);

    /** c = a·b, b [k, n] in ggml blocks. */
    void gemm(Tensor a, GgmlWeights b, Tensor c);
}
