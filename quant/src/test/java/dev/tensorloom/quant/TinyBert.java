package dev.tensorloom.quant;

import dev.tensorloom.runtime.bert.BertEncoder;
import dev.tensorloom.runtime.bert.BertOnnxLoader;
import dev.tensorloom.runtime.bert.BertWeights;
import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.MatrixPreparer;
import dev.tensorloom.runtime.onnx.OnnxFormatException;
import dev.tensorloom.runtime.onnx.OnnxModel;
import dev.tensorloom.runtime.tensor.Tensor;
import dev.tensorloom.runtime.tokenize.TokenBatch;
import dev.tensorloom.testkit.TinyBertOnnx;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;

/** A tiny BERT (testkit's, hidden 32, FFN 64, 2 layers) for model-level quantization tests: weights and texts. */
final class TinyBert {

    private TinyBert() {
    }

    /** The weights of testkit's small tiny BERT with the given seed. */
    static BertWeights weights(long seed) {
        return weights(TinyBertOnnx.Spec.small().withSeed(seed));
    }

    static BertWeights weights(TinyBertOnnx.Spec spec) {
        TinyBertOnnx tiny = TinyBertOnnx.build(spec);
        try (OnnxModel onnx = OnnxModel.read(tiny.bytes(), "tiny.onnx")) {
            return BertOnnxLoader.load(onnx);
        } catch (OnnxFormatException e) {
            throw new IllegalStateException(e);
        }
    }

    /** One random text of {@code tokens} ids ([CLS]-like 1 first) as a batch of one. */
    static TokenBatch randomText(Random random, int tokens) {
        int[] ids = IntStream.range(0, tokens).map(t -> t == 0 ? 1 : 3 + random.nextInt(45)).toArray();
        float[] mask = new float[tokens];
        Arrays.fill(mask, 1);
        return new TokenBatch(1, tokens, ids, new int[tokens], mask, new int[] {tokens});
    }

    static List<TokenBatch> randomTexts(Random random, int count, int tokens) {
        return IntStream.range(0, count).mapToObj(i -> randomText(random, tokens)).toList();
    }

    /** The last hidden states of each text, concatenated. */
    static float[] hidden(BertWeights weights, Backend backend, MatrixPreparer preparer, List<TokenBatch> texts) {
        List<float[]> parts = new ArrayList<>();
        try (BertEncoder encoder = new BertEncoder(weights, backend, preparer)) {
            for (TokenBatch text : texts) {
                try (Arena arena = Arena.ofShared()) {
                    parts.add(encoder.forward(text, arena).toArray());
                }
            }
        }
        int n = parts.stream().mapToInt(p -> p.length).sum();
        float[] out = new float[n];
        int at = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    /** ||a - b||₂. */
    static double distance(float[] a, float[] b) {
        double sum = 0;
        for (int i = 0; i < a.length; i++) {
            double d = a[i] - b[i];
            sum += d * d;
        }
        return Math.sqrt(sum);
    }

    /**
     * {@code weights} with every projection replaced by the values {@code model} stores (dequantized weight by
     * weight from the codes), in {@code arena}: a dense model that must compute what the quantized one does.
     */
    static BertWeights dequantized(BertWeights weights, QuantizedBert model, Arena arena) {
        List<BertWeights.Layer> layers = new ArrayList<>();
        for (int layer = 0; layer < weights.layers().size(); layer++) {
            BertWeights.Layer l = weights.layers().get(layer);
            BertWeights.Linear[] linears = new BertWeights.Linear[Component.values().length];
            for (Component c : Component.values()) {
                linears[c.ordinal()] = new BertWeights.Linear(dense(model.matrix(layer, c), arena), c.of(l).bias());
            }
            layers.add(new BertWeights.Layer(linears[0], linears[1], linears[2], linears[3], l.attentionNormGamma(),
                    l.attentionNormBeta(), linears[4], linears[5], l.outputNormGamma(), l.outputNormBeta()));
        }
        // Everything lives in the caller's arena, which the caller closes (this BertWeights is never closed).
        return new BertWeights(weights.config(), arena, arena, weights.wordEmbeddings(), weights.positionEmbeddings(),
                weights.tokenTypeEmbeddings(), weights.embeddingNormGamma(), weights.embeddingNormBeta(), layers);
    }

    /** The stored matrix as fp32 values, b[p, j]. */
    static Tensor dense(QuantizedBert.Stored stored, Arena arena) {
        int k = stored.rows();
        int n = stored.cols();
        Tensor out = Tensor.allocate(arena, k, n);
        switch (stored) {
            case QuantizedBert.Dense d -> out.copyFrom(d.weight());
            case QuantizedBert.Quantized q when q.weights() instanceof PackedWeights p -> {
                for (int pi = 0; pi < k; pi++) {
                    for (int j = 0; j < n; j++) {
                        out.set(p.value(pi, j), pi, j);
                    }
                }
            }
            case QuantizedBert.Quantized q -> {
                GgmlWeights g = (GgmlWeights) q.weights();
                float[] row = new float[k];
                for (int j = 0; j < n; j++) {
                    g.dequantizeRow(j, row, 0);
                    for (int pi = 0; pi < k; pi++) {
                        out.set(row[pi], pi, j);
                    }
                }
            }
        }
        return out;
    }
}
