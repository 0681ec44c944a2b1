package dev.tensorloom.bench.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code quantize} then {@code embed --model FILE}, as a user types them: the bundled MiniLM at 8 bits (RTN,
 * group 128), whose embeddings must stay within the 8-bit bar, cosine ≥ 0.999 to fp32, sentence by
 * sentence. The file holds everything: {@code embed} reads no ONNX file for it.
 */
class QuantizeCommandTest {

    private static final String[] SENTENCES = {"A cat sat on the mat.", "Dogs bark at night.",
        "The stock market fell sharply after the announcement.", "Photosynthesis turns light into chemical energy."};

    @Test
    void eightBitRtnEmbedsWithinAThousandthOfFp32(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("minilm-8bit.tlq");
        String summary = CliTest.run("quantize", "--method", "rtn", "--bits", "8", "--symmetric", "--threads", "2",
                "-o", file.toString());
        assertTrue(summary.startsWith(file + ": ") && summary.contains("RTN 8-bit g128 symmetric"), summary);
        assertTrue(Files.size(file) > 0);

        double[][] fp32 = vectors(CliTest.run(args(null)));
        double[][] quantized = vectors(CliTest.run(args(file)));
        assertEquals(SENTENCES.length, quantized.length);
        for (int i = 0; i < SENTENCES.length; i++) {
            double cos = 0;
            for (int h = 0; h < fp32[i].length; h++) {
                cos += fp32[i][h] * quantized[i][h];
            }
            assertTrue(cos >= 0.999 && cos < 1 - 1e-9, "sentence " + i + ": cosine " + cos);
        }
    }

    @Test
    void aBadComponentAndAnAlreadyQuantizedModelAreUsageErrors(@TempDir Path dir) {
        CliTest.Result r = CliTest.execute("quantize", "--components", "q,gate", "-o", dir.resolve("x").toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().startsWith("tensorloom quantize: unknown component 'gate'; expected attention, ffn, all or "
                + "one of q, k, v, o, up, down"), r.err());
    }

    private static String[] args(Path model) {
        List<String> a = new java.util.ArrayList<>(List.of("embed", "--backend", "vector", "--format", "csv",
                "--threads", "2"));
        if (model != null) {
            a.addAll(List.of("--model", model.toString()));
        }
        a.addAll(List.of(SENTENCES));
        return a.toArray(String[]::new);
    }

    private static double[][] vectors(String csv) {
        return csv.lines().map(line -> Stream.of(line.split(",")).mapToDouble(Double::parseDouble).toArray())
                .toArray(double[][]::new);
    }
}
