package dev.tensorloom.runtime.bert;

import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.List;

/**
 * Every parameter of a BERT encoder, in off-heap tensors owned by {@link #arena()}. Projection matrices
 * are stored [in, out], as ONNX MatMul weights are, so a layer computes x·W + b.
 *
 * @param tokenTypeEmbeddings [typeVocabSize, hidden], or null when the model has no token types
 */
public record BertWeights(BertConfig config, Arena arena, Tensor wordEmbeddings, Tensor positionEmbeddings,
        Tensor tokenTypeEmbeddings, Tensor embeddingNormGamma, Tensor embeddingNormBeta, List<Layer> layers)
        implements AutoCloseable {

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

    /** Frees every tensor of the model. */
    @Override
    public void close() {
        arena.close();
    }
}
