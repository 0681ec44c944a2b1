package dev.tensorloom.hyperbolic.vector;

import static dev.tensorloom.runtime.kernel.vector.Simd.L;
import static dev.tensorloom.runtime.kernel.vector.Simd.NATIVE;
import static dev.tensorloom.runtime.kernel.vector.Simd.S;

import dev.tensorloom.hyperbolic.PoincareKernels;
import dev.tensorloom.hyperbolic.RowwisePoincareKernels;
import dev.tensorloom.runtime.kernel.Kernels;
import dev.tensorloom.runtime.kernel.Parallelism;
import dev.tensorloom.runtime.kernel.PreparedMatrix;
import dev.tensorloom.runtime.kernel.Tasks;
import dev.tensorloom.runtime.kernel.vector.Rows;
import dev.tensorloom.runtime.kernel.vector.VectorBackend;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.function.IntConsumer;
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

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final Parallelism pool;
    /** The dense family on one thread, for products that run inside a task of this family's own. */
    private final Kernels single;

    public VectorPoincareKernels(VectorBackend backend) {
        super(backend.kernels());
        this.pool = backend.parallelism();
        this.single = new VectorBackend(Parallelism.of(1)).kernels();
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

    /** The three dot products of two rows in one pass over them. */
    @Override
    protected void threeDots(Tensor a, int i, Tensor b, int k, double[] into) {
        int n = a.cols();
        MemorySegment as = a.segment();
        MemorySegment bs = b.segment();
        long ra = Rows.byteOffset(a, i);
        long rb = Rows.byteOffset(b, k);
        FloatVector aa = FloatVector.zero(S);
        FloatVector bb = aa;
        FloatVector ab = aa;
        int j = 0;
        for (int end = n - L; j <= end; j += L) {
            long o = (long) j * Float.BYTES;
            FloatVector x = FloatVector.fromMemorySegment(S, as, ra + o, NATIVE);
            FloatVector y = FloatVector.fromMemorySegment(S, bs, rb + o, NATIVE);
            aa = x.fma(x, aa);
            bb = y.fma(y, bb);
            ab = x.fma(y, ab);
        }
        if (j < n) {
            VectorMask<Float> m = S.indexInRange(j, n);
            long o = (long) j * Float.BYTES;
            FloatVector x = FloatVector.fromMemorySegment(S, as, ra + o, NATIVE, m);
            FloatVector y = FloatVector.fromMemorySegment(S, bs, rb + o, NATIVE, m);
            aa = x.fma(x, aa);
            bb = y.fma(y, bb);
            ab = x.fma(y, ab);
        }
        into[0] = aa.reduceLanes(VectorOperators.ADD);
        into[1] = bb.reduceLanes(VectorOperators.ADD);
        into[2] = ab.reduceLanes(VectorOperators.ADD);
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
     * The closed form of REFERENCE.md §3, d = log((den + s)/(den - s))/√c with s = √c·||num|| (that is
     * 2·artanh(s/den)/√c), rearranged so that the one cancellation near the boundary, den - s, is taken in double
     * without a square root: (den + s)/(den - s) = (den + s)²/(den² - c·num²). The Gram entry is widened and a, b,
     * num², den and den² - c·num² are computed in double lanes (num² cancels for nearby points, den² - c·num² near
     * the boundary); then the well-conditioned rest, s, (den + s)² and the quotient, whose float rounding moves
     * the logarithm by about 1e-7 in absolute terms, and the logarithm itself run in float lanes of the same count.
     * The artanh clamp is s ≤ (1 - 1e-5)·den, the same bound on den² - c·num² from below.
     */
    @Override
    protected void gramRowToDistances(float c, Tensor out, int i, double xScale, double x2, double[] yScale,
            double[] y2) {
        MemorySegment os = out.segment();
        long row = Rows.byteOffset(out, i);
        int m = y2.length;
        int step = D.length();
        double cd = c;
        float invSqrtC = (float) (1 / Math.sqrt(cd));
        int j = 0;
        // Whole vectors unmasked, the tail masked.
        for (int end = m - step; j <= end; j += step) {
            long o = row + (long) j * Float.BYTES;
            DoubleVector g = (DoubleVector) FloatVector.fromMemorySegment(HALF, os, o, NATIVE)
                    .convertShape(VectorOperators.F2D, D, 0);
            g = g.mul(DoubleVector.fromArray(D, yScale, j)).mul(xScale);
            closedForm(g, DoubleVector.fromArray(D, y2, j), cd, x2, invSqrtC).intoMemorySegment(os, o, NATIVE);
        }
        if (j < m) {
            VectorMask<Double> md = D.indexInRange(j, m);
            VectorMask<Float> mf = HALF.indexInRange(j, m);
            long o = row + (long) j * Float.BYTES;
            DoubleVector g = (DoubleVector) FloatVector.fromMemorySegment(HALF, os, o, NATIVE, mf)
                    .convertShape(VectorOperators.F2D, D, 0);
            g = g.mul(DoubleVector.fromArray(D, yScale, j, md)).mul(xScale);
            closedForm(g, DoubleVector.fromArray(D, y2, j, md), cd, x2, invSqrtC).intoMemorySegment(os, o, NATIVE,
                    mf);
        }
    }

    /**
     * The closed form for one row x (||x'||² = x2) against lanes of Gram entries g and squared norms yy; static,
     * with scalars in, so that it inlines into the loop with its broadcasts hoisted.
     */
    private static FloatVector closedForm(DoubleVector g, DoubleVector yy, double c, double x2, float invSqrtC) {
        double limit = PoincareKernels.ARTANH_LIMIT;
        double b = 1 - c * x2;
        DoubleVector oneMinusTwoCg = g.mul(-2 * c).add(1);
        DoubleVector a = yy.mul(c).add(oneMinusTwoCg);
        DoubleVector num2 = a.mul(a).mul(x2).add(yy.mul(b * b)).sub(a.mul(g).mul(2 * b))
                .max(PoincareKernels.MIN_NORM * PoincareKernels.MIN_NORM);
        DoubleVector den = yy.mul(x2 * c * c).add(oneMinusTwoCg).max(PoincareKernels.MIN_NORM);
        DoubleVector den2 = den.mul(den);
        DoubleVector cNum2 = num2.mul(c);
        DoubleVector q = den2.sub(cNum2).max(den2.mul(1 - limit * limit));
        FloatVector denF = (FloatVector) den.convertShape(VectorOperators.D2F, HALF, 0);
        FloatVector sF = ((FloatVector) cNum2.convertShape(VectorOperators.D2F, HALF, 0)).sqrt()
                .min(denF.mul((float) limit));
        FloatVector p = denF.add(sF);
        return p.mul(p).div((FloatVector) q.convertShape(VectorOperators.D2F, HALF, 0))
                .lanewise(VectorOperators.LOG).mul(invSqrtC);
    }

    /**
     * Rows of x per block of the fused all-pairs distance: the block's [rows, m] Gram rows (m = 4096: 768 KiB) are
     * still in L2 when the elementwise step reads them back, instead of a second pass over the whole matrix in DRAM.
     * A multiple of the micro-kernel's 6 rows.
     */
    static final int GRAM_BLOCK_ROWS = 48;

    /**
     * The Gram matrix by the vector backend's tuned GEMM ({@code matmul} with yᵀ packed once into its panels, not
     * the dot-product kernel of {@code matmulTransposedB}), one block of rows per task, each block's product
     * computed on its own thread and followed at once by the elementwise step on the same thread.
     */
    @Override
    protected void gramThenRows(Tensor x, Tensor y, Tensor out, IntConsumer rowStep) {
        int n = x.rows();
        int m = y.rows();
        int dim = x.cols();
        if (n == 0 || m == 0) {
            return;
        }
        try (Arena arena = Arena.ofShared()) {
            Tensor yT = Tensor.allocate(arena, dim, m);
            MemorySegment ys = y.segment();
            MemorySegment ts = yT.segment();
            for (int j = 0; j < m; j++) {
                long row = y.offset() + (long) j * y.leadingDim();
                for (int k = 0; k < dim; k++) {
                    ts.setAtIndex(F, (long) k * m + j, ys.getAtIndex(F, row + k));
                }
            }
            // Packed once; each block's product then runs inline on the thread that owns the block.
            PreparedMatrix gram = single.prepare(yT);
            int blocks = Math.ceilDiv(n, GRAM_BLOCK_ROWS);
            Tasks.forElements(pool, (long) n * m, x, y, out).forEach(blocks, blk -> {
                int from = blk * GRAM_BLOCK_ROWS;
                int to = Math.min(n, from + GRAM_BLOCK_ROWS);
                gram.multiply(x.slice(0, from, to), out.slice(0, from, to));
                for (int i = from; i < to; i++) {
                    rowStep.accept(i);
                }
            });
        }
    }

    @Override
    protected void forEachRow(int rows, long elements, IntConsumer body, Tensor... operands) {
        Tasks.forElements(pool, elements, operands).forEachRow(rows, body);
    }
}
