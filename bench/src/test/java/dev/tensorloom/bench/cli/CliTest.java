package dev.tensorloom.bench.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

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
                    && report.contains("## Machine") && report.contains(chart), report);
        }
    }

    private static String run(String... args) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream original = System.out;
        System.setOut(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        int code;
        try {
            code = new CommandLine(new TensorloomCli()).setCaseInsensitiveEnumValuesAllowed(true).execute(args);
        } finally {
            System.setOut(original);
        }
        String out = bytes.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, out);
        return out;
    }
}
