package dev.tensorloom.hyperbolic.vector;

import static dev.tensorloom.runtime.kernel.vector.Simd.L;
import static dev.tensorloom.runtime.kernel.vector.Simd.NATIVE;
import static dev.tensorloom.runtime.kernel.vector.Simd.S;

import dev.tensorloom.hyperbolic.RowwisePoincareKernels;
import dev.tensorloom.runtime.kernel.Parallelism;
import dev.tensorloom.runtime.kernel.Tasks;
import dev.tensorloom.runtime.kernel.vector.Rows;
import dev.tensorloom.runtime.kernel.vector.VectorBackend;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.function.IntConsumer;
import dev.tensorloom.hyperbolic.PoincareKernels;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The float32 Poincaré ball on the Vector API: the row dot products and linear combinations in SIMD lanes of
 * the preferred species (masked tails), rows spread over the backend's threads by {@code Tasks}, and the
 * Gram matrix of all-pairs distance by the vector backend's own GEMM.
 */
public final class VectorPoincareKernels extends RowwisePoincareKernels {

    private final Parallelism pool;

    public VectorPoincareKernels(VectorBackend backend) {
        super(backend.kernels());
        this.pool = backend.parallelism();
    }

    @Override
    protected float dot(Tensor a, int i, Tensor b, int k) {
        int n = a.cols();
        MemorySegment as = a.segment();
        MemorySegment bs = b.segment();
        long ra = Rows.byteOffset(a, i);
        long rb = Rows.byteOffset(b, k);
        FloatVector s0 = FloatVector.zero(S);
        FloatVector s1 = s0;
        int j = 0;
        for (int end = n - 2 * L; j <= end; j += 2 * L) {
            long o = (long) j * Float.BYTES;
            long o1 = o + (long) L * Float.BYTES;
            s0 = FloatVector.fromMemorySegment(S, as, ra + o, NATIVE)
                    .fma(FloatVector.fromMemorySegment(S, bs, rb + o, NATIVE), s0);
            s1 = FloatVector.fromMemorySegment(S, as, ra + o1, NATIVE)
                    .fma(FloatVector.fromMemorySegment(S, bs, rb + o1, NATIVE), s1);
        }
        for (; j < n; j += L) {
            VectorMask<Float> m = S.indexInRange(j, n);
            long o = (long) j * Float.BYTES;
            s0 = FloatVector.fromMemorySegment(S, as, ra + o, NATIVE, m)
                    .fma(FloatVector.fromMemorySegment(S, bs, rb + o, NATIVE, m), s0);
        }
        return s0.add(s1).reduceLanes(VectorOperators.ADD);
    }

    @Override
    protected void combine(Tensor out, int o, float alpha, Tensor a, int i, float beta, Tensor b, int k, float gamma,
            Tensor e, int l) {
        int n = out.cols();
        MemorySegment os = out.segment();
        long ro = Rows.byteOffset(out, o);
        long ra = Rows.byteOffset(a, i);
        long rb = b == null ? 0 : Rows.byteOffset(b, k);
        long re = e == null ? 0 : Rows.byteOffset(e, l);
        for (int j = 0; j < n; j += L) {
            VectorMask<Float> m = S.indexInRange(j, n);
            long off = (long) j * Float.BYTES;
            FloatVector v = FloatVector.fromMemorySegment(S, a.segment(), ra + off, NATIVE, m).mul(alpha);
            if (b != null) {
                v = FloatVector.fromMemorySegment(S, b.segment(), rb + off, NATIVE, m).fma(FloatVector.broadcast(S, beta), v);
            }
            if (e != null) {
                v = FloatVector.fromMemorySegment(S, e.segment(), re + off, NATIVE, m).fma(FloatVector.broadcast(S, gamma), v);
            }
            v.intoMemorySegment(os, ro + off, NATIVE, m);
        }
    }

    /** Double lanes, and floats of the same lane count, for the closed form's elementwise step. */
    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Float> HALF = VectorSpecies.of(float.class,
            VectorShape.forBitSize(D.length() * Float.SIZE));

    /**
     * The closed form of REFERENCE.md §3 in double lanes (float Gram entries widened, the distance narrowed back):
     * artanh in double as the stability rule asks, without a scalar log per element.
     */
    @Override
    protected void gramRowToDistances(float c, Tensor out, int i, double xScale, double x2, double[] yScale,
            double[] y2) {
        double cd = c;
        double sqrtC = Math.sqrt(cd);
        MemorySegment os = out.segment();
        long row = Rows.byteOffset(out, i);
        int m = y2.length;
        DoubleVector one = DoubleVector.broadcast(D, 1);
        DoubleVector x2v = DoubleVector.broadcast(D, x2);
        DoubleVector b = DoubleVector.broadcast(D, 1 - cd * x2);
        for (int j = 0; j < m; j += D.length()) {
            VectorMask<Double> md = D.indexInRange(j, m);
            VectorMask<Float> mf = HALF.indexInRange(j, m);
            long o = row + (long) j * Float.BYTES;
            DoubleVector g = (DoubleVector) FloatVector.fromMemorySegment(HALF, os, o, NATIVE, mf)
                    .convertShape(VectorOperators.F2D, D, 0);
            g = g.mul(DoubleVector.fromArray(D, yScale, j, md)).mul(xScale);
            DoubleVector yy = DoubleVector.fromArray(D, y2, j, md);
            DoubleVector twoCg = g.mul(2 * cd);
            DoubleVector a = yy.mul(cd).sub(twoCg).add(one);
            DoubleVector num2 = a.mul(a).mul(x2v).add(b.mul(b).mul(yy)).sub(a.mul(b).mul(g).mul(2))
                    .max(PoincareKernels.MIN_NORM * PoincareKernels.MIN_NORM);
            DoubleVector den = yy.mul(x2v).mul(cd * cd).sub(twoCg).add(one).max(PoincareKernels.MIN_NORM);
            DoubleVector z = num2.sqrt().div(den).mul(sqrtC).min(PoincareKernels.ARTANH_LIMIT);
            DoubleVector d = one.add(z).div(one.sub(z)).lanewise(VectorOperators.LOG).mul(1 / sqrtC);
            ((FloatVector) d.convertShape(VectorOperators.D2F, HALF, 0)).intoMemorySegment(os, o, NATIVE, mf);
        }
    }

    @Override
    protected void forEachRow(int rows, long elements, IntConsumer body, Tensor... operands) {
        Tasks.forElements(pool, elements, operands).forEachRow(rows, body);
    }
}
