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
 * <p>Scalar and vector implementations exist; the cuda one ({@code quant.cuda.CudaQuantKernels}, with
 * {@code include/tensorloom_quant.h}, {@code src/qmatmul.cu} and the binding class {@code TensorloomQuant}) is
 * not written yet: the first session spent its time on the formats, GPTQ and the CPU kernels and had no GPU to
 * time a CUDA kernel. Until it exists, on the cuda backend {@code FAMILY.on} fails with an exception naming
 * that class.
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
