package dev.tensorloom.bench.cli;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.tensorloom.bench.engine.EmbeddingEngine;
import dev.tensorloom.bench.engine.OnnxRuntimeEngine;
import dev.tensorloom.bench.engine.TensorloomEngine;
import dev.tensorloom.bench.report.BarChart;
import dev.tensorloom.bench.report.MachineDescription;
import dev.tensorloom.bench.report.MarkdownTable;
import dev.tensorloom.bench.report.ProgressBars;
import dev.tensorloom.bench.report.ReportWriter;
import dev.tensorloom.runtime.embed.ModelFiles;
import dev.tensorloom.runtime.embed.TextEmbedder;
import dev.tensorloom.runtime.kernel.BackendProvider;
import dev.tensorloom.testkit.BundledMiniLm;
import dev.tensorloom.testkit.OnnxRuntimeEncoder;
import dev.tensorloom.testkit.WordNetSentences;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.DoubleSummaryStatistics;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code bench}, the main job: parity with ONNX Runtime, then throughput and batch-1 latency of the tensorloom
 * backends a user would run (vector, and cuda on a GPU; the scalar oracle on request) and ONNX Runtime on the
 * same sentences in the same run, then a markdown report with a PNG chart.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Parity, throughput and batch-1 latency of tensorloom (vector, cuda on a GPU) against ONNX "
                + "Runtime on real sentences.")
final class BenchCommand implements Callable<Integer> {

    private static final int PARITY_CHUNK = 25;
    private static final int POOL_SIZE = 64;
    private static final int SHORT_TOKENS = 10;
    private static final int LONG_TOKENS = 100;

    @Mixin
    ModelOptions model = new ModelOptions();

    @Option(names = "--backends", split = ",",
            description = "tensorloom backends to measure (default: vector, and cuda when there is a GPU)")
    List<String> backends;

    @Option(names = "--with-scalar",
            description = "measure the scalar oracle as well (slow: it is there to be right, not fast)")
    boolean withScalar;

    @Option(names = "--parity-sentences", defaultValue = "200", description = "WordNet glosses for parity (default: ${DEFAULT-VALUE})")
    int paritySentences;

    @Option(names = "--seconds", defaultValue = "3", description = "measured seconds per throughput cell (default: ${DEFAULT-VALUE})")
    double seconds;

    @Option(names = "--batch-sizes", split = ",", defaultValue = "1,32", description = "batch sizes (default: ${DEFAULT-VALUE})")
    List<Integer> batchSizes;

    @Option(names = "--out", defaultValue = "reports", description = "report folder (default: ${DEFAULT-VALUE})")
    Path out;

    @Override
    public Integer call() throws Exception {
        if (backends == null) {
            backends = new ArrayList<>(List.of("vector"));
            if (BackendProvider.backend().name().equals("cuda")) {
                backends.add("cuda");
            }
        }
        if (withScalar && !backends.contains("scalar")) {
            backends = new ArrayList<>(backends);
            backends.addFirst("scalar");
        }
        int threads = model.threadCount();
        ModelFiles files = model.files();
        say("tensorloom bench: " + files.onnx().getFileName() + ", " + threads + " threads, "
                + MachineDescription.current().cpu());

        say("[1/5] Loading the model: " + String.join(", ", backends) + " and ONNX Runtime");
        List<EmbeddingEngine> engines = new ArrayList<>();
        try {
            for (String backend : backends) {
                engines.add(new TensorloomEngine(TextEmbedder.load(files, model.embedderOptions(backend))));
            }
            int maxTokens = ((TensorloomEngine) engines.getFirst()).embedder().config().maxPositions();
            HuggingFaceTokenizer tokenizer = HuggingFaceTokenizer.newInstance(files.tokenizer(),
                    BundledMiniLm.tokenizerOptions(maxTokens));
            OnnxRuntimeEncoder ort;
            try {
                ort = OnnxRuntimeEncoder.open(files.onnx(), threads);
            } catch (Exception e) {
                tokenizer.close();
                throw e;
            }
            EmbeddingEngine reference = new OnnxRuntimeEngine(ort, tokenizer);
            engines.add(reference);

            say("[2/5] Reading WordNet 3.1 glosses");
            List<String> paritySet = WordNetSentences.glosses(paritySentences);
            Map<String, List<String>> pools = new LinkedHashMap<>();
            pools.put("~" + SHORT_TOKENS + " tokens", WordNetSentences.ofApproxTokens(POOL_SIZE, SHORT_TOKENS, tokenizer));
            pools.put("~" + LONG_TOKENS + " tokens", WordNetSentences.ofApproxTokens(POOL_SIZE, LONG_TOKENS, tokenizer));
            Map<String, int[]> tokenCounts = new LinkedHashMap<>();
            pools.forEach((k, pool) -> tokenCounts.put(k,
                    pool.stream().mapToInt(s -> WordNetSentences.tokenCount(s, tokenizer)).toArray()));

            say("[3/5] Parity with ONNX Runtime on " + paritySet.size() + " glosses");
            List<Parity> parities = parity(engines.subList(0, engines.size() - 1), reference, paritySet);

            say("[4/5] Throughput: batch " + batchSizes + " x " + pools.keySet() + ", " + seconds + " s per cell");
            List<Throughput> results = new ArrayList<>();
            for (var pool : pools.entrySet()) {
                int[] counts = tokenCounts.get(pool.getKey());
                for (int batch : batchSizes) {
                    for (EmbeddingEngine engine : engines) {
                        try (ProgressBar bar = ProgressBars.start(engine.name() + " b" + batch + " " + pool.getKey(),
                                Math.max(1, (long) Math.ceil(minWarmupSeconds() + seconds)))) {
                            long begin = System.nanoTime();
                            Throughput t = Throughput.measure(engine, pool.getValue(), i -> counts[i], batch,
                                    pool.getKey(), minWarmupSeconds(), seconds,
                                    () -> advance(bar, begin));
                            results.add(t);
                            bar.stepTo(bar.getMax());  // the cell is done; the bar's length was an estimate
                        }
                    }
                }
            }

            say("[5/5] Report");
            MarkdownTable parityTable = parityTable(parities);
            MarkdownTable throughputTable = throughputTable(results, reference.name());
            MarkdownTable latencyTable = latencyTable(results, reference.name());
            System.out.println();
            System.out.println(parityTable.toPlainText());
            System.out.println();
            System.out.println(throughputTable.toPlainText());
            System.out.println();
            System.out.println(latencyTable.toPlainText());
            System.out.println(warmups(results));
            Path report = writeReport(parityTable, throughputTable, latencyTable, results, threads);
            say("report: " + report.toAbsolutePath());
            return parities.stream().allMatch(Parity::passes) ? 0 : 1;
        } finally {
            closeAll(engines);
        }
    }

