package dev.tensorloom.bench.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.hyperbolic.hierarchy.HierarchyEmbedding;
import dev.tensorloom.mpo.MpoFile;
import dev.tensorloom.mpo.MpoModel;
import dev.tensorloom.testkit.TinyBertOnnx;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI end to end on the bundled model: what a user types, what a user gets. */
class CliTest {

    @Test
    void embedPrintsOneUnitVectorPerTextAsCsv() {
        String out = run("embed", "--backend", "vector", "--format", "csv", "A cat sat on the mat.", "Dogs bark.");
        List<String> lines = out.lines().toList();
        assertEquals(2, lines.size(), out);
        for (String line : lines) {
            double[] v = Stream.of(line.split(",")).mapToDouble(Double::parseDouble).toArray();
            assertEquals(384, v.length);
            assertEquals(1.0, Math.sqrt(java.util.Arrays.stream(v).map(x -> x * x).sum()), 1e-5);
        }
    }

    @Test
    void embedPrintsJsonWithTheTextEscaped() {
        String out = run("embed", "--backend", "scalar", "say \"hi\"");
        assertTrue(out.startsWith("[") && out.contains("\"text\": \"say \\\"hi\\\"\"") && out.contains("\"embedding\": ["),
                out);
    }

    @Test
    void embedFileGivesOneRowPerLineInOrderBlankLinesIncluded(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("texts.txt");
        Files.writeString(file, "Dogs bark.\n\nA cat sat on the mat.\n");
        String out = run("embed", "--backend", "vector", "--file", file.toString());
        List<String> lines = out.lines().toList();
        assertEquals(5, lines.size(), out);
        assertEquals("[", lines.get(0));
        assertTrue(lines.get(1).startsWith("  {\"text\": \"Dogs bark.\", \"embedding\": [") && lines.get(1).endsWith("]},"),
                lines.get(1));
        assertTrue(lines.get(2).startsWith("  {\"text\": \"\", \"embedding\": [") && lines.get(2).endsWith("]},"),
                lines.get(2));
        assertTrue(lines.get(3).startsWith("  {\"text\": \"A cat sat on the mat.\"") && lines.get(3).endsWith("]}"),
                lines.get(3));
        assertEquals("]", lines.get(4));
        // Row i is line i: the vector of the text embedded on its own (to the rounding a padded batch brings).
        double[] alone = numbers(run("embed", "--backend", "vector", "--format", "csv", "A cat sat on the mat.")
                .strip().split(","));
        String row = lines.get(3);
        double[] fromFile = numbers(row.substring(row.lastIndexOf('[') + 1, row.length() - 2).split(", "));
        assertEquals(384, fromFile.length);
        for (int j = 0; j < 384; j++) {
            assertEquals(alone[j], fromFile[j], 2e-6, "component " + j);
        }
    }

    private static double[] numbers(String[] fields) {
        return Stream.of(fields).mapToDouble(Double::parseDouble).toArray();
    }

    @Test
    void benchRunsParityAndThroughputAndWritesItsReport(@TempDir Path dir) throws Exception {
        String out = run("bench", "--backends", "vector", "--parity-sentences", "10", "--seconds", "0.2",
                "--batch-sizes", "1", "--threads", "2", "--out", dir.toString());
        assertTrue(out.contains("tensorloom-vector") && out.contains("onnxruntime") && out.contains("pass"), out);
        try (Stream<Path> files = Files.list(dir)) {
            List<String> names = files.map(p -> p.getFileName().toString()).toList();
            assertEquals(2, names.size(), names.toString());
            String markdown = names.stream().filter(n -> n.endsWith(".md")).findFirst().orElseThrow();
            String chart = names.stream().filter(n -> n.endsWith("-throughput.png")).findFirst().orElseThrow();
            String report = Files.readString(dir.resolve(markdown));
            assertTrue(report.contains("## Parity with ONNX Runtime") && report.contains("## Throughput")
                    && report.contains("## Batch-1 latency") && report.contains("## Machine")
                    && report.contains(chart), report);
            // The scalar oracle is measured only on request.
            assertTrue(report.contains("tensorloom-vector") && !report.contains("tensorloom-scalar"), report);
        }
    }

