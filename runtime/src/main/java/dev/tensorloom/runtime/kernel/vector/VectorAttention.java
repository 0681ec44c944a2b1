package dev.tensorloom.runtime.kernel.vector;

import static dev.tensorloom.runtime.kernel.vector.Simd.L;
import static dev.tensorloom.runtime.kernel.vector.Simd.NATIVE;
import static dev.tensorloom.runtime.kernel.vector.Simd.S;

import dev.tensorloom.runtime.kernel.Tasks;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * Multi-head attention that streams (the flash-attention order): one task per (sequence, head, block of
 * queries), which walks the sequence's real keys in blocks of {@value #KEY_BLOCK} and keeps, per query, a
 * running maximum m, a running sum l and an unnormalized output o. For each key block:
 * <ol>
 * <li>its keys are gathered transposed (Kᵀ, head dim × keys) and its values row by row into small arrays
 * padded to whole vectors, padded keys dropped before any arithmetic;
 * <li>{@value #QUERIES} queries at a time, scores = q·Kᵀ·scale, two vectors of keys per pass (eight independent
 * FMA chains, each broadcast feeding two);
 * <li>online softmax: with the block's maximum the running one becomes m' = max(m, block), o and l are scaled
 * by exp(m - m'), and p = exp(score - m') is added to l and p·V to o.
 * </ol>
 * The output is o / l. A task holds O(block·head dim) floats whatever the length: no [seq, seq] score
 * matrix, nor even one score row, exists, and a key block is reused from L1 by every query of the task.
 * A sequence with no real key yields zeros, as the oracle's 0/0 guard does.
 */
final class VectorAttention {

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /** Queries per inner step: four accumulators hide the FMA latency in both products. */
    static final int QUERIES = 4;
    /**
     * Most queries per task. A task gathers its sequence's keys and values for itself, so the fewer tasks per
     * (sequence, head), the fewer gathers; a task holds its queries' outputs, so this bounds its memory (32 KiB
     * at head dim 32).
     */
    static final int MAX_QUERY_BLOCK = 256;
    /** Tasks per thread {@link #apply} aims for before it splits a sequence's queries over several tasks. */
    static final int TASKS_PER_THREAD = 4;
    /** Keys per block: its Kᵀ and V (8 KiB each at head dim 32) stay in L1 across the task's queries. */
    static final int KEY_BLOCK = 64;

    private VectorAttention() {
    }

    static void apply(Tensor q, Tensor k, Tensor v, Tensor keyMask, int heads, Tensor out, int seq, Tasks tasks) {
        int batch = keyMask.rows();
        int headDim = q.cols() / heads;
        if (seq == 0) {
            return;
        }
        // One task per (sequence, head) when that feeds every thread: each task gathers its keys and values once.
        int split = Math.ceilDiv(TASKS_PER_THREAD * tasks.threads(), batch * heads);
        int queryBlocks = Math.clamp(split, Math.ceilDiv(seq, MAX_QUERY_BLOCK), Math.ceilDiv(seq, QUERIES));
        int queryBlock = Math.ceilDiv(seq, queryBlocks);
        tasks.forEach(batch * heads * queryBlocks, task -> {
            int block = task % queryBlocks;
            int h = task / queryBlocks % heads;
            int b = task / queryBlocks / heads;
            int t0 = block * queryBlock;
            if (t0 < seq) {
                new Stream(q, k, v, out, seq, headDim, b, h).run(keyMask, t0, Math.min(seq, t0 + queryBlock));
            }
        });
    }

    /** One task's state: its queries, running maxima and sums, unnormalized outputs and the current key block. */
    private static final class Stream {
        private final Tensor q;
        private final Tensor k;
        private final Tensor v;
        private final Tensor out;
        private final int headDim;
        private final int dimsPadded;
        private final int col;
        private final int first;
        private final int seq;
        private final float scale;
        private final float[] keysT;
        private final float[] values;
        private final int keyBlock;
        private final float[] scores;

