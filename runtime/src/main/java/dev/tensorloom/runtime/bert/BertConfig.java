package dev.tensorloom.runtime.bert;

/**
 * The sizes of a BERT-family encoder, all read from the weights and the graph of the model file.
 *
 * @param vocabSize rows of the word embedding table
 * @param hiddenSize width of every hidden state
 * @param layers number of transformer layers
 * @param heads attention heads per layer
 * @param intermediateSize width of the feed-forward layer
 * @param maxPositions rows of the position embedding table: the longest input the model takes
 * @param typeVocabSize rows of the token-type embedding table (0 when the model has none)
 * @param layerNormEpsilon epsilon of every LayerNorm
 */
public record BertConfig(int vocabSize, int hiddenSize, int layers, int heads, int intermediateSize,
        int maxPositions, int typeVocabSize, float layerNormEpsilon) {

    public BertConfig {
        if (vocabSize < 1 || hiddenSize < 1 || layers < 1 || heads < 1 || intermediateSize < 1 || maxPositions < 1
                || typeVocabSize < 0 || !(layerNormEpsilon > 0)) {
            throw new IllegalArgumentException("invalid BERT sizes: " + describe(vocabSize, hiddenSize, layers, heads,
                    intermediateSize, maxPositions, typeVocabSize, layerNormEpsilon));
        }
        if (hiddenSize % heads != 0) {
            throw new IllegalArgumentException("hidden size " + hiddenSize + " is not divisible by " + heads + " heads");
        }
    }

    public int headDim() {
        return hiddenSize / heads;
    }

    private static String describe(int v, int h, int l, int a, int i, int p, int t, float eps) {
        return "vocab=" + v + " hidden=" + h + " layers=" + l + " heads=" + a + " intermediate=" + i
                + " positions=" + p + " types=" + t + " eps=" + eps;
    }
}
