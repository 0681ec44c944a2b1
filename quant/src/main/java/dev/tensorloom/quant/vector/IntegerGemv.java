package dev.tensorloom.quant.vector;

import static dev.tensorloom.runtime.kernel.vector.Simd.L;
import static dev.tensorloom.runtime.kernel.vector.Simd.S;

import dev.tensorloom.quant.PackedWeights;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The 4- and 2-bit GEMV in 16-bit integer lanes, for groups of 128 and for one group per channel (k a multiple of
 * 128): x is rounded to int8 once per call, in blocks of 128 values (the group) with one scale s_x = max|x|/127 per
 * block, as ggml and Jlama round x to int8 before their integer dot products. A run of 2L code bytes is widened
 * to 2L short lanes (zero-extended), multiplied whole and shifted against x's folded partners ({@link Input}), so
 * that each code meets its x partner without a mask, and summed there; once per block the 2L short sums go to int,
 * then float, and meet the scales in one FMA: y[j] = Σ_blocks s·s_x·(Σ q·u - z·Σ q), the zero point's part taken
 * against Σ q, as {@link UnitGemv} does against Σ x, or, for symmetric formats, in the short sums themselves, which
 * start from each block's -z·Σ q ({@link Input#centering}). x's partners are laid out by code byte, so the kernel
 * loads them as it loads the codes.
 *
 * <p>The short sums wrap, but their true totals fit a short lane, so they come out exact: a lane meets 8/w codes a
 * run (w the bits) and 16w/(2L) runs a block, 64/L products of |q·u| ≤ 127·(2^w - 1), at most 16 of 127·15 (4
 * bits, L = 4), 30,480 &lt; 2^15, and centered ones |q·(u - z)| ≤ 127·2^(w-1). The int sums are
 * exact, so the only error beside float rounding is x's rounding, at most (s_x/2)·(1 + 2^-14) per value (s_x and
 * 127/max|x| rounded to float, the product x·127/max|x| rounded once).
 *
 * <p>Measured against {@link UnitGemv}'s float loop (one thread, warm weights, the loaded 2-core Zen 4, best of
 * 4,000 calls, x's rounding included): 4 bits g128 at 16 lanes, 0.050 ms at 4096 × 256 where this one takes 0.038
 * (1.3x; per channel 1.36x; at 384 × 1536 and 1536 × 384 1.23x), at 8 lanes 1.5x; 2 bits g128 1.11x at 4096 × 256
 * and 1.22x at 384 × 1536 (16 lanes), 1.49x at 8 lanes, per channel 1.01x and 1.07x (the float loop is quicker per
 * channel at 2 bits: 0.039 ms). Why not more: the 4-bit loop with a block of 512 (no per-block work) took
 * 0.025 ms, so at 128 values a block's conversion, scales and zero correction cost about as much as its 64
 * multiply-adds; groups of 64 (twice the per-block work) measured 0.84x the float loop, so they stay there.
 * Sign-extended bytes (a second AND for the high nibble) cost 8%; short lanes half the float width (one
 * conversion per block instead of two) were no faster; the conversion written in a helper method was not inlined
 * and boxed its vectors (2.5x slower). The codes are not masked: x's partners are folded ({@link Input#fold}), so
 * a run multiplies the whole byte and its shifts, one operation in six fewer at 4 bits, three in fifteen at 2 bits.
 * That measured no faster while each thread's four streams were a page apart and 2 KiB long (543-577 µs against
 * 513-554 at 4096², 2 threads, cold, 2026-11-30); with one long stream per channel of a pass
 * ({@code QuantGemv.forEachPass}) it took the 4-bit product from 481-492 to 408-420 µs and the 2-bit one from
 * 505-555 to 393-405 (medians of 2,000 cold calls, the loaded 2-core Zen 4, 2026-12-03). Taking a symmetric
 * format's zero point in the short sums (four scalar operations a channel and block fewer) then took one thread's
 * 4-bit product at 4096² from 597-603 to 518-526 µs warm (best of 2,000) and 864-887 to 720-782 cold (medians).
 * 3 bits (two planes) and 8 bits (127·127 fits a short lane twice) stay on floats.
 */
