package dev.tensorloom.bench.cli;

import dev.tensorloom.runtime.embed.EmbedderOptions;
import dev.tensorloom.runtime.embed.Pooling;
import dev.tensorloom.runtime.embed.TextEmbedder;
import dev.tensorloom.runtime.kernel.BackendProvider;
import dev.tensorloom.runtime.tokenize.OverlongText;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code embed}: texts in, vectors out. A file is read, embedded and printed {@value #TEXTS_PER_CHUNK} lines at a
 * time, so memory does not grow with its length.
 */
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

    /**
     * Texts embedded per call: enough batches for the embedder to group texts of similar length (little
     * padding), few enough that a file of any size is read, embedded and printed in pieces, never held whole.
     */
    static final int TEXTS_PER_CHUNK = 1024;

    @Override
    public Integer call() throws IOException {
        try (BufferedReader lines = file == null ? null : open(file)) {
            Iterator<String> input = lines == null ? texts.iterator()
                    : Stream.concat(texts.stream(), lines.lines()).iterator();  // blank lines too: row i is line i
            List<String> chunk = nextChunk(input);
            if (chunk.isEmpty()) {
                throw new ParameterException(spec.commandLine(), "no text given (pass texts as arguments or --file FILE)");
            }
            String backendName = backend != null ? backend : BackendProvider.backend().name();
            EmbedderOptions options = model.embedderOptions(backendName)
                    .withPooling(pooling)
                    .withNormalize(!noNormalize)
                    .withOverlong(rejectLong ? OverlongText.REJECT : OverlongText.TRUNCATE);
            try (TextEmbedder embedder = model.open(options)) {
                Rows out = format == Format.JSON ? new JsonRows(System.out) : new CsvRows(System.out);
                for (; !chunk.isEmpty(); chunk = nextChunk(input)) {
                    float[][] vectors = embedder.embed(chunk);
                    for (int i = 0; i < vectors.length; i++) {
                        out.row(chunk.get(i), vectors[i]);
                    }
                }
                out.end();
            }
        }
        return 0;
    }

    private static BufferedReader open(Path file) throws IOException {
        return "-".equals(file.toString())
                ? new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))
                : Files.newBufferedReader(file, StandardCharsets.UTF_8);
    }

    private static List<String> nextChunk(Iterator<String> input) {
        List<String> chunk = new ArrayList<>();
        while (chunk.size() < TEXTS_PER_CHUNK && input.hasNext()) {
            chunk.add(input.next());
        }
        return chunk;
    }

    /** Output printed row by row, as the vectors come. */
    private interface Rows {
        void row(String text, float[] vector);

        void end();
    }

    /** A JSON array of {"text": ..., "embedding": [...]} objects, one per line. */
    private static final class JsonRows implements Rows {
        private final PrintStream out;
        private boolean first = true;

        JsonRows(PrintStream out) {
            this.out = out;
            out.println("[");
        }

        @Override
        public void row(String text, float[] vector) {
            StringBuilder line = new StringBuilder(first ? "" : ",\n");
            line.append("  {\"text\": ").append(jsonString(text)).append(", \"embedding\": [");
            for (int j = 0; j < vector.length; j++) {
                line.append(j == 0 ? "" : ", ").append(number(vector[j]));
            }
            out.print(line.append("]}"));
            first = false;
        }

        @Override
        public void end() {
            out.println(first ? "]" : "\n]");
        }
    }

    /** One line of comma-separated numbers per text. */
    private record CsvRows(PrintStream out) implements Rows {

        @Override
        public void row(String text, float[] vector) {
            StringBuilder line = new StringBuilder();
            for (int j = 0; j < vector.length; j++) {
                line.append(j == 0 ? "" : ",").append(number(vector[j]));
            }
            out.println(line);
        }

        @Override
        public void end() {
            out.flush();
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
