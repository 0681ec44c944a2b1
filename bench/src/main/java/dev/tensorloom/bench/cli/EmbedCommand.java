package dev.tensorloom.bench.cli;

import dev.tensorloom.runtime.embed.EmbedderOptions;
import dev.tensorloom.runtime.embed.Pooling;
import dev.tensorloom.runtime.embed.TextEmbedder;
import dev.tensorloom.runtime.kernel.BackendProvider;
import dev.tensorloom.runtime.tokenize.OverlongText;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code embed}: texts in, vectors out. */
@Command(name = "embed", mixinStandardHelpOptions = true,
        description = "Embeds texts given as arguments or one per line in a file; prints JSON or CSV.")
final class EmbedCommand implements Callable<Integer> {

    enum Format { JSON, CSV }

    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions model = new ModelOptions();

    @Parameters(paramLabel = "TEXT", arity = "0..*", description = "texts to embed")
    List<String> texts = new ArrayList<>();

    @Option(names = {"-f", "--file"}, paramLabel = "FILE", description = "read texts from FILE, one per line, each line one output row ('-' for stdin)")
    Path file;

    @Option(names = "--format", defaultValue = "JSON", description = "JSON or CSV (default: ${DEFAULT-VALUE})")
    Format format;

    @Option(names = "--backend", description = "scalar or vector (default: the fastest available)")
    String backend;

    @Option(names = "--pooling", defaultValue = "MEAN", description = "MEAN or CLS (default: ${DEFAULT-VALUE})")
    Pooling pooling;

    @Option(names = "--no-normalize", description = "keep the pooled vectors' length")
    boolean noNormalize;

    @Option(names = "--reject-long", description = "fail on text longer than the model's positions instead of truncating it")
    boolean rejectLong;

    @Override
    public Integer call() throws IOException {
        List<String> all = new ArrayList<>(texts);
        if (file != null) {
            List<String> lines = "-".equals(file.toString())
                    ? new String(System.in.readAllBytes(), StandardCharsets.UTF_8).lines().toList()
                    : Files.readAllLines(file, StandardCharsets.UTF_8);
            all.addAll(lines);  // every line, blank ones too, so output row i is input line i
        }
        if (all.isEmpty()) {
            throw new ParameterException(spec.commandLine(), "no text given (pass texts as arguments or --file FILE)");
        }
        String backendName = backend != null ? backend : BackendProvider.backend().name();
        EmbedderOptions options = model.embedderOptions(backendName)
                .withPooling(pooling)
                .withNormalize(!noNormalize)
                .withOverlong(rejectLong ? OverlongText.REJECT : OverlongText.TRUNCATE);
        try (TextEmbedder embedder = model.open(options)) {
            float[][] vectors = embedder.embed(all);
            PrintStream out = System.out;
            if (format == Format.JSON) {
                printJson(out, all, vectors);
            } else {
                printCsv(out, vectors);
            }
        }
        return 0;
    }

    private static void printJson(PrintStream out, List<String> texts, float[][] vectors) {
        out.println("[");
        for (int i = 0; i < vectors.length; i++) {
            out.print("  {\"text\": " + jsonString(texts.get(i)) + ", \"embedding\": [");
            for (int j = 0; j < vectors[i].length; j++) {
                out.print((j == 0 ? "" : ", ") + number(vectors[i][j]));
            }
            out.println("]}" + (i + 1 < vectors.length ? "," : ""));
        }
        out.println("]");
    }

    private static void printCsv(PrintStream out, float[][] vectors) {
        for (float[] v : vectors) {
            StringBuilder line = new StringBuilder();
            for (int j = 0; j < v.length; j++) {
                line.append(j == 0 ? "" : ",").append(number(v[j]));
            }
            out.println(line);
        }
    }

    private static String number(float v) {
        return String.format(Locale.ROOT, "%.7g", v);
    }

    private static String jsonString(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }
}
