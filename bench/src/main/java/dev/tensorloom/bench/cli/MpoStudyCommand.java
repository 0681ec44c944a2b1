package dev.tensorloom.bench.cli;

import dev.tensorloom.bench.mpo.CompressionStudy;
import dev.tensorloom.bench.mpo.MpoStudies;
import dev.tensorloom.bench.report.MarkdownTable;
import dev.tensorloom.bench.report.ProgressBars;
import dev.tensorloom.bench.report.ReportWriter;
import dev.tensorloom.bench.study.EmbeddingFidelity;
import dev.tensorloom.mpo.MpoModel;
import dev.tensorloom.mpo.Truncation;
import dev.tensorloom.runtime.bert.BertOnnxLoader;
import dev.tensorloom.runtime.bert.BertWeights;
import dev.tensorloom.runtime.embed.ModelFiles;
import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.BackendProvider;
import dev.tensorloom.runtime.kernel.Parallelism;
import dev.tensorloom.runtime.tokenize.HfTokenizer;
import dev.tensorloom.testkit.WordNetSentences;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code mpo-study}: the MPO family's studies on the bundled MiniLM and BERT-base sizes, printed as tables; the
 * compression study also writes a markdown report with a chart.
 */
@Command(name = "mpo-study", mixinStandardHelpOptions = true,
        description = "MPO studies on the bundled MiniLM: stable ranks, OPF's deep expansion, shared central tensors"
                + " (MPOBERT), mixture of MPO experts (MPOE), and compression against fidelity to fp32.")
final class MpoStudyCommand implements Callable<Integer> {

    enum Study { STABLE_RANK, OPF, SHARING, MOE, COMPRESSION, FFN }

    @Option(names = "--study", required = true,
            description = "STABLE_RANK, OPF, SHARING, MOE, COMPRESSION, or FFN (the compression study's FFN-at-2x part"
                    + " alone)")
    Study study;

    @Option(names = "--backend", description = "scalar or vector (default: the fastest available)")
    String backend;

    @Option(names = "--top", defaultValue = "2", description = "stable rank: matrices chosen per type (default: ${DEFAULT-VALUE})")
    int top;

    @Option(names = "--cores", description = "MPO cores (default: 15 for OPF, 3 otherwise)")
    Integer cores;

    @Option(names = "--bond-cap", defaultValue = "64",
            description = "sharing, MOE and compression's shared variants: bond cap (default: ${DEFAULT-VALUE})")
    int bondCap;

    @Option(names = "--texts", defaultValue = "64", description = "sharing: held-out WordNet glosses (default: ${DEFAULT-VALUE})")
    int texts;

    @Option(names = "--experts", defaultValue = "8", description = "MOE: experts (default: ${DEFAULT-VALUE})")
    int experts;

    @Option(names = "--top-k", defaultValue = "2", description = "MOE: experts per token (default: ${DEFAULT-VALUE})")
    int topK;

    @Option(names = "--shapes", split = ",", defaultValue = "768x768,768x3072",
            description = "OPF: matrix shapes (default: ${DEFAULT-VALUE})")
    List<String> shapes;

    @Option(names = "--ratios", split = ",", defaultValue = "2,4,8",
            description = "compression: parameter ratios for every projection (default: ${DEFAULT-VALUE})")
    List<Double> ratios;

    @Option(names = "--bond-caps", split = ",",
            description = "compression: bond caps for every projection, beside the ratios (default: none)")
    List<Integer> bondCaps = List.of();

    @Option(names = "--ffn-cores", split = ",", defaultValue = "2,3,5",
            description = "compression: FFN at 2x, the even factorings tried besides low rank (default: ${DEFAULT-VALUE})")
    List<Integer> ffnCores;

    @Option(names = "--scan-ratio", defaultValue = "2",
            description = "compression: ratio of the one-type and one-layer scans (default: ${DEFAULT-VALUE})")
    double scanRatio;

    @Option(names = "--no-scans", description = "compression: leave out the one-type and one-layer scans")
    boolean noScans;

    @Option(names = "--calibration", defaultValue = "128", paramLabel = "N",
            description = "compression: glosses whose inputs whiten the FFN's low-rank factors; 0 leaves that variant"
                    + " out (default: ${DEFAULT-VALUE})")
    int calibration;

    @Option(names = "--no-ffn", description = "compression: leave out the FFN-only variants at 2x")
    boolean noFfn;

