package dev.tensorloom.runtime.kernel.vector;

import dev.tensorloom.runtime.kernel.Kernels;
import dev.tensorloom.runtime.kernel.Parallelism;
import dev.tensorloom.runtime.kernel.PreparedMatrix;
import dev.tensorloom.runtime.kernel.Shapes;
import dev.tensorloom.runtime.kernel.Tasks;
import dev.tensorloom.runtime.tensor.Tensor;
import java.util.Objects;

/**
 * The dense kernels of the {@link VectorBackend}: every operation in {@link jdk.incubator.vector.FloatVector}s
 * of the preferred species, reading and writing the tensors' memory segments in place, spread over a
 * {@link Parallelism} pool when {@link Tasks} finds the call large enough. Arguments are checked with
 * {@link Shapes}, as in the scalar oracle.
 */
final class VectorKernels implements Kernels {

    private final Parallelism parallelism;

    VectorKernels(Parallelism parallelism) {
        this.parallelism = Objects.requireNonNull(parallelism, "parallelism");
    }

    @Override
    public void matmul(Tensor a, Tensor b, Tensor c) {
        Shapes.matmul(a, b, c);
        VectorGemm.multiply(a, b, c, product((long) a.rows() * a.cols() * b.cols(), a, b, c));
    }

    /** Packs b into micro-kernel panels once, so products with it skip the per-call packing. */
    @Override
    public PreparedMatrix prepare(Tensor b) {
        Shapes.requireMatrix(b, "b");
        return VectorGemm.pack(b, product((long) b.rows() * b.cols(), b));
    }

    /**
     * Over packed panels the bias (and GELU) go into each tile of c as the last depth block's flush writes it, while
     * the tile is in L1, instead of another pass over c; other prepared forms (and k = 0) take the unfused default.
     */
    @Override
    public void linear(Tensor a, PreparedMatrix w, Tensor bias, boolean gelu, Tensor c) {
        if (!(w instanceof PackedPanels panels) || w.rows() == 0) {
            Kernels.super.linear(a, w, bias, gelu, c);
            return;
        }
        Shapes.matmul(a, w, c);
        Shapes.rowVector(c, bias, "bias");
        panels.multiply(a, c, new GemmMicroKernel.Epilogue(bias, gelu));
    }

    @Override
    public void matmulTransposedB(Tensor a, Tensor b, Tensor c) {
        Shapes.matmulTransposedB(a, b, c);
        VectorGemmTransposedB.multiply(a, b, c, product((long) a.rows() * a.cols() * b.rows(), a, b, c));
    }

    @Override
    public void gemv(Tensor a, Tensor x, Tensor y) {
        Shapes.gemv(a, x, y);
        VectorGemv.multiply(a, x, y, product((long) a.rows() * a.cols(), a, x, y));
    }

    @Override
    public void addBias(Tensor x, Tensor bias) {
        Shapes.rowVector(x, bias, "bias");
        VectorElementwise.addBias(x, bias, elementwise(x.size(), x, bias));
    }

    @Override
    public void add(Tensor x, Tensor y) {
        Shapes.sameShape(x, y);
        VectorElementwise.add(x, y, elementwise(x.size(), x, y));
    }

    @Override
    public void layerNorm(Tensor x, Tensor gamma, Tensor beta, float epsilon) {
        Shapes.rowVector(x, gamma, "gamma");
        Shapes.rowVector(x, beta, "beta");
        VectorRowNorms.layerNorm(x, gamma, beta, epsilon, elementwise(x.size(), x, gamma, beta));
    }

    @Override
    public void gelu(Tensor x) {
        x.leadingDim();
        VectorGelu.apply(x, elementwise(x.size(), x));
    }

    @Override
    public void softmaxRows(Tensor x) {
        x.leadingDim();
        VectorSoftmax.rows(x, elementwise(x.size(), x));
    }

    @Override
    public void attention(Tensor q, Tensor k, Tensor v, Tensor keyMask, int heads, Tensor out) {
        int seq = Shapes.attention(q, k, v, keyMask, heads, out);
        long work = 2L * q.rows() * seq * q.cols();
        VectorAttention.apply(q, k, v, keyMask, heads, out, seq, product(work, q, k, v, keyMask, out));
    }

    @Override
    public void gatherRows(Tensor table, int[] ids, Tensor out) {
        Shapes.gather(table, ids, out);
        VectorElementwise.gatherRows(table, ids, out, elementwise(out.size(), table, out));
    }

    @Override
    public void meanPool(Tensor x, Tensor mask, Tensor out) {
        int seq = Shapes.meanPool(x, mask, out);
        VectorPooling.meanPool(x, mask, out, seq, elementwise(x.size(), x, mask, out));
    }

    @Override
    public void l2NormalizeRows(Tensor x) {
        x.leadingDim();
        VectorRowNorms.l2Normalize(x, elementwise(x.size(), x));
    }

    @Override
    public void addBiasGelu(Tensor x, Tensor bias) {
        Shapes.rowVector(x, bias, "bias");
        VectorEpilogues.addBiasGelu(x, bias, elementwise(x.size(), x, bias));
    }

    @Override
    public void addBiasResidualLayerNorm(Tensor x, Tensor bias, Tensor residual, Tensor gamma, Tensor beta,
            float epsilon) {
        Shapes.biasResidualLayerNorm(x, bias, residual, gamma, beta);
        VectorEpilogues.addBiasResidualLayerNorm(x, bias, residual, gamma, beta, epsilon,
                elementwise(x.size(), x, bias, residual, gamma, beta));
    }

    @Override
    public String toString() {
        return "VectorKernels[" + Simd.S + ", " + parallelism.threads() + " threads]";
    }

    /** Tasks for a row-wise kernel that touches {@code elements} elements about once each. */
    private Tasks elementwise(long elements, Tensor... operands) {
        return Tasks.forElements(parallelism, elements, operands);
    }

    /** Tasks for a product of {@code multiplyAdds} multiply-adds (gemv and packing count one per element). */
    private Tasks product(long multiplyAdds, Tensor... operands) {
        return Tasks.forMultiplyAdds(parallelism, multiplyAdds, operands);
    }
}
