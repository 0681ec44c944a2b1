package dev.tensorloom.quant.vector;

import static dev.tensorloom.runtime.kernel.vector.Simd.L;
import static dev.tensorloom.runtime.kernel.vector.Simd.S;

import dev.tensorloom.quant.PackedWeights;
import dev.tensorloom.runtime.kernel.Tasks;
import dev.tensorloom.runtime.kernel.vector.Rows;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * c = a·b for a batch of rows: the output channels are taken {@link #PANEL} at a time, dequantized once into a
 * float scratch of PANEL·k (48 KiB at k = 1536: L2-sized, and the only full-precision weights that ever exist),
 * and every row of a is multiplied by the panel, four rows by four channels at a time so eight loads feed
 * sixteen accumulators ({@link #fourByFour}). Decoding is paid once per panel, not once per row of a, which is what makes a batch cheaper
 * than that many GEMVs. a is first copied into a heap array padded with zeros to whole vectors (at most
 * {@link #MAX_A_FLOATS} floats at a time; a larger batch is taken a block of rows at a time, decoding again per
 * block). Threads take contiguous ranges of panels, each with its own scratch.
 */
final class QuantGemm {

    static final int PANEL = 8;
    /** The most floats of a copied at once (16 MiB): larger batches are multiplied a block of rows at a time. */
    private static final int MAX_A_FLOATS = 1 << 22;
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private QuantGemm() {
    }

    /** Writes output channel j's k weights into scratch[at ..], and zeros after them up to a multiple of L. */
    @FunctionalInterface
    interface ChannelDequantizer {
        void dequantize(int j, float[] scratch, int at);
    }

    static void multiply(Tensor a, PackedWeights b, Tensor c, Tasks tasks) {
        CodeDecoder decoder = new CodeDecoder(b);
        multiply(a, b.rows(), b.cols(), (j, scratch, at) -> dequantize(decoder, b, j, scratch, at), c, tasks);
    }

    /** c = a·b for any b [k, n] whose channels {@code channels} dequantizes. */
    static void multiply(Tensor a, int k, int n, ChannelDequantizer channels, Tensor c, Tasks tasks) {
        int m = a.rows();
        if (m == 0) {
            return;
        }
        int panels = Math.ceilDiv(n, PANEL);
        int chunks = Math.min(panels, 2 * tasks.threads());
        int perChunk = Math.ceilDiv(panels, chunks);
        int stride = Math.ceilDiv(k, L) * L;
        // a's rows, a block at a time, in a heap array padded with zeros to whole vectors: plain array loads.
        int blockRows = Math.min(m, Math.max(4, MAX_A_FLOATS / stride));
        float[] ap = new float[blockRows * stride];
        for (int i0 = 0; i0 < m; i0 += blockRows) {
            int rows = Math.min(blockRows, m - i0);
            for (int r = 0; r < rows; r++) {
                MemorySegment.copy(a.segment(), F, Rows.byteOffset(a, i0 + r), ap, r * stride, k);
            }
            int first = i0;
            tasks.forEach(Math.ceilDiv(panels, perChunk), chunk -> {
                float[] scratch = new float[PANEL * stride];
                int end = Math.min(panels, (chunk + 1) * perChunk);
                for (int panel = chunk * perChunk; panel < end; panel++) {
                    int j0 = panel * PANEL;
                    int width = Math.min(PANEL, n - j0);
                    for (int t = 0; t < width; t++) {
                        channels.dequantize(j0 + t, scratch, t * stride);
                    }
                    multiplyPanel(ap, rows, first, scratch, stride, j0, width, c);
                }
            });
        }
    }

    /** Channel j's weights ŵ(p, j) into scratch[at ..], zero past k up to the next multiple of L. */
    private static void dequantize(CodeDecoder decoder, PackedWeights b, int j, float[] scratch, int at) {
        if (CodeDecoder.wholeUnits(b)) {
            dequantizeByUnits(b, j, scratch, at);
            return;
        }
        int k = b.rows();
        int g = b.groupSize();
        for (int group = 0, from = 0; from < k; group++, from += g) {
            float s = b.scale(group, j);
            int z = b.zero(group, j);
            int to = Math.min(k, from + g);
            for (int p = from; p < to; p += L) {
                FloatVector w = decoder.levels(j, p, z).mul(s);
                if (p + L > to) {
                    w = w.blend(0f, S.indexInRange(p, to).not());
                }
                w.intoArray(scratch, at + p);
            }
        }
    }

    /**
     * {@link #dequantize} for the formats {@link CodeDecoder#wholeUnits} accepts, a unit at a time as
     * {@link UnitGemv} reads them: each L bytes loaded and widened once for their 8/w runs, each run masked in
     * place (u·2^shift) and scaled by one FMA, s/2^shift·(u·2^shift) - s·z, which is exact: s·u and s·z fit in
     * float's mantissa, so the FMA's one rounding leaves s·(u - z), which float holds exactly.
     */
    private static void dequantizeByUnits(PackedWeights b, int j, float[] scratch, int at) {
        byte[] codes = b.codes();
        int k = b.rows();
        int w = b.planeWidth(0);
        int mask = (1 << w) - 1;
        int unitValues = 128 / w;
        int limit = Math.ceilDiv(k, L) * L;
        int units = Math.ceilDiv(k, unitValues);
        int unitsPerGroup = b.groups() == 1 ? units : b.groupSize() / unitValues;
        int o = j * b.rowBytes() + b.planeStart(0);
        for (int group = 0, unit = 0; unit < units; group++) {
            float s = b.scale(group, j);
            FloatVector offset = FloatVector.broadcast(S, -s * b.zero(group, j));
            for (int end = unit + unitsPerGroup; unit < end; unit++, o += 16) {
                int p = unit * unitValues;
                for (int h = 0; h < 16; h += L) {
                    IntVector v = CodeDecoder.widen(codes, o + h);
                    for (int shift = 0, q = p + h; shift < 8 && q < limit; shift += w, q += 16) {
                        // u·2^shift masked in place, times s/2^shift, minus s·z: one rounding of the exact s·(u - z)
                        ((FloatVector) v.and(mask << shift).convert(VectorOperators.I2F, 0))
                                .fma(FloatVector.broadcast(S, Math.scalb(s, -shift)), offset)
                                .intoArray(scratch, at + q);
                    }
                }
            }
        }
        Arrays.fill(scratch, at + k, at + limit, 0f); // the padding codes' levels, past k
    }

    /**
     * c[first + i, j0 + t] for the {@code rows} rows of ap and t < width: four rows by four channels at a time
     * ({@link #fourByFour}), then the last rows one accumulator at a time.
     * Every operand is a zero-padded heap array, so the loads are plain and unmasked (masked loads from a memory
     * segment in a kernel this size were left uninlined by C2, and the profile showed the Vector API running as
     * Java code).
     */
    private static void multiplyPanel(float[] ap, int rows, int first, float[] w, int stride, int j0, int width,
            Tensor c) {
        MemorySegment cs = c.segment();
        int i = 0;
        for (; i + 4 <= rows; i += 4) {
            for (int t = 0; t < width; t += 4) {
                // A panel's last one to three channels repeat its last channel: computed again, not stored.
                int last = (width - 1) * stride;
                float[] out = fourByFour(ap, i * stride, stride, w, t * stride, Math.min((t + 1) * stride, last),
                        Math.min((t + 2) * stride, last), Math.min((t + 3) * stride, last));
                for (int q = 0; q < 4 * Math.min(4, width - t); q++) {
                    cs.set(F, Rows.byteOffset(c, first + i + (q & 3), j0 + t + (q >> 2)), out[q]);
                }
            }
        }
        for (; i < rows; i++) {
            for (int t = 0; t < width; t++) {
                cs.set(F, Rows.byteOffset(c, first + i, j0 + t), dot(ap, i * stride, w, t * stride, stride));
            }
        }
    }

    /**
     * The sixteen dot products of four rows of ap (from ap[a0], {@code stride} apart) with four dequantized
     * channels (from w[w0], w[w1], w[w2], w[w3]), as [row + 4·channel]: sixteen accumulators fed by eight loads.
     * Its own method, returning plain floats: inside multiplyPanel, or storing its vectors through a helper, it
     * exceeded C2's inlining budget (NodeCountInliningCutoff) and the vectors passed out of line were boxed,
     * which measured several times slower than the four-rows-by-two-channels kernel it replaces.
     */
    private static float[] fourByFour(float[] ap, int a0, int stride, float[] w, int w0, int w1, int w2, int w3) {
        int a1 = a0 + stride;
        int a2 = a1 + stride;
        int a3 = a2 + stride;
        FloatVector s00 = FloatVector.zero(S), s10 = s00, s20 = s00, s30 = s00;
        FloatVector s01 = s00, s11 = s00, s21 = s00, s31 = s00;
        FloatVector s02 = s00, s12 = s00, s22 = s00, s32 = s00;
        FloatVector s03 = s00, s13 = s00, s23 = s00, s33 = s00;
        for (int p = 0; p < stride; p += L) {
            FloatVector x0 = FloatVector.fromArray(S, ap, a0 + p);
            FloatVector x1 = FloatVector.fromArray(S, ap, a1 + p);
            FloatVector x2 = FloatVector.fromArray(S, ap, a2 + p);
            FloatVector x3 = FloatVector.fromArray(S, ap, a3 + p);
            FloatVector v = FloatVector.fromArray(S, w, w0 + p);
            s00 = x0.fma(v, s00);
            s10 = x1.fma(v, s10);
            s20 = x2.fma(v, s20);
            s30 = x3.fma(v, s30);
            v = FloatVector.fromArray(S, w, w1 + p);
            s01 = x0.fma(v, s01);
            s11 = x1.fma(v, s11);
            s21 = x2.fma(v, s21);
            s31 = x3.fma(v, s31);
            v = FloatVector.fromArray(S, w, w2 + p);
            s02 = x0.fma(v, s02);
            s12 = x1.fma(v, s12);
            s22 = x2.fma(v, s22);
            s32 = x3.fma(v, s32);
            v = FloatVector.fromArray(S, w, w3 + p);
            s03 = x0.fma(v, s03);
            s13 = x1.fma(v, s13);
            s23 = x2.fma(v, s23);
            s33 = x3.fma(v, s33);
        }
        return new float[] {
            s00.reduceLanes(VectorOperators.ADD), s10.reduceLanes(VectorOperators.ADD),
            s20.reduceLanes(VectorOperators.ADD), s30.reduceLanes(VectorOperators.ADD),
            s01.reduceLanes(VectorOperators.ADD), s11.reduceLanes(VectorOperators.ADD),
            s21.reduceLanes(VectorOperators.ADD), s31.reduceLanes(VectorOperators.ADD),
            s02.reduceLanes(VectorOperators.ADD), s12.reduceLanes(VectorOperators.ADD),
            s22.reduceLanes(VectorOperators.ADD), s32.reduceLanes(VectorOperators.ADD),
            s03.reduceLanes(VectorOperators.ADD), s13.reduceLanes(VectorOperators.ADD),
            s23.reduceLanes(VectorOperators.ADD), s33.reduceLanes(VectorOperators.ADD)};
    }

    /** One padded row of a (at ap[aAt]) dotted with one dequantized channel (at w[wAt]), {@code length} floats. */
    private static float dot(float[] ap, int aAt, float[] w, int wAt, int length) {
        FloatVector sum = FloatVector.zero(S);
        for (int p = 0; p < length; p += L) {
            sum = FloatVector.fromArray(S, ap, aAt + p).fma(FloatVector.fromArray(S, w, wAt + p), sum);
        }
        return sum.reduceLanes(VectorOperators.ADD);
    }
}
