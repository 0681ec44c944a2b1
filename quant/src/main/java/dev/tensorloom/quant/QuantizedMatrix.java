package dev.tensorloom.quant;

import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.MatrixPreparer;
import dev.tensorloom.runtime.kernel.PreparedMatrix;
import dev.tensorloom.runtime.kernel.Shapes;
import dev.tensorloom.runtime.tensor.Tensor;
import java.util.Objects;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * A layer's weight matrix in a low-bit packed form that multiplies itself with the quant family's kernels for
 * one backend, so a transformer layer takes it as it takes a dense one: a batch of one row goes through the
 * GEMV, anything larger through the GEMM. It holds only the packed form: {@link #bytes()} is what the codes,
 * scales and zero points take.
 */
public final class QuantizedMatrix implements PreparedMatrix {

    private final QuantizedWeights weights;
    private final QuantKernels kernels;

    public QuantizedMatrix(QuantizedWeights weights, QuantKernels kernels) {
        this.weights = Objects.requireNonNull(weights, "weights");
        this.kernels = Objects.requireNonNull(kernels, "kernels");
    }

    /**
     * A preparer that rounds every weight matrix to {@code format} (RTN) and multiplies with the quant kernels
     * of {@code backend}. The weights must be finite, and their rows a multiple of the format's group size.
     */
    public static MatrixPreparer rtn(Backend backend, GroupFormat format) {
        Objects.requireNonNull(format, "format");
        return preparer(backend, weight -> Rtn.quantize(weight, format));
    }

    /**
     * A preparer that writes every weight matrix in ggml's {@code type} (Q4_0 or Q8_0, bit-exact with ggml's
     * quantizer) and multiplies with the quant kernels of {@code backend}.
     */
    public static MatrixPreparer ggml(Backend backend, GgmlType type) {
        Objects.requireNonNull(type, "type");
        return preparer(backend, weight -> GgmlQuantizer.quantize(weight, type));
    }

    /**
     * A preparer that quantizes every weight matrix to {@code format} by GPTQ against the calibration Hessian of
     * its name (collected with {@link Hessian#collecting}), and multiplies with the quant kernels of
     * {@code backend}. A matrix without a Hessian is refused by name.
     */
    public static MatrixPreparer gptq(Backend backend, GroupFormat format, Gptq.Options options,
            Map<String, Hessian> hessians) {
        Objects.requireNonNull(format, "format");
        Objects.requireNonNull(options, "options");
        QuantKernels kernels = QuantKernels.FAMILY.on(backend);
        return (name, weight, arena) -> {
            Hessian h = hessians.get(name);
            if (h == null) {
                throw new IllegalArgumentException(name + ": no calibration Hessian (collected for " + hessians.keySet()
                        + ")");
            }
            return named(name, () -> new QuantizedMatrix(Gptq.quantize(weight, h, format, options), kernels));
        };
    }

    /** A preparer that quantizes each matrix with {@code quantizer}; a refusal names the matrix. */
    private static MatrixPreparer preparer(Backend backend, Function<Tensor, QuantizedWeights> quantizer) {
        QuantKernels kernels = QuantKernels.FAMILY.on(backend);
        return (name, weight, arena) -> named(name, () -> new QuantizedMatrix(quantizer.apply(weight), kernels));
    }

    private static QuantizedMatrix named(String name, Supplier<QuantizedMatrix> make) {
        try {
            return make.get();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(name + ": " + e.getMessage(), e);
        }
    }

    public QuantizedWeights weights() {
        return weights;
    }

    @Override
    public int rows() {
        return weights.rows();
    }

    @Override
    public int cols() {
        return weights.cols();
    }

    @Override
    public void multiply(Tensor a, Tensor c) {
        Shapes.matmul(a, this, c);
        switch (weights) {
            case PackedWeights packed when a.rows() == 1 -> kernels.gemv(a.row(0), packed, c.row(0));
            case PackedWeights packed -> kernels.gemm(a, packed, c);
            case GgmlWeights blocks when a.rows() == 1 -> kernels.gemv(a.row(0), blocks, c.row(0));
            case GgmlWeights blocks -> kernels.gemm(a, blocks, c);
        }
    }

    @Override
    public long bytes() {
        return weights.bytes();
    }

    /** The packed codes are this matrix's own; the fp32 matrix it was quantized from is not read again. */
    @Override
    public boolean readsSource() {
        return false;
    }

    @Override
    public String toString() {
        return "QuantizedMatrix[" + weights + "]";
    }
}
