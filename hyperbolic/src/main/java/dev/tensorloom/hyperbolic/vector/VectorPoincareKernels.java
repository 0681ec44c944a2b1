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
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

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

    /**
     * The distance in its arcosh form, in float lanes: with δ = ||x' - y'||² = x2 + y2 - 2⟨x', y'⟩ and
     * t = 2c·δ/((1 - c·x2)(1 - c·y2)),
     * <pre>
     *   d = arcosh(1 + t)/√c = log1p(t + √(t·(t + 2)))/√c,
     * </pre>
     * capped at REFERENCE.md §3's artanh clamp, 2·artanh(1 - 1e-5)/√c (the closed form's d is monotone in its
     * artanh argument, so capping d is clamping that argument). The two forms are equal; this one has a single
     * cancellation, δ for nearby points, which the closed form has too (in num²) and which the Gram entry, a float
     * sum, bounds in either: about ε·(x2 + y2). The other one, den² - c·num² near the boundary, is gone: 1 - c·x2
     * is taken once per point in double, and with the projection's radius (1 - 4e-3)/√c it is at least 8e-3, so t
     * stays below about 1e5 and every lane op is well conditioned. Per entry: four loads, seven float ops, a square
     * root and a log1p, in lanes twice as wide as double ones.
     */
    @Override
    protected IntConsumer gramToDistances(float c, Tensor out, double[] xScale, double[] x2, double[] yScale,
            double[] y2) {
        int m = y2.length;
        double cd = c;
        float[] ys = new float[m];
        float[] yy = new float[m];
        float[] ky = new float[m];
        for (int j = 0; j < m; j++) {
            ys[j] = (float) yScale[j];
            yy[j] = (float) y2[j];
            ky[j] = (float) (2 * cd / (1 - cd * y2[j]));
        }
        double limit = PoincareKernels.ARTANH_LIMIT;
        float cap = (float) Math.log((1 + limit) / (1 - limit));
        float invSqrtC = (float) (1 / Math.sqrt(cd));
        return i -> arcoshRow(out, i, (float) (-2 * xScale[i]), (float) x2[i], (float) (1 / (1 - cd * x2[i])), ys,
                yy, ky, cap, invSqrtC);
    }

    /** One row of {@link #gramToDistances}: whole vectors unmasked, the tail masked. */
    private static void arcoshRow(Tensor out, int i, float minusTwoXs, float x2, float kx, float[] ys, float[] yy,
            float[] ky, float cap, float invSqrtC) {
        MemorySegment os = out.segment();
        long row = Rows.byteOffset(out, i);
        int m = ys.length;
        int j = 0;
        for (int end = m - L; j <= end; j += L) {
            long o = row + (long) j * Float.BYTES;
            FloatVector g = FloatVector.fromMemorySegment(S, os, o, NATIVE);
            arcosh(g, FloatVector.fromArray(S, ys, j), FloatVector.fromArray(S, yy, j), FloatVector.fromArray(S, ky, j),
                    minusTwoXs, x2, kx, cap, invSqrtC).intoMemorySegment(os, o, NATIVE);
        }
        if (j < m) {
            VectorMask<Float> k = S.indexInRange(j, m);
            long o = row + (long) j * Float.BYTES;
            FloatVector g = FloatVector.fromMemorySegment(S, os, o, NATIVE, k);
            arcosh(g, FloatVector.fromArray(S, ys, j, k), FloatVector.fromArray(S, yy, j, k),
                    FloatVector.fromArray(S, ky, j, k), minusTwoXs, x2, kx, cap, invSqrtC)
                    .intoMemorySegment(os, o, NATIVE, k);
        }
    }

    private static FloatVector arcosh(FloatVector g, FloatVector ys, FloatVector yy, FloatVector ky, float minusTwoXs,
            float x2, float kx, float cap, float invSqrtC) {
        FloatVector delta = g.mul(ys).fma(FloatVector.broadcast(S, minusTwoXs), yy.add(x2)).max(0f);
        FloatVector t = delta.mul(ky).mul(kx);
        return t.add(2f).mul(t).sqrt().add(t).lanewise(VectorOperators.LOG1P).min(cap).mul(invSqrtC);
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
