package dev.tensorloom.quant;

import dev.tensorloom.runtime.kernel.Shapes;
import dev.tensorloom.runtime.tensor.Tensor;

/**
 * ggml's reference quantizers for Q4_0 and Q8_0 ({@code quantize_row_q4_0_ref}, {@code quantize_row_q8_0_ref},
 * what {@code ggml_quantize_chunk} and llama-quantize run without an importance matrix), written to give the
 * same bytes: the same float32 operations in the same order, fp16 rounded to nearest even, C's truncating
 * {@code (int8_t)} cast and its {@code roundf} (half away from zero).
 */
public final class GgmlQuantizer {

    private GgmlQuantizer() {
    }

    /** b [k, n] (host) in {@code type}: row j of the result is column j of b. */
    public static GgmlWeights quantize(Tensor b, GgmlType type) {
        Shapes.requireMatrix(b, "weight");
        int k = b.rows();
        int n = b.cols();
        float[] rows = new float[k * n];
        for (int p = 0; p < k; p++) {
            for (int j = 0; j < n; j++) {
                rows[j * k + p] = b.get(p, j);
            }
        }
        return new GgmlWeights(type, k, n, quantizeRows(type, rows, n, k));
    }

    /** {@code rows} rows of {@code cols} floats, row-major (ggml's ne0 = cols), as ggml's quantizer writes them. */
    public static byte[] quantizeRows(GgmlType type, float[] x, int rows, int cols) {
        int rowBytes = type.rowBytes(cols);
        if (x.length != (long) rows * cols) {
            throw new IllegalArgumentException(rows + "x" + cols + " values expected, got " + x.length);
        }
        for (int i = 0; i < x.length; i++) {
            if (!Float.isFinite(x[i])) {
                throw new IllegalArgumentException("value (" + i / cols + ", " + i % cols + ") is " + x[i]
                        + "; only finite values can be quantized");
            }
        }
        byte[] out = new byte[rows * rowBytes];
        int blocks = rows * (cols / 32);
        for (int i = 0; i < blocks; i++) {
            switch (type) {
                case Q4_0 -> q4_0(x, i * 32, out, i * 18);
                case Q8_0 -> q8_0(x, i * 32, out, i * 34);
                default -> throw new UnsupportedOperationException("no quantizer for " + type + ", only Q4_0 and Q8_0");
            }
        }
        return out;
    }

    private static void q4_0(float[] x, int from, byte[] y, int o) {
        float amax = 0;
        float max = 0;
        for (int j = 0; j < 32; j++) {
            float v = x[from + j];
            if (amax < Math.abs(v)) {
                amax = Math.abs(v);
                max = v;
            }
        }
        float d = max / -8;
        float id = d != 0 ? 1.0f / d : 0.0f;
        putFp16(y, o, d);
        for (int j = 0; j < 16; j++) {
            float x0 = x[from + j] * id;
            float x1 = x[from + 16 + j] * id;
            int xi0 = Math.min(15, int8(x0 + 8.5f));
            int xi1 = Math.min(15, int8(x1 + 8.5f));
            y[o + 2 + j] = (byte) (xi0 | xi1 << 4);
        }
    }

    private static void q8_0(float[] x, int from, byte[] y, int o) {
        float amax = 0;
        for (int j = 0; j < 32; j++) {
            float a = Math.abs(x[from + j]);
            amax = amax > a ? amax : a; // C's MAX(amax, fabsf(v))
        }
        float d = amax / ((1 << 7) - 1);
        float id = d != 0 ? 1.0f / d : 0.0f;
        putFp16(y, o, d);
        for (int j = 0; j < 32; j++) {
            y[o + 2 + j] = (byte) roundf(x[from + j] * id);
        }
    }

    /** C's (int8_t) of a float in range: truncation toward zero. */
    private static int int8(float v) {
        return (byte) (int) v;
    }

    /** C's roundf: to nearest, halves away from zero (exact in double for any float). */
    static float roundf(float v) {
        double r = Math.floor(Math.abs((double) v) + 0.5);
        return (float) Math.copySign(r, v);
    }

    private static void putFp16(byte[] y, int o, float v) {
        short h = Float.floatToFloat16(v);
        y[o] = (byte) h;
        y[o + 1] = (byte) (h >>> 8);
    }
}
