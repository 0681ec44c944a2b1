package dev.tensorloom.bench.cli;

import dev.tensorloom.bench.report.ProgressBars;
import dev.tensorloom.quant.Component;
import dev.tensorloom.quant.GgmlType;
import dev.tensorloom.quant.Gptq;
import dev.tensorloom.quant.GroupFormat;
import dev.tensorloom.quant.Hessian;
import dev.tensorloom.quant.MatrixRecipe;
import dev.tensorloom.quant.MixedPrecision;
import dev.tensorloom.quant.ModelQuantizer;
import dev.tensorloom.quant.QuantPolicy;
import dev.tensorloom.quant.QuantizedBert;
import dev.tensorloom.quant.QuantizedModelFile;
import dev.tensorloom.runtime.bert.BertOnnxLoader;
import dev.tensorloom.runtime.bert.BertWeights;
import dev.tensorloom.runtime.embed.ModelFiles;
import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.BackendProvider;
import dev.tensorloom.runtime.tokenize.HfTokenizer;
import dev.tensorloom.runtime.tokenize.OverlongText;
import dev.tensorloom.runtime.tokenize.TokenBatch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code quantize}: an ONNX model in, a quantized model file out (docs/FORMATS.md), which {@code embed --model} runs. */
@Command(name = "quantize", mixinStandardHelpOptions = true,
        description = "Quantizes a BERT model's projection matrices and writes a self-contained quantized model file.")
final class QuantizeCommand implements Callable<Integer> {

    enum Method { RTN, GPTQ, Q4_0, Q8_0 }

    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions model = new ModelOptions();

    @Option(names = "--bits", defaultValue = "4", description = "2, 3, 4 or 8 (RTN and GPTQ; default: ${DEFAULT-VALUE})")
    int bits;

    @Option(names = "--method", defaultValue = "GPTQ",
            description = "RTN, GPTQ, or ggml's Q4_0 or Q8_0 (default: ${DEFAULT-VALUE})")
    Method method;

    @Option(names = "--group", defaultValue = "128",
            description = "group size: 32, 64, 128, or 0 for one group per output channel (default: ${DEFAULT-VALUE})")
    int group;

    @Option(names = "--symmetric", description = "no zero points (default: a zero point per group)")
    boolean symmetric;

    @Option(names = "--components", split = ",", paramLabel = "C",
            description = "which matrices: q, k, v, o, up, down, attention, ffn or all (default: all)")
    List<String> components = List.of("all");

    @Option(names = "--layers", split = ",", paramLabel = "I", description = "which layers, from 0 (default: all)")
    List<Integer> layers;

    @Option(names = "--calibration", defaultValue = "128", paramLabel = "N",
            description = "WordNet glosses GPTQ calibrates on (default: ${DEFAULT-VALUE})")
    int calibration;

    @Option(names = "--target-bits", paramLabel = "B",
            description = "mixed precision: an average of B bits per weight over all matrices, scales included, "
                    + "the bits (2, 3, 4 or 8 of --method at --group) going where the measured output error is largest")
    Double targetBits;

    @Option(names = "--sensitivity-texts", defaultValue = "32", paramLabel = "N",
            description = "calibration glosses each matrix's sensitivity is measured on (default: ${DEFAULT-VALUE})")
    int sensitivityTexts;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE", description = "the quantized model file")
    Path output;

    @Override
    public Integer call() throws IOException {
        if (model.model != null && QuantizedModelFile.isQuantizedModel(model.model)) {
            throw new ParameterException(spec.commandLine(), model.model + " is already quantized: quantize reads an "
                    + "ONNX model");
        }
        MatrixRecipe recipe = recipe();
        Set<Component> chosen = components(components);
        ModelFiles files = model.files();
        // Calibration reads the activations in host memory: a CPU backend.
        Backend backend = model.backend(BackendProvider.vectorModuleReadable() ? "vector" : "scalar");
        try (BertWeights weights = BertOnnxLoader.load(files.onnx())) {
            int count = weights.layers().size();
            Set<Integer> which = layers == null ? allLayers(count) : Set.copyOf(layers);
            for (int layer : which) {
                if (layer < 0 || layer >= count) {
                    throw new ParameterException(spec.commandLine(), "layer " + layer + " is not one of the model's "
                            + count + " (0 to " + (count - 1) + ")");
                }
            }
            QuantPolicy policy = QuantPolicy.fp32().with(which, chosen, recipe);
            List<MatrixRecipe> candidates = List.of();
            if (targetBits != null) {
                if (layers != null || !chosen.equals(EnumSet.allOf(Component.class))
                        || recipe.method() == MatrixRecipe.Method.GGML) {
                    throw new ParameterException(spec.commandLine(), "--target-bits allocates RTN or GPTQ widths over "
                            + "every matrix: leave out --layers and --components, and use --method rtn or gptq");
                }
                candidates = List.of(2, 3, 4, 8).stream()
                        .map(b -> recipe.withFormat(new GroupFormat(b, group, symmetric))).toList();
                policy = QuantPolicy.uniform(recipe.withFormat(new GroupFormat(2, group, symmetric)));
            }
            Map<String, Hessian> hessians = Map.of();
            if (policy.needsCalibration(count)) {
                try (HfTokenizer tokenizer = HfTokenizer.open(files.tokenizer());
                        ProgressBar bar = ProgressBars.start("calibrating", calibration)) {
                    hessians = ModelQuantizer.calibrate(weights, backend, tokenizer,
                            CalibrationText.calibration(calibration), policy, text -> bar.step());
                }
            }
            if (targetBits != null) {
                policy = allocate(weights, backend, files, candidates, hessians);
            }
            QuantizedBert quantized;
            try (ProgressBar bar = ProgressBars.start("quantizing", 6L * count)) {
                quantized = ModelQuantizer.quantize(weights, policy, hessians, Gptq.Options.defaults(),
                        name -> bar.step());
            }
            QuantizedModelFile.write(output, weights, quantized, Files.readAllBytes(files.tokenizer()));
            String what = targetBits == null ? recipe + " on " + describe(which, count, chosen)
                    : "mixed " + recipe.method() + " widths " + widths(quantized);
            System.out.printf(Locale.ROOT, "%s: %d bytes; projections %s, %.3f bits per weight (%d bytes of matrices, "
                    + "%d in fp32)%n", output, Files.size(output), what, quantized.bitsPerWeight(), quantized.bytes(),
                    4 * quantized.weightCount());
        }
        return 0;
    }

