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
 * The compression study on a tiny subset: every projection at 8x fewer parameters and with bonds so large that
 * nothing is cut. The uncut MPOs are the model (cosine 1 to within rounding, the same ten neighbours), and a ratio of
 * 8 keeps at most an eighth of the parameters and visibly moves the embeddings. The full study is a bench run.
 */
class MpoStudyCommandTest {

    @Test
    void aTinyCompressionStudyPrintsItsTableAndWritesItsReport(@TempDir Path dir) throws Exception {
        String out = CliTest.run("mpo-study", "--study", "compression", "--ratios", "8", "--bond-caps", "100000",
                "--no-ffn", "--no-sharing", "--no-scans", "--held-out", "4", "--corpus", "16", "--queries", "3",
                "--threads", "2", "--out", dir.toString());
        String exact = row(out, "bond cap 100000");
        double[] e = numbers(exact);
        assertTrue(e[0] < 1 && e[1] < 1, "whole bonds hold more parameters than dense: " + exact);
        assertTrue(e[2] > 0.9999 && e[2] <= 1 + 1e-9 && e[3] > 0.9999, exact);
        assertEquals(1.0, e[4], 1e-12, exact);
        String eighth = row(out, "ratio 8.0");
        double[] r = numbers(eighth);
        assertTrue(r[0] >= 8 && r[0] < 8.5 && r[1] >= 8, "an eighth of each matrix's parameters at most: " + eighth);
        assertTrue(r[2] < 0.99, "an eighth of the parameters moves the embeddings: " + eighth);
        try (Stream<Path> files = Files.list(dir)) {
            List<String> names = files.map(p -> p.getFileName().toString()).sorted().toList();
            assertEquals(2, names.size(), names.toString());
            assertTrue(names.get(0).endsWith(".md") && names.get(1).endsWith(".png"), names.toString());
        }
    }

    private static String row(String out, String variant) {
        return out.lines().filter(l -> l.contains(variant)).findFirst().orElseThrow(() -> new AssertionError(out));
    }

    /** The row's last five numbers: ratio, projections ratio, mean cosine, worst cosine, top-10 overlap. */
    private static double[] numbers(String row) {
        String[] cells = row.trim().split("\\s+");
        double[] v = new double[5];
        for (int i = 0; i < 5; i++) {
            v[i] = Double.parseDouble(cells[cells.length - 5 + i].replace("x", ""));
        }
        return v;
    }
}