        Stream(Tensor q, Tensor k, Tensor v, Tensor out, int seq, int headDim, int b, int h) {
            this.q = q;
            this.k = k;
            this.v = v;
            this.out = out;
            this.seq = seq;
            this.headDim = headDim;
            this.dimsPadded = Math.ceilDiv(headDim, L) * L;
            this.col = h * headDim;
            this.first = b * seq;
            this.scale = (float) (1.0 / Math.sqrt(headDim));
            // A short sequence gets arrays as small as its keys: a task's arrays are allocated and zeroed per task.
            this.keyBlock = Math.min(KEY_BLOCK, Math.ceilDiv(seq, L) * L);
            this.scores = new float[QUERIES * keyBlock];
            this.keysT = new float[headDim * keyBlock];
            this.values = new float[keyBlock * dimsPadded];
        }

        /** Output rows [t0, t1) of this sequence and head. */
        void run(Tensor keyMask, int t0, int t1) {
            int b = first / seq;
            int[] keys = new int[seq];
            int real = 0;
            for (int s = 0; s < seq; s++) {
                if (keyMask.segment().get(F, Rows.byteOffset(keyMask, b, s)) != 0f) {
                    keys[real++] = s;
                }
            }
            if (real == 0) {
                for (int t = t0; t < t1; t++) {
                    out.segment().asSlice(Rows.byteOffset(out, first + t, col), (long) headDim * Float.BYTES)
                            .fill((byte) 0);
                }
                return;
            }
            int groups = Math.ceilDiv(t1 - t0, QUERIES);
            float[] queries = new float[groups * QUERIES * headDim];
            for (int r = 0; r < groups * QUERIES; r++) {
                // Past the last query the block repeats it; the copies are computed and never stored.
                int t = first + Math.min(t0 + r, t1 - 1);
                MemorySegment.copy(q.segment(), F, Rows.byteOffset(q, t, col), queries, r * headDim, headDim);
            }
            float[] maxima = new float[groups * QUERIES];
            Arrays.fill(maxima, Float.NEGATIVE_INFINITY);
            float[] sums = new float[groups * QUERIES];
            float[] outputs = new float[groups * QUERIES * dimsPadded];
            for (int k0 = 0; k0 < real; k0 += keyBlock) {
                int count = Math.min(keyBlock, real - k0);
                int width = Math.ceilDiv(count, L) * L;
                gather(keys, k0, count, width);
                for (int g = 0; g < groups; g++) {
                    scores(queries, g * QUERIES * headDim, width);
                    for (int r = 0; r < QUERIES; r++) {
                        int query = g * QUERIES + r;
                        float shift = Math.max(maxima[query], blockMax(r * keyBlock, count, width));
                        float correction = (float) Math.exp(maxima[query] - shift);
                        sums[query] = sums[query] * correction + exponentials(r * keyBlock, width, shift);
                        maxima[query] = shift;
                        rescale(outputs, query * dimsPadded, correction);
                    }
                    weightedValues(count, outputs, g * QUERIES * dimsPadded);
                }
            }
            for (int t = t0; t < t1; t++) {
                int query = t - t0;
                store(outputs, query * dimsPadded, 1f / sums[query], first + t);
            }
        }

        /** Kᵀ and V of the real keys keys[k0 .. k0 + count), zero past count up to width. */
        private void gather(int[] keys, int k0, int count, int width) {
            for (int r = 0; r < count; r++) {
                int key = first + keys[k0 + r];
                long kRow = Rows.byteOffset(k, key, col);
                for (int d = 0; d < headDim; d++) {
                    keysT[d * keyBlock + r] = k.segment().get(F, kRow + (long) d * Float.BYTES);
                }
                MemorySegment.copy(v.segment(), F, Rows.byteOffset(v, key, col), values, r * dimsPadded, headDim);
            }
            for (int d = 0; d < headDim; d++) {
                Arrays.fill(keysT, d * keyBlock + count, d * keyBlock + width, 0f);
            }
        }

