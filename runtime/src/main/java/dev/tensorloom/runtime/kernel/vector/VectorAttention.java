package dev.tensorloom.runtime.kernel.vector;

import static dev.tensorloom.runtime.kernel.vector.Simd.L;
import static dev.tensorloom.runtime.kernel.vector.Simd.NATIVE;
import static dev.tensorloom.runtime.kernel.vector.Simd.S;

import dev.tensorloom.runtime.kernel.Tasks;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * Multi-head attention, one task per (sequence, head). Padded keys are dropped before any arithmetic: the
 * head's real keys are gathered transposed (Kᵀ, head dim × keys) and its real values row by row, both into
 * small arrays padded to whole vectors. Then, {@value #QUERIES} queries at a time:
 * <ol>
 * <li>scores = q·Kᵀ·scale, one vector of keys per step, broadcasting each query element (four independent
 * FMA chains);
 * <li>a softmax over the real keys of each query's row;
 * <li>out = p·V, one vector of head dims per step, broadcasting each probability.
 * </ol>
 * A sequence with no real key yields zeros, as the oracle's 0/0 guard does.
 */
final class VectorAttention {

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /** Queries per block: four accumulators hide the FMA latency in both products. */
    static final int QUERIES = 4;

    private VectorAttention() {
    }

    static void apply(Tensor q, Tensor k, Tensor v, Tensor keyMask, int heads, Tensor out, int seq, Tasks tasks) {
        int batch = keyMask.rows();
        tasks.forEach(batch * heads, task -> head(q, k, v, keyMask, out, seq, q.cols() / heads,
                task / heads, task % heads));
    }

    private static void head(Tensor q, Tensor k, Tensor v, Tensor keyMask, Tensor out, int seq, int headDim,
            int b, int h) {
        int col = h * headDim;
        int first = b * seq;
        int[] keys = new int[seq];
        int real = 0;
        for (int s = 0; s < seq; s++) {
            if (keyMask.segment().get(F, Rows.byteOffset(keyMask, b, s)) != 0f) {
                keys[real++] = s;
            }
        }
        if (real == 0) {
            for (int t = 0; t < seq; t++) {
                out.segment().asSlice(Rows.byteOffset(out, first + t, col), (long) headDim * Float.BYTES)
                        .fill((byte) 0);
            }
            return;
        }
        int keysPadded = Math.ceilDiv(real, L) * L;
        int dimsPadded = Math.ceilDiv(headDim, L) * L;
        float[] keysT = new float[headDim * keysPadded];
        float[] values = new float[real * dimsPadded];
        for (int r = 0; r < real; r++) {
            long kRow = Rows.byteOffset(k, first + keys[r], col);
            for (int d = 0; d < headDim; d++) {
                keysT[d * keysPadded + r] = k.segment().get(F, kRow + (long) d * Float.BYTES);
            }
            MemorySegment.copy(v.segment(), F, Rows.byteOffset(v, first + keys[r], col), values, r * dimsPadded,
                    headDim);
        }
        float scale = (float) (1.0 / Math.sqrt(headDim));
        float[] queries = new float[QUERIES * headDim];
        float[] scores = new float[QUERIES * keysPadded];
        for (int t0 = 0; t0 < seq; t0 += QUERIES) {
            int count = Math.min(QUERIES, seq - t0);
            for (int r = 0; r < QUERIES; r++) {
                // Past the last query the block repeats it; the copies are computed and never stored.
                int t = first + t0 + Math.min(r, count - 1);
                MemorySegment.copy(q.segment(), F, Rows.byteOffset(q, t, col), queries, r * headDim, headDim);
            }
            scores(queries, headDim, keysT, keysPadded, scale, scores);
            for (int r = 0; r < count; r++) {
                softmaxPadded(scores, r * keysPadded, real, keysPadded);
            }
            weightedValues(scores, keysPadded, real, values, dimsPadded, headDim, out, first + t0, col, count);
        }
    }

    /** scores[r, s] = scale·Σ_d queries[r, d]·keysT[d, s] for the block's four queries. */
    private static void scores(float[] queries, int headDim, float[] keysT, int keysPadded, float scale,
            float[] scores) {
        for (int s = 0; s < keysPadded; s += L) {
            FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
            for (int d = 0; d < headDim; d++) {
                FloatVector kv = FloatVector.fromArray(S, keysT, d * keysPadded + s);
                a0 = kv.fma(FloatVector.broadcast(S, queries[d]), a0);
                a1 = kv.fma(FloatVector.broadcast(S, queries[headDim + d]), a1);
                a2 = kv.fma(FloatVector.broadcast(S, queries[2 * headDim + d]), a2);
                a3 = kv.fma(FloatVector.broadcast(S, queries[3 * headDim + d]), a3);
            }
            a0.mul(scale).intoArray(scores, s);
            a1.mul(scale).intoArray(scores, keysPadded + s);
            a2.mul(scale).intoArray(scores, 2 * keysPadded + s);
            a3.mul(scale).intoArray(scores, 3 * keysPadded + s);
        }
    }

    /** out[t0 + r, col..col+headDim) = Σ_s p[r, s]·values[s, :] for the block's first {@code count} queries. */
    private static void weightedValues(float[] p, int keysPadded, int real, float[] values, int dimsPadded,
            int headDim, Tensor out, int t0, int col, int count) {
        for (int d = 0; d < dimsPadded; d += L) {
            FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
            for (int s = 0; s < real; s++) {
                FloatVector vv = FloatVector.fromArray(S, values, s * dimsPadded + d);
                a0 = vv.fma(FloatVector.broadcast(S, p[s]), a0);
                a1 = vv.fma(FloatVector.broadcast(S, p[keysPadded + s]), a1);
                a2 = vv.fma(FloatVector.broadcast(S, p[2 * keysPadded + s]), a2);
                a3 = vv.fma(FloatVector.broadcast(S, p[3 * keysPadded + s]), a3);
            }
            VectorMask<Float> m = S.indexInRange(d, headDim);
            MemorySegment os = out.segment();
            a0.intoMemorySegment(os, Rows.byteOffset(out, t0, col + d), NATIVE, m);
            if (count > 1) {
                a1.intoMemorySegment(os, Rows.byteOffset(out, t0 + 1, col + d), NATIVE, m);
            }
            if (count > 2) {
                a2.intoMemorySegment(os, Rows.byteOffset(out, t0 + 2, col + d), NATIVE, m);
            }
            if (count > 3) {
                a3.intoMemorySegment(os, Rows.byteOffset(out, t0 + 3, col + d), NATIVE, m);
            }
        }
    }

    /**
     * Softmax of scores[off, off + real) in place, over whole vectors: the padding lanes [real, padded) are
     * set to -∞ first, so they take no weight and no masked load is needed.
     */
    private static void softmaxPadded(float[] scores, int off, int real, int padded) {
        java.util.Arrays.fill(scores, off + real, off + padded, Float.NEGATIVE_INFINITY);
        FloatVector maxes = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        for (int j = 0; j < padded; j += L) {
            maxes = maxes.max(FloatVector.fromArray(S, scores, off + j));
        }
        FloatVector shift = FloatVector.broadcast(S, maxes.reduceLanes(VectorOperators.MAX));
        FloatVector sums = FloatVector.zero(S);
        for (int j = 0; j < padded; j += L) {
            FloatVector e = FloatVector.fromArray(S, scores, off + j).sub(shift).lanewise(VectorOperators.EXP);
            e.intoArray(scores, off + j);
            sums = sums.add(e);
        }
        FloatVector inv = FloatVector.broadcast(S, 1f / sums.reduceLanes(VectorOperators.ADD));
        for (int j = 0; j < padded; j += L) {
            FloatVector.fromArray(S, scores, off + j).mul(inv).intoArray(scores, off + j);
        }
    }
}