    /** The mixed-precision policy: sensitivities measured on calibration glosses, then the greedy allocation. */
    private QuantPolicy allocate(BertWeights weights, Backend backend, ModelFiles files, List<MatrixRecipe> candidates,
            Map<String, Hessian> hessians) throws IOException {
        List<TokenBatch> batches = new ArrayList<>();
        try (HfTokenizer tokenizer = HfTokenizer.open(files.tokenizer())) {
            List<String> texts = CalibrationText.calibration(sensitivityTexts);
            for (int from = 0; from < texts.size(); from += 16) {
                batches.add(HfTokenizer.pad(tokenizer.encodeEach(texts.subList(from, Math.min(texts.size(), from + 16)),
                        weights.config().maxPositions(), OverlongText.TRUNCATE)));
            }
        }
        List<MixedPrecision.Sensitivity> sensitivities;
        try (ProgressBar bar = ProgressBars.start("sensitivity", 6L * weights.layers().size() * candidates.size())) {
            sensitivities = MixedPrecision.measure(weights, backend, batches, candidates, hessians,
                    Gptq.Options.defaults(), cell -> bar.step());
        }
        return MixedPrecision.allocate(sensitivities, targetBits);
    }

    private MatrixRecipe recipe() {
        return switch (method) {
            case Q4_0 -> MatrixRecipe.ggml(GgmlType.Q4_0);
            case Q8_0 -> MatrixRecipe.ggml(GgmlType.Q8_0);
            case RTN, GPTQ -> {
                GroupFormat format;
                try {
                    format = new GroupFormat(bits, group, symmetric);
                } catch (IllegalArgumentException e) {
                    throw new ParameterException(spec.commandLine(), e.getMessage());
                }
                yield method == Method.RTN ? MatrixRecipe.rtn(format) : MatrixRecipe.gptq(format);
            }
        };
    }

    /** q, k, v, o, up, down, attention, ffn, all; names the bad one. */
    private Set<Component> components(List<String> names) {
        Set<Component> out = EnumSet.noneOf(Component.class);
        for (String name : names) {
            switch (name.toLowerCase(Locale.ROOT)) {
                case "all" -> out.addAll(EnumSet.allOf(Component.class));
                case "attention" -> out.addAll(Component.ATTENTION);
                case "ffn" -> out.addAll(Component.FFN);
                default -> {
                    try {
                        out.add(Component.parse(name));
                    } catch (IllegalArgumentException e) {
                        throw new ParameterException(spec.commandLine(), e.getMessage()
                                .replace("expected one of", "expected attention, ffn, all or one of"));
                    }
                }
            }
        }
        return out;
    }

    /** Each layer's widths in component order, e.g. [[2, 2, 4, 4, 3, 3], ...]. */
    private static String widths(QuantizedBert model) {
        List<List<Integer>> out = new ArrayList<>();
        for (int layer = 0; layer < model.layers(); layer++) {
            List<Integer> row = new ArrayList<>();
            for (Component c : Component.values()) {
                row.add(model.matrix(layer, c).recipe().format().bits());
            }
            out.add(row);
        }
        return out + " (q, k, v, o, up, down per layer)";
    }

    private static Set<Integer> allLayers(int count) {
        Set<Integer> all = new HashSet<>();
        for (int i = 0; i < count; i++) {
            all.add(i);
        }
        return all;
    }

    private static String describe(Set<Integer> layers, int count, Set<Component> components) {
        String which = components.equals(EnumSet.allOf(Component.class)) ? "all matrices"
                : components.stream().map(Component::shortName).toList().toString();
        return which + (layers.size() == count ? " of every layer" : " of layers " + layers.stream().sorted().toList());
    }
}
