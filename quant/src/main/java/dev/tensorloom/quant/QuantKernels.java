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
 */
public interface QuantKernels {

    /** The family's implementations, by backend; {@code FAMILY.on(backend)} loads the one that backend needs. */
    KernelFamily<QuantKernels> FAMILY = new KernelFamily<>(QuantKernels.class,
            "dev.tensorloom.quant.ScalarQuantKernels",
            "dev.tensorloom.quant.vector.VectorQuantKernels",
            "dev.tensorloom.quant.cuda.CudaQuantKernels");

    /** y = x·b for one input (batch 1): x [k] and y [n] contiguous vectors, b [k, n] packed. */
    void gemv(Tensor x, PackedWeights b, Tensor y);

    /** c = a·b: a [m, k], c [m, n], b [k, n] packed. */
    void gemm(Tensor a, PackedWeights b, Tensor c);

    /** y = x·b for one input, b [k, n] in ggml blocks (n rows of k weights, as ggml stores it). */
    void gemv(Tensor x, GgmlWeights b, Tensor y);

    /** c = a·b, b [k, n] in ggml blocks. */
    void gemm(Tensor a, GgmlWeights b, Tensor c);
}