    /** Closes every engine even when one of them fails to close; the first failure is rethrown. */
    private static void closeAll(List<EmbeddingEngine> engines) {
        RuntimeException first = null;
        for (EmbeddingEngine e : engines) {
            try {
                e.close();
            } catch (RuntimeException failure) {
                if (first == null) {
                    first = failure;
                } else {
                    first.addSuppressed(failure);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    private List<Parity> parity(List<EmbeddingEngine> candidates, EmbeddingEngine reference, List<String> sentences) {
        List<Parity> results = new ArrayList<>();
        List<float[][][]> expectedStates = new ArrayList<>();
        List<float[][]> expectedVectors = new ArrayList<>();
        for (int start = 0; start < sentences.size(); start += PARITY_CHUNK) {
            List<String> chunk = sentences.subList(start, Math.min(sentences.size(), start + PARITY_CHUNK));
            expectedStates.add(reference.lastHiddenStates(chunk));
            expectedVectors.add(reference.embed(chunk));
        }
        for (EmbeddingEngine engine : candidates) {
            Parity p = Parity.start(engine.name());
            try (ProgressBar bar = ProgressBars.start("parity " + engine.name(), sentences.size())) {
                for (int c = 0, start = 0; start < sentences.size(); c++, start += PARITY_CHUNK) {
                    List<String> chunk = sentences.subList(start, Math.min(sentences.size(), start + PARITY_CHUNK));
                    p = p.plus(engine.lastHiddenStates(chunk), expectedStates.get(c), engine.embed(chunk),
                            expectedVectors.get(c));
                    bar.stepBy(chunk.size());
                }
            }
            results.add(p);
        }
        return results;
    }

    /** Moves a bar counted in seconds to the seconds elapsed since {@code beginNanos}, at most to its end. */
    private static void advance(ProgressBar bar, long beginNanos) {
        long elapsed = (long) ((System.nanoTime() - beginNanos) / 1e9);
        if (elapsed > bar.getCurrent()) {
            bar.stepTo(Math.min(elapsed, bar.getMax()));
        }
    }

    private static MarkdownTable parityTable(List<Parity> parities) {
        MarkdownTable t = new MarkdownTable("engine", "sentences", "max |Δ hidden|", "min cosine", "bars (1e-4, 0.99999)");
        t.align(MarkdownTable.Align.LEFT, MarkdownTable.Align.RIGHT, MarkdownTable.Align.RIGHT,
                MarkdownTable.Align.RIGHT, MarkdownTable.Align.LEFT);
        for (Parity p : parities) {
            t.row(p.engine(), p.sentences(), String.format(Locale.ROOT, "%.2e", p.maxHiddenDifference()),
                    String.format(Locale.ROOT, "%.7f", p.minCosine()), p.passes() ? "pass" : "FAIL");
        }
        return t;
    }

    private static MarkdownTable throughputTable(List<Throughput> results, String referenceName) {
        MarkdownTable t = new MarkdownTable("engine", "batch", "sentences", "sentences/s", "tokens/s", "vs ONNX Runtime");
        t.align(MarkdownTable.Align.LEFT, MarkdownTable.Align.RIGHT, MarkdownTable.Align.LEFT,
                MarkdownTable.Align.RIGHT, MarkdownTable.Align.RIGHT, MarkdownTable.Align.RIGHT);
        for (Throughput r : results) {
            double ref = reference(results, referenceName, r).map(Throughput::tokensPerSecond).orElse(Double.NaN);
            t.row(r.engine(), r.batchSize(), r.lengthClass(), String.format(Locale.ROOT, "%.1f", r.sentencesPerSecond()),
                    String.format(Locale.ROOT, "%.0f", r.tokensPerSecond()),
                    String.format(Locale.ROOT, "%.2fx", r.tokensPerSecond() / ref));
        }
        return t;
    }

    /** Batch-1 cells: median and p99 milliseconds per sentence, each engine next to ONNX Runtime's. */
    private static MarkdownTable latencyTable(List<Throughput> results, String referenceName) {
        MarkdownTable t = new MarkdownTable("engine", "sentences", "median ms", "p99 ms", "ONNX Runtime median ms",
                "ONNX Runtime p99 ms", "median vs ONNX Runtime");
        t.align(MarkdownTable.Align.LEFT, MarkdownTable.Align.LEFT, MarkdownTable.Align.RIGHT,
                MarkdownTable.Align.RIGHT, MarkdownTable.Align.RIGHT, MarkdownTable.Align.RIGHT,
                MarkdownTable.Align.RIGHT);
        for (Throughput r : results) {
            if (r.batchSize() != 1 || r.engine().equals(referenceName)) {
                continue;
            }
            Optional<Throughput> ref = reference(results, referenceName, r);
            double refMedian = ref.map(Throughput::medianMillisPerSentence).orElse(Double.NaN);
            double refP99 = ref.map(Throughput::p99MillisPerSentence).orElse(Double.NaN);
            t.row(r.engine(), r.lengthClass(), millis(r.medianMillisPerSentence()), millis(r.p99MillisPerSentence()),
                    millis(refMedian), millis(refP99),
                    // Below 1x is faster: the ratio of times, as the throughput column is of rates.
                    String.format(Locale.ROOT, "%.2fx", r.medianMillisPerSentence() / refMedian));
        }
        return t;
    }

    private static Optional<Throughput> reference(List<Throughput> results, String referenceName, Throughput r) {
        return results.stream()
                .filter(o -> o.engine().equals(referenceName) && o.batchSize() == r.batchSize()
                        && o.lengthClass().equals(r.lengthClass()))
                .findFirst();
    }

    /** The least warm-up a throughput cell is given: half its measured seconds. */
    private double minWarmupSeconds() {
        return seconds / 2;
    }

    /** How long the cells warmed up, shortest and longest, and the rule that ended each warm-up. */
    private String warmups(List<Throughput> results) {
        DoubleSummaryStatistics warm = results.stream().mapToDouble(Throughput::warmupSeconds).summaryStatistics();
        return String.format(Locale.ROOT, "Warm-ups took %.1f-%.1f s a cell: until two windows of %.2f s ran within "
                + "%.0f%% of each other and the JIT compiled for under %.0f%% of the second.", warm.getMin(),
                warm.getMax(), Throughput.windowSeconds(minWarmupSeconds()), 100 * Throughput.SETTLED, 100 * Throughput.SETTLED_COMPILING);
    }

    private static String millis(double ms) {
        return String.format(Locale.ROOT, "%.2f", ms);
    }

    private Path writeReport(MarkdownTable parity, MarkdownTable throughput, MarkdownTable latency,
            List<Throughput> results, int threads)
            throws java.io.IOException {
        Files.createDirectories(out);
        String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        BarChart chart = new BarChart("MiniLM encoder throughput (" + threads + " threads)", "batch, sentence length",
                "tokens/s").orientation(BarChart.Orientation.HORIZONTAL).valueFormat("#,##0");
        for (Throughput r : results) {
            chart.add(r.engine(), "b" + r.batchSize() + " " + r.lengthClass(), r.tokensPerSecond());
        }
        ReportWriter report = new ReportWriter("tensorloom bench " + stamp)
                .section("Parity with ONNX Runtime")
                .paragraph("Last hidden states of every real token and mean-pooled, normalized embeddings of "
                        + "WordNet 3.1 glosses, compared with ONNX Runtime running the same ONNX file.")
                .table(parity)
                .section("Throughput")
                .paragraph("Tokenization, encoder and pooling, " + threads + " threads for every engine, "
                        + seconds + " s measured per cell after a warm-up; tokens are real tokens (padding excluded). "
                        + warmups(results))
                .table(throughput)
                .chart("bench-" + stamp + "-throughput.png", chart)
                .section("Batch-1 latency")
                .paragraph("Wall time of each measured batch of one sentence (tokenization, encoder, pooling): "
                        + "median and 99th percentile (nearest rank) in milliseconds, ONNX Runtime's beside.")
                .table(latency);
        return report.write(out.resolve("bench-" + stamp + ".md"));
    }

    private static void say(String line) {
        System.out.println(line);
    }
}
