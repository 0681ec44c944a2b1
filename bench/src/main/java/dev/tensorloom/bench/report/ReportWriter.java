package dev.tensorloom.bench.report;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds a markdown report: a title, a "Machine" section describing where it ran, then sections of text, tables
 * and charts in the order they are added. Charts are written as PNG files next to the report and linked by file
 * name, so the folder can be moved or committed as a whole.
 *
 * <pre>{@code
 * new ReportWriter("tensorloom vs ONNX Runtime")
 *         .section("Throughput")
 *         .paragraph("all-MiniLM-L6-v2, 2 threads, WordNet sentences of about 100 tokens.")
 *         .table(table)
 *         .chart("throughput.png", chart)
 *         .write(Path.of("reports/2026-11-27/report.md"));
 * }</pre>
 * Not thread-safe.
 */
public final class ReportWriter {

    public static final int DEFAULT_CHART_WIDTH = 900;
    public static final int DEFAULT_CHART_HEIGHT = 500;

    private sealed interface Block permits Text, Chart {
    }

    private record Text(String markdown) implements Block {
    }

    private record Chart(String fileName, BarChart chart, int width, int height) implements Block {
    }

    private final String title;
    private final MachineDescription machine;
    private final List<Block> blocks = new ArrayList<>();

    /** A report on the current machine. */
    public ReportWriter(String title) {
        this(title, MachineDescription.current());
    }

    public ReportWriter(String title, MachineDescription machine) {
        this.title = title;
        this.machine = machine;
    }

    /** Starts a section: a level-2 heading. */
    public ReportWriter section(String heading) {
        blocks.add(new Text("## " + heading + "\n"));
        return this;
    }

    /** A paragraph of markdown text, written as given. */
    public ReportWriter paragraph(String markdown) {
        blocks.add(new Text(markdown.strip() + "\n"));
        return this;
    }

    /** The table as it is now; rows added later are not included. */
    public ReportWriter table(MarkdownTable table) {
        blocks.add(new Text(table.toMarkdown()));
        return this;
    }

    /** A chart at the default size, rendered at {@link #write} time into {@code fileName} next to the report. */
    public ReportWriter chart(String fileName, BarChart chart) {
        return chart(fileName, chart, DEFAULT_CHART_WIDTH, DEFAULT_CHART_HEIGHT);
    }

    /** A chart of {@code width} x {@code height} pixels, rendered into {@code fileName} next to the report. */
    public ReportWriter chart(String fileName, BarChart chart, int width, int height) {
        checkFileName(fileName);
        blocks.add(new Chart(fileName, chart, width, height));
        return this;
    }

    /**
     * Links an image that already lies in the report's folder, or will by the time the report is read, such as
     * a PNG written by another tool.
     */
    public ReportWriter image(String altText, String fileName) {
        checkFileName(fileName);
        blocks.add(new Text(imageLink(altText, fileName)));
        return this;
    }

    /** The markdown of the report, without writing any files. */
    public String toMarkdown() {
        StringBuilder out = new StringBuilder();
        out.append("# ").append(title).append("\n\n");
        out.append("## Machine\n\n").append(machine.toTable().toMarkdown());
        for (Block block : blocks) {
            out.append('\n');
            switch (block) {
                case Text text -> out.append(text.markdown());
                case Chart chart -> out.append(imageLink(chart.chart().title(), chart.fileName()));
            }
        }
        return out.toString();
    }

    /**
     * Writes the charts and then the report (UTF-8) to {@code reportFile}, creating its folder; existing files of
     * the same names are replaced. Returns {@code reportFile}.
     */
    public Path write(Path reportFile) throws IOException {
        Path folder = reportFile.toAbsolutePath().getParent();
        Files.createDirectories(folder);
        for (Block block : blocks) {
            if (block instanceof Chart chart) {
                chart.chart().writePng(folder.resolve(chart.fileName()), chart.width(), chart.height());
            }
        }
        Files.writeString(reportFile, toMarkdown(), StandardCharsets.UTF_8);
        return reportFile;
    }

    private static String imageLink(String altText, String fileName) {
        String alt = altText.replace("[", "\\[").replace("]", "\\]");
        // CommonMark ends a bare link target at a space; angle brackets allow one.
        String target = fileName.contains(" ") ? "<" + fileName + ">" : fileName;
        return "![" + alt + "](" + target + ")\n";
    }

    // Charts live beside the report so that relative links keep working when the folder is moved.
    private static void checkFileName(String fileName) {
        if (fileName.isBlank() || fileName.contains("/") || fileName.contains("\\") || fileName.equals("..")
                || fileName.equals(".")) {
            throw new IllegalArgumentException("expected a plain file name in the report's folder, got '"
                    + fileName + "'");
        }
    }
}