final class IntegerGemv {

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /** 2L short lanes: the float vector's width. */
    private static final VectorSpecies<Short> SS = VectorSpecies.of(short.class, VectorShape.forBitSize(L * 32));
    /** 2L bytes: one run of codes. */
    private static final VectorSpecies<Byte> BS = VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 16));
    private static final VectorSpecies<Integer> IS = CodeDecoder.IS;
    /** L short lanes, to store L rounded values. */
    private static final VectorSpecies<Short> HS = VectorSpecies.of(short.class, VectorShape.forBitSize(L * 16));
    /** Values of x per rounding block: at most 16 products per short lane at L = 4. */
    static final int BLOCK = 128;
    private static final float ROUNDER = 0x1.8p23f;

    private IntegerGemv() {
    }

    /** Whether b is 4- or 2-bit in groups of 128, or one group per channel with k a multiple of 128. */
    static boolean applies(PackedWeights b) {
        return b.planes() == 1 && (b.planeWidth(0) == 4 || b.planeWidth(0) == 2)
                && (b.groups() == 1 ? b.rows() % BLOCK == 0 : b.groupSize() == BLOCK);
    }

    /**
     * x rounded to int8 in blocks of 128, q = round(x/s_x), laid out by code byte: partners[c][i] meets the code at
     * bits w·c of row byte i (the unit layout puts value 16c + r of unit t, 128/w values to a unit, in byte 16t + r
     * at bit w·c); with each block's s_x and s_x·Σq, and for a symmetric b (zero point 2^(w-1) everywhere) each
     * block's {@code centering}: 2L short lanes whose sums the kernels start from, lane l holding -2^(w-1)·Σ of the
     * partners it meets in the block, so the zero point's part is taken in the integer sums and no per-channel
     * correction remains (the lanes' true totals, Σ (code - 2^(w-1))·q, stay within a short).
     */
    record Input(short[][] partners, float[] scales, float[] sums, short[] centering) {

        /** x rounded for b, or null when x holds NaN or an infinity (the float kernels keep IEEE semantics). */
        static Input of(PackedWeights b, float[] x) {
            int blocks = b.rows() / BLOCK;
            int width = b.planeWidth(0);
            int unitValues = 128 / width;
            short[][] partners = new short[unitValues / 16][b.rowBytes()];
            float[] scales = new float[blocks];
            float[] sums = new float[blocks];
            for (int t = 0; t < blocks; t++) {
                int from = t * BLOCK;
                FloatVector max = FloatVector.zero(S);
                for (int p = from; p < from + BLOCK; p += L) {
                    max = max.max(FloatVector.fromArray(S, x, p).abs());
                }
                float m = max.reduceLanes(VectorOperators.MAX);
                if (!Float.isFinite(m)) {
                    return null;
                }
                if (m == 0) {
                    continue; // q = 0, s_x = 0
                }
                float inverse = 127 / m;
                int sum = Float.isFinite(inverse) ? round(x, from, inverse, unitValues, partners)
                        : roundTiny(x, from, m, unitValues, partners);
                scales[t] = m / 127;
                sums[t] = scales[t] * sum;
            }
            short[] centering = b.zeros() == null ? centering(partners, width) : null;
            fold(partners, width);
            return new Input(partners, scales, sums, centering);
        }

        /**
         * q = x·inverse rounded to nearest even (adding and taking away 1.5·2^23 rounds any |v| &lt; 2^22 to an
         * integer exactly), stored as shorts in the code bytes' order; returns Σq.
         */
        private static int round(float[] x, int from, float inverse, int unitValues, short[][] partners) {
            IntVector sum = IntVector.zero(IS);
            for (int p = from; p < from + BLOCK; p += L) {
                FloatVector v = FloatVector.fromArray(S, x, p).mul(inverse).add(ROUNDER).sub(ROUNDER);
                IntVector q = (IntVector) v.convert(VectorOperators.F2I, 0);
                sum = sum.add(q);
                int r = p % unitValues;
                ((ShortVector) q.convertShape(VectorOperators.I2S, HS, 0))
                        .intoArray(partners[r >>> 4], p / unitValues * 16 + (r & 15));
            }
            return sum.reduceLanes(VectorOperators.ADD);
        }

        /** Each block's starting lanes for a symmetric b of w bits: -2^(w-1)·Σ over c and runs of partners[c]. */
        private static short[] centering(short[][] partners, int width) {
            int lanes = 2 * L;
            int blockBytes = BLOCK * width / 8;
            int bytes = partners[0].length;
            short[] centering = new short[bytes / blockBytes * lanes];
            for (int at = 0; at < bytes; at++) {
                int sum = 0;
                for (short[] plane : partners) {
                    sum += plane[at];
                }
                int lane = at / blockBytes * lanes + at % lanes;
                centering[lane] = (short) (centering[lane] - (sum << (width - 1)));
            }
            return centering;
        }

        /**
         * partners[c] -= 2^w·partners[c - 1] (the original values), from the last plane down, in wrapping short
         * arithmetic: the kernels then multiply the whole code byte v and its shifts v >>> w·c without masks, since
         * Σ_c (v >>> w·c)·(x_c - 2^w·x_{c-1}) = Σ_c ((v >>> w·c) mod 2^w)·x_c (mod 2^16), and the true sum fits a
         * short lane.
         */
        private static void fold(short[][] partners, int width) {
            for (int c = partners.length - 1; c >= 1; c--) {
                short[] hi = partners[c];
                short[] lo = partners[c - 1];
                for (int i = 0; i < hi.length; i++) {
                    hi[i] = (short) (hi[i] - (lo[i] << width));
                }
            }
        }

        /** {@link #round} for a block so small (max|x| below about 4e-37) that 127/max overflows a float. */
        private static int roundTiny(float[] x, int from, float max, int unitValues, short[][] partners) {
            int sum = 0;
            for (int p = from; p < from + BLOCK; p++) {
                short q = (short) Math.rint(x[p] * (127.0 / max));
                sum += q;
                int r = p % unitValues;
                partners[r >>> 4][p / unitValues * 16 + (r & 15)] = q;
            }
            return sum;
        }
    }

    /**
     * 2 bits: y[j0] and y[j1] (j1 = j0 allowed: the channel is computed twice and written with the same value), the
     * codes at bits 0, 2, 4 and 6 of each byte meeting partners[0..3].
     */
    static void dot2(PackedWeights b, Input in, int j0, int j1, MemorySegment ys, long y0) {
        byte[] c = b.codes();
        short[] scales = b.scales();
        byte[] zeros = b.zeros();
        short[][] q = in.partners();
        float[] xScales = in.scales();
        float[] xSums = in.sums();
        int blockBytes = BLOCK / 4;
        int rb = b.rowBytes();
        boolean perChannel = b.groups() == 1;
        int r0 = j0 * rb;
        int r1 = j1 * rb;
        int g0 = j0 * b.groups();
        int g1 = j1 * b.groups();
        FloatVector t0 = FloatVector.zero(S), t1 = t0;
        float c0 = 0, c1 = 0;
        short[] centering = in.centering();
        for (int block = 0, at = 0; at < rb; block++, at += blockBytes) {
            ShortVector a0 = centering == null ? ShortVector.zero(SS)
                    : ShortVector.fromArray(SS, centering, block * 2 * L), a1 = a0;
            for (int h = 0; h < blockBytes; h += 2 * L) {
                int o = at + h;
                ShortVector x0 = ShortVector.fromArray(SS, q[0], o);
                ShortVector x1 = ShortVector.fromArray(SS, q[1], o);
                ShortVector x2 = ShortVector.fromArray(SS, q[2], o);
                ShortVector x3 = ShortVector.fromArray(SS, q[3], o);
                ShortVector v0 = codes(c, r0 + o);
                ShortVector v1 = codes(c, r1 + o);
                a0 = a0.add(v0.mul(x0).add(v0.lanewise(VectorOperators.LSHR, 2).mul(x1))
                        .add(v0.lanewise(VectorOperators.LSHR, 4).mul(x2)
                                .add(v0.lanewise(VectorOperators.LSHR, 6).mul(x3))));
                a1 = a1.add(v1.mul(x0).add(v1.lanewise(VectorOperators.LSHR, 2).mul(x1))
                        .add(v1.lanewise(VectorOperators.LSHR, 4).mul(x2)
                                .add(v1.lanewise(VectorOperators.LSHR, 6).mul(x3))));
            }
            int group = perChannel ? 0 : block;
            float s0 = Float.float16ToFloat(scales[g0 + group]);
            float s1 = Float.float16ToFloat(scales[g1 + group]);
            float sx = xScales[block];
            // Written out here, not in a helper: a helper returning the vector was not inlined and boxed it.
            IntVector i0 = ((IntVector) a0.convertShape(VectorOperators.S2I, IS, 0))
                    .add((IntVector) a0.convertShape(VectorOperators.S2I, IS, 1));
            IntVector i1 = ((IntVector) a1.convertShape(VectorOperators.S2I, IS, 0))
                    .add((IntVector) a1.convertShape(VectorOperators.S2I, IS, 1));
            t0 = ((FloatVector) i0.convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(S, s0 * sx), t0);
            t1 = ((FloatVector) i1.convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(S, s1 * sx), t1);
            if (centering == null) {
                c0 += s0 * (zeros[g0 + group] & 0xFF) * xSums[block];
                c1 += s1 * (zeros[g1 + group] & 0xFF) * xSums[block];
            }
        }
        ys.set(F, y0 + (long) j0 * Float.BYTES, t0.reduceLanes(VectorOperators.ADD) - c0);
        ys.set(F, y0 + (long) j1 * Float.BYTES, t1.reduceLanes(VectorOperators.ADD) - c1);
    }

    /**
     * 4 bits: y[j0..j3] (repeats allowed: a channel computed twice is written with the same value), each run's low
     * nibbles meeting partners[0] and its high nibbles partners[1]. Four channels a pass, four rows of codes
     * streaming at once: from DRAM (4096², 2 threads) 0.58-0.59 ms a product where two channels a pass took
     * 0.66-0.69 (JMH, builds alternating in one hour, 2026-11-30). One channel a pass, two blocks a step (a single
     * stream per thread) was tried and undone: 1.1x or a tie on a Zen 5, but 902-913 µs against 562-618 on a
     * Sapphire Rapids class Xeon, whose cores draw more from DRAM with several streams in flight (2026-12-02).
     */
    static void dot4(PackedWeights b, Input in, int j0, int j1, int j2, int j3, MemorySegment ys, long y0) {
        byte[] c = b.codes();
        short[] scales = b.scales();
        byte[] zeros = b.zeros();
        short[][] q = in.partners();
        float[] xScales = in.scales();
        float[] xSums = in.sums();
        int blockBytes = BLOCK / 2;
        int rb = b.rowBytes();
        boolean perChannel = b.groups() == 1;
        int r0 = j0 * rb, r1 = j1 * rb, r2 = j2 * rb, r3 = j3 * rb;
        int g0 = j0 * b.groups(), g1 = j1 * b.groups(), g2 = j2 * b.groups(), g3 = j3 * b.groups();
        FloatVector t0 = FloatVector.zero(S), t1 = t0, t2 = t0, t3 = t0;
        float c0 = 0, c1 = 0, c2 = 0, c3 = 0;
        short[] centering = in.centering();
        for (int block = 0, at = 0; at < rb; block++, at += blockBytes) {
            ShortVector a0 = centering == null ? ShortVector.zero(SS)
                    : ShortVector.fromArray(SS, centering, block * 2 * L), a1 = a0, a2 = a0, a3 = a0;
            for (int h = 0; h < BLOCK / 2; h += 2 * L) {
                int o = at + h;
                ShortVector xl = ShortVector.fromArray(SS, q[0], o);
                ShortVector xh = ShortVector.fromArray(SS, q[1], o);
                ShortVector v0 = codes(c, r0 + o);
                ShortVector v1 = codes(c, r1 + o);
                ShortVector v2 = codes(c, r2 + o);
                ShortVector v3 = codes(c, r3 + o);
                a0 = a0.add(v0.mul(xl).add(v0.lanewise(VectorOperators.LSHR, 4).mul(xh)));
                a1 = a1.add(v1.mul(xl).add(v1.lanewise(VectorOperators.LSHR, 4).mul(xh)));
                a2 = a2.add(v2.mul(xl).add(v2.lanewise(VectorOperators.LSHR, 4).mul(xh)));
                a3 = a3.add(v3.mul(xl).add(v3.lanewise(VectorOperators.LSHR, 4).mul(xh)));
            }
            int group = perChannel ? 0 : block;
            float sx = xScales[block];
            float s0 = Float.float16ToFloat(scales[g0 + group]);
            float s1 = Float.float16ToFloat(scales[g1 + group]);
            float s2 = Float.float16ToFloat(scales[g2 + group]);
            float s3 = Float.float16ToFloat(scales[g3 + group]);
            IntVector i0 = ((IntVector) a0.convertShape(VectorOperators.S2I, IS, 0))
                    .add((IntVector) a0.convertShape(VectorOperators.S2I, IS, 1));
            IntVector i1 = ((IntVector) a1.convertShape(VectorOperators.S2I, IS, 0))
                    .add((IntVector) a1.convertShape(VectorOperators.S2I, IS, 1));
            IntVector i2 = ((IntVector) a2.convertShape(VectorOperators.S2I, IS, 0))
                    .add((IntVector) a2.convertShape(VectorOperators.S2I, IS, 1));
            IntVector i3 = ((IntVector) a3.convertShape(VectorOperators.S2I, IS, 0))
                    .add((IntVector) a3.convertShape(VectorOperators.S2I, IS, 1));
            t0 = ((FloatVector) i0.convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(S, s0 * sx), t0);
            t1 = ((FloatVector) i1.convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(S, s1 * sx), t1);
            t2 = ((FloatVector) i2.convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(S, s2 * sx), t2);
            t3 = ((FloatVector) i3.convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(S, s3 * sx), t3);
            if (centering == null) {
                c0 += s0 * (zeros[g0 + group] & 0xFF) * xSums[block];
                c1 += s1 * (zeros[g1 + group] & 0xFF) * xSums[block];
                c2 += s2 * (zeros[g2 + group] & 0xFF) * xSums[block];
                c3 += s3 * (zeros[g3 + group] & 0xFF) * xSums[block];
            }
        }
        ys.set(F, y0 + (long) j0 * Float.BYTES, t0.reduceLanes(VectorOperators.ADD) - c0);
        ys.set(F, y0 + (long) j1 * Float.BYTES, t1.reduceLanes(VectorOperators.ADD) - c1);
        ys.set(F, y0 + (long) j2 * Float.BYTES, t2.reduceLanes(VectorOperators.ADD) - c2);
        ys.set(F, y0 + (long) j3 * Float.BYTES, t3.reduceLanes(VectorOperators.ADD) - c3);
    }

    /** 2L code bytes from c[at], zero-extended to short lanes. */
    private static ShortVector codes(byte[] c, int at) {
        return (ShortVector) ByteVector.fromArray(BS, c, at).convertShape(VectorOperators.ZERO_EXTEND_B2S, SS, 0);
    }
}
