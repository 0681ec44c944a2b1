package dev.tensorloom.hyperbolic;

import dev.tensorloom.runtime.kernel.ScalarBackend;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.ValueLayout;
import java.util.function.IntConsumer;

/**
 * The float32 Poincaré ball in plain loops on one thread: the scalar backend's implementation, which links no
 * Vector API class. It is tested against the float64 reference like every other backend.
 */
public final class ScalarPoincareKernels extends RowwisePoincareKernels {

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    public ScalarPoincareKernels(ScalarBackend backend) {
        super(backend.kernels());
    }

    @Override
    protected float dot(Tensor a, int i, Tensor b, int k) {
        long ra = a.offset() + (long) i * a.leadingDim();
        long rb = b.offset() + (long) k * b.leadingDim();
        float s = 0;
        for (int j = 0; j < a.cols(); j++) {
            s += a.segment().getAtIndex(F, ra + j) * b.segment().getAtIndex(F, rb + j);
        }
        return s;
    }

    @Override
    protected void combine(Tensor out, int o, float alpha, Tensor a, int i, float beta, Tensor b, int k, float gamma,
            Tensor e, int l) {
        long ro = out.offset() + (long) o * out.leadingDim();
        long ra = a.offset() + (long) i * a.leadingDim();
        long rb = b == null ? 0 : b.offset() + (long) k * b.leadingDim();
        long re = e == null ? 0 : e.offset() + (long) l * e.leadingDim();
        for (int j = 0; j < out.cols(); j++) {
            float v = alpha * a.segment().getAtIndex(F, ra + j);
            if (b != null) {
                v += beta * b.segment().getAtIndex(F, rb + j);
            }
            if (e != null) {
                v += gamma * e.segment().getAtIndex(F, re + j);
            }
            out.segment().setAtIndex(F, ro + j, v);
        }
    }

    @Override
    protected void forEachRow(int rows, long elements, IntConsumer body, Tensor... operands) {
        for (int i = 0; i < rows; i++) {
            body.accept(i);
        }
    }
}
