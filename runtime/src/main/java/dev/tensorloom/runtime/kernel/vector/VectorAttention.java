package dev.tensorloom.runtime.kernel.vector;

import static dev.tensorloom.runtime.kernel.vector.Simd.L;
import static dev.tensorloom.runtime.kernel.vector.Simd.S;

import dev.tensorloom.runtime.kernel.Tasks;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Multi-head attention that streams (the flash-attention order), with queries across the vector lanes: one task
 * per (sequence, head, block of queries), which copies the key and value rows of the sequence's real keys for
 * that head once, holds its queries transposed (head dim × queries, scaled by 1/√head dim), and takes them
 * {@link Simd#L} at a time. For each such vector of queries it walks the keys in blocks of {@value #KEY_BLOCK},
 * keeping per query (per lane) a running maximum m, a running sum l and an unnormalized output o, also transposed:
 * <ol>
 * <li>scores of the block: for each key, Σ_d qᵀ[d]·k[d], {@value #TILE} keys a pass (eight independent FMA chains,
 * each query vector load feeding eight);
 * <li>online softmax: the block's maximum per lane is the largest of its keys' score vectors, so with
 * m' = max(m, block) nothing is reduced across lanes; o and l are scaled by exp(m - m'), and p = exp(score - m')
 * is added to l;
 * <li>o += Σ_keys p·v[d], {@value #TILE} head dimensions a pass.
 * </ol>
 * The output is o / l, transposed back as it is stored. A task holds O((keys + queries)·head dim) floats whatever
 * the length: no [seq, seq] score matrix, nor even one score row, exists. Padded keys are never copied; queries
 * past a block's last are zero lanes, computed and never stored. A sequence with no real key yields zeros, as the
 * oracle's 0/0 guard does.
 *
 * <p>The lanes hold queries, not keys: with keys across the lanes (the kernel before this one) every query's
 * maximum and sum of each key block was a reduction across lanes plus scalar work, which at ~10 and ~100 tokens
 * outweighed the products themselves, and every task allocated its arrays afresh. One MiniLM layer's attention, 12
 * heads of 32, 2 threads, µs per call (best of 8 runs; 2-core Zen 5, 2026-12-01): keys across the lanes 19.4 /
 * 146-153 / 330-400 at batch 1 × 10 tokens / 1 × 100 / 32 × 11; queries across them 9.0 / 104-115 / 155. Two
 * query vectors a pass (each broadcast key element feeding two FMAs) ran 123-127 and 204-214 at 1 × 100 and
 * 32 × 11: the padding of a second vector cost more than the broadcasts it saved.
 */
final class VectorAttention {

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /** Keys per step of the score tile and head dimensions per step of the value tile: eight accumulators. */
    static final int TILE = 8;
    /** Most queries per task: it bounds the transposed queries a task holds (32 KiB at head dim 32). */
    static final int MAX_QUERY_BLOCK = 256;
    /** Tasks per thread {@link #apply} aims for before it splits a sequence's queries over several tasks. */
    static final int TASKS_PER_THREAD = 4;
    /** Keys per block of the online softmax: one vector of queries' scores for it take 4 KiB at 16 lanes. */
    static final int KEY_BLOCK = 64;

    private VectorAttention() {
    }

    static void apply(Tensor q, Tensor k, Tensor v, Tensor keyMask, int heads, Tensor out, int seq, Tasks tasks) {
        int batch = keyMask.rows();
        int headDim = q.cols() / heads;
        if (seq == 0) {
            return;
        }
        // One task per (sequence, head) when that feeds every thread: each task copies its keys and values once.
        int split = Math.ceilDiv(TASKS_PER_THREAD * tasks.threads(), batch * heads);
        int queryBlocks = Math.clamp(split, Math.ceilDiv(seq, MAX_QUERY_BLOCK), Math.ceilDiv(seq, L));
        int queryBlock = Math.ceilDiv(seq, queryBlocks);
        // Each range of tasks shares one stream's arrays; consecutive tasks of one sequence share its real keys.
        tasks.forEachRange(batch * heads * queryBlocks, 1, (from, to) -> {
            Stream stream = new Stream(q, k, v, out, keyMask, seq, headDim, queryBlock);
            for (int task = from; task < to; task++) {
                int t0 = task % queryBlocks * queryBlock;
                if (t0 < seq) {
                    stream.run(task / queryBlocks / heads, task / queryBlocks % heads, t0,
                            Math.min(seq, t0 + queryBlock));
                }
            }
        });
    }

    /** One range of tasks' arrays (the large ones its thread's {@link Scratch}), and the task at hand. */
    private static final class Stream {
        private final Tensor q;
        private final Tensor k;
        private final Tensor v;
        private final Tensor out;
        private final Tensor keyMask;
        private final int seq;
        private final int headDim;
        private final float scale;
        /** The real keys of sequence {@link #keysOf}: {@link #real} of them. */
        private final int[] keys;
        private int keysOf = -1;
        private int real;
        /** The head's key and value rows of the real keys, headDim floats each. */
        private final float[] keyRows;
        private final float[] valueRows;
        /** The task's queries transposed and scaled: queriesT[d·lanes + r]. */
        private final float[] queriesT;
        private int lanes;
        /** For the vector of queries at hand: scores then p of a key block, [key][lane]; m, l, and o transposed. */
        private final float[] scores = new float[KEY_BLOCK * L];
        private final float[] maxima = new float[L];
        private final float[] sums = new float[L];
        private final float[] correction = new float[L];
        private final float[] outputsT;
        private final float[] row;
        private int col;
        private int first;

        Stream(Tensor q, Tensor k, Tensor v, Tensor out, Tensor keyMask, int seq, int headDim, int queryBlock) {
            this.q = q;
            this.k = k;
            this.v = v;
            this.out = out;
            this.keyMask = keyMask;
            this.seq = seq;
            this.headDim = headDim;
            this.scale = (float) (1.0 / Math.sqrt(headDim));
            this.keys = Scratch.ints(seq);
            this.keyRows = Scratch.floats(Scratch.Slot.ATTENTION_KEYS, seq * headDim);
            this.valueRows = Scratch.floats(Scratch.Slot.ATTENTION_VALUES, seq * headDim);
            this.queriesT = Scratch.floats(Scratch.Slot.ATTENTION_QUERIES, headDim * Math.ceilDiv(queryBlock, L) * L);
            this.outputsT = Scratch.floats(Scratch.Slot.ATTENTION_OUTPUTS, headDim * L);
            this.row = new float[headDim];
        }

        /** Output rows [t0, t1) of sequence b and head h. */
        void run(int b, int h, int t0, int t1) {
            col = h * headDim;
            first = b * seq;
            if (keysOf != b) {
                keysOf = b;
                real = 0;
                for (int s = 0; s < seq; s++) {
                    if (keyMask.segment().get(F, Rows.byteOffset(keyMask, b, s)) != 0f) {
                        keys[real++] = s;
                    }
                }
            }
            if (real == 0) {
                for (int t = t0; t < t1; t++) {
                    out.segment().asSlice(Rows.byteOffset(out, first + t, col), (long) headDim * Float.BYTES)
                            .fill((byte) 0);
                }
                return;
            }
            for (int r = 0; r < real; r++) {
                int key = first + keys[r];
                MemorySegment.copy(k.segment(), F, Rows.byteOffset(k, key, col), keyRows, r * headDim, headDim);
                MemorySegment.copy(v.segment(), F, Rows.byteOffset(v, key, col), valueRows, r * headDim, headDim);
            }
            transposeQueries(t0, t1);
            for (int r0 = 0; r0 < t1 - t0; r0 += L) {
                attend(r0);
                store(Math.min(L, t1 - t0 - r0), first + t0 + r0);
            }
        }

        /** queriesT[d·lanes + r] = scale·q[t0 + r, d], zero past t1 - t0 up to a whole vector. */
        private void transposeQueries(int t0, int t1) {
            int count = t1 - t0;
            lanes = Math.ceilDiv(count, L) * L;
            for (int r = 0; r < count; r++) {
                MemorySegment.copy(q.segment(), F, Rows.byteOffset(q, first + t0 + r, col), row, 0, headDim);
                for (int d = 0; d < headDim; d++) {
                    queriesT[d * lanes + r] = row[d] * scale;
                }
            }
            for (int d = 0; d < headDim; d++) {
                Arrays.fill(queriesT, d * lanes + count, (d + 1) * lanes, 0f);
            }
        }

        /** m, l and o of the queries in lanes [r0, r0 + L) of queriesT, over every real key. */
        private void attend(int r0) {
            Arrays.fill(maxima, Float.NEGATIVE_INFINITY);
            Arrays.fill(sums, 0f);
            Arrays.fill(outputsT, 0, headDim * L, 0f);
            for (int k0 = 0; k0 < real; k0 += KEY_BLOCK) {
                int count = Math.min(KEY_BLOCK, real - k0);
                scores(r0, k0, count);
                softmaxStep(count);
                weightedValues(k0, count);
            }
        }

        /** scores[s, :] = Σ_d queriesT[d, r0 .. r0 + L)·keyRows[k0 + s, d] for the block's count keys. */
        private void scores(int r0, int k0, int count) {
            int s = 0;
            for (; s + TILE <= count; s += TILE) {
                int key = (k0 + s) * headDim;
                FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
                for (int d = 0; d < headDim; d++) {
                    FloatVector x = FloatVector.fromArray(S, queriesT, d * lanes + r0);
                    int kd = key + d;
                    a0 = x.fma(FloatVector.broadcast(S, keyRows[kd]), a0);
                    a1 = x.fma(FloatVector.broadcast(S, keyRows[kd + headDim]), a1);
                    a2 = x.fma(FloatVector.broadcast(S, keyRows[kd + 2 * headDim]), a2);
                    a3 = x.fma(FloatVector.broadcast(S, keyRows[kd + 3 * headDim]), a3);
                    a4 = x.fma(FloatVector.broadcast(S, keyRows[kd + 4 * headDim]), a4);
                    a5 = x.fma(FloatVector.broadcast(S, keyRows[kd + 5 * headDim]), a5);
                    a6 = x.fma(FloatVector.broadcast(S, keyRows[kd + 6 * headDim]), a6);
                    a7 = x.fma(FloatVector.broadcast(S, keyRows[kd + 7 * headDim]), a7);
                }
                a0.intoArray(scores, s * L);
                a1.intoArray(scores, (s + 1) * L);
                a2.intoArray(scores, (s + 2) * L);
                a3.intoArray(scores, (s + 3) * L);
                a4.intoArray(scores, (s + 4) * L);
                a5.intoArray(scores, (s + 5) * L);
                a6.intoArray(scores, (s + 6) * L);
                a7.intoArray(scores, (s + 7) * L);
            }
            for (; s < count; s++) {
                int key = (k0 + s) * headDim;
                FloatVector a = FloatVector.zero(S);
                for (int d = 0; d < headDim; d++) {
                    a = FloatVector.fromArray(S, queriesT, d * lanes + r0)
                            .fma(FloatVector.broadcast(S, keyRows[key + d]), a);
                }
                a.intoArray(scores, s * L);
            }
        }

        /**
         * With the block's maximum per lane, m' = max(m, block): correction = exp(m - m'), scores become
         * p = exp(score - m'), l = l·correction + Σ p, m = m'.
         */
        private void softmaxStep(int count) {
            // Four running maxima by compare and blend: FloatVector.max keeps Math.max's NaN and -0 rules in a
            // sequence whose latency (about 12 cycles on Zen 5) made one running maximum the softmax's bound.
            FloatVector m0 = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY), m1 = m0, m2 = m0, m3 = m0;
            int s = 0;
            for (; s + 4 <= count; s += 4) {
                FloatVector x0 = FloatVector.fromArray(S, scores, s * L);
                FloatVector x1 = FloatVector.fromArray(S, scores, (s + 1) * L);
                FloatVector x2 = FloatVector.fromArray(S, scores, (s + 2) * L);
                FloatVector x3 = FloatVector.fromArray(S, scores, (s + 3) * L);
                m0 = m0.blend(x0, m0.lt(x0));
                m1 = m1.blend(x1, m1.lt(x1));
                m2 = m2.blend(x2, m2.lt(x2));
                m3 = m3.blend(x3, m3.lt(x3));
            }
            for (; s < count; s++) {
                FloatVector x0 = FloatVector.fromArray(S, scores, s * L);
                m0 = m0.blend(x0, m0.lt(x0));
            }
            m0 = m0.blend(m1, m0.lt(m1));
            m2 = m2.blend(m3, m2.lt(m3));
            FloatVector blockMax = m0.blend(m2, m0.lt(m2));
            FloatVector max = FloatVector.fromArray(S, maxima, 0);
            FloatVector shift = max.blend(blockMax, max.lt(blockMax));
            FloatVector c = max.sub(shift).lanewise(VectorOperators.EXP);
            FloatVector sum = FloatVector.zero(S);
            for (s = 0; s < count; s++) {
                FloatVector p = FloatVector.fromArray(S, scores, s * L).sub(shift).lanewise(VectorOperators.EXP);
                p.intoArray(scores, s * L);
                sum = sum.add(p);
            }
            FloatVector.fromArray(S, sums, 0).fma(c, sum).intoArray(sums, 0);
            shift.intoArray(maxima, 0);
            c.intoArray(correction, 0);
        }

        /** o[d, :] = o[d, :]·correction + Σ_s p[s, :]·valueRows[k0 + s, d], {@value #TILE} dimensions a pass. */
        private void weightedValues(int k0, int count) {
            FloatVector c = FloatVector.fromArray(S, correction, 0);
            int d = 0;
            for (; d + TILE <= headDim; d += TILE) {
                FloatVector o0 = FloatVector.fromArray(S, outputsT, d * L).mul(c);
                FloatVector o1 = FloatVector.fromArray(S, outputsT, (d + 1) * L).mul(c);
                FloatVector o2 = FloatVector.fromArray(S, outputsT, (d + 2) * L).mul(c);
                FloatVector o3 = FloatVector.fromArray(S, outputsT, (d + 3) * L).mul(c);
                FloatVector o4 = FloatVector.fromArray(S, outputsT, (d + 4) * L).mul(c);
                FloatVector o5 = FloatVector.fromArray(S, outputsT, (d + 5) * L).mul(c);
                FloatVector o6 = FloatVector.fromArray(S, outputsT, (d + 6) * L).mul(c);
                FloatVector o7 = FloatVector.fromArray(S, outputsT, (d + 7) * L).mul(c);
                for (int s = 0; s < count; s++) {
                    FloatVector p = FloatVector.fromArray(S, scores, s * L);
                    int vd = (k0 + s) * headDim + d;
                    o0 = p.fma(FloatVector.broadcast(S, valueRows[vd]), o0);
                    o1 = p.fma(FloatVector.broadcast(S, valueRows[vd + 1]), o1);
                    o2 = p.fma(FloatVector.broadcast(S, valueRows[vd + 2]), o2);
                    o3 = p.fma(FloatVector.broadcast(S, valueRows[vd + 3]), o3);
                    o4 = p.fma(FloatVector.broadcast(S, valueRows[vd + 4]), o4);
                    o5 = p.fma(FloatVector.broadcast(S, valueRows[vd + 5]), o5);
                    o6 = p.fma(FloatVector.broadcast(S, valueRows[vd + 6]), o6);
                    o7 = p.fma(FloatVector.broadcast(S, valueRows[vd + 7]), o7);
                }
                o0.intoArray(outputsT, d * L);
                o1.intoArray(outputsT, (d + 1) * L);
                o2.intoArray(outputsT, (d + 2) * L);
                o3.intoArray(outputsT, (d + 3) * L);
                o4.intoArray(outputsT, (d + 4) * L);
                o5.intoArray(outputsT, (d + 5) * L);
                o6.intoArray(outputsT, (d + 6) * L);
                o7.intoArray(outputsT, (d + 7) * L);
            }
            for (; d < headDim; d++) {
                FloatVector o = FloatVector.fromArray(S, outputsT, d * L).mul(c);
                for (int s = 0; s < count; s++) {
                    o = FloatVector.fromArray(S, scores, s * L)
                            .fma(FloatVector.broadcast(S, valueRows[(k0 + s) * headDim + d]), o);
                }
                o.intoArray(outputsT, d * L);
            }
        }

        /** out[t + r, col .. col + headDim) = o[:, r] / l[r] for the first {@code count} lanes. */
        private void store(int count, int t) {
            FloatVector inverse = FloatVector.broadcast(S, 1f).div(FloatVector.fromArray(S, sums, 0));
            for (int d = 0; d < headDim; d++) {
                FloatVector.fromArray(S, outputsT, d * L).mul(inverse).intoArray(outputsT, d * L);
            }
            for (int r = 0; r < count; r++) {
                for (int d = 0; d < headDim; d++) {
                    row[d] = outputsT[d * L + r];
                }
                MemorySegment.copy(row, 0, out.segment(), F, Rows.byteOffset(out, t + r, col), headDim);
            }
        }
    }
}
