package dev.tensorloom.quant;

import dev.tensorloom.runtime.kernel.ScalarBackend;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.ValueLayout;
import java.util.Objects;

/**
 * The oracle: plain loops on one thread. Each output channel's k weights are read by the format's definition,
 * ŵ = s·(u - z) ({@link PackedWeights#value}) or ggml's {@code dequantize_row_*}
 * ({@link GgmlWeights#dequantizeRow}), one channel at a time (never the whole matrix), and every product is
 * summed in float64 and rounded once to float. Every other implementation is tested against it; a GEMV is the
 * GEMM of one row.
 */
public final class ScalarQuantKernels implements QuantKernels {

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /** Writes output channel j's weights ŵ(0..k-1, j) into w. */
    @FunctionalInterface
    private interface Channel {
        void read(int j, float[] w);
    }

    public ScalarQuantKernels(ScalarBackend backend) {
        Objects.requireNonNull(backend, "backend");
    }

    @Override
    public void gemv(Tensor x, PackedWeights b, Tensor y) {
        QuantShapes.gemv(x, b, y);
        multiply(x.reshape(1, b.rows()), b, channels(b), y.reshape(1, b.cols()));
    }

    @Override
    public void gemm(Tensor a, PackedWeights b, Tensor c) {
        QuantShapes.gemm(a, b, c);
        multiply(a, b, channels(b), c);
    }

    @Override
    public void gemv(Tensor x, GgmlWeights b, Tensor y) {
        QuantShapes.gemv(x, b, y);
        multiply(x.reshape(1, b.rows()), b, (j, w) -> b.dequantizeRow(j, w, 0), y.reshape(1, b.cols()));
    }

    @Override
    public void gemm(Tensor a, GgmlWeights b, Tensor c) {
        QuantShapes.gemm(a, b, c);
        multiply(a, b, (j, w) -> b.dequantizeRow(j, w, 0), c);
    }

    private static Channel channels(PackedWeights b) {
        return (j, w) -> {
            for (int p = 0; p < w.length; p++) {
                w[p] = b.value(p, j);
            }
        };
    }

    /** c[i, j] = Σ_p a[i, p]·ŵ(p, j) in float64. */
    private static void multiply(Tensor a, QuantizedWeights b, Channel channel, Tensor c) {
        int k = b.rows();
        float[] w = new float[k];
        for (int j = 0; j < b.cols(); j++) {
            channel.read(j, w);
            for (int i = 0; i < a.rows(); i++) {
                long aRow = a.offset() + (long) i * a.leadingDim();
                double sum = 0;
                for (int p = 0; p < k; p++) {
                    sum += (double) a.segment().getAtIndex(F, aRow + p) * w[p];
                }
                c.segment().setAtIndex(F, c.offset() + (long) i * c.leadingDim() + j, (float) sum);
            }
        }
    }
}
