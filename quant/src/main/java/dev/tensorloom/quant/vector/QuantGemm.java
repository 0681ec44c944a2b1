package dev.tensorloom.quant.vector;

import static dev.tensorloom.runtime.kernel.vector.Simd.L;
import static dev.tensorloom.runtime.kernel.vector.Simd.S;

import dev.tensorloom.quant.PackedWeights;
import dev.tensorloom.runtime.kernel.Tasks;
import dev.tensorloom.runtime.kernel.vector.PanelGemm;
import dev.tensorloom.runtime.tensor.Tensor;
import java.util.Arrays;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * c = a·b for a batch of rows, on the dense GEMM's own register tile: b is decoded, {@value #DEPTH} rows by
 * {@link PanelGemm#PANEL_WIDTH} columns at a time, into float panels laid out as {@link PanelGemm} reads them,
 * and {@link PanelGemm#multiply} runs the fp32 micro-kernel over every row of a against them while they sit in
 * L1/L2. Threads split the columns, so every weight is decoded once per call (once per block of rows when a
 * is larger than {@value #MAX_A_FLOATS} floats); the decoded panels are the only full-precision weights that
 * ever exist.
 *
 * <p>The codes are stored by output channel and a panel row holds PANEL_WIDTH channels at one input index, so
 * decoding includes a transpose. With 16 lanes and one bit plane (2, 4 and 8 bits, {@link #unitsPanel16}) the
 * 16-byte units of 16 channels are transposed as bytes in registers before they are split into codes, and each
 * run of codes is converted and scaled straight into panel rows with per-lane (per-channel) scales; ggml's Q4_0
 * and Q8_0 blocks take the same route a block at a time ({@link GgmlRows#panel16}). Otherwise (3 bits, ggml's
 * K-quants, narrower vectors, a last block of k cut inside a unit) each channel is dequantized
 * along k into a scratch, as the GEMVs read the codes, and every L×L block is transposed into place
 * ({@link #transpose16}, {@link #transpose}). Measured by JFR at 10×384 times 384×1536, 4-bit g128, one thread
 * (loaded 2-core Zen 4): the float-scratch route spent about as long decoding and transposing as in the
 * micro-kernel; the byte transpose about 40% of it. The kernel this replaced multiplied channel-major scratch by
 * a four-row, four-channel dot-product tile with a reduction per output, and ran the 4-bit encoder at 0.75x the
 * fp32 one at batch 1 (~10 tokens).
 *
 * <p>Lost to the panels for few rows (10×384 times 384×1536, 4-bit g128, one thread, thread CPU time on the
 * loaded 2-core Zen 4): decoding each weight vector in registers and feeding it straight to the accumulators of
 * all rows, skipping the panel store and reload. A 12-row × 16-channel tile (one broadcast per FMA) took 0.228
 * ms where the panels took 0.206; 12 rows × 32 channels (24 accumulators) 0.324.
 */
final class QuantGemm {

    /**
     * Rows of b per decoded block: the dense GEMM's k block, and a multiple of every group size, code unit and
     * ggml block (32, 64, 128, 256), so a block never starts inside a group.
     */
    static final int DEPTH = 512;
    private static final int W = PanelGemm.PANEL_WIDTH;
    /** The most floats of a copied at once (16 MiB): larger batches are multiplied a block of rows at a time. */
    private static final int MAX_A_FLOATS = 1 << 22;
    /**
     * Panels decoded before the rows of a are run against them, when a has many rows: 256 columns, so a
     * {@value #DEPTH}-row block of them (512 KiB) stays in L2 while each tile of a meets all of them.
     */
    private static final int MAX_BLOCK_PANELS = Math.max(1, 256 / W);
    private static final int ROUNDS = Integer.numberOfTrailingZeros(L);
    /** Lane selections of one transpose round: lane t takes lane t/2 (+ L/2 for HIGH) of x (t even) or y (t odd). */
    private static final FloatVector LOW = interleave(0);
    private static final FloatVector HIGH = interleave(L / 2);
    private static final IntVector LOW_INT = (IntVector) LOW.convert(VectorOperators.F2I, 0);
    private static final IntVector HIGH_INT = (IntVector) HIGH.convert(VectorOperators.F2I, 0);
    /** 64-lane bytes, for {@link #transposeQuad} (used only with 16 float lanes, 512-bit vectors). */
    private static final VectorSpecies<Byte> B64 = ByteVector.SPECIES_512;
    private static final ByteVector LOW_BYTES = byteInterleave(0);
    private static final ByteVector HIGH_BYTES = byteInterleave(32);
    /** Where {@link #transposeQuad}'s sixteen vectors lie in its scratch between the rounds. */
    private static final int[] SIXTEENTHS = {0, 64, 128, 192, 256, 320, 384, 448, 512, 576, 640, 704, 768, 832, 896,
        960};

    private QuantGemm() {
    }

    /**
     * Writes ŵ(p, j) for p in [from, to) into out[at + p - from], then zeros up to the next multiple of L; from
     * is a multiple of {@link #DEPTH} and to is min(k, from + DEPTH).
     */
    @FunctionalInterface
    interface ChannelDequantizer {
        void dequantize(int j, int from, int to, float[] out, int at);
    }

    /**
     * Decodes a panel (columns [j0, j0 + W) of b over rows [pc, pc + kc)) straight from the codes: the 16-lane
     * route on which the code bytes of 16 channels are transposed in registers before they are split.
     */
    interface PanelDecoder {

        /** Whether a depth block of kc rows takes this route (the last block of k may end inside a unit). */
        boolean takes(int kc);

        void decode(int j0, int pc, int kc, float[] panel, int at, Scratch scratch);
    }

    /**
     * One thread's scratch for the tasks of {@link #multiply} and its {@link PanelDecoder}: the decoded panels, the
     * channels of the channel-at-a-time path, per-lane scales, the 16 channels' rows, transposed bytes. Kept for the
     * thread's life and grown when a call needs more (at most 512 KiB of panels and 64 KiB of channels), where each
     * task allocated its own and the JVM zeroed them: at 10 rows, 4-bit g128, MiniLM's four products of a layer took
     * 221-230 µs against 255-261 on 2 threads (a probe of median times, 2-core Zen 5, builds alternating,
     * 2026-12-02). A task reads only what it has written first, since the arrays still hold the last task's floats.
     */
    static final class Scratch {
        private static final ThreadLocal<Scratch> OWN = ThreadLocal.withInitial(Scratch::new);

        final float[] lanes = new float[2 * L * L];
        final int[] rows = new int[L];
        /** Transposed code bytes: 16 rows of 16 int lanes (read as ints: {@link #row}). */
        final byte[] bytes = new byte[16 * 64];
        /** {@link #transposeQuad}'s vectors between its rounds. */
        final byte[] half = new byte[16 * 64];
        private float[] panels = new float[0];
        private float[] channels = new float[0];

        /** This thread's scratch. */
        static Scratch own() {
            return OWN.get();
        }

        /** The decoded panels' array, at least {@code length} floats. */
        float[] panels(int length) {
            panels = atLeast(panels, length);
            return panels;
        }

        /** The channel-at-a-time path's array of decoded channels, at least {@code length} floats. */
        float[] channels(int length) {
            channels = atLeast(channels, length);
            return channels;
        }

        private static float[] atLeast(float[] array, int length) {
            return array.length < length ? new float[length] : array;
        }
    }

    /** Row r of a transposed block as 16 int lanes (the int stores of {@link #transposeUnit} read back). */
    static IntVector row(byte[] bytes, int r) {
        return ByteVector.fromArray(B64, bytes, 64 * r).reinterpretAsInts();
    }

    static void multiply(Tensor a, PackedWeights b, Tensor c, Tasks tasks) {
        CodeDecoder decoder = new CodeDecoder(b);
        boolean units = CodeDecoder.wholeUnits(b);
        ChannelDequantizer channels = units
                ? (j, from, to, out, at) -> dequantizeByUnits(b, j, from, to, out, at)
                : (j, from, to, out, at) -> dequantize(decoder, b, j, from, to, out, at);
        PanelDecoder panels = L == 16 && units ? new PanelDecoder() {
            @Override
            public boolean takes(int kc) {
                return kc % (128 / b.planeWidth(0)) == 0;
            }

            @Override
            public void decode(int j0, int pc, int kc, float[] panel, int at, Scratch s) {
                unitsPanel16(b, j0, pc, kc, panel, at, s);
            }
        } : null;
        multiply(a, b.rows(), b.cols(), channels, panels, c, tasks);
    }

    /**
     * c = a·b for any b [k, n] whose channels {@code channels} dequantizes, with the panels decoded by
     * {@code panels} where it is not null and takes the depth block.
     */
    static void multiply(Tensor a, int k, int n, ChannelDequantizer channels, PanelDecoder panelDecoder, Tensor c,
            Tasks tasks) {
        int m = a.rows();
        if (m == 0) {
            return;
        }
        int panels = Math.ceilDiv(n, W);
        // Chunks of whole steps of the micro-kernel, two a thread (PanelGemm.partStart).
        int step = PanelGemm.PANELS_PER_STEP;
        int steps = PanelGemm.steps(panels);
        int chunks = Math.min(steps, 2 * tasks.threads());
        int perChunk = Math.ceilDiv(steps, chunks) * step;
        int kcMax = Math.min(DEPTH, k);
        int stride = Math.ceilDiv(kcMax, L) * L;
        int blockRows = Math.min(m, Math.max(PanelGemm.TILE_ROWS, MAX_A_FLOATS / k));
        // Only the last depth block can end inside a unit (DEPTH is whole units): the scratch of the
        // channel-at-a-time path is made only when some block takes that path.
        boolean anyGeneric = panelDecoder == null || !panelDecoder.takes(k - (Math.ceilDiv(k, DEPTH) - 1) * DEPTH);
        for (int i0 = 0; i0 < m; i0 += blockRows) {
            int rows = Math.min(blockRows, m - i0);
            float[] rowsA = PanelGemm.rowsOf(a, i0, i0 + rows);
            // Few rows: one step of the micro-kernel's panels at a time, so the scratch stays small; many: a block of
            // panels per tile of a. (perChunk is whole steps and MAX_BLOCK_PANELS at least two, so step <= the most.)
            int blockPanels = Math.clamp(rows / (4 * PanelGemm.TILE_ROWS), step, Math.min(perChunk, MAX_BLOCK_PANELS));
            int first = i0;
            tasks.forEach(chunks, chunk -> {
                Scratch scratch = Scratch.own();
                float[] decoded = anyGeneric ? scratch.channels(W * stride) : null;
                float[] block = scratch.panels(blockPanels * kcMax * W);
                int q1 = PanelGemm.partStart(chunk + 1, chunks, panels);
                for (int qb = PanelGemm.partStart(chunk, chunks, panels); qb < q1; qb += blockPanels) {
                    int count = Math.min(blockPanels, q1 - qb);
                    for (int pc = 0; pc < k; pc += DEPTH) {
                        int kc = Math.min(DEPTH, k - pc);
                        boolean fast = panelDecoder != null && panelDecoder.takes(kc);
                        for (int q = 0; q < count; q++) {
                            if (fast) {
                                panelDecoder.decode((qb + q) * W, pc, kc, block, q * kc * W, scratch);
                            } else {
                                decodePanel(channels, n, (qb + q) * W, pc, kc, decoded, stride, block, q * kc * W,
                                        scratch.lanes);
                            }
                        }
                        PanelGemm.multiply(rowsA, rows, k, pc, kc, block, count, c, first, qb * W, pc > 0);
                    }
                }
            });
        }
    }

    /**
     * Columns [j0, j0 + W) of b over rows [pc, pc + kc) into panel[at ..] as kc rows of W floats: each channel
     * decoded into its row of {@code decoded} (zeros past n), then every L×L block transposed into place.
     */
    private static void decodePanel(ChannelDequantizer channels, int n, int j0, int pc, int kc, float[] decoded,
            int stride, float[] panel, int at, float[] rounds) {
        for (int t = 0; t < W; t++) {
            if (j0 + t < n) {
                channels.dequantize(j0 + t, pc, pc + kc, decoded, t * stride);
            } else {
                Arrays.fill(decoded, t * stride, (t + 1) * stride, 0f);
            }
        }
        for (int v = 0; v < W; v += L) {
            for (int p = 0; p < kc; p += L) {
                if (L == 16) {
                    transpose16(decoded, v * stride + p, stride, panel, at + p * W + v, W, Math.min(L, kc - p), rounds);
                } else {
                    transpose(decoded, v * stride + p, stride, panel, at + p * W + v, W, Math.min(L, kc - p), rounds);
                }
            }
        }
    }

    /**
     * Row r (r &lt; rows) of dst, from dst[d0] with rows dstStride apart, = column r of the L×L block whose rows
     * are src[s0 + i·srcStride ..]. Each round sets out[2i] to the interleaved first halves of in[i] and
     * in[i + L/2] (LOW) and out[2i + 1] to their interleaved second halves (HIGH); log2 L rounds of this perfect
     * shuffle are the transpose. Between rounds the vectors pass through {@code rounds} (two L×L halves, in L1);
     * {@link #transpose16} keeps them in registers.
     */
    private static void transpose(float[] src, int s0, int srcStride, float[] dst, int d0, int dstStride, int rows,
            float[] rounds) {
        float[] in = src;
        int inAt = s0;
        int inStride = srcStride;
        for (int r = 0; r < ROUNDS; r++) {
            boolean last = r == ROUNDS - 1;
            float[] out = last ? dst : rounds;
            int outAt = last ? d0 : (r & 1) * L * L;
            int outStride = last ? dstStride : L;
            for (int i = 0; i < L / 2; i++) {
                FloatVector x = FloatVector.fromArray(S, in, inAt + i * inStride);
                FloatVector y = FloatVector.fromArray(S, in, inAt + (i + L / 2) * inStride);
                if (!last || 2 * i < rows) {
                    LOW.selectFrom(x, y).intoArray(out, outAt + 2 * i * outStride);
                }
                if (!last || 2 * i + 1 < rows) {
                    HIGH.selectFrom(x, y).intoArray(out, outAt + (2 * i + 1) * outStride);
                }
            }
            in = out;
            inAt = outAt;
            inStride = outStride;
        }
    }

    /**
     * {@link #transpose} for 16 lanes (AVX-512) in registers: sixteen loads, the four rounds as 64 lane
     * selections (one vpermt2ps each) and sixteen stores, where the round-by-round version stores and reloads
     * every vector four times. A short last block (rows &lt; 16) goes through {@code spill}.
     */
    private static void transpose16(float[] src, int s0, int srcStride, float[] dst, int d0, int dstStride, int rows,
            float[] spill) {
        FloatVector a0 = FloatVector.fromArray(S, src, s0 + 0 * srcStride);
        FloatVector a1 = FloatVector.fromArray(S, src, s0 + 1 * srcStride);
        FloatVector a2 = FloatVector.fromArray(S, src, s0 + 2 * srcStride);
        FloatVector a3 = FloatVector.fromArray(S, src, s0 + 3 * srcStride);
        FloatVector a4 = FloatVector.fromArray(S, src, s0 + 4 * srcStride);
        FloatVector a5 = FloatVector.fromArray(S, src, s0 + 5 * srcStride);
        FloatVector a6 = FloatVector.fromArray(S, src, s0 + 6 * srcStride);
        FloatVector a7 = FloatVector.fromArray(S, src, s0 + 7 * srcStride);
        FloatVector a8 = FloatVector.fromArray(S, src, s0 + 8 * srcStride);
        FloatVector a9 = FloatVector.fromArray(S, src, s0 + 9 * srcStride);
        FloatVector a10 = FloatVector.fromArray(S, src, s0 + 10 * srcStride);
        FloatVector a11 = FloatVector.fromArray(S, src, s0 + 11 * srcStride);
        FloatVector a12 = FloatVector.fromArray(S, src, s0 + 12 * srcStride);
        FloatVector a13 = FloatVector.fromArray(S, src, s0 + 13 * srcStride);
        FloatVector a14 = FloatVector.fromArray(S, src, s0 + 14 * srcStride);
        FloatVector a15 = FloatVector.fromArray(S, src, s0 + 15 * srcStride);
        FloatVector b0 = LOW.selectFrom(a0, a8);
        FloatVector b1 = HIGH.selectFrom(a0, a8);
        FloatVector b2 = LOW.selectFrom(a1, a9);
        FloatVector b3 = HIGH.selectFrom(a1, a9);
        FloatVector b4 = LOW.selectFrom(a2, a10);
        FloatVector b5 = HIGH.selectFrom(a2, a10);
        FloatVector b6 = LOW.selectFrom(a3, a11);
        FloatVector b7 = HIGH.selectFrom(a3, a11);
        FloatVector b8 = LOW.selectFrom(a4, a12);
        FloatVector b9 = HIGH.selectFrom(a4, a12);
        FloatVector b10 = LOW.selectFrom(a5, a13);
        FloatVector b11 = HIGH.selectFrom(a5, a13);
        FloatVector b12 = LOW.selectFrom(a6, a14);
        FloatVector b13 = HIGH.selectFrom(a6, a14);
        FloatVector b14 = LOW.selectFrom(a7, a15);
        FloatVector b15 = HIGH.selectFrom(a7, a15);
        FloatVector c0 = LOW.selectFrom(b0, b8);
        FloatVector c1 = HIGH.selectFrom(b0, b8);
        FloatVector c2 = LOW.selectFrom(b1, b9);
        FloatVector c3 = HIGH.selectFrom(b1, b9);
        FloatVector c4 = LOW.selectFrom(b2, b10);
        FloatVector c5 = HIGH.selectFrom(b2, b10);
        FloatVector c6 = LOW.selectFrom(b3, b11);
        FloatVector c7 = HIGH.selectFrom(b3, b11);
        FloatVector c8 = LOW.selectFrom(b4, b12);
        FloatVector c9 = HIGH.selectFrom(b4, b12);
        FloatVector c10 = LOW.selectFrom(b5, b13);
        FloatVector c11 = HIGH.selectFrom(b5, b13);
        FloatVector c12 = LOW.selectFrom(b6, b14);
        FloatVector c13 = HIGH.selectFrom(b6, b14);
        FloatVector c14 = LOW.selectFrom(b7, b15);
        FloatVector c15 = HIGH.selectFrom(b7, b15);
        FloatVector g0 = LOW.selectFrom(c0, c8);
        FloatVector g1 = HIGH.selectFrom(c0, c8);
        FloatVector g2 = LOW.selectFrom(c1, c9);
        FloatVector g3 = HIGH.selectFrom(c1, c9);
        FloatVector g4 = LOW.selectFrom(c2, c10);
        FloatVector g5 = HIGH.selectFrom(c2, c10);
        FloatVector g6 = LOW.selectFrom(c3, c11);
        FloatVector g7 = HIGH.selectFrom(c3, c11);
        FloatVector g8 = LOW.selectFrom(c4, c12);
        FloatVector g9 = HIGH.selectFrom(c4, c12);
        FloatVector g10 = LOW.selectFrom(c5, c13);
        FloatVector g11 = HIGH.selectFrom(c5, c13);
        FloatVector g12 = LOW.selectFrom(c6, c14);
        FloatVector g13 = HIGH.selectFrom(c6, c14);
        FloatVector g14 = LOW.selectFrom(c7, c15);
        FloatVector g15 = HIGH.selectFrom(c7, c15);
        FloatVector h0 = LOW.selectFrom(g0, g8);
        FloatVector h1 = HIGH.selectFrom(g0, g8);
        FloatVector h2 = LOW.selectFrom(g1, g9);
        FloatVector h3 = HIGH.selectFrom(g1, g9);
        FloatVector h4 = LOW.selectFrom(g2, g10);
        FloatVector h5 = HIGH.selectFrom(g2, g10);
        FloatVector h6 = LOW.selectFrom(g3, g11);
        FloatVector h7 = HIGH.selectFrom(g3, g11);
        FloatVector h8 = LOW.selectFrom(g4, g12);
        FloatVector h9 = HIGH.selectFrom(g4, g12);
        FloatVector h10 = LOW.selectFrom(g5, g13);
        FloatVector h11 = HIGH.selectFrom(g5, g13);
        FloatVector h12 = LOW.selectFrom(g6, g14);
        FloatVector h13 = HIGH.selectFrom(g6, g14);
        FloatVector h14 = LOW.selectFrom(g7, g15);
        FloatVector h15 = HIGH.selectFrom(g7, g15);
        if (rows == 16) {
            h0.intoArray(dst, d0 + 0 * dstStride);
            h1.intoArray(dst, d0 + 1 * dstStride);
            h2.intoArray(dst, d0 + 2 * dstStride);
            h3.intoArray(dst, d0 + 3 * dstStride);
            h4.intoArray(dst, d0 + 4 * dstStride);
            h5.intoArray(dst, d0 + 5 * dstStride);
            h6.intoArray(dst, d0 + 6 * dstStride);
            h7.intoArray(dst, d0 + 7 * dstStride);
            h8.intoArray(dst, d0 + 8 * dstStride);
            h9.intoArray(dst, d0 + 9 * dstStride);
            h10.intoArray(dst, d0 + 10 * dstStride);
            h11.intoArray(dst, d0 + 11 * dstStride);
            h12.intoArray(dst, d0 + 12 * dstStride);
            h13.intoArray(dst, d0 + 13 * dstStride);
            h14.intoArray(dst, d0 + 14 * dstStride);
            h15.intoArray(dst, d0 + 15 * dstStride);
            return;
        }
        h0.intoArray(spill, 0);
        h1.intoArray(spill, 16);
        h2.intoArray(spill, 32);
        h3.intoArray(spill, 48);
        h4.intoArray(spill, 64);
        h5.intoArray(spill, 80);
        h6.intoArray(spill, 96);
        h7.intoArray(spill, 112);
        h8.intoArray(spill, 128);
        h9.intoArray(spill, 144);
        h10.intoArray(spill, 160);
        h11.intoArray(spill, 176);
        h12.intoArray(spill, 192);
        h13.intoArray(spill, 208);
        h14.intoArray(spill, 224);
        h15.intoArray(spill, 240);
        for (int r = 0; r < rows; r++) {
            System.arraycopy(spill, r * 16, dst, d0 + r * dstStride, 16);
        }
    }

    /**
     * The panel of columns [j0, j0 + W) over rows [pc, pc + kc) straight from the codes, for 16 lanes and the
     * formats {@link CodeDecoder#wholeUnits} accepts, kc a whole number of units: the bytes are transposed before
     * they are split into codes, four units at a time ({@link #transposeQuad}; a last one, two or three alone by
     * {@link #transposeUnit}), so one transpose serves 128/w codes per channel and unit (2 per lane at 4 bits, 4
     * at 2 bits) instead of one, and no channel-major scratch of floats is written. Then per unit and byte row a
     * shift to the unit's byte, and per run one AND, conversion, FMA (each lane's own s/2^shift and -s·z, exact as
     * in {@link #dequantizeByUnits}) and store. Channels past n repeat channel n - 1: finite, and never stored to c.
     */
    private static void unitsPanel16(PackedWeights b, int j0, int pc, int kc, float[] panel, int at, Scratch scratch) {
        float[] lanes = scratch.lanes;
        int[] rows = scratch.rows;
        byte[] bytes = scratch.bytes;
        byte[] codes = b.codes();
        int n = b.cols();
        int w = b.planeWidth(0);
        int mask = (1 << w) - 1;
        int unitValues = 128 / w;
        int g = b.groupSize();
        int plane = b.planeStart(0);
        for (int v = 0; v < W; v += 16) {
            for (int t = 0; t < 16; t++) {
                rows[t] = Math.min(n - 1, j0 + v + t) * b.rowBytes() + plane;
            }
            int loaded = -1;
            for (int p = pc; p < pc + kc;) {
                // Four units at once while they lie inside the block, else one.
                int units = p + 4 * unitValues <= pc + kc ? 4 : 1;
                if (units == 4) {
                    transposeQuad(codes, rows, p / unitValues * 16, scratch);
                } else {
                    transposeUnit(codes, rows, p / unitValues * 16, bytes);
                }
                for (int unit = 0; unit < units; unit++, p += unitValues) {
                    int group = p / g;
                    if (group != loaded) {
                        for (int t = 0; t < 16; t++) {
                            int j = Math.min(n - 1, j0 + v + t);
                            float s = b.scale(group, j);
                            lanes[t] = s;
                            lanes[16 + t] = -s * b.zero(group, j);
                        }
                        loaded = group;
                    }
                    // The unit's vectors made in its own scope (carried across the loop, C2 boxed them).
                    FloatVector s0 = FloatVector.fromArray(S, lanes, 0);
                    FloatVector offset = FloatVector.fromArray(S, lanes, 16);
                    FloatVector s1 = s0.mul(Math.scalb(1f, -w));
                    FloatVector s2 = s0.mul(Math.scalb(1f, -2 * w));
                    FloatVector s3 = s0.mul(Math.scalb(1f, -3 * w));
                    int y0 = at + (p - pc) * W + v;
                    for (int r = 0; r < 16; r++) {
                        IntVector u = row(bytes, r).lanewise(VectorOperators.LSHR, 8 * unit);
                        int y = y0 + r * W;
                        ((FloatVector) u.and(mask).convert(VectorOperators.I2F, 0)).fma(s0, offset).intoArray(panel, y);
                        if (w < 8) {
                            ((FloatVector) u.and(mask << w).convert(VectorOperators.I2F, 0)).fma(s1, offset)
                                    .intoArray(panel, y + 16 * W);
                            if (w < 4) {
                                ((FloatVector) u.and(mask << 4).convert(VectorOperators.I2F, 0)).fma(s2, offset)
                                        .intoArray(panel, y + 32 * W);
                                ((FloatVector) u.and(mask << 6).convert(VectorOperators.I2F, 0)).fma(s3, offset)
                                        .intoArray(panel, y + 48 * W);
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * Int lane t of row r of out ({@link #row}) = byte r of the 16-byte unit at codes[rows[t] + o], widened: the unit
     * of 16 channels transposed in registers, sixteen widening loads, four rounds of 16 lane selections as in
     * {@link #transpose}, sixteen stores.
     */
    static void transposeUnit(byte[] codes, int[] rows, int o, byte[] out) {
        IntVector a0 = CodeDecoder.widen(codes, rows[0] + o);
        IntVector a1 = CodeDecoder.widen(codes, rows[1] + o);
        IntVector a2 = CodeDecoder.widen(codes, rows[2] + o);
        IntVector a3 = CodeDecoder.widen(codes, rows[3] + o);
        IntVector a4 = CodeDecoder.widen(codes, rows[4] + o);
        IntVector a5 = CodeDecoder.widen(codes, rows[5] + o);
        IntVector a6 = CodeDecoder.widen(codes, rows[6] + o);
        IntVector a7 = CodeDecoder.widen(codes, rows[7] + o);
        IntVector a8 = CodeDecoder.widen(codes, rows[8] + o);
        IntVector a9 = CodeDecoder.widen(codes, rows[9] + o);
        IntVector a10 = CodeDecoder.widen(codes, rows[10] + o);
        IntVector a11 = CodeDecoder.widen(codes, rows[11] + o);
        IntVector a12 = CodeDecoder.widen(codes, rows[12] + o);
        IntVector a13 = CodeDecoder.widen(codes, rows[13] + o);
        IntVector a14 = CodeDecoder.widen(codes, rows[14] + o);
        IntVector a15 = CodeDecoder.widen(codes, rows[15] + o);
        IntVector b0 = LOW_INT.selectFrom(a0, a8);
        IntVector b1 = HIGH_INT.selectFrom(a0, a8);
        IntVector b2 = LOW_INT.selectFrom(a1, a9);
        IntVector b3 = HIGH_INT.selectFrom(a1, a9);
        IntVector b4 = LOW_INT.selectFrom(a2, a10);
        IntVector b5 = HIGH_INT.selectFrom(a2, a10);
        IntVector b6 = LOW_INT.selectFrom(a3, a11);
        IntVector b7 = HIGH_INT.selectFrom(a3, a11);
        IntVector b8 = LOW_INT.selectFrom(a4, a12);
        IntVector b9 = HIGH_INT.selectFrom(a4, a12);
        IntVector b10 = LOW_INT.selectFrom(a5, a13);
        IntVector b11 = HIGH_INT.selectFrom(a5, a13);
        IntVector b12 = LOW_INT.selectFrom(a6, a14);
        IntVector b13 = HIGH_INT.selectFrom(a6, a14);
        IntVector b14 = LOW_INT.selectFrom(a7, a15);
        IntVector b15 = HIGH_INT.selectFrom(a7, a15);
        IntVector f0 = LOW_INT.selectFrom(b0, b8);
        IntVector f1 = HIGH_INT.selectFrom(b0, b8);
        IntVector f2 = LOW_INT.selectFrom(b1, b9);
        IntVector f3 = HIGH_INT.selectFrom(b1, b9);
        IntVector f4 = LOW_INT.selectFrom(b2, b10);
        IntVector f5 = HIGH_INT.selectFrom(b2, b10);
        IntVector f6 = LOW_INT.selectFrom(b3, b11);
        IntVector f7 = HIGH_INT.selectFrom(b3, b11);
        IntVector f8 = LOW_INT.selectFrom(b4, b12);
        IntVector f9 = HIGH_INT.selectFrom(b4, b12);
        IntVector f10 = LOW_INT.selectFrom(b5, b13);
        IntVector f11 = HIGH_INT.selectFrom(b5, b13);
        IntVector f12 = LOW_INT.selectFrom(b6, b14);
        IntVector f13 = HIGH_INT.selectFrom(b6, b14);
        IntVector f14 = LOW_INT.selectFrom(b7, b15);
        IntVector f15 = HIGH_INT.selectFrom(b7, b15);
        IntVector g0 = LOW_INT.selectFrom(f0, f8);
        IntVector g1 = HIGH_INT.selectFrom(f0, f8);
        IntVector g2 = LOW_INT.selectFrom(f1, f9);
        IntVector g3 = HIGH_INT.selectFrom(f1, f9);
        IntVector g4 = LOW_INT.selectFrom(f2, f10);
        IntVector g5 = HIGH_INT.selectFrom(f2, f10);
        IntVector g6 = LOW_INT.selectFrom(f3, f11);
        IntVector g7 = HIGH_INT.selectFrom(f3, f11);
        IntVector g8 = LOW_INT.selectFrom(f4, f12);
        IntVector g9 = HIGH_INT.selectFrom(f4, f12);
        IntVector g10 = LOW_INT.selectFrom(f5, f13);
        IntVector g11 = HIGH_INT.selectFrom(f5, f13);
        IntVector g12 = LOW_INT.selectFrom(f6, f14);
        IntVector g13 = HIGH_INT.selectFrom(f6, f14);
        IntVector g14 = LOW_INT.selectFrom(f7, f15);
        IntVector g15 = HIGH_INT.selectFrom(f7, f15);
        IntVector h0 = LOW_INT.selectFrom(g0, g8);
        IntVector h1 = HIGH_INT.selectFrom(g0, g8);
        IntVector h2 = LOW_INT.selectFrom(g1, g9);
        IntVector h3 = HIGH_INT.selectFrom(g1, g9);
        IntVector h4 = LOW_INT.selectFrom(g2, g10);
        IntVector h5 = HIGH_INT.selectFrom(g2, g10);
        IntVector h6 = LOW_INT.selectFrom(g3, g11);
        IntVector h7 = HIGH_INT.selectFrom(g3, g11);
        IntVector h8 = LOW_INT.selectFrom(g4, g12);
        IntVector h9 = HIGH_INT.selectFrom(g4, g12);
        IntVector h10 = LOW_INT.selectFrom(g5, g13);
        IntVector h11 = HIGH_INT.selectFrom(g5, g13);
        IntVector h12 = LOW_INT.selectFrom(g6, g14);
        IntVector h13 = HIGH_INT.selectFrom(g6, g14);
        IntVector h14 = LOW_INT.selectFrom(g7, g15);
        IntVector h15 = HIGH_INT.selectFrom(g7, g15);
        h0.reinterpretAsBytes().intoArray(out, 0);
        h1.reinterpretAsBytes().intoArray(out, 64);
        h2.reinterpretAsBytes().intoArray(out, 128);
        h3.reinterpretAsBytes().intoArray(out, 192);
        h4.reinterpretAsBytes().intoArray(out, 256);
        h5.reinterpretAsBytes().intoArray(out, 320);
        h6.reinterpretAsBytes().intoArray(out, 384);
        h7.reinterpretAsBytes().intoArray(out, 448);
        h8.reinterpretAsBytes().intoArray(out, 512);
        h9.reinterpretAsBytes().intoArray(out, 576);
        h10.reinterpretAsBytes().intoArray(out, 640);
        h11.reinterpretAsBytes().intoArray(out, 704);
        h12.reinterpretAsBytes().intoArray(out, 768);
        h13.reinterpretAsBytes().intoArray(out, 832);
        h14.reinterpretAsBytes().intoArray(out, 896);
        h15.reinterpretAsBytes().intoArray(out, 960);
    }

    /**
     * Int lane t of row r of scratch.bytes ({@link #row}) = bytes r of the four consecutive 16-byte units at
     * codes[rows[t] + o] (byte u of the int is unit u's byte r): 16 channels' 64 bytes transposed in registers as
     * 64-lane byte vectors, sixteen loads, six rounds of the perfect shuffle of {@link #transpose} at byte
     * granularity (a round rotates a byte's 10-bit address, vector then lane, left by one; after six, the vector is
     * the byte's row r and the lane its channel and unit) and sixteen stores. It serves four units with 96 lane selections where
     * {@link #transposeUnit} takes 64 for one. The rounds run as two calls of three, through {@code scratch.half}
     * (1 KiB, in L1): all six in one method left C2 over its inlining budget, and the Vector API calls it left out
     * of line ran about 7x slower.
     */
    private static void transposeQuad(byte[] codes, int[] rows, int o, Scratch scratch) {
        threeRounds(codes, rows, o, scratch.half);
        threeRounds(scratch.half, SIXTEENTHS, 0, scratch.bytes);
    }

    /** Vector t at src[starts[t] + o] for t &lt; 16, three rounds, vector t to dst at byte 64·t. */
    private static void threeRounds(byte[] src, int[] starts, int o, byte[] dst) {
        ByteVector a0 = ByteVector.fromArray(B64, src, starts[0] + o);
        ByteVector a1 = ByteVector.fromArray(B64, src, starts[1] + o);
        ByteVector a2 = ByteVector.fromArray(B64, src, starts[2] + o);
        ByteVector a3 = ByteVector.fromArray(B64, src, starts[3] + o);
        ByteVector a4 = ByteVector.fromArray(B64, src, starts[4] + o);
        ByteVector a5 = ByteVector.fromArray(B64, src, starts[5] + o);
        ByteVector a6 = ByteVector.fromArray(B64, src, starts[6] + o);
        ByteVector a7 = ByteVector.fromArray(B64, src, starts[7] + o);
        ByteVector a8 = ByteVector.fromArray(B64, src, starts[8] + o);
        ByteVector a9 = ByteVector.fromArray(B64, src, starts[9] + o);
        ByteVector a10 = ByteVector.fromArray(B64, src, starts[10] + o);
        ByteVector a11 = ByteVector.fromArray(B64, src, starts[11] + o);
        ByteVector a12 = ByteVector.fromArray(B64, src, starts[12] + o);
        ByteVector a13 = ByteVector.fromArray(B64, src, starts[13] + o);
        ByteVector a14 = ByteVector.fromArray(B64, src, starts[14] + o);
        ByteVector a15 = ByteVector.fromArray(B64, src, starts[15] + o);
        ByteVector b0 = LOW_BYTES.selectFrom(a0, a8);
        ByteVector b1 = HIGH_BYTES.selectFrom(a0, a8);
        ByteVector b2 = LOW_BYTES.selectFrom(a1, a9);
        ByteVector b3 = HIGH_BYTES.selectFrom(a1, a9);
        ByteVector b4 = LOW_BYTES.selectFrom(a2, a10);
        ByteVector b5 = HIGH_BYTES.selectFrom(a2, a10);
        ByteVector b6 = LOW_BYTES.selectFrom(a3, a11);
        ByteVector b7 = HIGH_BYTES.selectFrom(a3, a11);
        ByteVector b8 = LOW_BYTES.selectFrom(a4, a12);
        ByteVector b9 = HIGH_BYTES.selectFrom(a4, a12);
        ByteVector b10 = LOW_BYTES.selectFrom(a5, a13);
        ByteVector b11 = HIGH_BYTES.selectFrom(a5, a13);
        ByteVector b12 = LOW_BYTES.selectFrom(a6, a14);
        ByteVector b13 = HIGH_BYTES.selectFrom(a6, a14);
        ByteVector b14 = LOW_BYTES.selectFrom(a7, a15);
        ByteVector b15 = HIGH_BYTES.selectFrom(a7, a15);
        ByteVector c0 = LOW_BYTES.selectFrom(b0, b8);
        ByteVector c1 = HIGH_BYTES.selectFrom(b0, b8);
        ByteVector c2 = LOW_BYTES.selectFrom(b1, b9);
        ByteVector c3 = HIGH_BYTES.selectFrom(b1, b9);
        ByteVector c4 = LOW_BYTES.selectFrom(b2, b10);
        ByteVector c5 = HIGH_BYTES.selectFrom(b2, b10);
        ByteVector c6 = LOW_BYTES.selectFrom(b3, b11);
        ByteVector c7 = HIGH_BYTES.selectFrom(b3, b11);
        ByteVector c8 = LOW_BYTES.selectFrom(b4, b12);
        ByteVector c9 = HIGH_BYTES.selectFrom(b4, b12);
        ByteVector c10 = LOW_BYTES.selectFrom(b5, b13);
        ByteVector c11 = HIGH_BYTES.selectFrom(b5, b13);
        ByteVector c12 = LOW_BYTES.selectFrom(b6, b14);
        ByteVector c13 = HIGH_BYTES.selectFrom(b6, b14);
        ByteVector c14 = LOW_BYTES.selectFrom(b7, b15);
        ByteVector c15 = HIGH_BYTES.selectFrom(b7, b15);
        ByteVector d0 = LOW_BYTES.selectFrom(c0, c8);
        ByteVector d1 = HIGH_BYTES.selectFrom(c0, c8);
        ByteVector d2 = LOW_BYTES.selectFrom(c1, c9);
        ByteVector d3 = HIGH_BYTES.selectFrom(c1, c9);
        ByteVector d4 = LOW_BYTES.selectFrom(c2, c10);
        ByteVector d5 = HIGH_BYTES.selectFrom(c2, c10);
        ByteVector d6 = LOW_BYTES.selectFrom(c3, c11);
        ByteVector d7 = HIGH_BYTES.selectFrom(c3, c11);
        ByteVector d8 = LOW_BYTES.selectFrom(c4, c12);
        ByteVector d9 = HIGH_BYTES.selectFrom(c4, c12);
        ByteVector d10 = LOW_BYTES.selectFrom(c5, c13);
        ByteVector d11 = HIGH_BYTES.selectFrom(c5, c13);
        ByteVector d12 = LOW_BYTES.selectFrom(c6, c14);
        ByteVector d13 = HIGH_BYTES.selectFrom(c6, c14);
        ByteVector d14 = LOW_BYTES.selectFrom(c7, c15);
        ByteVector d15 = HIGH_BYTES.selectFrom(c7, c15);
        d0.intoArray(dst, 0);
        d1.intoArray(dst, 64);
        d2.intoArray(dst, 128);
        d3.intoArray(dst, 192);
        d4.intoArray(dst, 256);
        d5.intoArray(dst, 320);
        d6.intoArray(dst, 384);
        d7.intoArray(dst, 448);
        d8.intoArray(dst, 512);
        d9.intoArray(dst, 576);
        d10.intoArray(dst, 640);
        d11.intoArray(dst, 704);
        d12.intoArray(dst, 768);
        d13.intoArray(dst, 832);
        d14.intoArray(dst, 896);
        d15.intoArray(dst, 960);
    }

    /** The selection of one round: lane t is lane from + t/2 of the first vector (t even) or the second (t odd). */
    private static FloatVector interleave(int from) {
        float[] index = new float[L];
        for (int t = 0; t < L; t++) {
            index[t] = from + t / 2 + (t % 2) * L;
        }
        return FloatVector.fromArray(S, index, 0);
    }

    /** {@link #interleave} for 64 byte lanes. */
    private static ByteVector byteInterleave(int from) {
        byte[] index = new byte[64];
        for (int t = 0; t < 64; t++) {
            index[t] = (byte) (from + t / 2 + (t % 2) * 64);
        }
        return ByteVector.fromArray(B64, index, 0);
    }

    /** Channel j's weights ŵ(p, j) for p in [from, to) into out[at ..], zero after them up to a multiple of L. */
    private static void dequantize(CodeDecoder decoder, PackedWeights b, int j, int from, int to, float[] out,
            int at) {
        int g = b.groupSize();
        for (int p = from; p < to;) {
            int group = p / g;
            int end = Math.min(to, (group + 1) * g);
            float s = b.scale(group, j);
            int z = b.zero(group, j);
            for (; p < end; p += L) {
                FloatVector w = decoder.levels(j, p, z).mul(s);
                if (p + L > end) {
                    w = w.blend(0f, S.indexInRange(p, end).not());
                }
                w.intoArray(out, at + p - from);
            }
        }
    }

    /**
     * {@link #dequantize} for the formats {@link CodeDecoder#wholeUnits} accepts, a unit at a time as
     * {@link UnitGemv} reads them: each L bytes loaded and widened once for their 8/w runs, each run masked in
     * place (u·2^shift) and scaled by one FMA, s/2^shift·(u·2^shift) - s·z, which is exact: s·u and s·z fit in
     * float's mantissa, so the FMA's one rounding leaves s·(u - z), which float holds exactly. The four scales
     * s/2^shift are made once per group; whole units take the unrolled runs, the last unit of a row the loop.
     */
    private static void dequantizeByUnits(PackedWeights b, int j, int from, int to, float[] out, int at) {
        byte[] codes = b.codes();
        int w = b.planeWidth(0);
        int mask = (1 << w) - 1;
        int unitValues = 128 / w;
        int g = b.groupSize();
        int limit = from + Math.ceilDiv(to - from, L) * L;
        int o = j * b.rowBytes() + b.planeStart(0) + from / unitValues * 16;
        // One group at a time, its vectors made in the group's own scope: vectors carried across the loop in
        // variables assigned on a branch were boxed by C2 (broadcastBits on top of the profile).
        for (int p = from; p < to;) {
            int group = p / g;
            int groupEnd = Math.min(to, (group + 1) * g);
            float s = b.scale(group, j);
            FloatVector offset = FloatVector.broadcast(S, -s * b.zero(group, j));
            FloatVector f0 = FloatVector.broadcast(S, s);
            FloatVector f1 = FloatVector.broadcast(S, Math.scalb(s, -w));
            FloatVector f2 = FloatVector.broadcast(S, Math.scalb(s, -2 * w));
            FloatVector f3 = FloatVector.broadcast(S, Math.scalb(s, -3 * w));
            for (; p < groupEnd && p + unitValues <= limit; p += unitValues, o += 16) {
                int y = at + p - from;
                for (int h = 0; h < 16; h += L) {
                    IntVector v = CodeDecoder.widen(codes, o + h);
                    ((FloatVector) v.and(mask).convert(VectorOperators.I2F, 0)).fma(f0, offset)
                            .intoArray(out, y + h);
                    if (w < 8) {
                        ((FloatVector) v.and(mask << w).convert(VectorOperators.I2F, 0)).fma(f1, offset)
                                .intoArray(out, y + h + 16);
                        if (w < 4) {
                            ((FloatVector) v.and(mask << 4).convert(VectorOperators.I2F, 0)).fma(f2, offset)
                                    .intoArray(out, y + h + 32);
                            ((FloatVector) v.and(mask << 6).convert(VectorOperators.I2F, 0)).fma(f3, offset)
                                    .intoArray(out, y + h + 48);
                        }
                    }
                }
            }
            if (p < groupEnd) { // the row's last unit, cut by k: only its runs below the limit
                for (int h = 0; h < 16; h += L) {
                    IntVector v = CodeDecoder.widen(codes, o + h);
                    for (int shift = 0, q = p + h; shift < 8 && q < limit; shift += w, q += 16) {
                        // u·2^shift masked in place, times s/2^shift, minus s·z: one rounding of the exact s·(u - z)
                        ((FloatVector) v.and(mask << shift).convert(VectorOperators.I2F, 0))
                                .fma(FloatVector.broadcast(S, Math.scalb(s, -shift)), offset)
                                .intoArray(out, at + q - from);
                    }
                }
                p += unitValues;
                o += 16;
            }
        }
        Arrays.fill(out, at + to - from, at + limit - from, 0f); // the padding codes' levels, past k
    }
}
