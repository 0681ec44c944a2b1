package dev.tensorloom.quant.vector;

import static dev.tensorloom.runtime.kernel.vector.Simd.L;
import static dev.tensorloom.runtime.kernel.vector.Simd.S;

import dev.tensorloom.quant.GgmlType;
import dev.tensorloom.quant.GgmlWeights;
import dev.tensorloom.runtime.kernel.vector.PanelGemm;
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
 * {@code dequantize_row_q4_K}/{@code _q6_K} would. With 16 lanes, Q4_0 and Q8_0 panels of the GEMM are decoded
 * straight from the blocks instead ({@link #panel16}).
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

    /** L bytes at data[at] as int lanes, zero-extended (0..255). */
    static IntVector unsignedBytes(byte[] data, int at) {
        ByteVector v = MASKED ? ByteVector.fromArray(BS, data, at, FIRST_L) : ByteVector.fromArray(BS, data, at);
        return (IntVector) v.convertShape(VectorOperators.ZERO_EXTEND_B2I, CodeDecoder.IS, 0);
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

    /**
     * The GEMM's panel decoder for Q4_0 and Q8_0 at 16 lanes, or null where the channel route serves (other types,
     * narrower vectors).
     */
    static QuantGemm.PanelDecoder panels(GgmlWeights b) {
        if (L != 16 || (b.type() != GgmlType.Q4_0 && b.type() != GgmlType.Q8_0)) {
            return null;
        }
        return new QuantGemm.PanelDecoder() {
            @Override
            public boolean takes(int kc) {
                return true; // k is whole blocks, and a depth block is a multiple of every block size
            }

            @Override
            public void decode(int j0, int pc, int kc, float[] panel, int at, QuantGemm.Scratch scratch) {
                panel16(b, j0, pc, kc, panel, at, scratch);
            }
        };
    }

    /**
     * Columns [j0, j0 + W) over rows [pc, pc + kc) of Q4_0 or Q8_0 blocks into panel rows as
     * {@link PanelGemm} reads them, as the group formats' panels are made: the 16 code bytes of 16 channels'
     * blocks transposed in registers ({@link QuantGemm#transposeUnit}), then per byte row the codes converted and
     * scaled with each lane's own d. Q4_0's (u - 8)·d is one FMA, u·d - 8d, exact (u·d fits in float's mantissa,
     * and so does the result), the high nibble masked in place as 16u times d/16; Q8_0's signed byte times d is
     * exact too, so the panels hold what ggml's dequantize_row_* writes. Channels past n repeat channel n - 1.
     */
    static void panel16(GgmlWeights b, int j0, int pc, int kc, float[] panel, int at, QuantGemm.Scratch scratch) {
        byte[] data = b.data();
        int n = b.cols();
        boolean q4 = b.type() == GgmlType.Q4_0;
        int blockBytes = b.type().blockBytes();
        int w = PanelGemm.PANEL_WIDTH;
        float[] lanes = scratch.lanes;
        int[] rows = scratch.rows;
        byte[] bytes = scratch.bytes;
        for (int v = 0; v < w; v += 16) {
            for (int t = 0; t < 16; t++) {
                rows[t] = Math.min(n - 1, j0 + v + t) * b.rowBytes();
            }
            for (int p = pc; p < pc + kc; p += 32) {
                int o = p / 32 * blockBytes;
                for (int t = 0; t < 16; t++) {
                    lanes[t] = GgmlWeights.fp16(data, rows[t] + o);
                }
                FloatVector d = FloatVector.fromArray(S, lanes, 0);
                int y0 = at + (p - pc) * w + v;
                if (q4) {
                    FloatVector offset = d.mul(-8f);
                    FloatVector d16 = d.mul(1f / 16);
                    QuantGemm.transposeUnit(data, rows, o + 2, bytes);
                    for (int r = 0; r < 16; r++) {
                        IntVector u = QuantGemm.row(bytes, r);
                        floats(u.and(0x0F)).fma(d, offset).intoArray(panel, y0 + r * w);
                        floats(u.and(0xF0)).fma(d16, offset).intoArray(panel, y0 + (16 + r) * w);
                    }
                } else {
                    for (int half = 0; half < 32; half += 16) {
                        QuantGemm.transposeUnit(data, rows, o + 2 + half, bytes);
                        for (int r = 0; r < 16; r++) {
                            floats(QuantGemm.row(bytes, r)).mul(d)
                                    .intoArray(panel, y0 + (half + r) * w);
                        }
                    }
                }
            }
        }
    }

    /**
     * The Q4_K or Q6_K block at data[o] into out[y .. y+256), as ggml's dequantize_row_* computes it. One method per
     * type: with both in one, C2's inlining budget ran out inside it and left vector helpers as calls that box.
     */
    private static void decodeK(GgmlType type, byte[] data, int o, float[] out, int y) {
        if (type == GgmlType.Q4_K) {
            decodeQ4K(data, o, out, y);
        } else {
            decodeQ6K(data, o, out, y);
        }
    }

    private static void decodeQ4K(byte[] data, int o, float[] out, int y) {
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
    }

    private static void decodeQ6K(byte[] data, int o, float[] out, int y) {
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

    /** (d·sc)·(q - 32) with q = low | ((h >> shift) & 3) << 4: one quarter of a Q6_K half-block. */
    private static FloatVector six(IntVector low, IntVector h, int shift, float dsc) {
        IntVector q = low.or(h.lanewise(VectorOperators.LSHR, shift).and(3).lanewise(VectorOperators.LSHL, 4)).sub(32);
        return ((FloatVector) q.convert(VectorOperators.I2F, 0)).mul(dsc);
    }
}
