package dev.tensorloom.bench.quant;

import dev.tensorloom.bench.study.EmbeddingFidelity;
import dev.tensorloom.quant.Component;
import dev.tensorloom.quant.Gptq;
import dev.tensorloom.quant.GroupFormat;
import dev.tensorloom.quant.Hessian;
import dev.tensorloom.quant.MatrixRecipe;
import dev.tensorloom.quant.ModelQuantizer;
import dev.tensorloom.quant.QuantPolicy;
import dev.tensorloom.quant.QuantizedBert;
import dev.tensorloom.runtime.bert.BertWeights;
import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.tokenize.HfTokenizer;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * The seed paper's fine-grained impact study on a BERT model: for each bit width, method and scope (all matrices,
 * attention only, FFN only, each layer alone), the model quantized that way against fp32 on held-out text: model
 * bytes, bits per weight, mean and worst cosine of sentence embeddings, and top-10 neighbour overlap on a
 * retrieval task (each query's ten nearest corpus sentences by cosine, fp32 against quantized). Each matrix is
 * quantized once per (method, bits) and shared by every scope that uses it.
 */
public final class ImpactStudy {

    /** Which matrices a cell quantizes (the rest stay fp32). */
    public record Scope(String name, Set<Integer> layers, Set<Component> components) {

        public static List<Scope> standard(int layers, boolean eachLayer) {
            Set<Integer> all = new TreeSet<>();
            for (int i = 0; i < layers; i++) {
                all.add(i);
            }
            List<Scope> out = new ArrayList<>(List.of(new Scope("all", all, EnumSet.allOf(Component.class)),
                    new Scope("attention", all, Component.ATTENTION), new Scope("ffn", all, Component.FFN)));
            if (eachLayer) {
                for (int i = 0; i < layers; i++) {
                    out.add(new Scope("layer " + i, Set.of(i), EnumSet.allOf(Component.class)));
                }
            }
            return out;
        }
    }

    /** One cell of the table. */
    public record Cell(int bits, MatrixRecipe.Method method, Scope scope, long modelBytes, double bitsPerWeight,
            double meanCosine, double worstCosine, double top10Overlap) {
    }

    /** The texts: held-out sentences for the cosines, a corpus and its first queries for retrieval. */
    public record Texts(List<String> calibration, List<String> heldOut, List<String> corpus, int queries) {
    }

    private final BertWeights weights;
    private final Backend backend;
    private final HfTokenizer tokenizer;
    private final Texts texts;
    private final int group;
    private final EmbeddingFidelity fidelity;
    private final long otherBytes;
    private Map<String, Hessian> hessians;
    private final Map<String, QuantizedBert.Stored> quantized = new HashMap<>();

    public ImpactStudy(BertWeights weights, Backend backend, HfTokenizer tokenizer, Texts texts, int group) {
        this.weights = weights;
        this.backend = backend;
        this.tokenizer = tokenizer;
        this.texts = texts;
        this.group = group;
        this.fidelity = new EmbeddingFidelity(weights, backend, tokenizer, texts.heldOut(), texts.corpus(),
                texts.queries());
        long bytes = 4 * (weights.wordEmbeddings().size() + weights.positionEmbeddings().size()
                + (weights.tokenTypeEmbeddings() == null ? 0 : weights.tokenTypeEmbeddings().size())
                + weights.embeddingNormGamma().size() + weights.embeddingNormBeta().size());
        for (BertWeights.Layer l : weights.layers()) {
            for (Component c : Component.values()) {
                bytes += 4 * c.of(l).bias().size();
            }
            bytes += 4 * (l.attentionNormGamma().size() + l.attentionNormBeta().size() + l.outputNormGamma().size()
                    + l.outputNormBeta().size());
        }
        this.otherBytes = bytes;
    }

    /** Runs every (bits, method, scope) cell; {@code progress} hears each finished cell. */
    public List<Cell> run(List<Integer> bitWidths, List<MatrixRecipe.Method> methods, List<Scope> scopes,
            Consumer<Cell> progress) {
        List<Cell> cells = new ArrayList<>();
        for (MatrixRecipe.Method method : methods) {
            if (method == MatrixRecipe.Method.GPTQ && hessians == null) {
                hessians = ModelQuantizer.calibrate(weights, backend, tokenizer, texts.calibration());
            }
            for (int bits : bitWidths) {
                GroupFormat format = GroupFormat.asymmetric(bits, group);
                MatrixRecipe recipe = method == MatrixRecipe.Method.GPTQ ? MatrixRecipe.gptq(format)
                        : MatrixRecipe.rtn(format);
                for (Scope scope : scopes) {
                    Cell cell = cell(recipe, scope);
                    cells.add(cell);
                    progress.accept(cell);
                }
            }
        }
        return cells;
    }

    private Cell cell(MatrixRecipe recipe, Scope scope) {
        QuantPolicy policy = QuantPolicy.fp32().with(scope.layers(), scope.components(), recipe);
        int layers = weights.layers().size();
        QuantizedBert.Stored[][] stored = new QuantizedBert.Stored[layers][Component.values().length];
        for (int layer = 0; layer < layers; layer++) {
            for (Component c : Component.values()) {
                MatrixRecipe r = policy.recipe(layer, c);
                int l = layer;
                stored[layer][c.ordinal()] = quantized.computeIfAbsent(layer + "." + c + "." + r, key ->
                        ModelQuantizer.quantize(weights, QuantPolicy.fp32().with(l, c, r),
                                hessians == null ? Map.of() : hessians, Gptq.Options.defaults(), name -> { })
                                .matrix(l, c));
            }
        }
        QuantizedBert model = new QuantizedBert(stored);
        EmbeddingFidelity.Result r = fidelity.measure(model.preparer(backend));
        return new Cell(recipe.format().bits(), recipe.method(), scope, otherBytes + model.bytes(),
                model.bitsPerWeight(), r.meanCosine(), r.worstCosine(), r.top10Overlap());
    }
}
