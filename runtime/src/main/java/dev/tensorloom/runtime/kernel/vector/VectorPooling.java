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

/**
 * Masked mean over the tokens of each sequence: out[b,:] = Σ_t mask[b,t]·x[b·seq+t,:] / Σ_t mask[b,t]. The
 * mask weights multiply rather than select, as in the oracle, so a fractional mask means the same thing.
 * One vector of columns at a time runs down all tokens, so the sum stays in a register.
 */
final class VectorPooling {

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private VectorPooling() {
    }

    static void meanPool(Tensor x, Tensor mask, Tensor out, int seq, Tasks tasks) {
        int n = x.cols();
        MemorySegment xs = x.segment();
        MemorySegment ms = mask.segment();
        tasks.forEachRow(mask.rows(), b -> {
            float[] weights = new float[seq];
            float count = 0f;
            for (int t = 0; t < seq; t++) {
                weights[t] = ms.get(F, Rows.byteOffset(mask, b, t));
                count += weights[t];
            }
            FloatVector divisor = FloatVector.broadcast(S, count);
            long dst = Rows.byteOffset(out, b);
            for (int j = 0; j < n; j += L) {
                VectorMask<Float> m = S.indexInRange(j, n);
                long col = (long) j * Float.BYTES;
                FloatVector sum = FloatVector.zero(S);
                for (int t = 0; t < seq; t++) {
                    FloatVector row = FloatVector.fromMemorySegment(S, xs, Rows.byteOffset(x, b * seq + t) + col,
                            NATIVE, m);
                    sum = row.fma(FloatVector.broadcast(S, weights[t]), sum);
                }
                FloatVector mean = count == 0f ? FloatVector.zero(S) : sum.div(divisor);
                mean.intoMemorySegment(out.segment(), dst + col, NATIVE, m);
            }
        });
    }
}