    @Test
    void embedHierarchyTrainsScoresSavesAndDrawsTheMammals(@TempDir Path dir) throws Exception {
        String out = run("embed-hierarchy", "--dims", "2", "--epochs", "2", "--burn-in", "1", "--negatives", "5",
                "--threads", "1", "--eval-at", "1", "--out", dir.toString());
        assertTrue(out.lines().anyMatch(
                l -> l.matches("mammals poincare d2 after epoch 1: mean rank [0-9.]+, MAP [0-9.]+")), out);
        assertTrue(out.contains("1,182 nodes, 6,542 is-a pairs") && out.contains("poincare")
                && out.contains("euclidean") && out.contains("mean rank"), out);
        for (String space : List.of("poincare", "euclidean")) {
            HierarchyEmbedding e = HierarchyEmbedding.load(dir.resolve("mammals-" + space + "-d2.tsv"));
            assertEquals(1182, e.size());
            assertEquals(2, e.dim());
            assertEquals("mammal.n.01", e.names().get(e.names().indexOf("mammal.n.01")));
        }
        BufferedImage disk = ImageIO.read(dir.resolve("mammals-poincare-disk.png").toFile());
        assertEquals(1200, disk.getWidth());
        String report = Files.readString(dir.resolve("embed-hierarchy-mammals.md"));
        assertTrue(report.lines().anyMatch(l -> l.matches("\\| poincare +\\| 2 +\\| [0-9.]+ +\\| [0-9.]+ +\\|.*"))
                && report.contains("mammals-poincare-disk.png"), report);
    }

