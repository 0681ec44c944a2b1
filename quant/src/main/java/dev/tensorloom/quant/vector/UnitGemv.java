package dev.tensorloom.quant.vector;

import static dev.tensorloom.runtime.kernel.vector.Simd.L;
import static dev.tensorloom.runtime.kernel.vector.Simd.S;

import dev.tensorloom.quant.PackedWeights;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The GEMV over the one-plane formats that {@link CodeDecoder#wholeUnits} accepts (2 and 4 bits two output
 * channels per pass, {@link #dot2}; 8 bits one, {@link #bytes}), and over 3 bits in groups of whole 128-value
 * blocks ({@link #threeBits}, one channel per pass; {@link #dot1} takes the one-channel formats), with as few
 * vector operations per run of L codes as the arithmetic allows:
 * <ul>
 *   <li>The zero point leaves the inner loop: Σ x·s(u - z) = s·(Σ x·u - z·Σ_group x), the group sums of x taken
 *   once per call, so a run's codes go to floats without a subtraction.</li>
 *   <li>The shift leaves it too: a run at bit {@code shift} is masked in place ({@code 0xF0} rather than
 *   {@code >>> 4 & 0xF}), so it converts to u·2^shift, and its accumulator is scaled by 2^-shift once per group
 *   (exact: a power of two). 2-bit codes also take x/4 (a second copy of x made once per call) so that bits 0
 *   and 2, and bits 4 and 6, share an accumulator. 8-bit codes need no mask: flipping bit 7 of the sign-extended
 *   byte gives u - 128 exactly, and the zero point's correction is by z - 128 (nothing when symmetric).</li>
 *   <li>Two channels per pass: each x load feeds two FMAs per run, the two rows of codes stream side by side,
 *   and the accumulators form four independent FMA chains (one chain per channel would wait on the FMA's
 *   latency). Four channels per pass measured slower: a kernel that size exceeds C2's inlining node budget
 *   (NodeCountInliningCutoff), and a Vector API call left out of line allocates.</li>
 * </ul>
 * What remains per run is the byte load widened to int lanes (shared by the 8/w runs of a unit), an AND (8 bits:
 * an XOR), the int-to-float conversion and the FMA. Moving u·x away from (u - z)·x costs accuracy in proportion: the float
 * sums hold Σ|x|·u instead of Σ|x|·|u - z|, a few times larger for 2 and 4 bits.
 *
 * <p>Lost to {@link #nibbles} (4 bits g128, one thread, thread CPU time on the loaded 2-core Zen 4): reading 64
 * code bytes as 16 ints with no widening, each of the eight nibble positions masked in place against a copy of x
 * permuted and scaled by 2^-4pos once per call: 0.044 ms at 384×1536 where nibbles took 0.035, none faster at
 * 4096².
 */
final class UnitGemv {

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private UnitGemv() {
    }

    /** What one call needs beside b: x padded with zeros to whole units, x/4 (2-bit), and x's group sums. */
    record Input(float[] x, float[] quarter, float[] groupSums) {

        static Input of(PackedWeights b, float[] x) {
            int k = b.rows();
            int g = b.groupSize();
            float[] sums = new float[b.groups()];
            for (int group = 0; group < sums.length; group++) {
                double sum = 0;
                for (int p = group * g; p < group * g + g; p++) {
                    sum += x[p];
                }
                sums[group] = (float) sum;
            }
            float[] quarter = null;
            if (b.planeWidth(0) == 2) {
                quarter = new float[x.length];
                for (int p = 0; p < k; p++) {
                    quarter[p] = x[p] * 0.25f;
                }
            }
            return new Input(x, quarter, sums);
        }
    }

    /** Whether {@link #dot2} applies: 2 or 4 bits whose groups are whole units. */
    static boolean twoChannels(PackedWeights b) {
        return CodeDecoder.wholeUnits(b) && (b.planeWidth(0) == 2 || b.planeWidth(0) == 4);
    }

    /**
     * y[j0] and y[j1] for 2 or 4 bits (j1 = j0 allowed: the channel is computed twice and written with the same
     * value), each y[j] = Σ_group s·(Σ x·u - z·Σ_group x).
     */
    static void dot2(PackedWeights b, Input in, int j0, int j1, MemorySegment ys, long y0) {
        if (b.planeWidth(0) == 4) {
            nibbles(b, in, j0, j1, ys, y0);
        } else {
            crumbs(b, in, j0, j1, ys, y0);
        }
    }

    /** Whether {@link #dot1} applies: 8 bits whose groups are whole units, or 3 bits in whole blocks. */
    static boolean oneChannel(PackedWeights b) {
        return wholeBlocks(b) || CodeDecoder.wholeUnits(b) && b.planeWidth(0) == 8;
    }

    /** y[j] for the formats taken one channel per pass: 3 bits ({@link #threeBits}) and 8 ({@link #bytes}). */
    static void dot1(PackedWeights b, Input in, int j, MemorySegment ys, long y0) {
        if (b.planes() == 2) {
            threeBits(b, in, j, ys, y0);
        } else {
            bytes(b, in, j, ys, y0);
        }
    }

    private static int unitsPerGroup(PackedWeights b, int units, int unitValues) {
        return b.groups() == 1 ? units : b.groupSize() / unitValues;
    }

    /** 4 bits: a 16-byte unit holds 32 codes, the low nibbles first; low runs meet x, high runs x 16 further. */
    private static void nibbles(PackedWeights b, Input in, int j0, int j1, MemorySegment ys, long y0) {
        byte[] c = b.codes();
        short[] scales = b.scales();
        byte[] zeros = b.zeros();
        float[] x = in.x();
        float[] sums = in.groupSums();
        int rb = b.rowBytes();
        int units = rb >>> 4;
        int upg = unitsPerGroup(b, units, 32);
        int r0 = j0 * rb;
        int r1 = j1 * rb;
        int g0 = j0 * b.groups();
        int g1 = j1 * b.groups();
        FloatVector sixteenth = FloatVector.broadcast(S, 1f / 16);
        FloatVector t0 = FloatVector.zero(S), t1 = t0;
        float c0 = 0, c1 = 0;
        for (int group = 0, unit = 0; unit < units; group++) {
            FloatVector l0 = FloatVector.zero(S), l1 = l0, h0 = l0, h1 = l0;
            for (int end = unit + upg; unit < end; unit++) {
                int o = unit << 4;
                int p = unit << 5;
                for (int h = 0; h < 16; h += L) {
                    FloatVector xl = FloatVector.fromArray(S, x, p + h);
                    FloatVector xh = FloatVector.fromArray(S, x, p + 16 + h);
                    IntVector v0 = CodeDecoder.widen(c, r0 + o + h);
                    IntVector v1 = CodeDecoder.widen(c, r1 + o + h);
                    l0 = ((FloatVector) v0.and(0x0F).convert(VectorOperators.I2F, 0)).fma(xl, l0);
                    h0 = ((FloatVector) v0.and(0xF0).convert(VectorOperators.I2F, 0)).fma(xh, h0);
                    l1 = ((FloatVector) v1.and(0x0F).convert(VectorOperators.I2F, 0)).fma(xl, l1);
                    h1 = ((FloatVector) v1.and(0xF0).convert(VectorOperators.I2F, 0)).fma(xh, h1);
                }
            }
            float s0 = Float.float16ToFloat(scales[g0 + group]);
            float s1 = Float.float16ToFloat(scales[g1 + group]);
            t0 = h0.fma(sixteenth, l0).fma(FloatVector.broadcast(S, s0), t0);
            t1 = h1.fma(sixteenth, l1).fma(FloatVector.broadcast(S, s1), t1);
            c0 += s0 * (zeros == null ? 8 : zeros[g0 + group] & 0xFF) * sums[group];
            c1 += s1 * (zeros == null ? 8 : zeros[g1 + group] & 0xFF) * sums[group];
        }
        store(ys, y0, j0, t0, c0);
        store(ys, y0, j1, t1, c1);
    }

    /**
     * 2 bits: a unit holds 64 codes at bits 0, 2, 4, 6 (16 apart in x). Bits 0 (with x) and 2 (with x/4) share
     * accumulator a at scale 1; bits 4 and 6 accumulator b at scale 16.
     */
    private static void crumbs(PackedWeights b, Input in, int j0, int j1, MemorySegment ys, long y0) {
        byte[] c = b.codes();
        short[] scales = b.scales();
        byte[] zeros = b.zeros();
        float[] x = in.x();
        float[] q = in.quarter();
        float[] sums = in.groupSums();
        int rb = b.rowBytes();
        int units = rb >>> 4;
        int upg = unitsPerGroup(b, units, 64);
        int r0 = j0 * rb;
        int r1 = j1 * rb;
        int g0 = j0 * b.groups();
        int g1 = j1 * b.groups();
        FloatVector sixteenth = FloatVector.broadcast(S, 1f / 16);
        FloatVector t0 = FloatVector.zero(S), t1 = t0;
        float c0 = 0, c1 = 0;
        for (int group = 0, unit = 0; unit < units; group++) {
            FloatVector a0 = FloatVector.zero(S), a1 = a0, b0 = a0, b1 = a0;
            for (int end = unit + upg; unit < end; unit++) {
                int o = unit << 4;
                int p = unit << 6;
                for (int h = 0; h < 16; h += L) {
                    FloatVector x0 = FloatVector.fromArray(S, x, p + h);
                    FloatVector x1 = FloatVector.fromArray(S, q, p + 16 + h);
                    FloatVector x2 = FloatVector.fromArray(S, x, p + 32 + h);
                    FloatVector x3 = FloatVector.fromArray(S, q, p + 48 + h);
                    IntVector v0 = CodeDecoder.widen(c, r0 + o + h);
                    IntVector v1 = CodeDecoder.widen(c, r1 + o + h);
                    a0 = ((FloatVector) v0.and(0x03).convert(VectorOperators.I2F, 0)).fma(x0, a0);
                    b0 = ((FloatVector) v0.and(0x30).convert(VectorOperators.I2F, 0)).fma(x2, b0);
                    a1 = ((FloatVector) v1.and(0x03).convert(VectorOperators.I2F, 0)).fma(x0, a1);
                    b1 = ((FloatVector) v1.and(0x30).convert(VectorOperators.I2F, 0)).fma(x2, b1);
                    a0 = ((FloatVector) v0.and(0x0C).convert(VectorOperators.I2F, 0)).fma(x1, a0);
                    b0 = ((FloatVector) v0.and(0xC0).convert(VectorOperators.I2F, 0)).fma(x3, b0);
                    a1 = ((FloatVector) v1.and(0x0C).convert(VectorOperators.I2F, 0)).fma(x1, a1);
                    b1 = ((FloatVector) v1.and(0xC0).convert(VectorOperators.I2F, 0)).fma(x3, b1);
                }
            }
            float s0 = Float.float16ToFloat(scales[g0 + group]);
            float s1 = Float.float16ToFloat(scales[g1 + group]);
            t0 = b0.fma(sixteenth, a0).fma(FloatVector.broadcast(S, s0), t0);
            t1 = b1.fma(sixteenth, a1).fma(FloatVector.broadcast(S, s1), t1);
            c0 += s0 * (zeros == null ? 2 : zeros[g0 + group] & 0xFF) * sums[group];
            c1 += s1 * (zeros == null ? 2 : zeros[g1 + group] & 0xFF) * sums[group];
        }
        store(ys, y0, j0, t0, c0);
        store(ys, y0, j1, t1, c1);
    }

    /**
     * 8 bits: a unit holds 16 codes; the sign-extended byte with bit 7 flipped is u - 128. One channel per pass,
     * four units a step (four FMA chains), the group's scalars read before its vector code and no helper returning
     * a vector (see {@link BlockGemv}): 4096², g128, 2 threads, cold, on the 2-core Zen 5, 0.41 ms where two
     * channels per pass, two units a step, took 0.87 (the three changes were made together, not timed apart).
     */
    private static void bytes(PackedWeights b, Input in, int j, MemorySegment ys, long y0) {
        byte[] c = b.codes();
        short[] scales = b.scales();
        byte[] zeros = b.zeros();
        float[] x = in.x();
        float[] sums = in.groupSums();
        int rb = b.rowBytes();
        int units = rb >>> 4;
        int upg = unitsPerGroup(b, units, 16);
        int r = j * rb;
        int g = j * b.groups();
        FloatVector t = FloatVector.zero(S);
        float correction = 0;
        for (int group = 0, unit = 0; unit < units; group++) {
            float s = Float.float16ToFloat(scales[g + group]);
            correction += s * ((zeros == null ? 128 : zeros[g + group] & 0xFF) - 128) * sums[group];
            FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
            int end = unit + upg;
            for (; unit + 3 < end; unit += 4) {
                int o = unit << 4;
                for (int h = 0; h < 16; h += L) {
                    a0 = ((FloatVector) CodeDecoder.widen(c, r + o + h).lanewise(VectorOperators.XOR, 0xFFFFFF80)
                            .convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(S, x, o + h), a0);
                    a1 = ((FloatVector) CodeDecoder.widen(c, r + o + 16 + h).lanewise(VectorOperators.XOR, 0xFFFFFF80)
                            .convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(S, x, o + 16 + h), a1);
                    a2 = ((FloatVector) CodeDecoder.widen(c, r + o + 32 + h).lanewise(VectorOperators.XOR, 0xFFFFFF80)
                            .convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(S, x, o + 32 + h), a2);
                    a3 = ((FloatVector) CodeDecoder.widen(c, r + o + 48 + h).lanewise(VectorOperators.XOR, 0xFFFFFF80)
                            .convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(S, x, o + 48 + h), a3);
                }
            }
            for (; unit < end; unit++) {
                int o = unit << 4;
                for (int h = 0; h < 16; h += L) {
                    a0 = ((FloatVector) CodeDecoder.widen(c, r + o + h).lanewise(VectorOperators.XOR, 0xFFFFFF80)
                            .convert(VectorOperators.I2F, 0)).fma(FloatVector.fromArray(S, x, o + h), a0);
                }
            }
            t = a0.add(a1).add(a2.add(a3)).fma(FloatVector.broadcast(S, s), t);
        }
        store(ys, y0, j, t, correction);
    }

    /**
     * Whether {@link #threeBits} applies: 3 bits (a 2-bit plane and a 1-bit plane) in groups of whole 128-value
     * blocks (a unit of the 1-bit plane, two of the 2-bit plane), or one group per channel.
     */
    static boolean wholeBlocks(PackedWeights b) {
        return b.planes() == 2 && (b.groups() == 1 || b.groupSize() % 128 == 0);
    }

    /**
     * y[j] for 3 bits, one channel per pass (two exceed C2's inlining budget), a 128-value block at a time: the
     * run at bits 2a of a 2-bit unit and its high bit from the 1-bit unit are merged in place into (u)·4^a (an
     * AND each, a shift of the high bit, an OR), then converted and multiplied as {@link #crumbs} does: bits 0
     * and 2 against x and x/4 into one accumulator, bits 4 and 6 into another at scale 16.
     */
    static void threeBits(PackedWeights b, Input in, int j, MemorySegment ys, long y0) {
        byte[] c = b.codes();
        short[] scales = b.scales();
        byte[] zeros = b.zeros();
        float[] x = in.x();
        float[] q = in.quarter();
        float[] sums = in.groupSums();
        int blocks = Math.ceilDiv(b.rows(), 128);
        int perGroup = b.groups() == 1 ? blocks : b.groupSize() / 128;
        int low = j * b.rowBytes() + b.planeStart(0);
        int high = j * b.rowBytes() + b.planeStart(1);
        int g0 = j * b.groups();
        FloatVector sixteenth = FloatVector.broadcast(S, 1f / 16);
        FloatVector total = FloatVector.zero(S);
        float correction = 0;
        for (int group = 0, block = 0; block < blocks; group++) {
            FloatVector a = FloatVector.zero(S), z = a;
            for (int end = block + perGroup; block < end; block++) {
                int p = block << 7;
                int la = low + (block << 5);
                int hb = high + (block << 4);
                for (int h = 0; h < 16; h += L) {
                    IntVector v1 = CodeDecoder.widen(c, hb + h);
                    for (int half = 0; half < 2; half++) { // 2-bit units A and B: high bits 0-3, then 4-7
                        IntVector v = CodeDecoder.widen(c, la + 16 * half + h);
                        IntVector hi = v1.lanewise(VectorOperators.LSHR, 4 * half);
                        int at = p + 64 * half + h;
                        a = merged(v.and(0x03), hi.and(0x01).lanewise(VectorOperators.LSHL, 2))
                                .fma(FloatVector.fromArray(S, x, at), a);
                        z = merged(v.and(0x30), hi.and(0x04).lanewise(VectorOperators.LSHL, 4))
                                .fma(FloatVector.fromArray(S, x, at + 32), z);
                        a = merged(v.and(0x0C), hi.and(0x02).lanewise(VectorOperators.LSHL, 3))
                                .fma(FloatVector.fromArray(S, q, at + 16), a);
                        z = merged(v.and(0xC0), hi.and(0x08).lanewise(VectorOperators.LSHL, 5))
                                .fma(FloatVector.fromArray(S, q, at + 48), z);
                    }
                }
            }
            float s = Float.float16ToFloat(scales[g0 + group]);
            total = z.fma(sixteenth, a).fma(FloatVector.broadcast(S, s), total);
            correction += s * (zeros == null ? 4 : zeros[g0 + group] & 0xFF) * sums[group];
        }
        store(ys, y0, j, total, correction);
    }

    /** A run's low bits and its high bit, both already in place, as one float level times 4^a. */
    private static FloatVector merged(IntVector low, IntVector high) {
        return (FloatVector) low.or(high).convert(VectorOperators.I2F, 0);
    }

    private static void store(MemorySegment ys, long y0, int j, FloatVector t, float correction) {
        ys.set(F, y0 + (long) j * Float.BYTES, t.reduceLanes(VectorOperators.ADD) - correction);
    }
}
