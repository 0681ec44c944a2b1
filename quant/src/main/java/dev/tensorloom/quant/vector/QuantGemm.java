package dev.tensorloom.quant.vector;

import static dev.tensorloom.runtime.kernel.vector.Simd.L;
import static dev.tensorloom.runtime.kernel.vector.Simd.NATIVE;
import static dev.tensorloom.runtime.kernel.vector.Simd.S;

import dev.tensorloom.quant.PackedWeights;
import dev.tensorloom.runtime.kernel.Tasks;
import dev.tensorloom.runtime.kernel.vector.Rows;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * c = a·b for a batch of rows: the output channels are taken {@link #PANEL} at a time, dequantized once into a
 * float scratch of PANEL·k (48 KiB at k = 1536: L2-sized, and the only full-precision weights that ever exist),
 * and every row of a is multiplied by the panel, four rows by two channels at a time so six loads feed eight
 * accumulators. Decoding is paid once per panel, not once per row of a, which is what makes a batch cheaper
 * than that many GEMVs. Threads take contiguous ranges of panels, each with its own scratch.
 */
final class QuantGemm {

    static final int PANEL = 8;
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
        tasks.forEach(Math.ceilDiv(panels, perChunk), chunk -> {
            float[] scratch = new float[PANEL * stride];
            int end = Math.min(panels, (chunk + 1) * perChunk);
            for (int panel = chunk * perChunk; panel < end; panel++) {
                int j0 = panel * PANEL;
                int width = Math.min(PANEL, n - j0);
                for (int t = 0; t < width; t++) {
                    channels.dequantize(j0 + t, scratch, t * stride);
                }
                multiplyPanel(a, scratch, stride, k, j0, width, c);
            }
        });
    }

    /** Channel j's weights ŵ(p, j) into scratch[at ..], zero past k up to the next multiple of L. */
    private static void dequantize(CodeDecoder decoder, PackedWeights b, int j, float[] scratch, int at) {
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
     * c[i, j0 + t] for every row i and t < width: four rows by two channels at a time (eight accumulators fed by
     * six loads), then the odd channel and the last rows one accumulator at a time. a is read unmasked up to the
     * last whole vector, then once with a mask.
     */
    private static void multiplyPanel(Tensor a, float[] w, int stride, int k, int j0, int width, Tensor c) {
        MemorySegment as = a.segment();
        MemorySegment cs = c.segment();
        int m = a.rows();
        int whole = k / L * L;
        VectorMask<Float> tail = S.indexInRange(whole, k);
        int i = 0;
        for (; i + 4 <= m; i += 4) {
            long a0 = Rows.byteOffset(a, i);
            long a1 = Rows.byteOffset(a, i + 1);
            long a2 = Rows.byteOffset(a, i + 2);
            long a3 = Rows.byteOffset(a, i + 3);
            int t = 0;
            for (; t + 2 <= width; t += 2) {
                FloatVector s00 = FloatVector.zero(S), s10 = s00, s20 = s00, s30 = s00;
                FloatVector s01 = s00, s11 = s00, s21 = s00, s31 = s00;
                int w0 = t * stride;
                int w1 = w0 + stride;
                for (int p = 0; p < k; p += L) {
                    long o = (long) p * Float.BYTES;
                    boolean full = p < whole;
                    FloatVector x0 = full ? load(as, a0 + o) : load(as, a0 + o, tail);
                    FloatVector x1 = full ? load(as, a1 + o) : load(as, a1 + o, tail);
                    FloatVector x2 = full ? load(as, a2 + o) : load(as, a2 + o, tail);
                    FloatVector x3 = full ? load(as, a3 + o) : load(as, a3 + o, tail);
                    FloatVector v0 = FloatVector.fromArray(S, w, w0 + p);
                    FloatVector v1 = FloatVector.fromArray(S, w, w1 + p);
                    s00 = x0.fma(v0, s00);
                    s10 = x1.fma(v0, s10);
                    s20 = x2.fma(v0, s20);
                    s30 = x3.fma(v0, s30);
                    s01 = x0.fma(v1, s01);
                    s11 = x1.fma(v1, s11);
                    s21 = x2.fma(v1, s21);
                    s31 = x3.fma(v1, s31);
                }
                store(cs, c, i, j0 + t, s00, s10, s20, s30);
                store(cs, c, i, j0 + t + 1, s01, s11, s21, s31);
            }
            for (; t < width; t++) {
                for (int r = 0; r < 4; r++) {
                    cs.set(F, Rows.byteOffset(c, i + r, j0 + t), dot(as, Rows.byteOffset(a, i + r), w, t * stride, k,
                            whole, tail));
                }
            }
        }
        for (; i < m; i++) {
            long a0 = Rows.byteOffset(a, i);
            for (int t = 0; t < width; t++) {
                cs.set(F, Rows.byteOffset(c, i, j0 + t), dot(as, a0, w, t * stride, k, whole, tail));
            }
        }
    }

    /** One row of a (at byte a0) dotted with one dequantized channel (at w[wAt]). */
    private static float dot(MemorySegment as, long a0, float[] w, int wAt, int k, int whole, VectorMask<Float> tail) {
        FloatVector sum = FloatVector.zero(S);
        for (int p = 0; p < k; p += L) {
            long o = a0 + (long) p * Float.BYTES;
            FloatVector x = p < whole ? load(as, o) : load(as, o, tail);
            sum = x.fma(FloatVector.fromArray(S, w, wAt + p), sum);
        }
        return sum.reduceLanes(VectorOperators.ADD);
    }

    /** c[i .. i+3, j] = the four sums. */
    private static void store(MemorySegment cs, Tensor c, int i, int j, FloatVector s0, FloatVector s1,
            FloatVector s2, FloatVector s3) {
        cs.set(F, Rows.byteOffset(c, i, j), s0.reduceLanes(VectorOperators.ADD));
        cs.set(F, Rows.byteOffset(c, i + 1, j), s1.reduceLanes(VectorOperators.ADD));
        cs.set(F, Rows.byteOffset(c, i + 2, j), s2.reduceLanes(VectorOperators.ADD));
        cs.set(F, Rows.byteOffset(c, i + 3, j), s3.reduceLanes(VectorOperators.ADD));
    }

    private static FloatVector load(MemorySegment s, long offset) {
        return FloatVector.fromMemorySegment(S, s, offset, NATIVE);
    }

    private static FloatVector load(MemorySegment s, long offset, VectorMask<Float> mask) {
        return FloatVector.fromMemorySegment(S, s, offset, NATIVE, mask);
    }
}