    @Test
    void reasonTrainsSavesAndAnswersAQueryAlsoFromTheSavedModel(@TempDir Path dir) throws Exception {
        String out = run("reason", "--entities", "60", "--epochs", "1", "--train-queries", "30", "--test-queries", "5",
                "--negatives", "5", "--dim", "4", "--variants", "EUCLIDEAN,PER_STAGE", "--query",
                "mammal.n.01 hypernym", "--top", "4", "--out", dir.toString());
        assertTrue(out.contains("KnowledgeGraph[60 entities") && out.contains("per_stage") && out.contains("Hits@10")
                && out.contains("answered by the PER_STAGE model:") && out.contains("mammal.n.01 hypernym ?"), out);
        List<String> trained = out.lines().filter(l -> l.matches(" +[0-9]+\\. \\S+ +d = [0-9.]+")).toList();
        assertEquals(4, trained.size(), out);
        String report = Files.readString(dir.resolve("reason.md"));
        assertTrue(report.lines().anyMatch(l -> l.matches("\\| per_stage +\\| 3 +\\|.*")), report);
        Path saved = dir.resolve("reason-per_stage.txt");
        String answered = run("reason", "--model", saved.toString(), "--query", "mammal.n.01 hypernym", "--top", "4");
        List<String> loaded = answered.lines().filter(l -> l.matches(" +[0-9]+\\. \\S+ +d = [0-9.]+")).toList();
        assertEquals(trained.getFirst().split(" +d = ")[0], loaded.getFirst().split(" +d = ")[0], answered);
        Result bad = execute("reason", "--model", saved.toString(), "--query", "mammal.n.1 hypernym");
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains("unknown entity 'mammal.n.1'") && bad.err().contains("mammal.n.01"), bad.err());
    }

    @Test
    void embedHierarchyRefusesADimensionBelowOne() {
        Result r = execute("embed-hierarchy", "--dims", "0", "--no-disk");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().startsWith("tensorloom embed-hierarchy: --dims needs positive dimensions, got [0]"), r.err());
    }

    @Test
    void compressWritesEveryMatrixOfAModelAsAnMpo(@TempDir Path dir) throws Exception {
        Path onnx = TinyBertOnnx.build(TinyBertOnnx.Spec.small()).writeTo(dir.resolve("tiny.onnx"));
        Path file = dir.resolve("tiny.mpo");
        String out = run("compress", "--model", onnx.toString(), "--cores", "3", "--bond-cap", "4", "-o",
                file.toString());
        assertTrue(out.startsWith("8 of 8 projections as MPOs, ") && out.contains("wrote " + file), out);
        try (MpoModel model = MpoModel.read(file)) {
            assertEquals(List.of("layers.0.attention.qkv", "layers.0.attention.output", "layers.0.intermediate",
                    "layers.0.output", "layers.1.attention.qkv", "layers.1.attention.output", "layers.1.intermediate",
                    "layers.1.output"), List.copyOf(model.projections().keySet()));
            assertTrue(model.metadata().contains("source=tiny.onnx; cores=3; truncation=BondCap[cap=4]"),
                    model.metadata());
            for (MpoFile.Matrix m : model.projections().values()) {
                assertTrue(java.util.Arrays.stream(m.bonds()).max().orElseThrow() <= 4, m.name());
                assertEquals(3, m.shape().cores(), m.name());
            }
            assertEquals(0, model.tokenizerJson().length, "the tiny model has no tokenizer beside it");
        }
        // FFN only, each matrix its own truncated SVD at half its parameters; the attention matrices stored whole.
        String ffn = run("compress", "--model", onnx.toString(), "--low-rank", "--ratio", "2", "--only",
                "intermediate,output", "-o", file.toString());
        assertTrue(ffn.startsWith("4 of 8 projections as MPOs, "), ffn);
        try (MpoModel model = MpoModel.read(file)) {
            for (MpoFile.Matrix m : model.projections().values()) {
                boolean isFfn = m.name().endsWith("intermediate") || m.name().endsWith("output")
                        && !m.name().contains("attention");
                assertEquals(isFfn ? 2 : 1, m.shape().cores(), m.name());
                if (isFfn) {
                    assertEquals(List.of(m.shape().rows(), 1), List.of(m.shape().rowFactor(0), m.shape().rowFactor(1)));
                    assertTrue(2 * m.shape().parameters(m.bonds()) <= (long) m.shape().rows() * m.shape().cols(),
                            m.name());
                }
            }
        }
        Result bad = execute("compress", "--model", onnx.toString(), "--bond-cap", "0", "-o", file.toString());
        assertEquals(1, bad.code(), bad.err());
        assertEquals("tensorloom compress: bond cap must be >= 1, got 0" + NL, bad.err());
        // Whitening keeps a parameter ratio and embeds calibration text, which takes the model's tokenizer.
        Result capped = execute("compress", "--model", onnx.toString(), "--whiten", "4", "--bond-cap", "3", "-o",
                file.toString());
        assertEquals(2, capped.code(), capped.err());
        assertTrue(capped.err().startsWith("tensorloom compress: --whiten keeps 1/R of each matrix's parameters: give"
                + " --ratio R"), capped.err());
        Result untokenized = execute("compress", "--model", onnx.toString(), "--whiten", "4", "--ratio", "2", "-o",
                file.toString());
        assertEquals(2, untokenized.code(), untokenized.err());
        assertTrue(untokenized.err().contains("tensorloom compress: --whiten embeds calibration text, which needs the"
                + " model's tokenizer.json"), untokenized.err());
    }

    /**
     * compress --whiten on the bundled MiniLM: its FFN at half the parameters as factors whitened by 32 calibration
     * glosses keeps the embeddings of sentences outside WordNet closer to the fp32 model's than W's own truncated
     * SVD at the same parameters (the compression study's 0.864 against 0.631, here on other text), and embed runs
     * the file it writes.
     */
    @Test
    void whitenedFactorsKeepTheEmbeddingsCloserThanTheTruncatedSvd(@TempDir Path dir) throws Exception {
        Path whitened = dir.resolve("whitened.mpo");
        Path plain = dir.resolve("svd.mpo");
        String out = run("compress", "--whiten", "32", "--ratio", "2", "--only", "intermediate,output", "-o",
                whitened.toString());
        assertTrue(out.startsWith("12 of 24 projections as MPOs, ") && out.contains("whitened by 32 calibration"
                + " glosses; wrote " + whitened), out);
        run("compress", "--low-rank", "--ratio", "2", "--only", "intermediate,output", "-o", plain.toString());
        try (MpoModel model = MpoModel.read(whitened)) {
            assertTrue(model.metadata().contains("low rank whitened by 32 calibration glosses"), model.metadata());
            for (MpoFile.Matrix m : model.projections().values()) {
                if (m.shape().cores() == 2) {
                    assertTrue(2 * m.shape().parameters(m.bonds()) <= (long) m.shape().rows() * m.shape().cols(),
                            m.name());
                }
            }
        }
        String[] texts = {"A cat sat on the mat.", "The committee approved the budget after a long debate.",
            "Rain is expected over the mountains tomorrow afternoon.", "She plays the violin in a small orchestra."};
        double[][] fp32 = csvRows(run(concat(new String[] {"embed", "--backend", "vector", "--format", "csv"}, texts)));
        double[][] w = csvRows(run(concat(new String[] {"embed", "--backend", "vector", "--format", "csv", "--model",
            whitened.toString()}, texts)));
        double[][] svd = csvRows(run(concat(new String[] {"embed", "--backend", "vector", "--format", "csv", "--model",
            plain.toString()}, texts)));
        double whitenedCosine = 0;
        double svdCosine = 0;
        for (int i = 0; i < texts.length; i++) {
            for (int h = 0; h < 384; h++) {
                whitenedCosine += fp32[i][h] * w[i][h] / texts.length;
                svdCosine += fp32[i][h] * svd[i][h] / texts.length;
            }
        }
        assertTrue(whitenedCosine > svdCosine + 0.05, "mean cosine to fp32: whitened " + whitenedCosine
                + ", truncated SVD " + svdCosine);
    }

    /**
     * compress then embed --model FILE.mpo on the bundled MiniLM: each attention output matrix as two cores with
     * every bond whole (the rest stored whole) is the model up to fp32 rounding, so its embeddings keep a cosine
     * above 0.9999 to those of the fp32 ONNX model, embedded by the same command.
     */
    @Test
    void embedRunsTheMpoModelThatCompressWrote(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("minilm.mpo");
        String out = run("compress", "--cores", "2", "--bond-cap", "100000", "--only", "attention_output", "-o",
                file.toString());
        assertTrue(out.startsWith("6 of 24 projections as MPOs, ") && out.contains("worst relative error bound 0.0000"),
                out);
        String[] texts = {"A cat sat on the mat.", "The committee approved the budget after a long debate."};
        double[][] fp32 = csvRows(run(concat(new String[] {"embed", "--backend", "vector", "--format", "csv"}, texts)));
        double[][] mpo = csvRows(run(concat(new String[] {"embed", "--backend", "vector", "--format", "csv", "--model",
                file.toString()}, texts)));
        for (int i = 0; i < texts.length; i++) {
            double dot = 0;
            for (int h = 0; h < 384; h++) {
                dot += fp32[i][h] * mpo[i][h];
            }
            assertTrue(dot > 0.9999, texts[i] + ": cosine " + dot);
        }
    }

    private static double[][] csvRows(String out) {
        return out.lines().map(l -> Stream.of(l.split(",")).mapToDouble(Double::parseDouble).toArray())
                .toArray(double[][]::new);
    }

    private static String[] concat(String[] a, String[] b) {
        return Stream.concat(Stream.of(a), Stream.of(b)).toArray(String[]::new);
    }

    @Test
    void aFailedCommandIsOneLineOnStderrAndExitCodeOne() {
        Result r = execute("embed", "--model", "/no/such/model", "hello");
        assertEquals(1, r.code(), r.err());
        assertEquals("tensorloom embed: model not found: /no/such/model is neither a file nor a folder" + NL, r.err());
        assertEquals("", r.out());
    }

    @Test
    void verboseAddsTheStackTraceWhereverItIsGiven() {
        for (String[] args : List.of(new String[] {"embed", "--verbose", "--model", "/no/such/model", "hello"},
                new String[] {"--verbose", "embed", "--model", "/no/such/model", "hello"})) {
            Result r = execute(args);
            assertEquals(1, r.code(), r.err());
            List<String> lines = r.err().lines().toList();
            assertEquals("tensorloom embed: model not found: /no/such/model is neither a file nor a folder", lines.get(0));
            assertEquals("java.io.IOException: model not found: /no/such/model is neither a file nor a folder", lines.get(1));
            assertTrue(lines.get(2).startsWith("\tat dev.tensorloom.runtime.embed.ModelFiles.locate("), r.err());
        }
    }

    @Test
    void aUsageErrorStartsWithTheSameFormThenShowsTheUsageAndExitsTwo() {
        Result r = execute("embed", "--format", "xml", "hello");
        assertEquals(2, r.code(), r.err());
        List<String> lines = r.err().lines().toList();
        assertEquals("tensorloom embed: Invalid value for option '--format': expected one of [JSON, CSV] "
                + "(case-insensitive) but was 'xml'", lines.get(0));
        assertTrue(lines.get(1).startsWith("Usage: tensorloom embed "), r.err());
    }

    @Test
    void embedWithoutTextIsAUsageError() {
        Result r = execute("embed");
        assertEquals(2, r.code(), r.err());
        assertEquals("tensorloom embed: no text given (pass texts as arguments or --file FILE)",
                r.err().lines().findFirst().orElseThrow());
    }

    @Test
    void anUnknownCommandIsReportedByTheTopLevelWithASuggestion() {
        Result r = execute("embedd");
        assertEquals(2, r.code(), r.err());
        List<String> lines = r.err().lines().toList();
        assertEquals("tensorloom: Unmatched argument at index 0: 'embedd'", lines.get(0));
        assertTrue(r.err().contains("embed"), r.err());
    }

    @Test
    void theMessageIsTheExceptionsOwnOrElseItsClassName() {
        IllegalStateException wrapped = new IllegalStateException("could not load the vector backend",
                new ClassNotFoundException("VectorKernels"));
        assertEquals("could not load the vector backend", CliErrors.message(wrapped));
        assertEquals("java.lang.NullPointerException", CliErrors.message(new NullPointerException()));
        assertEquals("first line second line", CliErrors.message(new RuntimeException("first line\n  second line\n")));
    }

    private static final String NL = System.lineSeparator();

    record Result(int code, String out, String err) {
    }

    static Result execute(String... args) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        StringWriter err = new StringWriter();
        PrintStream original = System.out;
        System.setOut(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        int code;
        try {
            code = TensorloomCli.commandLine().setErr(new PrintWriter(err, true)).execute(args);
        } finally {
            System.setOut(original);
        }
        return new Result(code, bytes.toString(StandardCharsets.UTF_8), err.toString());
    }

    static String run(String... args) {
        Result r = execute(args);
        assertEquals(0, r.code(), r.out() + r.err());
        return r.out();
    }
}
