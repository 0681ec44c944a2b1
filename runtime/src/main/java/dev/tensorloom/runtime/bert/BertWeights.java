package dev.tensorloom.runtime.bert;

import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every parameter of a BERT encoder, in off-heap tensors: the projection matrices in
 * {@code projectionArena}, everything else (embedding tables, biases, LayerNorm parameters) in {@code arena}.
 * Projection matrices are stored [in, out], as ONNX MatMul weights are, so a layer computes x·W + b.
 *
 * <p>The matrices have an arena of their own because they are most of a layer and an encoder often holds
 * them in another form (packed panels, a device copy, quantized codes): {@link #releaseProjections} frees
 * them once nothing reads them, so the model is held once.
 *
 * @param tokenTypeEmbeddings [typeVocabSize, hidden], or null when the model has no token types
 */
public record BertWeights(BertConfig config, Arena arena, Arena projectionArena, Tensor wordEmbeddings,
        Tensor positionEmbeddings, Tensor tokenTypeEmbeddings, Tensor embeddingNormGamma, Tensor embeddingNormBeta,
        List<Layer> layers) implements AutoCloseable {

    /**
     * One transformer layer (post-norm, as in BERT): attention, residual, LayerNorm, feed-forward with GELU,
     * residual, LayerNorm.
     */
    public record Layer(Linear query, Linear key, Linear value, Linear attentionOutput, Tensor attentionNormGamma,
            Tensor attentionNormBeta, Linear intermediate, Linear output, Tensor outputNormGamma,
            Tensor outputNormBeta) {
    }

    /** y = x·weight + bias, with weight [in, out] and bias [out]. */
    public record Linear(Tensor weight, Tensor bias) {

        public Linear {
            if (weight.rank() != 2 || bias.rank() != 1 || bias.dim(0) != weight.dim(1)) {
                throw new IllegalArgumentException("linear layer weight " + weight + " does not match bias " + bias);
            }
        }

        public int in() {
            return weight.rows();
        }

        public int out() {
            return weight.cols();
        }
    }

    /** Whether the projection matrices are still held (not yet {@linkplain #releaseProjections released}). */
    public boolean holdsProjections() {
        return projectionArena.scope().isAlive();
    }

    /**
     * Frees the projection matrices of every layer (not their biases), for an owner whose encoder no longer
     * reads them; reading one afterwards fails with an {@link IllegalStateException}. A second call does nothing.
     */
    public void releaseProjections() {
        if (holdsProjections()) {
            projectionArena.close();
        }
    }

    /**
     * Every tensor but the projection matrices (embedding tables, biases, LayerNorm parameters) under the names
     * the model files use for them ({@code embeddings.word}, {@code layers.3.attention.query.bias}, ...): what a
     * compressed model file stores as it is beside its compressed matrices.
     */
    public Map<String, Tensor> tensorsButProjections() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        out.put("embeddings.word", wordEmbeddings);
        out.put("embeddings.position", positionEmbeddings);
        if (tokenTypeEmbeddings != null) {
            out.put("embeddings.token_type", tokenTypeEmbeddings);
        }
        out.put("embeddings.norm.gamma", embeddingNormGamma);
        out.put("embeddings.norm.beta", embeddingNormBeta);
        for (int i = 0; i < layers.size(); i++) {
            Layer l = layers.get(i);
            String p = "layers." + i + ".";
            out.put(p + "attention.query.bias", l.query().bias());
            out.put(p + "attention.key.bias", l.key().bias());
            out.put(p + "attention.value.bias", l.value().bias());
            out.put(p + "attention.output.bias", l.attentionOutput().bias());
            out.put(p + "attention.norm.gamma", l.attentionNormGamma());
            out.put(p + "attention.norm.beta", l.attentionNormBeta());
            out.put(p + "intermediate.bias", l.intermediate().bias());
            out.put(p + "output.bias", l.output().bias());
            out.put(p + "output.norm.gamma", l.outputNormGamma());
            out.put(p + "output.norm.beta", l.outputNormBeta());
        }
        return out;
    }

    /** Bytes of fp32 parameters held now: all of them, less the projection matrices once released. */
    public long heldBytes() {
        long floats = wordEmbeddings.size() + positionEmbeddings.size() + embeddingNormGamma.size()
                + embeddingNormBeta.size() + (tokenTypeEmbeddings == null ? 0 : tokenTypeEmbeddings.size());
        boolean matrices = holdsProjections();
        for (Layer l : layers) {
            floats += l.attentionNormGamma().size() + l.attentionNormBeta().size() + l.outputNormGamma().size()
                    + l.outputNormBeta().size();
            for (Linear linear : List.of(l.query(), l.key(), l.value(), l.attentionOutput(), l.intermediate(),
                    l.output())) {
                floats += linear.bias().size() + (matrices ? linear.weight().size() : 0);
            }
        }
        return floats * Tensor.FLOAT_BYTES;
    }

    /** Frees every tensor of the model. */
    @Override
    public void close() {
        try {
            releaseProjections();
        } finally {
            arena.close();
        }
    }
}