        /** scores[r, s] = scale·Σ_d queries[q0 + r, d]·keysT[d, s] for four queries and the block's keys. */
        private void scores(float[] queries, int q0, int width) {
            int s = 0;
            // Two vectors of keys at once: each broadcast of a query element feeds two FMAs.
            for (; s + 2 * L <= width; s += 2 * L) {
                FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
                FloatVector b0 = a0, b1 = a0, b2 = a0, b3 = a0;
                for (int d = 0; d < headDim; d++) {
                    FloatVector k0 = FloatVector.fromArray(S, keysT, d * keyBlock + s);
                    FloatVector k1 = FloatVector.fromArray(S, keysT, d * keyBlock + s + L);
                    FloatVector x = FloatVector.broadcast(S, queries[q0 + d]);
                    a0 = k0.fma(x, a0);
                    b0 = k1.fma(x, b0);
                    x = FloatVector.broadcast(S, queries[q0 + headDim + d]);
                    a1 = k0.fma(x, a1);
                    b1 = k1.fma(x, b1);
                    x = FloatVector.broadcast(S, queries[q0 + 2 * headDim + d]);
                    a2 = k0.fma(x, a2);
                    b2 = k1.fma(x, b2);
                    x = FloatVector.broadcast(S, queries[q0 + 3 * headDim + d]);
                    a3 = k0.fma(x, a3);
                    b3 = k1.fma(x, b3);
                }
                a0.mul(scale).intoArray(scores, s);
                a1.mul(scale).intoArray(scores, keyBlock + s);
                a2.mul(scale).intoArray(scores, 2 * keyBlock + s);
                a3.mul(scale).intoArray(scores, 3 * keyBlock + s);
                b0.mul(scale).intoArray(scores, s + L);
                b1.mul(scale).intoArray(scores, keyBlock + s + L);
                b2.mul(scale).intoArray(scores, 2 * keyBlock + s + L);
                b3.mul(scale).intoArray(scores, 3 * keyBlock + s + L);
            }
            for (; s < width; s += L) {
                FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
                for (int d = 0; d < headDim; d++) {
                    FloatVector kv = FloatVector.fromArray(S, keysT, d * keyBlock + s);
                    a0 = kv.fma(FloatVector.broadcast(S, queries[q0 + d]), a0);
                    a1 = kv.fma(FloatVector.broadcast(S, queries[q0 + headDim + d]), a1);
                    a2 = kv.fma(FloatVector.broadcast(S, queries[q0 + 2 * headDim + d]), a2);
                    a3 = kv.fma(FloatVector.broadcast(S, queries[q0 + 3 * headDim + d]), a3);
                }
                a0.mul(scale).intoArray(scores, s);
                a1.mul(scale).intoArray(scores, keyBlock + s);
                a2.mul(scale).intoArray(scores, 2 * keyBlock + s);
                a3.mul(scale).intoArray(scores, 3 * keyBlock + s);
            }
        }

        /** The largest score of scores[off, off + count); the padding lanes up to width become -∞ first. */
        private float blockMax(int off, int count, int width) {
            Arrays.fill(scores, off + count, off + width, Float.NEGATIVE_INFINITY);
            FloatVector maxes = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
            for (int j = 0; j < width; j += L) {
                maxes = maxes.max(FloatVector.fromArray(S, scores, off + j));
            }
            return maxes.reduceLanes(VectorOperators.MAX);
        }

        /** scores[off, off + width) become exp(score - shift) (0 for the padding); returns their sum. */
        private float exponentials(int off, int width, float shift) {
            FloatVector s = FloatVector.broadcast(S, shift);
            FloatVector sums = FloatVector.zero(S);
            for (int j = 0; j < width; j += L) {
                FloatVector e = FloatVector.fromArray(S, scores, off + j).sub(s).lanewise(VectorOperators.EXP);
                e.intoArray(scores, off + j);
                sums = sums.add(e);
            }
            return sums.reduceLanes(VectorOperators.ADD);
        }

        private void rescale(float[] outputs, int off, float correction) {
            if (correction == 1f) {
                return;
            }
            for (int d = 0; d < dimsPadded; d += L) {
                FloatVector.fromArray(S, outputs, off + d).mul(correction).intoArray(outputs, off + d);
            }
        }

