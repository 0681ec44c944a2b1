package dev.tensorloom.quant;

import dev.tensorloom.runtime.bert.BertEncoder;
import dev.tensorloom.runtime.bert.BertWeights;
import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.MatrixPreparer;
import dev.tensorloom.runtime.tokenize.HfTokenizer;
import dev.tensorloom.runtime.tokenize.OverlongText;
import dev.tensorloom.runtime.tokenize.TokenBatch;
import java.lang.foreign.Arena;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * Quantizes a whole BERT model by a {@link QuantPolicy}: each of the six matrices of each layer by its own recipe
 * (fp32, RTN, GPTQ at any group format, or a ggml type). GPTQ needs the Hessian of each matrix's inputs, which
 * {@link #calibrate} collects by running the real fp32 encoder on calibration text; keep that text apart from
 * any text the quantized model is judged on.
 */
public final class ModelQuantizer {

    private ModelQuantizer() {
    }

    /**
     * The calibration Hessians of every matrix the encoder multiplies, by the encoder's matrix names
     * ({@link Component#encoderMatrix}): the fp32 encoder runs on {@code backend} (a host backend) over each text
     * alone, so no padding row is counted, truncated to the model's positions.
     */
    public static Map<String, Hessian> calibrate(BertWeights weights, Backend backend, HfTokenizer tokenizer,
            List<String> texts) {
        return calibrate(weights, backend, tokenizer, texts, name -> true, text -> { });
    }

    /**
     * The calibration Hessians of the matrices {@code policy} quantizes by GPTQ (none when it asks for none), as
     * {@link #calibrate(BertWeights, Backend, HfTokenizer, List)} collects them; {@code progress} hears each text
     * once the encoder has run on it.
     */
    public static Map<String, Hessian> calibrate(BertWeights weights, Backend backend, HfTokenizer tokenizer,
            List<String> texts, QuantPolicy policy, Consumer<String> progress) {
        Set<String> needed = new HashSet<>();
        for (int layer = 0; layer < weights.layers().size(); layer++) {
            for (Component c : Component.values()) {
                if (policy.recipe(layer, c).needsCalibration()) {
                    needed.add(c.encoderMatrix(layer));
                }
            }
        }
        return needed.isEmpty() ? new HashMap<>() : calibrate(weights, backend, tokenizer, texts, needed::contains,
                progress);
    }

    private static Map<String, Hessian> calibrate(BertWeights weights, Backend backend, HfTokenizer tokenizer,
            List<String> texts, Predicate<String> which, Consumer<String> progress) {
        if (texts.isEmpty()) {
            throw new IllegalArgumentException("no calibration text: GPTQ needs the inputs each layer really sees");
        }
        Map<String, Hessian> hessians = new HashMap<>();
        try (BertEncoder encoder = new BertEncoder(weights, backend,
                Hessian.collecting(MatrixPreparer.dense(backend), hessians, which))) {
            for (String text : texts) {
                TokenBatch one = HfTokenizer.pad(tokenizer.encodeEach(List.of(text),
                        weights.config().maxPositions(), OverlongText.TRUNCATE));
                try (Arena arena = Arena.ofShared()) {
                    encoder.forward(one, arena);
                }
                progress.accept(text);
            }
        }
        return hessians;
    }

    /** {@code weights}' matrices by {@code policy}, which must not ask for GPTQ (there is no calibration). */
    public static QuantizedBert quantize(BertWeights weights, QuantPolicy policy) {
        return quantize(weights, policy, Map.of(), Gptq.Options.defaults(), name -> { });
    }

    /**
     * {@code weights}' matrices by {@code policy}; GPTQ matrices against {@code hessians} (from {@link #calibrate})
     * with {@code options}. {@code progress} hears each matrix's name once it is done. fp32 matrices are kept as
     * the weights' own tensors (not copied). A refusal (a missing Hessian, a k the format cannot group, a
     * non-finite weight) names the matrix.
     */
    public static QuantizedBert quantize(BertWeights weights, QuantPolicy policy, Map<String, Hessian> hessians,
            Gptq.Options options, Consumer<String> progress) {
        Objects.requireNonNull(policy, "policy");
        Objects.requireNonNull(hessians, "hessians");
        int layers = weights.layers().size();
        QuantizedBert.Stored[][] stored = new QuantizedBert.Stored[layers][Component.values().length];
        for (int layer = 0; layer < layers; layer++) {
            for (Component c : Component.values()) {
                String name = "layers." + layer + "." + c;
                stored[layer][c.ordinal()] = quantize(name, c.of(weights.layers().get(layer)),
                        policy.recipe(layer, c), hessians.get(c.encoderMatrix(layer)), options);
                progress.accept(name);
            }
        }
        return new QuantizedBert(stored);
    }

    /** One matrix by one recipe; h is its Hessian (GPTQ only). */
    static QuantizedBert.Stored quantize(String name, BertWeights.Linear linear, MatrixRecipe recipe, Hessian h,
            Gptq.Options options) {
        try {
            return switch (recipe.method()) {
                case FP32 -> new QuantizedBert.Dense(linear.weight());
                case RTN -> new QuantizedBert.Quantized(recipe, Rtn.quantize(linear.weight(), recipe.format()));
                case GGML -> new QuantizedBert.Quantized(recipe,
                        GgmlQuantizer.quantize(linear.weight(), recipe.ggmlType()));
                case GPTQ -> {
                    if (h == null) {
                        throw new IllegalArgumentException("GPTQ needs a calibration Hessian and none was collected");
                    }
                    yield new QuantizedBert.Quantized(recipe,
                            Gptq.quantize(linear.weight(), h, recipe.format(), options));
                }
            };
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw new IllegalArgumentException(name + " (" + recipe + "): " + e.getMessage(), e);
        }
    }
}
