package dev.tensorloom.quant.vector;

import static dev.tensorloom.runtime.kernel.vector.Simd.L;

import dev.tensorloom.quant.GgmlType;
import dev.tensorloom.quant.GgmlWeights;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * One output channel of ggml blocks dequantized into the GEMM's scratch ({@link BlockGemv} is the GEMV). Q4_0 and
 * Q8_0 are decoded the way llama3.java reads them: a block's bytes widened to int lanes (Q4_0: low nibbles are
 * weights 0..15, high nibbles 16..31), minus the offset, times d. Q4_K and Q6_K are decoded in vectors too, with
 * ggml's float operations in ggml's order, so the scratch holds exactly what
 * {@code dequantize_row_q4_K}/{@code _q6_K} would.
 */
final class GgmlRows {

    private static final VectorSpecies<Byte> BS =
            VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, L * Byte.SIZE)));
    /** With 4 lanes the narrowest byte vector is 8 bytes: load only its first 4 (a block may end there). */
    private static final VectorMask<Byte> FIRST_L = BS.indexInRange(0, L);
    private static final boolean MASKED = BS.length() > L;

    private GgmlRows() {
    }

    /** L bytes at data[at] as int lanes, sign-extended. */
    static IntVector bytes(byte[] data, int at) {
        ByteVector v = MASKED ? ByteVector.fromArray(BS, data, at, FIRST_L) : ByteVector.fromArray(BS, data, at);
        return (IntVector) v.convertShape(VectorOperators.B2I, CodeDecoder.IS, 0);
    }

    private static FloatVector floats(IntVector v) {
        return (FloatVector) v.convert(VectorOperators.I2F, 0);
    }

    /**
     * Channel j's weights [from, to) into out[at ..]; from and to are block boundaries (k is whole blocks, so a
     * multiple of L: no tail).
     */
    static void dequantize(GgmlWeights b, int j, int from, int to, float[] out, int at) {
        byte[] data = b.data();
        GgmlType type = b.type();
        int size = type.blockSize();
        int o = j * b.rowBytes() + from / size * type.blockBytes();
        for (int i = from / size; i < to / size; i++, o += type.blockBytes()) {
            int y = at + i * size - from;
            switch (type) {
                case Q4_0 -> {
                    float d = GgmlWeights.fp16(data, o);
                    for (int t = 0; t < 16; t += L) {
                        IntVector q = bytes(data, o + 2 + t);
                        floats(q.and(0xF).sub(8)).mul(d).intoArray(out, y + t);
                        floats(q.lanewise(VectorOperators.LSHR, 4).and(0xF).sub(8)).mul(d).intoArray(out, y + 16 + t);
                    }
                }
                case Q8_0 -> {
                    float d = GgmlWeights.fp16(data, o);
                    for (int t = 0; t < 32; t += L) {
                        floats(bytes(data, o + 2 + t)).mul(d).intoArray(out, y + t);
                    }
                }
                default -> decodeK(type, data, o, out, y);
            }
        }
    }

    /** The Q4_K or Q6_K block at data[o] into out[y .. y+256), as ggml's dequantize_row_* computes it. */
    private static void decodeK(GgmlType type, byte[] data, int o, float[] out, int y) {
        if (type == GgmlType.Q4_K) {
            float d = GgmlWeights.fp16(data, o);
            float min = GgmlWeights.fp16(data, o + 2);
            int scales = o + 4;
            for (int j = 0, is = 0, q = o + 16; j < 256; j += 64, is += 2, q += 32) {
                float d1 = d * GgmlWeights.q4kScale(data, scales, is);
                float m1 = min * GgmlWeights.q4kMin(data, scales, is);
                float d2 = d * GgmlWeights.q4kScale(data, scales, is + 1);
                float m2 = min * GgmlWeights.q4kMin(data, scales, is + 1);
                for (int t = 0; t < 32; t += L) {
                    IntVector v = bytes(data, q + t);
                    floats(v.and(0xF)).mul(d1).sub(m1).intoArray(out, y + j + t);
                    floats(v.lanewise(VectorOperators.LSHR, 4).and(0xF)).mul(d2).sub(m2).intoArray(out, y + j + 32 + t);
                }
            }
        } else {
            float d = GgmlWeights.fp16(data, o + 208);
            for (int n0 = 0, ql = o, qh = o + 128, sc = o + 192; n0 < 256; n0 += 128, ql += 64, qh += 32, sc += 8) {
                for (int t = 0; t < 32; t += L) {
                    int is = t / 16;
                    IntVector lo = bytes(data, ql + t);
                    IntVector hi = bytes(data, ql + 32 + t);
                    IntVector h = bytes(data, qh + t);
                    six(lo.and(0xF), h, 0, d * data[sc + is]).intoArray(out, y + n0 + t);
                    six(hi.and(0xF), h, 2, d * data[sc + is + 2]).intoArray(out, y + n0 + 32 + t);
                    six(lo.lanewise(VectorOperators.LSHR, 4).and(0xF), h, 4, d * data[sc + is + 4])
                            .intoArray(out, y + n0 + 64 + t);
                    six(hi.lanewise(VectorOperators.LSHR, 4).and(0xF), h, 6, d * data[sc + is + 6])
                            .intoArray(out, y + n0 + 96 + t);
                }
            }
        }
    }

    /** (d·sc)·(q - 32) with q = low | ((h >> shift) & 3) << 4: one quarter of a Q6_K half-block. */
    private static FloatVector six(IntVector low, IntVector h, int shift, float dsc) {
        IntVector q = low.or(h.lanewise(VectorOperators.LSHR, shift).and(3).lanewise(VectorOperators.LSHL, 4)).sub(32);
        return floats(q).mul(dsc);
    }
}