        /** outputs[o0 + r, :] += Σ_s p[r, s]·values[s, :] for four queries over the block's count keys. */
        private void weightedValues(int count, float[] outputs, int o0) {
            int d = 0;
            // Two vectors of the head dimension at once: each broadcast of a weight feeds two FMAs, and eight
            // independent chains instead of four.
            for (; d + 2 * L <= dimsPadded; d += 2 * L) {
                FloatVector a0 = FloatVector.fromArray(S, outputs, o0 + d);
                FloatVector a1 = FloatVector.fromArray(S, outputs, o0 + dimsPadded + d);
                FloatVector a2 = FloatVector.fromArray(S, outputs, o0 + 2 * dimsPadded + d);
                FloatVector a3 = FloatVector.fromArray(S, outputs, o0 + 3 * dimsPadded + d);
                FloatVector b0 = FloatVector.fromArray(S, outputs, o0 + d + L);
                FloatVector b1 = FloatVector.fromArray(S, outputs, o0 + dimsPadded + d + L);
                FloatVector b2 = FloatVector.fromArray(S, outputs, o0 + 2 * dimsPadded + d + L);
                FloatVector b3 = FloatVector.fromArray(S, outputs, o0 + 3 * dimsPadded + d + L);
                for (int s = 0; s < count; s++) {
                    FloatVector v0 = FloatVector.fromArray(S, values, s * dimsPadded + d);
                    FloatVector v1 = FloatVector.fromArray(S, values, s * dimsPadded + d + L);
                    FloatVector x = FloatVector.broadcast(S, scores[s]);
                    a0 = v0.fma(x, a0);
                    b0 = v1.fma(x, b0);
                    x = FloatVector.broadcast(S, scores[keyBlock + s]);
                    a1 = v0.fma(x, a1);
                    b1 = v1.fma(x, b1);
                    x = FloatVector.broadcast(S, scores[2 * keyBlock + s]);
                    a2 = v0.fma(x, a2);
                    b2 = v1.fma(x, b2);
                    x = FloatVector.broadcast(S, scores[3 * keyBlock + s]);
                    a3 = v0.fma(x, a3);
                    b3 = v1.fma(x, b3);
                }
                a0.intoArray(outputs, o0 + d);
                a1.intoArray(outputs, o0 + dimsPadded + d);
                a2.intoArray(outputs, o0 + 2 * dimsPadded + d);
                a3.intoArray(outputs, o0 + 3 * dimsPadded + d);
                b0.intoArray(outputs, o0 + d + L);
                b1.intoArray(outputs, o0 + dimsPadded + d + L);
                b2.intoArray(outputs, o0 + 2 * dimsPadded + d + L);
                b3.intoArray(outputs, o0 + 3 * dimsPadded + d + L);
            }
            for (; d < dimsPadded; d += L) {
                FloatVector a0 = FloatVector.fromArray(S, outputs, o0 + d);
                FloatVector a1 = FloatVector.fromArray(S, outputs, o0 + dimsPadded + d);
                FloatVector a2 = FloatVector.fromArray(S, outputs, o0 + 2 * dimsPadded + d);
                FloatVector a3 = FloatVector.fromArray(S, outputs, o0 + 3 * dimsPadded + d);
                for (int s = 0; s < count; s++) {
                    FloatVector vv = FloatVector.fromArray(S, values, s * dimsPadded + d);
                    a0 = vv.fma(FloatVector.broadcast(S, scores[s]), a0);
                    a1 = vv.fma(FloatVector.broadcast(S, scores[keyBlock + s]), a1);
                    a2 = vv.fma(FloatVector.broadcast(S, scores[2 * keyBlock + s]), a2);
                    a3 = vv.fma(FloatVector.broadcast(S, scores[3 * keyBlock + s]), a3);
                }
                a0.intoArray(outputs, o0 + d);
                a1.intoArray(outputs, o0 + dimsPadded + d);
                a2.intoArray(outputs, o0 + 2 * dimsPadded + d);
                a3.intoArray(outputs, o0 + 3 * dimsPadded + d);
            }
        }

        /** out[row, col .. col + headDim) = outputs[off ..]·factor. */
        private void store(float[] outputs, int off, float factor, int row) {
            MemorySegment os = out.segment();
            for (int d = 0; d < dimsPadded; d += L) {
                VectorMask<Float> m = S.indexInRange(d, headDim);
                FloatVector.fromArray(S, outputs, off + d).mul(factor)
                        .intoMemorySegment(os, Rows.byteOffset(out, row, col + d), NATIVE, m);
            }
        }
    }
}
