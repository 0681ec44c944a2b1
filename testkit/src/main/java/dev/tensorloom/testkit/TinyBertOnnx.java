package dev.tensorloom.testkit;

import dev.tensorloom.testkit.OnnxModelWriter.Attribute;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * A small BERT encoder written as an ONNX file the way PyTorch exports Hugging Face's BertModel (the
 * structure of all-MiniLM-L6-v2's export, node names included), with seeded random weights and any sizes.
 * The model runs in ONNX Runtime: inputs {@code input_ids}, {@code attention_mask} and (when there are
 * token types) {@code token_type_ids}, all int64 [batch, sequence]; output {@code last_hidden_state},
 * float [batch, sequence, hidden].
 *
 * <p>As in the real export, projection weights are anonymous ({@code onnx::MatMul_N}) and initializers are
 * in shuffled order, so only a loader that follows the graph finds them. {@link #parameter} gives each
 * weight under its Hugging Face name, with projection matrices [in, out] as the graph multiplies them.
 * The variants cover the other forms exports take: a fused LayerNormalization (opset 17), the key
 * transposed in two steps, position ids from a Range.
 */
public final class TinyBertOnnx {

    /** How LayerNorm is written: decomposed into elementwise ops (opset 11, as MiniLM) or one node (opset 17). */
    public enum LayerNormForm { DECOMPOSED, FUSED }

    /** How the key is transposed for the scores: perm [0,2,3,1] at once, or [0,2,1,3] then [0,1,3,2]. */
    public enum KeyTranspose { SINGLE, DOUBLE }

    /** How position ids are made: a Slice of a constant arange (as MiniLM), or a Range. */
    public enum PositionIds { SLICE, RANGE }

    /**
     * What to build.
     *
     * @param typeVocabSize 0 for a model without token types (and without the token_type_ids input)
     * @param seed seeds the weights and the initializer order
     */
    public record Spec(int vocabSize, int hiddenSize, int layers, int heads, int intermediateSize,
            int maxPositions, int typeVocabSize, float layerNormEpsilon, long seed, LayerNormForm layerNorm,
            KeyTranspose keyTranspose, PositionIds positionIds) {

        /** 2 layers, hidden 32, 4 heads, intermediate 64, vocab 50, 16 positions, 2 token types. */
        public static Spec small() {
            return new Spec(50, 32, 2, 4, 64, 16, 2, 1e-12f, 42, LayerNormForm.DECOMPOSED, KeyTranspose.SINGLE,
                    PositionIds.SLICE);
        }

        public Spec withSizes(int vocab, int hidden, int layerCount, int headCount, int intermediate, int positions,
                int types) {
            return new Spec(vocab, hidden, layerCount, headCount, intermediate, positions, types, layerNormEpsilon,
                    seed, layerNorm, keyTranspose, positionIds);
        }

        public Spec withEpsilon(float eps) {
            return new Spec(vocabSize, hiddenSize, layers, heads, intermediateSize, maxPositions, typeVocabSize, eps,
                    seed, layerNorm, keyTranspose, positionIds);
        }

        public Spec withSeed(long newSeed) {
            return new Spec(vocabSize, hiddenSize, layers, heads, intermediateSize, maxPositions, typeVocabSize,
                    layerNormEpsilon, newSeed, layerNorm, keyTranspose, positionIds);
        }

        public Spec with(LayerNormForm form) {
            return new Spec(vocabSize, hiddenSize, layers, heads, intermediateSize, maxPositions, typeVocabSize,
                    layerNormEpsilon, seed, form, keyTranspose, positionIds);
        }

        public Spec with(KeyTranspose transpose) {
            return new Spec(vocabSize, hiddenSize, layers, heads, intermediateSize, maxPositions, typeVocabSize,
                    layerNormEpsilon, seed, layerNorm, transpose, positionIds);
        }

        public Spec with(PositionIds ids) {
            return new Spec(vocabSize, hiddenSize, layers, heads, intermediateSize, maxPositions, typeVocabSize,
                    layerNormEpsilon, seed, layerNorm, keyTranspose, ids);
        }

        int headDim() {
            return hiddenSize / heads;
        }

        long opset() {
            return layerNorm == LayerNormForm.FUSED ? 17 : 11;
        }
    }

    private final Spec spec;
    private final OnnxModelWriter writer;
    private final Map<String, float[]> parameters = new LinkedHashMap<>();
    private final Random random;
    private int anonymousWeights = 787;

    private TinyBertOnnx(Spec spec) {
        this.spec = spec;
        this.writer = new OnnxModelWriter(spec.opset() >= 17 ? 8 : 6, spec.opset());
        this.random = new Random(spec.seed());
    }

    /** Builds the graph of {@code spec}; it stays editable through {@link #writer()}. */
    public static TinyBertOnnx build(Spec spec) {
        TinyBertOnnx t = new TinyBertOnnx(spec);
        t.buildGraph();
        return t;
    }

    public Spec spec() {
        return spec;
    }

    /** The graph being written, for tests that change it before taking {@link #bytes()}. */
    public OnnxModelWriter writer() {
        return writer;
    }

    /** The model file's bytes, as the graph is now. */
    public byte[] bytes() {
        return writer.toBytes();
    }

    public Path writeTo(Path file) throws IOException {
        return Files.write(file, bytes());
    }

    /**
     * A weight under its Hugging Face name ({@code encoder.layer.1.attention.self.key.weight}, ...), row-major;
     * projection weights are [in, out], transposed from PyTorch's Linear layout, as the graph uses them.
     */
    public float[] parameter(String name) {
        float[] p = parameters.get(name);
        if (p == null) {
            throw new IllegalArgumentException("no parameter " + name + "; have " + parameters.keySet());
        }
        return p.clone();
    }

    public Set<String> parameterNames() {
        return Collections.unmodifiableSet(parameters.keySet());
    }

    private void buildGraph() {
        int hidden = spec.hiddenSize();
        writer.input("input_ids", OnnxModelWriter.INT64, "batch_size", "sequence_length");
        writer.input("attention_mask", OnnxModelWriter.INT64, "batch_size", "sequence_length");
        if (spec.typeVocabSize() > 0) {
            writer.input("token_type_ids", OnnxModelWriter.INT64, "batch_size", "sequence_length");
        }

        // Additive mask [batch, 1, 1, seq]: 0 for tokens, the lowest float for padding.
        String m = unsqueeze("attention_mask", "/Unsqueeze", 1);
        m = unsqueeze(m, "/Unsqueeze_1", 2);
        m = writer.node("Cast", "/Cast", List.of(m), Attribute.integer("to", OnnxModelWriter.FLOAT)).output();
        m = writer.node("Sub", "/Sub", List.of(writer.constantFloat("/Constant", 1f), m)).output();
        String mask = writer.node("Mul", "/Mul", List.of(m, writer.constantFloat("/Constant_1", -Float.MAX_VALUE)))
                .output();

        String word = weight("embeddings.word_embeddings.weight", 0.5f, spec.vocabSize(), hidden);
        String sum = writer.node("Gather", "/embeddings/word_embeddings/Gather", List.of(word, "input_ids")).output();
        if (spec.typeVocabSize() > 0) {
            String types = weight("embeddings.token_type_embeddings.weight", 0.5f, spec.typeVocabSize(), hidden);
            String type = writer.node("Gather", "/embeddings/token_type_embeddings/Gather",
                    List.of(types, "token_type_ids")).output();
            sum = writer.node("Add", "/embeddings/Add", List.of(sum, type)).output();
        }
        String positions = weight("embeddings.position_embeddings.weight", 0.5f, spec.maxPositions(), hidden);
        String pos = writer.node("Gather", "/embeddings/position_embeddings/Gather",
                List.of(positions, positionIds())).output();
        sum = writer.node("Add", "/embeddings/Add_1", List.of(sum, pos)).output();
        String h = layerNorm(sum, "/embeddings/LayerNorm", "embeddings.LayerNorm");

        for (int i = 0; i < spec.layers(); i++) {
            h = layer(h, mask, i);
        }
        writer.nodes().getLast().outputs.set(0, "last_hidden_state");
        writer.output("last_hidden_state", OnnxModelWriter.FLOAT, "batch_size", "sequence_length", (long) hidden);
        writer.shuffleInitializers(random);
    }

    /** Position ids [1, seq] = 0..seq-1, computed from the sequence length as the export does. */
    private String positionIds() {
        String shape = writer.node("Shape", "/embeddings/Shape", List.of("input_ids")).output();
        String seqLen = writer.node("Gather", "/embeddings/Gather",
                List.of(shape, writer.constantInt64("/embeddings/Constant", new long[] {1})),
                Attribute.integer("axis", 0)).output();
        if (spec.positionIds() == PositionIds.RANGE) {
            String range = writer.node("Range", "/embeddings/Range", List.of(
                    writer.constantInt64("/embeddings/Constant_1", new long[] {0}), seqLen,
                    writer.constantInt64("/embeddings/Constant_2", new long[] {1}))).output();
            return unsqueeze(range, "/embeddings/Unsqueeze", 0);
        }
        long[] arange = new long[spec.maxPositions()];
        for (int i = 0; i < arange.length; i++) {
            arange[i] = i;
        }
        String ids = writer.int64Initializer("embeddings.position_ids", arange, 1, spec.maxPositions());
        String end = unsqueeze(seqLen, "/embeddings/Unsqueeze", 0);
        return writer.node("Slice", "/embeddings/Slice", List.of(ids,
                writer.constantInt64("/embeddings/Constant_1", new long[] {0}, 1), end,
                writer.constantInt64("/embeddings/Constant_2", new long[] {1}, 1),
                writer.constantInt64("/embeddings/Constant_3", new long[] {1}, 1))).output();
    }

    private String layer(String x, String mask, int i) {
        String p = "/encoder/layer." + i;
        String hf = "encoder.layer." + i;
        int heads = spec.heads();
        int headDim = spec.headDim();
        String self = p + "/attention/self";

        String q = linear(x, self + "/query", hf + ".attention.self.query", spec.hiddenSize());
        String k = linear(x, self + "/key", hf + ".attention.self.key", spec.hiddenSize());
        String v = linear(x, self + "/value", hf + ".attention.self.value", spec.hiddenSize());

        String kh = writer.node("Reshape", self + "/Reshape", List.of(k, headShape(k, self, 0))).output();
        String vh = writer.node("Reshape", self + "/Reshape_1", List.of(v, headShape(v, self, 1))).output();
        vh = transpose(vh, self + "/Transpose", 0, 2, 1, 3);
        String qh = writer.node("Reshape", self + "/Reshape_2", List.of(q, writer.constantInt64(self + "/Constant_q",
                new long[] {0, 0, heads, headDim}, 4))).output();
        qh = transpose(qh, self + "/Transpose_1", 0, 2, 1, 3);
        if (spec.keyTranspose() == KeyTranspose.SINGLE) {
            kh = transpose(kh, self + "/Transpose_2", 0, 2, 3, 1);
        } else {
            kh = transpose(kh, self + "/Transpose_2", 0, 2, 1, 3);
            kh = transpose(kh, self + "/Transpose_2b", 0, 1, 3, 2);
        }
        String scores = writer.node("MatMul", self + "/MatMul", List.of(qh, kh)).output();
        scores = writer.node("Div", self + "/Div", List.of(scores,
                writer.constantFloat(self + "/Constant_12", (float) Math.sqrt(headDim)))).output();
        scores = writer.node("Add", self + "/Add", List.of(scores, mask)).output();
        String probs = writer.node("Softmax", self + "/Softmax", List.of(scores),
                Attribute.integer("axis", spec.opset() >= 13 ? -1 : 3)).output();
        String context = writer.node("MatMul", self + "/MatMul_1", List.of(probs, vh)).output();
        context = transpose(context, self + "/Transpose_3", 0, 2, 1, 3);
        context = writer.node("Reshape", self + "/Reshape_3", List.of(context, writer.constantInt64(
                self + "/Constant_merge", new long[] {0, 0, spec.hiddenSize()}, 3))).output();

        String attended = linear(context, p + "/attention/output/dense", hf + ".attention.output.dense",
                spec.hiddenSize());
        attended = writer.node("Add", p + "/attention/output/Add", List.of(attended, x)).output();
        String h1 = layerNorm(attended, p + "/attention/output/LayerNorm", hf + ".attention.output.LayerNorm");

        String act = p + "/intermediate/intermediate_act_fn";
        String up = linear(h1, p + "/intermediate/dense", hf + ".intermediate.dense", spec.intermediateSize());
        String g = writer.node("Div", act + "/Div", List.of(up, writer.constantFloat(act + "/Constant",
                (float) Math.sqrt(2)))).output();
        g = writer.node("Erf", act + "/Erf", List.of(g)).output();
        g = writer.node("Add", act + "/Add", List.of(g, writer.constantFloat(act + "/Constant_1", 1f))).output();
        g = writer.node("Mul", act + "/Mul", List.of(up, g)).output();
        g = writer.node("Mul", act + "/Mul_1", List.of(g, writer.constantFloat(act + "/Constant_2", 0.5f))).output();

        String down = linear(g, p + "/output/dense", hf + ".output.dense", spec.hiddenSize());
        down = writer.node("Add", p + "/output/Add", List.of(down, h1)).output();
        return layerNorm(down, p + "/output/LayerNorm", hf + ".output.LayerNorm");
    }

    /** [batch, seq, heads, headDim] computed from x's shape by Shape/Gather/Unsqueeze/Concat, as exported. */
    private String headShape(String x, String self, int n) {
        String s = self + "/heads_" + n;
        String batch = writer.node("Gather", s + "/Gather", List.of(
                writer.node("Shape", s + "/Shape", List.of(x)).output(),
                writer.constantInt64(s + "/Constant", new long[] {0})), Attribute.integer("axis", 0)).output();
        String seq = writer.node("Gather", s + "/Gather_1", List.of(
                writer.node("Shape", s + "/Shape_1", List.of(x)).output(),
                writer.constantInt64(s + "/Constant_1", new long[] {1})), Attribute.integer("axis", 0)).output();
        return writer.node("Concat", s + "/Concat", List.of(
                unsqueeze(batch, s + "/Unsqueeze", 0), unsqueeze(seq, s + "/Unsqueeze_1", 0),
                writer.constantInt64(s + "/Constant_2", new long[] {spec.heads()}, 1),
                writer.constantInt64(s + "/Constant_3", new long[] {spec.headDim()}, 1)),
                Attribute.integer("axis", 0)).output();
    }

    /** MatMul by an anonymous [in, out] weight, then Add(bias, product), as PyTorch writes nn.Linear. */
    private String linear(String x, String prefix, String hfName, int out) {
        int in = inputWidth(hfName);
        float[] w = random(in * out, 1f / (float) Math.sqrt(in));
        String weightName = "onnx::MatMul_" + anonymousWeights++;
        writer.floatInitializer(weightName, w, in, out);
        parameters.put(hfName + ".weight", w);
        String bias = weight(hfName + ".bias", 0.1f, out);
        String product = writer.node("MatMul", prefix + "/MatMul", List.of(x, weightName)).output();
        return writer.node("Add", prefix + "/Add", List.of(bias, product)).output();
    }

    private int inputWidth(String hfName) {
        return hfName.endsWith(".output.dense") && !hfName.contains("attention") ? spec.intermediateSize()
                : spec.hiddenSize();
    }

    private String layerNorm(String x, String prefix, String hfName) {
        int hidden = spec.hiddenSize();
        float[] gamma = random(hidden, 0.1f);
        for (int i = 0; i < hidden; i++) {
            gamma[i] += 1;
        }
        String g = writer.floatInitializer(hfName + ".weight", gamma, hidden);
        parameters.put(hfName + ".weight", gamma);
        String b = weight(hfName + ".bias", 0.1f, hidden);
        if (spec.layerNorm() == LayerNormForm.FUSED) {
            return writer.node("LayerNormalization", prefix + "/LayerNormalization", List.of(x, g, b),
                    Attribute.integer("axis", -1), Attribute.real("epsilon", spec.layerNormEpsilon())).output();
        }
        String mean = writer.node("ReduceMean", prefix + "/ReduceMean", List.of(x), Attribute.ints("axes", -1))
                .output();
        String d = writer.node("Sub", prefix + "/Sub", List.of(x, mean)).output();
        String sq = writer.node("Pow", prefix + "/Pow", List.of(d, writer.constantFloat(prefix + "/Constant", 2f)))
                .output();
        String var = writer.node("ReduceMean", prefix + "/ReduceMean_1", List.of(sq), Attribute.ints("axes", -1))
                .output();
        String ve = writer.node("Add", prefix + "/Add", List.of(var,
                writer.constantFloat(prefix + "/Constant_1", spec.layerNormEpsilon()))).output();
        String sd = writer.node("Sqrt", prefix + "/Sqrt", List.of(ve)).output();
        String n = writer.node("Div", prefix + "/Div", List.of(d, sd)).output();
        String scaled = writer.node("Mul", prefix + "/Mul", List.of(n, g)).output();
        return writer.node("Add", prefix + "/Add_1", List.of(scaled, b)).output();
    }

    private String unsqueeze(String x, String name, long axis) {
        if (spec.opset() >= 13) {
            return writer.node("Unsqueeze", name, List.of(x,
                    writer.constantInt64(name + "_axes", new long[] {axis}, 1))).output();
        }
        return writer.node("Unsqueeze", name, List.of(x), Attribute.ints("axes", axis)).output();
    }

    private String transpose(String x, String name, long... perm) {
        return writer.node("Transpose", name, List.of(x), Attribute.ints("perm", perm)).output();
    }

    private String weight(String name, float scale, long... dims) {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        float[] values = random((int) n, scale);
        parameters.put(name, values);
        return writer.floatInitializer(name, values, dims);
    }

    private float[] random(int n, float scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) random.nextGaussian() * scale;
        }
        return v;
    }
}
