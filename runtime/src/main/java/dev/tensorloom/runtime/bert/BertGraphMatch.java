package dev.tensorloom.runtime.bert;

import dev.tensorloom.runtime.onnx.OnnxTensor;
import java.util.List;

/**
 * Which tensors of an ONNX graph play which part in a BERT encoder, as found by following the graph. The
 * tensors are still the model's; sizes are checked and data copied by {@link BertOnnxLoader}.
 *
 * @param tokenTypeEmbeddings null when the embedding sum has no token-type term
 * @param heads attention heads, read from the Reshape that splits the hidden width
 */
record BertGraphMatch(OnnxTensor wordEmbeddings, OnnxTensor positionEmbeddings, OnnxTensor tokenTypeEmbeddings,
        Norm embeddingNorm, List<Layer> layers, int heads) {

    BertGraphMatch {
        layers = List.copyOf(layers);
    }

    /** A MatMul with a constant [in, out] weight followed by the Add of a constant bias. */
    record Linear(OnnxTensor weight, OnnxTensor bias, String output) {
    }

    /**
     * A LayerNorm over the last axis, fused or decomposed.
     *
     * @param beta null when a fused LayerNormalization leaves out its optional bias
     * @param where names the norm in messages
     */
    record Norm(OnnxTensor gamma, OnnxTensor beta, float epsilon, String output, String where) {
    }

    /** The parameters of one transformer layer, and the heads its attention splits into. */
    record Layer(Linear query, Linear key, Linear value, Linear attentionOutput, Norm attentionNorm,
            Linear intermediate, Linear output, Norm outputNorm, int heads) {
    }
}
