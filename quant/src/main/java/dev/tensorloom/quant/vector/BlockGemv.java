package dev.tensorloom.quant.vector;

import static dev.tensorloom.runtime.kernel.vector.Simd.L;
import static dev.tensorloom.runtime.kernel.vector.Simd.S;

import dev.tensorloom.quant.GgmlType;
import dev.tensorloom.quant.GgmlWeights;
import dev.tensorloom.runtime.kernel.Tasks;
import dev.tensorloom.runtime.kernel.vector.Rows;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The GEMV over ggml's blocks (Q4_0, Q8_0, Q4_K, Q6_K), read in place with {@link UnitGemv}'s arithmetic, each
 * thread taking a contiguous range of output channels: two channels per pass for Q4_0 and Q4_K, so each x
 * load feeds both (one for Q8_0 and Q6_K); a block's or sub-block's sum scaled once by its scale; offsets and mins out of the inner loop
 * (Q4_0: Σ x·d(q - 8) = d·(Σ x·q - 8·Σ_block x), the sums of x over each 32 or 16 weights taken once per call);
 * high nibbles masked in place ({@code 0xF0}, so 16q) against a copy of x/16 made once per call. Per 32 Q4_0
 * weights and channel that leaves one widening load, two ANDs, two conversions, an add and three FMAs. The
 * K-quants are no longer decoded into a 256-float scratch first ({@link GgmlRows#dequantize} still does that for
 * the GEMM's panels).
 */
final class BlockGemv {

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private BlockGemv() {
    }

    /**
     * x as a heap array, x/16, and the sums of x over each run of weights that shares an offset or a min: 32
     * (Q4_0's blocks, Q4_K's sub-blocks) or 16 (Q6_K's sub-blocks).
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
            float[] sixteenth = new float[k];
            float[] sums = new float[k / run];
            for (int i = 0; i < sums.length; i++) {
                double sum = 0;
                for (int p = run * i; p < run * i + run; p++) {
                    sum += x[p];
                    sixteenth[p] = x[p] * (1f / 16);
                }
                sums[i] = (float) sum;
            }
            return new Input(x, sixteenth, sums);
        }
    }

    static void multiply(Tensor x, GgmlWeights b, Tensor y, Tasks tasks) {
        int n = b.cols();
        int chunks = Math.min(n, 2 * tasks.threads());
        int perChunk = Math.ceilDiv(n, chunks);
        Input in = Input.of(b, x.segment(), Rows.start(x));
        MemorySegment ys = y.segment();
        long y0 = Rows.start(y);
        tasks.forEach(Math.ceilDiv(n, perChunk), chunk -> {
            for (int j = chunk * perChunk, end = Math.min(n, j + perChunk); j < end; j += 2) {
                dot2(b, in, j, Math.min(j + 1, end - 1), ys, y0);
            }
        });
    }

    /** y[j0] and y[j1] (j1 = j0 allowed: computed twice, written with the same value). */
    static void dot2(GgmlWeights b, Input in, int j0, int j1, MemorySegment ys, long y0) {
        switch (b.type()) {
            case Q4_0 -> q4_0(b, in, j0, j1, ys, y0);
            case Q8_0 -> {
                q8_0(b, in, j0, ys, y0);
                if (j1 != j0) {
                    q8_0(b, in, j1, ys, y0);
                }
            }
            case Q4_K -> q4_K(b, in, j0, j1, ys, y0);
            case Q6_K -> {
                q6_K(b, in, j0, ys, y0);
                if (j1 != j0) {
                    q6_K(b, in, j1, ys, y0);
                }
            }
        }
    }

    /** Q4_0: {@code f16 d; u8 qs[16]}; weight t is qs[t] & 0xF, weight 16 + t is qs[t] >> 4; w = d·(q - 8). */
    private static void q4_0(GgmlWeights b, Input in, int j0, int j1, MemorySegment ys, long y0) {
        byte[] data = b.data();
        float[] x = in.x();
        float[] x16 = in.sixteenth();
        float[] sums = in.runSums();
        int blocks = b.rows() / 32;
        int o0 = j0 * b.rowBytes();
        int o1 = j1 * b.rowBytes();
        FloatVector t0 = FloatVector.zero(S), t1 = t0;
        float c0 = 0, c1 = 0;
        for (int i = 0; i < blocks; i++, o0 += 18, o1 += 18) {
            int p = i << 5;
            FloatVector l0 = FloatVector.zero(S), l1 = l0, h0 = l0, h1 = l0;
            for (int t = 0; t < 16; t += L) {
                FloatVector xl = FloatVector.fromArray(S, x, p + t);
                FloatVector xh = FloatVector.fromArray(S, x16, p + 16 + t);
                IntVector v0 = GgmlRows.bytes(data, o0 + 2 + t);
                IntVector v1 = GgmlRows.bytes(data, o1 + 2 + t);
                l0 = ((FloatVector) v0.and(0x0F).convert(VectorOperators.I2F, 0)).fma(xl, l0);
                h0 = ((FloatVector) v0.and(0xF0).convert(VectorOperators.I2F, 0)).fma(xh, h0);
                l1 = ((FloatVector) v1.and(0x0F).convert(VectorOperators.I2F, 0)).fma(xl, l1);
                h1 = ((FloatVector) v1.and(0xF0).convert(VectorOperators.I2F, 0)).fma(xh, h1);
            }
            float d0 = GgmlWeights.fp16(data, o0);
            float d1 = GgmlWeights.fp16(data, o1);
            t0 = l0.add(h0).fma(FloatVector.broadcast(S, d0), t0);
            t1 = l1.add(h1).fma(FloatVector.broadcast(S, d1), t1);
            c0 += d0 * sums[i];
            c1 += d1 * sums[i];
        }
        ys.set(F, y0 + (long) j0 * Float.BYTES, t0.reduceLanes(VectorOperators.ADD) - 8 * c0);
        ys.set(F, y0 + (long) j1 * Float.BYTES, t1.reduceLanes(VectorOperators.ADD) - 8 * c1);
    }

    /**
     * Q8_0: {@code f16 d; i8 qs[32]}; w = d·q. One channel per pass, two blocks a step (four FMA chains): two
     * channels per pass, as Q4_0 takes them, measured markedly slower for Q8_0.
     */
    private static void q8_0(GgmlWeights b, Input in, int j, MemorySegment ys, long y0) {
        byte[] data = b.data();
        float[] x = in.x();
        int blocks = b.rows() / 32;
        int o = j * b.rowBytes();
        FloatVector t0 = FloatVector.zero(S), t1 = t0;
        int i = 0;
        for (; i + 1 < blocks; i += 2, o += 68) {
            int p = i << 5;
            FloatVector a0 = FloatVector.zero(S), b0 = a0, a1 = a0, b1 = a0;
            for (int t = 0; t < 16; t += L) {
                a0 = eight(data, o + 2 + t).fma(FloatVector.fromArray(S, x, p + t), a0);
                b0 = eight(data, o + 18 + t).fma(FloatVector.fromArray(S, x, p + 16 + t), b0);
                a1 = eight(data, o + 36 + t).fma(FloatVector.fromArray(S, x, p + 32 + t), a1);
                b1 = eight(data, o + 52 + t).fma(FloatVector.fromArray(S, x, p + 48 + t), b1);
            }
            t0 = a0.add(b0).fma(FloatVector.broadcast(S, GgmlWeights.fp16(data, o)), t0);
            t1 = a1.add(b1).fma(FloatVector.broadcast(S, GgmlWeights.fp16(data, o + 34)), t1);
        }
        if (i < blocks) { // an odd block count's last block
            FloatVector a0 = FloatVector.zero(S);
            for (int t = 0; t < 32; t += L) {
                a0 = eight(data, o + 2 + t).fma(FloatVector.fromArray(S, x, (i << 5) + t), a0);
            }
            t0 = a0.fma(FloatVector.broadcast(S, GgmlWeights.fp16(data, o)), t0);
        }
        ys.set(F, y0 + (long) j * Float.BYTES, t0.add(t1).reduceLanes(VectorOperators.ADD));
    }

    /** L Q8_0 weights at data[at] as floats. */
    private static FloatVector eight(byte[] data, int at) {
        return (FloatVector) GgmlRows.bytes(data, at).convert(VectorOperators.I2F, 0);
    }

    /**
     * Q4_K: 256-weight blocks {@code f16 d, dmin; u8 scales[12]; u8 qs[128]}; each 32 bytes of qs hold two
     * 32-weight sub-blocks (low nibbles, then high), w = d·sc·q - dmin·m with 6-bit sc and m per sub-block. So
     * Σ x·w = Σ_sub (d·sc·Σ x·q - dmin·m·Σ_sub x): the sub-block sums decoded once per block, no scratch.
     */
    private static void q4_K(GgmlWeights b, Input in, int j0, int j1, MemorySegment ys, long y0) {
        byte[] data = b.data();
        float[] x = in.x();
        float[] x16 = in.sixteenth();
        float[] sums = in.runSums();
        int blocks = b.rows() / 256;
        int o0 = j0 * b.rowBytes();
        int o1 = j1 * b.rowBytes();
        FloatVector t0 = FloatVector.zero(S), t1 = t0;
        float c0 = 0, c1 = 0;
        for (int i = 0; i < blocks; i++, o0 += 144, o1 += 144) {
            float d0 = GgmlWeights.fp16(data, o0);
            float d1 = GgmlWeights.fp16(data, o1);
            float m0 = GgmlWeights.fp16(data, o0 + 2);
            float m1 = GgmlWeights.fp16(data, o1 + 2);
            for (int sub = 0; sub < 8; sub += 2) {
                int p = (i << 8) + (sub << 5);
                int q = 16 + (sub << 4);
                FloatVector l0 = FloatVector.zero(S), l1 = l0, h0 = l0, h1 = l0;
                for (int t = 0; t < 32; t += L) {
                    FloatVector xl = FloatVector.fromArray(S, x, p + t);
                    FloatVector xh = FloatVector.fromArray(S, x16, p + 32 + t);
                    IntVector v0 = GgmlRows.bytes(data, o0 + q + t);
                    IntVector v1 = GgmlRows.bytes(data, o1 + q + t);
                    l0 = ((FloatVector) v0.and(0x0F).convert(VectorOperators.I2F, 0)).fma(xl, l0);
                    h0 = ((FloatVector) v0.and(0xF0).convert(VectorOperators.I2F, 0)).fma(xh, h0);
                    l1 = ((FloatVector) v1.and(0x0F).convert(VectorOperators.I2F, 0)).fma(xl, l1);
                    h1 = ((FloatVector) v1.and(0xF0).convert(VectorOperators.I2F, 0)).fma(xh, h1);
                }
                int s = (i << 3) + sub;
                t0 = l0.fma(FloatVector.broadcast(S, d0 * GgmlWeights.q4kScale(data, o0 + 4, sub)), t0);
                t0 = h0.fma(FloatVector.broadcast(S, d0 * GgmlWeights.q4kScale(data, o0 + 4, sub + 1)), t0);
                t1 = l1.fma(FloatVector.broadcast(S, d1 * GgmlWeights.q4kScale(data, o1 + 4, sub)), t1);
                t1 = h1.fma(FloatVector.broadcast(S, d1 * GgmlWeights.q4kScale(data, o1 + 4, sub + 1)), t1);
                c0 += m0 * (GgmlWeights.q4kMin(data, o0 + 4, sub) * sums[s]
                        + GgmlWeights.q4kMin(data, o0 + 4, sub + 1) * sums[s + 1]);
                c1 += m1 * (GgmlWeights.q4kMin(data, o1 + 4, sub) * sums[s]
                        + GgmlWeights.q4kMin(data, o1 + 4, sub + 1) * sums[s + 1]);
            }
        }
        ys.set(F, y0 + (long) j0 * Float.BYTES, t0.reduceLanes(VectorOperators.ADD) - c0);
        ys.set(F, y0 + (long) j1 * Float.BYTES, t1.reduceLanes(VectorOperators.ADD) - c1);
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
            float d = GgmlWeights.fp16(data, o + 208);
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
