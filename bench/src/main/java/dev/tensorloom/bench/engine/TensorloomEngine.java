package dev.tensorloom.bench.engine;

import dev.tensorloom.runtime.embed.TextEmbedder;
import java.util.List;

/** A tensorloom backend behind the bench's engine interface. */
public record TensorloomEngine(TextEmbedder embedder) implements EmbeddingEngine {

    @Override
    public String name() {
        return "tensorloom-" + embedder.options().backend().name();
    }

    @Override
    public float[][] embed(List<String> sentences) {
        return embedder.embed(sentences);
    }

    @Override
    public float[][][] lastHiddenStates(List<String> sentences) {
        return embedder.lastHiddenStates(sentences);
    }

    @Override
    public void close() {
        embedder.close();
    }
}
