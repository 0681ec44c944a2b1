package dev.tensorloom.quant.vector;

import static dev.tensorloom.runtime.kernel.vector.Simd.L;
import static dev.tensorloom.runtime.kernel.vector.Simd.S;
import static jdk.incubator.vector.VectorOperators.I2F;
import static jdk.incubator.vector.VectorOperators.LSHR;

import dev.tensorloom.quant.GgmlType;
import dev.tensorloom.quant.GgmlWeights;
import dev.tensorloom.runtime.kernel.Tasks;
import dev.tensorloom.runtime.kernel.vector.Rows;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The GEMV over ggml's blocks (Q4_0, Q8_0, Q4_K, Q6_K), read in place with {@link UnitGemv}'s arithmetic, each
 * thread taking a contiguous range of output channels, one channel per pass (so each thread reads one stream of
 * blocks: see {@link #q4_0}); a block's or sub-block's sum scaled once by its scale; offsets and mins out of the
 * inner loop (Q4_0: Σ x·d(q - 8) = d·(Σ x·q - 8·Σ_block x), the sums of x over each 32 or 16 weights taken once
 * per call). Q4_0's and Q4_K's bytes are zero-extended, so their high nibble is one shift against x itself; Q6_K
 * masks its high nibbles in place ({@code 0xF0}, so 16q) against a copy of x/16 made once per call. Per 32 Q4_0
 * weights that leaves one widening load, an AND, a shift, two conversions and three FMAs. The K-quants are not
 * decoded into a 256-float scratch first ({@link GgmlRows#dequantize} still does that for the GEMM's panels).
 *
 * <p>Q4_0, Q4_K and Q6_K read a block's scalars (fp16 scales, 6-bit scales and mins) before its vector code:
 * read after it, C2 had used up its inlining budget on the vector operations and left
 * {@link GgmlWeights#fp16} a call, which spills every live vector (PrintInlining: "NodeCountInliningCutoff"; Q4_0
 * and Q4_K ran at half their speed).
 */
final class BlockGemv {

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /** Four bytes of a block as a little-endian int. */
    private static final VarHandle INT_LE = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

    private BlockGemv() {
    }

    /**
     * x as a heap array, x/16 (for Q6_K), and the sums of x over each run of weights that shares an offset
     * or a min: 32 (Q4_0's blocks, Q4_K's sub-blocks) or 16 (Q6_K's sub-blocks).
     */
    record Input(float[] x, float[] sixteenth, float[] runSums) {

        static Input of(GgmlWeights b, MemorySegment xs, long x0) {
            int k = b.rows();
            float[] x = new float[k];
            MemorySegment.copy(xs, F, x0, x, 0, k);
            if (b.type() == GgmlType.Q8_0) {
                return new Input(x, null, null);
            }
            int run = b.type() == GgmlType.Q6_K ? 16 : 32;
            float[] sixteenth = b.type() == GgmlType.Q6_K ? new float[k] : null;
            float[] sums = new float[k / run];
            for (int i = 0; i < sums.length; i++) {
                double sum = 0;
                for (int p = run * i; p < run * i + run; p++) {
                    sum += x[p];
                    if (sixteenth != null) {
                        sixteenth[p] = x[p] * (1f / 16);
                    }
                }
                sums[i] = (float) sum;
            }
            return new Input(x, sixteenth, sums);
        }
    }

    static void multiply(Tensor x, GgmlWeights b, Tensor y, Tasks tasks) {
        int n = b.cols();
        Input in = Input.of(b, x.segment(), Rows.start(x));
        MemorySegment ys = y.segment();
        long y0 = Rows.start(y);
        Channel channel = switch (b.type()) {
            case Q4_0 -> BlockGemv::q4_0;
            case Q8_0 -> BlockGemv::q8_0;
            case Q4_K -> BlockGemv::q4_K;
            case Q6_K -> BlockGemv::q6_K;
        };
        tasks.forEachRange(n, 1, (from, end) -> {
            for (int j = from; j < end; j++) {
                channel.dot(b, in, j, ys, y0);
            }
        });
    }

    /** y[j] = the dot product of x with channel j's blocks, for one type. */
    @FunctionalInterface
    private interface Channel {
        void dot(GgmlWeights b, Input in, int j, MemorySegment ys, long y0);
    }

    /**
     * Q4_0: {@code f16 d; u8 qs[16]}; weight t is qs[t] & 0xF, weight 16 + t is qs[t] >> 4; w = d·(q - 8). One
     * channel per pass, four blocks a step (four FMA chains), the bytes zero-extended so that the high nibble is
     * one shift and both nibbles meet x itself (no copy of x/16: x alone, 16 KiB at k = 4096, stays in L1 beside
     * the stream of blocks): 499-501 µs against 650-779 with sign-extended bytes, the high nibble masked in place
     * and x/16 (4096², 2 threads, weights cold, a standalone copy of both loops, 2-core Zen 5, 2026-12-02; JMH,
     * builds alternating: 491 ± 50 against 722 ± 275 and 637 ± 1,528, on a machine noisy that hour). Two
     * or four channels per pass, which share each load of x, ran 1.55x quicker with the weights in L3 but slower
     * cold (4 channels a page apart 721 µs against 684 for the one-channel loop of the time, 2 adjacent channels
     * 826): one stream of blocks per thread suits the prefetcher better than several.
     */
    private static void q4_0(GgmlWeights b, Input in, int j, MemorySegment ys, long y0) {
        byte[] data = b.data();
        float[] x = in.x();
        float[] sums = in.runSums();
        int blocks = b.rows() / 32;
        int o = j * b.rowBytes();
        FloatVector t0 = FloatVector.zero(S), t1 = t0, t2 = t0, t3 = t0;
        float c = 0;
        int i = 0;
        // Written out: a helper returning each block's sum vector was not inlined and boxed it (5x slower).
        for (; i + 3 < blocks; i += 4, o += 72) {
            int p = i << 5;
            float d0 = GgmlWeights.fp16(data, o);
            float d1 = GgmlWeights.fp16(data, o + 18);
            float d2 = GgmlWeights.fp16(data, o + 36);
            float d3 = GgmlWeights.fp16(data, o + 54);
            FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
            for (int t = 0; t < 16; t += L) {
                IntVector v0 = GgmlRows.unsignedBytes(data, o + 2 + t);
                IntVector v1 = GgmlRows.unsignedBytes(data, o + 20 + t);
                IntVector v2 = GgmlRows.unsignedBytes(data, o + 38 + t);
                IntVector v3 = GgmlRows.unsignedBytes(data, o + 56 + t);
                a0 = ((FloatVector) v0.and(0x0F).convert(I2F, 0)).fma(FloatVector.fromArray(S, x, p + t), a0);
                a1 = ((FloatVector) v1.and(0x0F).convert(I2F, 0)).fma(FloatVector.fromArray(S, x, p + 32 + t), a1);
                a2 = ((FloatVector) v2.and(0x0F).convert(I2F, 0)).fma(FloatVector.fromArray(S, x, p + 64 + t), a2);
                a3 = ((FloatVector) v3.and(0x0F).convert(I2F, 0)).fma(FloatVector.fromArray(S, x, p + 96 + t), a3);
                a0 = ((FloatVector) v0.lanewise(LSHR, 4).convert(I2F, 0))
                        .fma(FloatVector.fromArray(S, x, p + 16 + t), a0);
                a1 = ((FloatVector) v1.lanewise(LSHR, 4).convert(I2F, 0))
                        .fma(FloatVector.fromArray(S, x, p + 48 + t), a1);
                a2 = ((FloatVector) v2.lanewise(LSHR, 4).convert(I2F, 0))
                        .fma(FloatVector.fromArray(S, x, p + 80 + t), a2);
                a3 = ((FloatVector) v3.lanewise(LSHR, 4).convert(I2F, 0))
                        .fma(FloatVector.fromArray(S, x, p + 112 + t), a3);
            }
            t0 = a0.fma(FloatVector.broadcast(S, d0), t0);
            t1 = a1.fma(FloatVector.broadcast(S, d1), t1);
            t2 = a2.fma(FloatVector.broadcast(S, d2), t2);
            t3 = a3.fma(FloatVector.broadcast(S, d3), t3);
            c += d0 * sums[i] + d1 * sums[i + 1] + d2 * sums[i + 2] + d3 * sums[i + 3];
        }
        for (; i < blocks; i++, o += 18) { // the last blocks of a count not a multiple of 4
            int p = i << 5;
            float d = GgmlWeights.fp16(data, o);
            FloatVector a = FloatVector.zero(S);
            for (int t = 0; t < 16; t += L) {
                IntVector v = GgmlRows.unsignedBytes(data, o + 2 + t);
                a = ((FloatVector) v.and(0x0F).convert(I2F, 0)).fma(FloatVector.fromArray(S, x, p + t), a);
                a = ((FloatVector) v.lanewise(LSHR, 4).convert(I2F, 0)).fma(FloatVector.fromArray(S, x, p + 16 + t), a);
            }
            t0 = a.fma(FloatVector.broadcast(S, d), t0);
            c += d * sums[i];
        }
        ys.set(F, y0 + (long) j * Float.BYTES,
                t0.add(t1).add(t2.add(t3)).reduceLanes(VectorOperators.ADD) - 8 * c);
    }

    /**
     * Q8_0: {@code f16 d; i8 qs[32]}; w = d·q. One channel per pass, four blocks a step (four FMA chains), the
     * scales read before the vector code and the conversions written out (see the class comment). Two channels
     * per pass measured markedly slower for Q8_0 on the Zen 4.
     */
    private static void q8_0(GgmlWeights b, Input in, int j, MemorySegment ys, long y0) {
        byte[] data = b.data();
        float[] x = in.x();
        int blocks = b.rows() / 32;
        int o = j * b.rowBytes();
        FloatVector t0 = FloatVector.zero(S), t1 = t0, t2 = t0, t3 = t0;
        int i = 0;
        for (; i + 3 < blocks; i += 4, o += 136) {
            int p = i << 5;
            float d0 = GgmlWeights.fp16(data, o);
            float d1 = GgmlWeights.fp16(data, o + 34);
            float d2 = GgmlWeights.fp16(data, o + 68);
            float d3 = GgmlWeights.fp16(data, o + 102);
            FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
            for (int t = 0; t < 32; t += L) {
                a0 = ((FloatVector) GgmlRows.bytes(data, o + 2 + t).convert(I2F, 0))
                        .fma(FloatVector.fromArray(S, x, p + t), a0);
                a1 = ((FloatVector) GgmlRows.bytes(data, o + 36 + t).convert(I2F, 0))
                        .fma(FloatVector.fromArray(S, x, p + 32 + t), a1);
                a2 = ((FloatVector) GgmlRows.bytes(data, o + 70 + t).convert(I2F, 0))
                        .fma(FloatVector.fromArray(S, x, p + 64 + t), a2);
                a3 = ((FloatVector) GgmlRows.bytes(data, o + 104 + t).convert(I2F, 0))
                        .fma(FloatVector.fromArray(S, x, p + 96 + t), a3);
            }
            t0 = a0.fma(FloatVector.broadcast(S, d0), t0);
            t1 = a1.fma(FloatVector.broadcast(S, d1), t1);
            t2 = a2.fma(FloatVector.broadcast(S, d2), t2);
            t3 = a3.fma(FloatVector.broadcast(S, d3), t3);
        }
        for (; i < blocks; i++, o += 34) { // the last blocks of a count not a multiple of 4
            int p = i << 5;
            float d = GgmlWeights.fp16(data, o);
            FloatVector a = FloatVector.zero(S);
            for (int t = 0; t < 32; t += L) {
                a = ((FloatVector) GgmlRows.bytes(data, o + 2 + t).convert(I2F, 0))
                        .fma(FloatVector.fromArray(S, x, p + t), a);
            }
            t0 = a.fma(FloatVector.broadcast(S, d), t0);
        }
        ys.set(F, y0 + (long) j * Float.BYTES, t0.add(t1).add(t2.add(t3)).reduceLanes(VectorOperators.ADD));
    }

    /**
     * Q4_K: 256-weight blocks {@code f16 d, dmin; u8 scales[12]; u8 qs[128]}; each 32 bytes of qs hold two
     * 32-weight sub-blocks (low nibbles, then high), w = d·sc·q - dmin·m with 6-bit sc and m per sub-block. So
     * Σ x·w = Σ_sub (d·sc·Σ x·q - dmin·m·Σ_sub x): the sub-block sums decoded once per block, no scratch. The
     * bytes zero-extended and the high nibble shifted down against x itself, as {@link #q4_0} does, where it had
     * been masked in place against x/16 (two arrays of x, 32 KiB at k = 4096, the whole of Zen 4's L1): one
     * thread, 4096², medians of 2,000 cold calls 1,811-1,849 µs against 2,166-2,291, warm best 1,493-1,494
     * against 1,556-1,558 (probe, the loaded Zen 4, 2026-12-03); two threads within the noise (JMH, builds
     * alternating: 1,367 ± 701 and 1,321 ± 542 µs against 1,448 ± 630 and 1,203 ± 208).
     */
    private static void q4_K(GgmlWeights b, Input in, int j, MemorySegment ys, long y0) {
        byte[] data = b.data();
        float[] x = in.x();
        float[] sums = in.runSums();
        int blocks = b.rows() / 256;
        int o = j * b.rowBytes();
        FloatVector low = FloatVector.zero(S), high = low;
        float c = 0;
        for (int i = 0; i < blocks; i++, o += 144) {
            // The scalars first (see the class comment): the eight 6-bit scales and mins unpacked four to an int at
            // once, as ggml's x86 kernels do (the bytes of q4kScale and q4kMin for sub-blocks 0-3, then 4-7): 0.64-0.69
            // ms at 4096², 2 threads, cold, where calling them per sub-block took 0.71-0.76 (Zen 5).
            float d = GgmlWeights.fp16(data, o);
            float m = GgmlWeights.fp16(data, o + 2);
            int u0 = (int) INT_LE.get(data, o + 4);
            int u1 = (int) INT_LE.get(data, o + 8);
            int u2 = (int) INT_LE.get(data, o + 12);
            int scalesLow = u0 & 0x3F3F3F3F;
            int minsLow = u1 & 0x3F3F3F3F;
            int scalesHigh = u2 & 0x0F0F0F0F | (u0 >>> 6 & 0x03030303) << 4;
            int minsHigh = u2 >>> 4 & 0x0F0F0F0F | (u1 >>> 6 & 0x03030303) << 4;
            for (int sub = 0; sub < 8; sub += 2) {
                int scales = sub < 4 ? scalesLow : scalesHigh;
                int mins = sub < 4 ? minsLow : minsHigh;
                int shift = (sub & 3) << 3;
                float dl = d * (scales >>> shift & 0xFF);
                float dh = d * (scales >>> shift + 8 & 0xFF);
                int s = (i << 3) + sub;
                c += m * ((mins >>> shift & 0xFF) * sums[s] + (mins >>> shift + 8 & 0xFF) * sums[s + 1]);
                int p = (i << 8) + (sub << 5);
                int q = o + 16 + (sub << 4);
                FloatVector l = FloatVector.zero(S), h = l;
                for (int t = 0; t < 32; t += L) {
                    IntVector v = GgmlRows.unsignedBytes(data, q + t);
                    l = ((FloatVector) v.and(0x0F).convert(I2F, 0)).fma(FloatVector.fromArray(S, x, p + t), l);
                    h = ((FloatVector) v.lanewise(LSHR, 4).convert(I2F, 0)).fma(FloatVector.fromArray(S, x, p + 32 + t),
                            h);
                }
                low = l.fma(FloatVector.broadcast(S, dl), low);
                high = h.fma(FloatVector.broadcast(S, dh), high);
            }
        }
        ys.set(F, y0 + (long) j * Float.BYTES, low.add(high).reduceLanes(VectorOperators.ADD) - c);
    }

    /**
     * Q6_K: 256-weight blocks {@code u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d}, w = d·sc·(q - 32) with q the
     * low nibble from ql and two high bits from qh, 16 weights to a scale. One channel per pass (two would exceed
     * C2's inlining budget). The two high bits are merged in place with one bitwise blend per run (shifted by 4
     * or 2, shared by two runs), the high-nibble runs taken as 16q against x/16, and the offset 32 leaves the
     * loop as for Q4_0: Σ x·w = Σ_sub d·sc·(Σ x·q - 32·Σ_sub x).
     */
    private static void q6_K(GgmlWeights b, Input in, int j, MemorySegment ys, long y0) {
        byte[] data = b.data();
        float[] x = in.x();
        float[] x16 = in.sixteenth();
        float[] sums = in.runSums();
        int blocks = b.rows() / 256;
        int o = j * b.rowBytes();
        FloatVector acc = FloatVector.zero(S);
        float c = 0;
        for (int i = 0; i < blocks; i++, o += 210) {
            // fp16 written out: in an OSR compilation of this loop C2 parses the call after the inner loops, past
            // its inlining budget, and left it a call.
            float d = Float.float16ToFloat((short) (data[o + 208] & 0xFF | data[o + 209] << 8));
            for (int half = 0; half < 2; half++) {
                int ql = o + 64 * half;
                int qh = o + 128 + 32 * half;
                int sc = o + 192 + 8 * half;
                int n0 = (i << 8) + (half << 7);
                for (int run = 0; run < 32; run += 16) {
                    FloatVector r1 = FloatVector.zero(S), r2 = r1, r3 = r1, r4 = r1;
                    for (int t = run; t < run + 16; t += L) {
                        IntVector lo = GgmlRows.bytes(data, ql + t);
                        IntVector hi = GgmlRows.bytes(data, ql + 32 + t);
                        IntVector h = GgmlRows.bytes(data, qh + t);
                        IntVector h4 = h.lanewise(VectorOperators.LSHL, 4);
                        IntVector h2 = h.lanewise(VectorOperators.LSHL, 2);
                        r1 = six(lo.lanewise(VectorOperators.BITWISE_BLEND, h4, 0x30).and(0x3F)).fma(
                                FloatVector.fromArray(S, x, n0 + t), r1);
                        r2 = six(hi.lanewise(VectorOperators.BITWISE_BLEND, h2, 0x30).and(0x3F)).fma(
                                FloatVector.fromArray(S, x, n0 + 32 + t), r2);
                        r3 = six(lo.lanewise(VectorOperators.BITWISE_BLEND, h4, 0x300).and(0x3F0)).fma(
                                FloatVector.fromArray(S, x16, n0 + 64 + t), r3);
                        r4 = six(hi.lanewise(VectorOperators.BITWISE_BLEND, h2, 0x300).and(0x3F0)).fma(
                                FloatVector.fromArray(S, x16, n0 + 96 + t), r4);
                    }
                    int is = sc + (run >>> 4);
                    float d1 = d * data[is];
                    float d2 = d * data[is + 2];
                    float d3 = d * data[is + 4];
                    float d4 = d * data[is + 6];
                    acc = r1.fma(FloatVector.broadcast(S, d1), acc);
                    acc = r2.fma(FloatVector.broadcast(S, d2), acc);
                    acc = r3.fma(FloatVector.broadcast(S, d3), acc);
                    acc = r4.fma(FloatVector.broadcast(S, d4), acc);
                    int s = (n0 + run) >>> 4;
                    c += d1 * sums[s] + d2 * sums[s + 2] + d3 * sums[s + 4] + d4 * sums[s + 6];
                }
            }
        }
        ys.set(F, y0 + (long) j * Float.BYTES, acc.reduceLanes(VectorOperators.ADD) - 32 * c);
    }

    private static FloatVector six(IntVector q) {
        return (FloatVector) q.convert(VectorOperators.I2F, 0);
    }

}
