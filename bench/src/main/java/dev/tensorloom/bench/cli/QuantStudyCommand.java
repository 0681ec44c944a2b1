package dev.tensorloom.bench.cli;

import dev.tensorloom.bench.quant.ImpactStudy;
import dev.tensorloom.bench.report.BarChart;
import dev.tensorloom.bench.report.MarkdownTable;
import dev.tensorloom.bench.report.ProgressBars;
import dev.tensorloom.bench.report.ReportWriter;
import dev.tensorloom.quant.MatrixRecipe;
import dev.tensorloom.runtime.bert.BertOnnxLoader;
import dev.tensorloom.runtime.bert.BertWeights;
import dev.tensorloom.runtime.embed.ModelFiles;
import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.BackendProvider;
import dev.tensorloom.runtime.tokenize.HfTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code quant-study}: the fine-grained impact study of issue 8 on a BERT model (the bundled MiniLM by default):
 * bits x method x scope, each cell's size and its embeddings against fp32 on held-out WordNet glosses; prints the
 * table, writes a markdown report with a chart, and names the most and least sensitive scopes.
 */
@Command(name = "quant-study", mixinStandardHelpOptions = true,
        description = "Quantization impact study: bits x method x component against fp32 on held-out text.")
final class QuantStudyCommand implements Callable<Integer> {

    @Mixin
    ModelOptions model = new ModelOptions();

    @Option(names = "--bits", split = ",", defaultValue = "8,4,3,2", description = "bit widths (default: ${DEFAULT-VALUE})")
    List<Integer> bits;

    @Option(names = "--methods", split = ",", defaultValue = "RTN,GPTQ", description = "RTN and/or GPTQ (default: ${DEFAULT-VALUE})")
    List<MatrixRecipe.Method> methods;

    @Option(names = "--no-each-layer", description = "leave out the one-layer-at-a-time scopes")
    boolean noEachLayer;

    @Option(names = "--group", defaultValue = "128", description = "group size, asymmetric (default: ${DEFAULT-VALUE})")
    int group;

    @Mixin
    FidelityTextOptions text = new FidelityTextOptions();

    @Option(names = "--calibration", defaultValue = "128", paramLabel = "N",
            description = "calibration glosses for GPTQ (default: ${DEFAULT-VALUE})")
    int calibration;

    @Option(names = "--out", defaultValue = "reports", description = "report folder (default: ${DEFAULT-VALUE})")
    Path out;

    @Override
    public Integer call() throws IOException {
        for (MatrixRecipe.Method m : methods) {
            if (m != MatrixRecipe.Method.RTN && m != MatrixRecipe.Method.GPTQ) {
                throw new IllegalArgumentException("the study compares RTN and GPTQ, not " + m);
            }
        }
        List<String> evaluation = text.texts();
        ModelFiles files = model.files();
        Backend backend = model.backend(BackendProvider.vectorModuleReadable() ? "vector" : "scalar");
        ImpactStudy.Texts texts = new ImpactStudy.Texts(CalibrationText.calibration(calibration),
                evaluation.subList(0, text.heldOut), evaluation.subList(text.heldOut, text.heldOut + text.corpus),
                text.queries);
        List<ImpactStudy.Cell> cells = new ArrayList<>();
        try (BertWeights weights = BertOnnxLoader.load(files.onnx());
                HfTokenizer tokenizer = HfTokenizer.open(files.tokenizer())) {
            List<ImpactStudy.Scope> scopes = ImpactStudy.Scope.standard(weights.layers().size(), !noEachLayer);
            ImpactStudy study = new ImpactStudy(weights, backend, tokenizer, texts, group);
            try (ProgressBar bar = ProgressBars.start("quant-study", (long) bits.size() * methods.size() * scopes.size())) {
                cells.addAll(study.run(bits, methods, scopes, cell -> bar.step()));
            }
        }
        MarkdownTable table = new MarkdownTable("bits", "method", "scope", "model bytes", "bits/weight",
                "mean cos", "worst cos", "top-10 overlap");
        BarChart chart = new BarChart("1 - mean cosine to fp32 (held-out glosses)", "scope", "1 - mean cosine")
                .orientation(BarChart.Orientation.HORIZONTAL).valueFormat("0.0000");
        for (ImpactStudy.Cell c : cells) {
            table.row(c.bits(), c.method(), c.scope().name(), c.modelBytes(), fmt("%.3f", c.bitsPerWeight()),
                    fmt("%.5f", c.meanCosine()), fmt("%.5f", c.worstCosine()), fmt("%.3f", c.top10Overlap()));
            chart.add(c.method() + " " + c.bits() + "-bit", c.scope().name(), 1 - c.meanCosine());
        }
        System.out.println(table.toPlainText());
        String sensitivity = sensitivity(cells);
        System.out.println(sensitivity);

        Files.createDirectories(out);
        String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        Path report = new ReportWriter("tensorloom quant-study " + stamp)
                .section("Quantization impact")
                .paragraph("Each cell quantizes the named scope (the rest fp32) with asymmetric groups of " + group
                        + "; cosines of mean-pooled embeddings of " + text.heldOut + " held-out WordNet glosses against "
                        + "fp32; top-10 overlap of the " + text.queries + " first of " + text.corpus
                        + " glosses' neighbours. "
                        + "GPTQ calibrates on " + calibration + " other glosses. " + sensitivity)
                .table(table)
                .chart("quant-study-" + stamp + ".png", chart)
                .write(out.resolve("quant-study-" + stamp + ".md"));
        System.out.println("report: " + report);
        return 0;
    }

    /** Per (method, bits), among the partial scopes, the one that loses most and the one that loses least. */
    static String sensitivity(List<ImpactStudy.Cell> cells) {
        StringBuilder out = new StringBuilder();
        cells.stream().map(c -> c.method() + " " + c.bits() + "-bit").distinct().forEach(key -> {
            List<ImpactStudy.Cell> partial = cells.stream()
                    .filter(c -> (c.method() + " " + c.bits() + "-bit").equals(key) && !c.scope().name().equals("all"))
                    .sorted(Comparator.comparingDouble(ImpactStudy.Cell::meanCosine)).toList();
            if (partial.size() >= 2) {
                out.append(String.format(Locale.ROOT, "%s: most sensitive %s (mean cos %.5f), least %s (%.5f). ", key,
                        partial.getFirst().scope().name(), partial.getFirst().meanCosine(),
                        partial.getLast().scope().name(), partial.getLast().meanCosine()));
            }
        });
        return out.toString().strip();
    }

    private static String fmt(String pattern, double v) {
        return String.format(Locale.ROOT, pattern, v);
    }
}