    @Option(names = "--no-sharing", description = "compression: leave out the shared-central variants")
    boolean noSharing;

    @Mixin
    FidelityTextOptions text = new FidelityTextOptions();

    @Option(names = "--threads", paramLabel = "N", description = "compression: kernel threads (default: all cores)")
    Integer threads;

    @Option(names = "--out", defaultValue = "reports", description = "compression: report folder (default: ${DEFAULT-VALUE})")
    Path out;

    @Override
    public Integer call() throws Exception {
        if (study == Study.COMPRESSION || study == Study.FFN) {
            return compression(study == Study.FFN);
        }
        Backend b = backend != null ? BackendProvider.byName(backend) : BackendProvider.backend();
        List<MarkdownTable> tables = new ArrayList<>();
        if (study == Study.OPF) {
            List<int[]> dims = shapes.stream().map(s -> s.split("x"))
                    .map(p -> new int[] {Integer.parseInt(p[0].trim()), Integer.parseInt(p[1].trim())}).toList();
            tables.add(MpoStudies.opf(b, dims, cores == null ? 15 : cores));
        } else {
            try (BertWeights weights = BertOnnxLoader.load(ModelFiles.bundledMiniLm().onnx())) {
                int n = cores == null ? 3 : cores;
                int layers = weights.layers().size();
                switch (study) {
                    case STABLE_RANK -> tables.addAll(MpoStudies.stableRanks(weights, top));
                    case SHARING -> {
                        Map<String, List<List<Integer>>> groupings = new LinkedHashMap<>();
                        groupings.put("halves", List.of(IntStream.range(0, layers / 2).boxed().toList(),
                                IntStream.range(layers / 2, layers).boxed().toList()));
                        groupings.put("all layers", List.of(IntStream.range(0, layers).boxed().toList()));
                        groupings.put("none", IntStream.range(0, layers).mapToObj(List::of).toList());
                        // Held-out text: glosses from the end of the list, which no study fitted anything on.
                        List<String> all = WordNetSentences.glosses(texts * 4);
                        tables.addAll(MpoStudies.sharing(weights, groupings, n, bondCap, b,
                                all.subList(all.size() - texts, all.size())));
                    }
                    case MOE -> tables.add(MpoStudies.moe(weights, 0, experts, topK, n, bondCap,
                            new int[] {1, 8, 64}));
                    default -> throw new IllegalStateException(study.toString());
                }
            }
        }
        for (MarkdownTable t : tables) {
            System.out.println(t.toMarkdown());
        }
        return 0;
    }

