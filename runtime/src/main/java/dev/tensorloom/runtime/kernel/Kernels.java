package dev.tensorloom.runtime.kernel;

import dev.tensorloom.runtime.tensor.Tensor;

/**
 * The dense fp32 operations a transformer encoder is made of: the runtime's own kernel family, obtained from
 * a {@link Backend}. Matrices are 2-D {@link Tensor}s with unit column stride; their row stride is the
 * leading dimension, so strided views (one head of a fused QKV projection) are passed as they are.
 * Implementations are stateless and safe to call from many threads. Operands live where the backend
 * computes ({@link Backend#allocate}, {@link Backend#toDevice}); a multithreaded backend can only spread an
 * operation over its workers when every operand lives in a shared (or global/auto) arena, and computes one
 * with an operand from a confined arena on the calling thread.
 *
 * <p>{@link ScalarKernels} is the oracle every other implementation is tested against.
 */
public interface Kernels {

    /** c = a·b, with a [m,k], b [k,n], c [m,n]. */
    void matmul(Tensor a, Tensor b, Tensor c);

    /**
     * Readies a constant matrix b [k, n], living where this backend computes, for many products {@code a·b}
     * ({@link PreparedMatrix#multiply}). The default multiplies b as it is; backends with a faster layout
     * override it. b must stay alive and unchanged as long as the prepared matrix.
     */
    default PreparedMatrix prepare(Tensor b) {
        return new DenseMatrix(b, this);
    }

    /**
     * c = a·w + bias, then {@link #gelu} when {@code gelu}: a linear layer's product and its epilogue, with a [m,k],
     * w prepared by this backend [k,n], bias of length n and c [m,n]. The result is that of
     * {@link PreparedMatrix#multiply} then {@link #addBias} (or {@link #addBiasGelu}), which is what this default
     * does after checking every argument (the scalar oracle's definition); a backend may add the bias and apply
     * GELU to each tile of c while the product writes it, instead of passing over c again.
     */
    default void linear(Tensor a, PreparedMatrix w, Tensor bias, boolean gelu, Tensor c) {
        Shapes.matmul(a, w, c);
        Shapes.rowVector(c, bias, "bias");
        w.multiply(a, c);
        if (gelu) {
            addBiasGelu(c, bias);
        } else {
            addBias(c, bias);
        }
    }

    /** c = a·bᵀ, with a [m,k], b [n,k], c [m,n]. */
    void matmulTransposedB(Tensor a, Tensor b, Tensor c);

    /** y = a·x, with a [m,k] and x, y contiguous vectors of length k and m. */
    void gemv(Tensor a, Tensor x, Tensor y);

    /** x[i,:] += bias for every row i. */
    void addBias(Tensor x, Tensor bias);

    /** x += y, elementwise, both [m,n]. */
    void add(Tensor x, Tensor y);

    /** Each row of x becomes (x - mean)/sqrt(var + eps)·gamma + beta, with the biased variance. */
    void layerNorm(Tensor x, Tensor gamma, Tensor beta, float epsilon);

    /** x = x·Φ(x) = x/2·(1 + erf(x/√2)), the exact GELU, in place. */
    void gelu(Tensor x);

    /** Each row of x becomes softmax(row), in place; entries of -∞ get probability 0. */
    void softmaxRows(Tensor x);

    /**
     * Multi-head scaled-dot-product attention over a padded batch. q, k and v are [batch·seq, hidden]
     * (views into a fused projection are fine), keyMask is [batch, seq] with 1 for a real token and 0 for
     * padding; a padded key gets no attention. out is [batch·seq, hidden], heads split hidden evenly.
     */
    void attention(Tensor q, Tensor k, Tensor v, Tensor keyMask, int heads, Tensor out);

    /** out[i,:] = table[ids[i],:]. */
    void gatherRows(Tensor table, int[] ids, Tensor out);

    /** out[b,:] = mean of x[b·seq + t,:] over the tokens t with mask[b,t] = 1; x is [batch·seq, hidden]. */
    void meanPool(Tensor x, Tensor mask, Tensor out);

    /** Each row of x is divided by its Euclidean norm (rows of norm 0 stay 0). */
    void l2NormalizeRows(Tensor x);

    /**
     * x = gelu(x + bias), row by row: a feed-forward layer's bias and activation after its product. The
     * result is that of {@link #addBias} then {@link #gelu}, which is what this default does (the scalar
     * oracle's definition); a backend may do both in one pass over x.
     */
    default void addBiasGelu(Tensor x, Tensor bias) {
        addBias(x, bias);
        gelu(x);
    }

    /**
     * x = layerNorm(x + bias + residual), row by row, summed in that order: a post-norm sublayer's bias,
     * residual connection and LayerNorm after its product. The result is that of {@link #addBias},
     * {@link #add} and {@link #layerNorm} in turn, which is what this default does after checking every
     * argument (the scalar oracle's definition); a backend may do them in one pass over each row of x.
     * residual has x's shape and is not changed.
     */
    default void addBiasResidualLayerNorm(Tensor x, Tensor bias, Tensor residual, Tensor gamma, Tensor beta,
            float epsilon) {
        Shapes.biasResidualLayerNorm(x, bias, residual, gamma, beta);
        addBias(x, bias);
        add(x, residual);
        layerNorm(x, gamma, beta, epsilon);
    }
}
