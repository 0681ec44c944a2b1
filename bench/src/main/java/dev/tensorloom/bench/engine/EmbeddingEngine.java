package dev.tensorloom.bench.engine;

import java.util.List;

/** Something that turns sentences into pooled, unit-length vectors: a tensorloom backend or the reference. */
public interface EmbeddingEngine extends AutoCloseable {

    String name();

    float[][] embed(List<String> sentences);

    /** The last hidden states of each sentence's real tokens, [sentence][token][hidden]. */
    float[][][] lastHiddenStates(List<String> sentences);

    @Override
    void close();
}