    /**
     * The compression study: variants in sections, a table, a chart and the scans' verdicts, into a report; with
     * {@code ffnOnly}, only the FFN matrices at 2x in each factoring.
     */
    private int compression(boolean ffnOnly) throws IOException {
        if (ffnOnly) {
            ratios = List.of();
            bondCaps = List.of();
            noSharing = true;
            noScans = true;
            noFfn = false;
        }
        List<String> evaluation = text.texts();
        int heldOut = text.heldOut;
        int n = cores == null ? 3 : cores;
        String backendName = backend != null ? backend : BackendProvider.vectorModuleReadable() ? "vector" : "scalar";
        Backend b = BackendProvider.byName(backendName,
                Parallelism.of(threads != null ? threads : Parallelism.defaultThreads()));
        ModelFiles files = ModelFiles.bundledMiniLm();
        List<CompressionStudy.Row> rows = new ArrayList<>();
        try (BertWeights weights = BertOnnxLoader.load(files.onnx());
                HfTokenizer tokenizer = HfTokenizer.open(files.tokenizer())) {
            int layers = weights.layers().size();
            long steps = ratios.size() + bondCaps.size() + (noSharing ? 0 : 3)
                    + (noFfn ? 0 : 1 + ffnCores.size() + (calibration > 0 ? 2 : 0))
                    + (noScans ? 0 : MpoModel.Projection.values().length + layers);
            try (ProgressBar bar = ProgressBars.start("mpo-study", steps)) {
                EmbeddingFidelity fidelity = new EmbeddingFidelity(weights, b, tokenizer,
                        evaluation.subList(0, heldOut), evaluation.subList(heldOut, evaluation.size()), text.queries);
                try (CompressionStudy s = new CompressionStudy(weights, b, fidelity)) {
                    CompressionStudy.Factoring even = CompressionStudy.Factoring.even(n);
                    String all = "all projections, " + n + " cores";
                    for (double r : ratios) {
                        rows.add(s.cut(all, "ratio " + r, name -> true, even, Truncation.parameterRatio(r)));
                        bar.step();
                    }
                    for (int cap : bondCaps) {
                        rows.add(s.cut(all, "bond cap " + cap, name -> true, even, Truncation.bondCap(cap)));
                        bar.step();
                    }
                    if (!noSharing) {
                        String section = "shared central, bond cap " + bondCap + ", " + n + " cores";
                        List<Integer> every = IntStream.range(0, layers).boxed().toList();
                        rows.add(s.shared(section, "none (own central)", every.stream().map(List::of).toList(), n,
                                bondCap));
                        bar.step();
                        rows.add(s.shared(section, "layers " + every.subList(0, layers / 2) + " and "
                                + every.subList(layers / 2, layers), List.of(every.subList(0, layers / 2),
                                every.subList(layers / 2, layers)), n, bondCap));
                        bar.step();
                        rows.add(s.shared(section, "all " + layers + " layers", List.of(every), n, bondCap));
                        bar.step();
                    }
                    List<CompressionStudy.Factoring> ffn = new ArrayList<>();
                    if (!noFfn) {
                        ffn.add(CompressionStudy.Factoring.lowRank());
                        ffnCores.forEach(c -> ffn.add(CompressionStudy.Factoring.even(c)));
                    }
                    for (CompressionStudy.Factoring f : ffn) {
                        rows.add(s.cut("FFN only, ratio 2", f.name(), CompressionStudy.ffn(), f,
                                Truncation.parameterRatio(2)));
                        bar.step();
                    }
                    if (!noFfn && calibration > 0) {
                        rows.add(s.whitened("FFN only, ratio 2", "low rank whitened by " + calibration
                                + " calibration glosses", CompressionStudy.ffn(), 2, tokenizer,
                                CalibrationText.calibration(calibration), false));
                        bar.step();
                        rows.add(s.whitened("FFN only, ratio 2", "whitened, ranks shared across matrices",
                                CompressionStudy.ffn(), 2, tokenizer, CalibrationText.calibration(calibration), true));
                        bar.step();
                    }
                    if (!noScans) {
                        for (MpoModel.Projection type : MpoModel.Projection.values()) {
                            rows.add(s.cut("one type, ratio " + scanRatio, type.name().toLowerCase(Locale.ROOT),
                                    CompressionStudy.only(type), even, Truncation.parameterRatio(scanRatio)));
                            bar.step();
                        }
                        for (int layer = 0; layer < layers; layer++) {
                            rows.add(s.cut("one layer, ratio " + scanRatio, "layer " + layer,
                                    CompressionStudy.layer(layer), even, Truncation.parameterRatio(scanRatio)));
                            bar.step();
                        }
                    }
                }
            }
        }
        MarkdownTable table = CompressionStudy.table(rows);
        System.out.println(table.toPlainText());
        String verdicts = String.join(" ", CompressionStudy.tolerance(rows, "one type, ratio " + scanRatio),
                CompressionStudy.tolerance(rows, "one layer, ratio " + scanRatio)).strip();
        System.out.println(verdicts);
        Files.createDirectories(out);
        String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        String name = ffnOnly ? "ffn" : "compression";
        Path report = new ReportWriter("tensorloom mpo-study " + name + " " + stamp)
                .section("MPO compression against fidelity")
                .paragraph("The bundled MiniLM with the named projection matrices as MPOs (TT-SVD, bonds chosen by a "
                        + "parameter budget per matrix for a ratio, or capped), the rest dense; \"ratio\" is the "
                        + "compressed matrices' dense over MPO parameters, \"projections ratio\" that of all 24 "
                        + "projection matrices (embeddings, biases and norms left out). Cosines of mean-pooled "
                        + "embeddings of " + heldOut + " held-out WordNet glosses against fp32; top-10 overlap of the "
                        + text.queries + " first of " + text.corpus + " glosses' neighbours. No training. " + verdicts)
                .table(table)
                .chart("mpo-study-" + name + "-" + stamp + ".png", CompressionStudy.chart(rows), 1000,
                        Math.max(500, 40 * rows.size()))
                .write(out.resolve("mpo-study-" + name + "-" + stamp + ".md"));
        System.out.println("report: " + report);
        return 0;
    }
}
