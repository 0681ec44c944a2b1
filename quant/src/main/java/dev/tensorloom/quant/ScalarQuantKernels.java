package dev.tensorloom.quant;

import dev.tensorloom.runtime.kernel.ScalarBackend;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.ValueLayout;
import java.util.Objects;

/**
 * The oracle: plain loops on one thread that read each weight by the format's definition, ŵ = s·(u - z)
 * ({@link PackedWeights#value}) or ggml's {@code dequantize_row_*} ({@link GgmlWeights#dequantizeRow}), and sum
 * in float64, rounding once to float at the end. Every other
 * implementation is tested against it.
 */
public final class ScalarQuantKernels implements QuantKernels {

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    public ScalarQuantKernels(ScalarBackend backend) {
        Objects.requireNonNull(backend, "backend");
    }

    @Override
    public void gemv(Tensor x, PackedWeights b, Tensor y) {
        QuantShapes.gemv(x, b, y);
        for (int j = 0; j < b.cols(); j++) {
            double sum = 0;
            for (int p = 0; p < b.rows(); p++) {
                sum += (double) x.segment().getAtIndex(F, x.offset() + p) * b.value(p, j);
            }
            y.segment().setAtIndex(F, y.offset() + j, (float) sum);
        }
    }

    @Override
    public void gemm(Tensor a, PackedWeights b, Tensor c) {
        QuantShapes.gemm(a, b, c);
        for (int i = 0; i < a.rows(); i++) {
            long aRow = a.offset() + (long) i * a.leadingDim();
            long cRow = c.offset() + (long) i * c.leadingDim();
            for (int j = 0; j < b.cols(); j++) {
                double sum = 0;
                for (int p = 0; p < b.rows(); p++) {
                    sum += (double) a.segment().getAtIndex(F, aRow + p) * b.value(p, j);
                }
                c.segment().setAtIndex(F, cRow + j, (float) sum);
            }
        }
    }

    @Override
    public void gemv(Tensor x, GgmlWeights b, Tensor y) {
        QuantShapes.gemv(x, b, y);
        float[] w = new float[b.rows()];
        for (int j = 0; j < b.cols(); j++) {
            b.dequantizeRow(j, w, 0);
            double sum = 0;
            for (int p = 0; p < b.rows(); p++) {
                sum += (double) x.segment().getAtIndex(F, x.offset() + p) * w[p];
            }
            y.segment().setAtIndex(F, y.offset() + j, (float) sum);
        }
    }

    /** One output channel dequantized at a time (k floats), never the matrix. */
    @Override
    public void gemm(Tensor a, GgmlWeights b, Tensor c) {
        QuantShapes.gemm(a, b, c);
        float[] w = new float[b.rows()];
        for (int j = 0; j < b.cols(); j++) {
            b.dequantizeRow(j, w, 0);
            for (int i = 0; i < a.rows(); i++) {
                long aRow = a.offset() + (long) i * a.leadingDim();
                double sum = 0;
                for (int p = 0; p < b.rows(); p++) {
                    sum += (double) a.segment().getAtIndex(F, aRow + p) * w[p];
                }
                c.segment().setAtIndex(F, c.offset() + (long) i * c.leadingDim() + j, (float) sum);
            }
        }
    }
}
