package dev.tensorloom.bench.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tensorloom.bench.report.MarkdownTable.Align;
import org.junit.jupiter.api.Test;

class MarkdownTableTest {

    private static MarkdownTable latencies() {
        return new MarkdownTable("engine", "batch", "ms/sentence", "note")
                .align(Align.LEFT, Align.RIGHT, Align.RIGHT, Align.CENTER)
                .row("tensorloom", 32, "1.25", "int8")
                .row("onnxruntime", 1, "10.40", null);
    }

    @Test
    void rendersAlignedGithubMarkdown() {
        String expected = """
                | engine      | batch | ms/sentence | note |
                | :---------- | ----: | ----------: | :--: |
                | tensorloom  |    32 |        1.25 | int8 |
                | onnxruntime |     1 |       10.40 |      |
                """;
        assertEquals(expected, latencies().toMarkdown());
    }

    @Test
    void rendersFixedWidthPlainText() {
        String expected = """
                engine       batch  ms/sentence  note
                -----------  -----  -----------  ----
                tensorloom      32         1.25  int8
                onnxruntime      1        10.40
                """;
        assertEquals(expected, latencies().toPlainText());
    }

    @Test
    void narrowColumnsStillGetThreeDashesAndPipesAreEscaped() {
        String expected = """
                | a   | b      |
                | :-- | :----- |
                | x   | p \\| q |
                """;
        assertEquals(expected, new MarkdownTable("a", "b").row("x", "p | q").toMarkdown());
    }

    @Test
    void rowsMustFitTheColumns() {
        MarkdownTable table = new MarkdownTable("a", "b");
        assertThrows(IllegalArgumentException.class, () -> table.row("only one"));
        assertThrows(IllegalArgumentException.class, () -> table.align(Align.LEFT));
        assertThrows(IllegalArgumentException.class, () -> new MarkdownTable());
    }
}
