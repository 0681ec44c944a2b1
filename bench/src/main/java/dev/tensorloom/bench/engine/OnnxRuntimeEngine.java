package dev.tensorloom.bench.engine;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnxruntime.OrtException;
import dev.tensorloom.testkit.OnnxRuntimeEncoder;
import dev.tensorloom.testkit.SentenceEmbeddings;
import dev.tensorloom.testkit.TokenizedBatch;
import java.util.Arrays;
import java.util.List;

/**
 * ONNX Runtime running the same ONNX file, with the same tokenizer, mean pooling and normalization: the
 * peer every bench run measures.
 */
public record OnnxRuntimeEngine(OnnxRuntimeEncoder ort, HuggingFaceTokenizer tokenizer) implements EmbeddingEngine {

    @Override
    public String name() {
        return "onnxruntime";
    }

    @Override
    public float[][] embed(List<String> sentences) {
        TokenizedBatch batch = TokenizedBatch.encode(tokenizer, sentences);
        double[][] pooled = SentenceEmbeddings.meanPooledNormalized(run(batch), batch.attentionMask());
        float[][] out = new float[pooled.length][];
        for (int i = 0; i < pooled.length; i++) {
            out[i] = new float[pooled[i].length];
            for (int j = 0; j < pooled[i].length; j++) {
                out[i][j] = (float) pooled[i][j];
            }
        }
        return out;
    }

    @Override
    public float[][][] lastHiddenStates(List<String> sentences) {
        TokenizedBatch batch = TokenizedBatch.encode(tokenizer, sentences);
        float[][][] states = run(batch);
        for (int b = 0; b < states.length; b++) {
            states[b] = Arrays.copyOf(states[b], batch.length(b));
        }
        return states;
    }

    private float[][][] run(TokenizedBatch batch) {
        try {
            return ort.lastHiddenState(batch);
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime failed: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        try {
            ort.close();
        } catch (OrtException e) {
            throw new IllegalStateException("closing the ONNX Runtime session failed", e);
        } finally {
            tokenizer.close();
        }
    }
}
