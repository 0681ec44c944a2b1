package dev.tensorloom.outside;

import dev.tensorloom.runtime.kernel.Parallelism;
import dev.tensorloom.runtime.kernel.vector.Rows;
import dev.tensorloom.runtime.kernel.vector.Simd;
import dev.tensorloom.runtime.kernel.vector.VectorBackend;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

public final class VectorSumOfSquares implements SumOfSquares {

    private final Parallelism parallelism;

    public VectorSumOfSquares(VectorBackend backend) {
        this.parallelism = backend.parallelism();
    }

    public Parallelism parallelism() {
        return parallelism;
    }

    @Override
    public float of(Tensor x) {
        int n = Math.toIntExact(x.size());
        FloatVector sum = FloatVector.zero(Simd.S);
        int i = 0;
        for (; i < Simd.S.loopBound(n); i += Simd.L) {
            FloatVector v = FloatVector.fromMemorySegment(Simd.S, x.segment(), Rows.start(x) + (long) i * Float.BYTES,
                    Simd.NATIVE);
            sum = v.fma(v, sum);
        }
        float total = sum.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            float v = x.segment().getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, x.offset() + i);
            total += v * v;
        }
        return total;
    }
}
