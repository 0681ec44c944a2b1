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
 * The impact study on a tiny subset (8-bit RTN; all, attention and FFN scopes; a few glosses): it prints the table,
 * names the most and least sensitive scope, and writes its report and chart. The full study is a bench run.
 */
class QuantStudyCommandTest {

    @Test
    void aTinyStudyPrintsItsTableNamesTheSensitiveScopeAndWritesItsReport(@TempDir Path dir) throws Exception {
        String out = CliTest.run("quant-study", "--bits", "8", "--methods", "rtn", "--no-each-layer", "--held-out", "4",
                "--corpus", "16", "--queries", "3", "--threads", "2", "--out", dir.toString());
        List<String> rows = out.lines().filter(l -> l.contains("RTN")).toList();
        assertTrue(rows.size() >= 4, out);
        for (String scope : List.of(" all ", " attention ", " ffn ")) {
            String row = rows.stream().filter(r -> r.contains(scope)).findFirst().orElseThrow(() -> new AssertionError(out));
            // 8-bit RTN: every cosine within a thousandth of fp32, as the 8-bit bar asks of the whole model.
            double mean = Double.parseDouble(row.trim().split("\\s+")[row.contains("attention") ? 5 : 5]);
            assertTrue(mean >= 0.999 && mean <= 1 + 1e-9, row);
        }
        assertTrue(out.contains("RTN 8-bit: most sensitive "), out);
        try (Stream<Path> files = Files.list(dir)) {
            List<String> names = files.map(p -> p.getFileName().toString()).sorted().toList();
            assertEquals(2, names.size(), names.toString());
            assertTrue(names.get(0).endsWith(".md") && names.get(1).endsWith(".png"), names.toString());
        }
    }
}
