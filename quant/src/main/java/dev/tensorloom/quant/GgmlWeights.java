package dev.tensorloom.quant;

import java.util.Objects;

/**
 * A matrix b [k, n] in one of ggml's block formats, stored as ggml stores a weight tensor with ne0 = k: n rows
 * (one per output channel) of k/blockSize blocks, back to back, exactly the bytes of a GGUF tensor or of the
 * ggml anchor's {@code quantize} output. The kernels read the blocks directly; {@link #dequantizeRow} is ggml's
 * {@code dequantize_row_*}, for the oracle and tests.
 */
public final class GgmlWeights implements QuantizedWeights {

    private final GgmlType type;
    private final int k;
    private final int n;
    private final int rowBytes;
    private final byte[] data;

    /** Wraps ggml's bytes for n rows of k weights (not copied). */
    public GgmlWeights(GgmlType type, int k, int n, byte[] data) {
        this.type = Objects.requireNonNull(type, "type");
        this.rowBytes = type.rowBytes(k);
        if (n < 1) {
            throw new IllegalArgumentException("n must be positive, got " + n);
        }
        if (data.length != (long) rowBytes * n) {
            throw new IllegalArgumentException(type + " " + k + "x" + n + " takes " + (long) rowBytes * n
                    + " bytes, got " + data.length);
        }
        this.k = k;
        this.n = n;
        this.data = data;
    }

    public GgmlType type() {
        return type;
    }

    /** k: input channels (ggml's ne0). */
    public int rows() {
        return k;
    }

    /** n: output channels (ggml's ne1). */
    public int cols() {
        return n;
    }

    public int rowBytes() {
        return rowBytes;
    }

    /** The blocks, n rows of {@link #rowBytes()}; the kernels' view, not to be changed. */
    public byte[] data() {
        return data;
    }

    public long bytes() {
        return data.length;
    }

    /** Output channel j's k weights into out[at ..], as ggml's {@code dequantize_row_*} computes them. */
    public void dequantizeRow(int j, float[] out, int at) {
        for (int block = 0; block < k / type.blockSize(); block++) {
            dequantizeBlock(j, block, out, at + block * type.blockSize());
        }
    }

    /** Block {@code block} of output channel j (blockSize weights) into out[y ..], as ggml computes them. */
    public void dequantizeBlock(int j, int block, float[] out, int y) {
        Objects.checkIndex(j, n);
        Objects.checkIndex(block, k / type.blockSize());
        int o = j * rowBytes + block * type.blockBytes();
        switch (type) {
            case Q4_0 -> {
                float d = fp16(data, o);
                for (int l = 0; l < 16; l++) {
                    int q = data[o + 2 + l] & 0xFF;
                    out[y + l] = ((q & 0xF) - 8) * d;
                    out[y + l + 16] = ((q >>> 4) - 8) * d;
                }
            }
            case Q8_0 -> {
                float d = fp16(data, o);
                for (int l = 0; l < 32; l++) {
                    out[y + l] = data[o + 2 + l] * d;
                }
            }
            case Q4_K -> dequantizeQ4K(o, out, y);
            case Q6_K -> dequantizeQ6K(o, out, y);
        }
    }

    /** ggml's dequantize_row_q4_K for one block at byte o. */
    private void dequantizeQ4K(int o, float[] out, int y) {
        float d = fp16(data, o);
        float min = fp16(data, o + 2);
        int scales = o + 4;
        int q = o + 16;
        for (int j = 0, is = 0; j < 256; j += 64, is += 2, q += 32) {
            float d1 = d * q4kScale(data, scales, is);
            float m1 = min * q4kMin(data, scales, is);
            float d2 = d * q4kScale(data, scales, is + 1);
            float m2 = min * q4kMin(data, scales, is + 1);
            for (int l = 0; l < 32; l++) {
                out[y + j + l] = d1 * (data[q + l] & 0xF) - m1;
            }
            for (int l = 0; l < 32; l++) {
                out[y + j + 32 + l] = d2 * ((data[q + l] & 0xFF) >>> 4) - m2;
            }
        }
    }

    /** ggml's get_scale_min_k4: the 6-bit scale of Q4_K sub-block j, from the 12 scale bytes at data[scales]. */
    public static int q4kScale(byte[] data, int scales, int j) {
        return j < 4 ? data[scales + j] & 63
                : (data[scales + j + 4] & 0xF) | ((data[scales + j - 4] & 0xFF) >>> 6) << 4;
    }

    /** ggml's get_scale_min_k4: the 6-bit min of Q4_K sub-block j. */
    public static int q4kMin(byte[] data, int scales, int j) {
        return j < 4 ? data[scales + j + 4] & 63
                : ((data[scales + j + 4] & 0xFF) >>> 4) | ((data[scales + j] & 0xFF) >>> 6) << 4;
    }

    /** ggml's dequantize_row_q6_K for one block at byte o. */
    private void dequantizeQ6K(int o, float[] out, int y) {
        float d = fp16(data, o + 208);
        int ql = o;
        int qh = o + 128;
        int sc = o + 192;
        for (int n0 = 0; n0 < 256; n0 += 128, ql += 64, qh += 32, sc += 8) {
            for (int l = 0; l < 32; l++) {
                int is = l / 16;
                int h = data[qh + l] & 0xFF;
                int q1 = ((data[ql + l] & 0xF) | (h & 3) << 4) - 32;
                int q2 = ((data[ql + l + 32] & 0xF) | (h >>> 2 & 3) << 4) - 32;
                int q3 = ((data[ql + l] & 0xFF) >>> 4 | (h >>> 4 & 3) << 4) - 32;
                int q4 = ((data[ql + l + 32] & 0xFF) >>> 4 | (h >>> 6 & 3) << 4) - 32;
                out[y + n0 + l] = d * data[sc + is] * q1;
                out[y + n0 + l + 32] = d * data[sc + is + 2] * q2;
                out[y + n0 + l + 64] = d * data[sc + is + 4] * q3;
                out[y + n0 + l + 96] = d * data[sc + is + 6] * q4;
            }
        }
    }

    /** The little-endian fp16 at data[o]. */
    public static float fp16(byte[] data, int o) {
        return Float.float16ToFloat((short) (data[o] & 0xFF | data[o + 1] << 8));
    }

    @Override
    public String toString() {
        return "GgmlWeights[" + k + "x" + n + ", " + type + "]";
    }
}
