package dev.tensorloom.runtime.kernel.vector;

import dev.tensorloom.runtime.kernel.Kernels;
import dev.tensorloom.runtime.kernel.Parallelism;
import dev.tensorloom.runtime.kernel.PreparedMatrix;
import dev.tensorloom.runtime.kernel.Shapes;
import dev.tensorloom.runtime.tensor.Tensor;
import java.util.Objects;

/**
 * The Vector API backend: every operation in {@link jdk.incubator.vector.FloatVector}s of the preferred
 * species, reading and writing the tensors' memory segments in place, spread over a {@link Parallelism}
 * pool when the call is large enough. Arguments are checked with {@link Shapes}, as in the scalar oracle.
 *
 * <p>{@code KernelProvider} loads this class by name, and only after checking that the JVM has
 * {@code jdk.incubator.vector}, so nothing else in the library links a Vector API class.
 *
 * <p>A memory segment of a confined arena may only be touched by its owner thread; a call with such an
 * operand runs entirely on the calling thread.
 */
public final class VectorKernels implements Kernels {

    /** Multiply-adds below which a product is not worth handing to other threads. */
    private static final long PARALLEL_MIN_FLOPS = 1L << 20;
    /** A thread that owns no arena: a segment it may access is one that pool threads may access too. */
    private static final Thread STRANGER = new Thread(() -> { });

    private final Parallelism parallelism;

    public VectorKernels(Parallelism parallelism) {
        this.parallelism = Objects.requireNonNull(parallelism, "parallelism");
    }

    @Override
    public String name() {
        return "vector";
    }

    @Override
    public void matmul(Tensor a, Tensor b, Tensor c) {
        Shapes.matmul(a, b, c);
        VectorGemm.multiply(a, b, c, tasks((long) a.rows() * a.cols() * b.cols(), a, b, c));
    }

    /** Packs b into micro-kernel panels once, so products with it skip the per-call packing. */
    @Override
    public PreparedMatrix prepare(Tensor b) {
        b.leadingDim();
        return VectorGemm.pack(b, tasks(b.size(), b));
    }

    @Override
    public void matmul(Tensor a, PreparedMatrix b, Tensor c) {
        if (!(b instanceof PackedPanels packed)) {
            throw new IllegalArgumentException("matrix " + b.source() + " was prepared by another backend");
        }
        Shapes.matmul(a, packed.source(), c);
        VectorGemm.multiply(a, packed, c, tasks((long) a.rows() * a.cols() * packed.cols(), a, packed.source(), c));
    }

    @Override
    public void matmulTransposedB(Tensor a, Tensor b, Tensor c) {
        Shapes.matmulTransposedB(a, b, c);
        VectorGemmTransposedB.multiply(a, b, c, tasks((long) a.rows() * a.cols() * b.rows(), a, b, c));
    }

    @Override
    public void gemv(Tensor a, Tensor x, Tensor y) {
        Shapes.gemv(a, x, y);
        VectorGemv.multiply(a, x, y, tasks(a.size(), a, x, y));
    }

    @Override
    public void addBias(Tensor x, Tensor bias) {
        Shapes.rowVector(x, bias, "bias");
        VectorElementwise.addBias(x, bias, tasks(x, bias));
    }

    @Override
    public void add(Tensor x, Tensor y) {
        Shapes.sameShape(x, y);
        VectorElementwise.add(x, y, tasks(x, y));
    }

    @Override
    public void layerNorm(Tensor x, Tensor gamma, Tensor beta, float epsilon) {
        Shapes.rowVector(x, gamma, "gamma");
        Shapes.rowVector(x, beta, "beta");
        VectorRowNorms.layerNorm(x, gamma, beta, epsilon, tasks(x, gamma, beta));
    }

    @Override
    public void gelu(Tensor x) {
        x.leadingDim();
        VectorGelu.apply(x, tasks(x));
    }

    @Override
    public void softmaxRows(Tensor x) {
        x.leadingDim();
        VectorSoftmax.rows(x, tasks(x));
    }

    @Override
    public void attention(Tensor q, Tensor k, Tensor v, Tensor keyMask, int heads, Tensor out) {
        int seq = Shapes.attention(q, k, v, keyMask, heads, out);
        long work = 2L * q.rows() * seq * q.cols();
        VectorAttention.apply(q, k, v, keyMask, heads, out, seq, tasks(work, q, k, v, keyMask, out));
    }

    @Override
    public void gatherRows(Tensor table, int[] ids, Tensor out) {
        Shapes.gather(table, ids, out);
        VectorElementwise.gatherRows(table, ids, out, tasks(table, out));
    }

    @Override
    public void meanPool(Tensor x, Tensor mask, Tensor out) {
        int seq = Shapes.meanPool(x, mask, out);
        VectorPooling.meanPool(x, mask, out, seq, tasks(x, mask, out));
    }

    @Override
    public void l2NormalizeRows(Tensor x) {
        x.leadingDim();
        VectorRowNorms.l2Normalize(x, tasks(x));
    }

    @Override
    public String toString() {
        return "VectorKernels[" + Simd.S + ", " + parallelism.threads() + " threads]";
    }

    /** Tasks for a row-wise kernel, which judges for itself whether its rows are worth splitting. */
    private Tasks tasks(Tensor... operands) {
        return new Tasks(parallelism, parallelism.threads() > 1 && shareable(operands));
    }

    /** Tasks for a product of {@code flops} multiply-adds. */
    private Tasks tasks(long flops, Tensor... operands) {
        return new Tasks(parallelism,
                parallelism.threads() > 1 && flops >= PARALLEL_MIN_FLOPS && shareable(operands));
    }

    private static boolean shareable(Tensor... operands) {
        for (Tensor t : operands) {
            if (!t.segment().isAccessibleBy(STRANGER)) {
                return false;
            }
        }
        return true;
    }
}
