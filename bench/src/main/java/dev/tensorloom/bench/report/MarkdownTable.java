package dev.tensorloom.bench.report;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A table of text cells that renders as a GitHub markdown table (for report files) or as fixed-width plain text
 * (for the console). Cells are {@code String.valueOf} of whatever is added, so format numbers before adding them.
 *
 * <pre>{@code
 * var table = new MarkdownTable("engine", "batch", "ms/sentence")
 *         .align(Align.LEFT, Align.RIGHT, Align.RIGHT)
 *         .row("tensorloom", 32, "1.25")
 *         .row("onnxruntime", 32, "1.40");
 * Files.writeString(file, table.toMarkdown());
 * System.out.print(table.toPlainText());
 * }</pre>
 * Both renderings pad every column to its widest cell, so the markdown source is readable too. Columns are
 * left-aligned unless {@link #align} says otherwise. Not thread-safe.
 */
public final class MarkdownTable {

    /** Horizontal alignment of a column's cells. */
    public enum Align {
        LEFT, CENTER, RIGHT
    }

    private final List<String> headers;
    private final Align[] alignments;
    private final List<List<String>> rows = new ArrayList<>();

    public MarkdownTable(String... headers) {
        this(List.of(headers));
    }

    public MarkdownTable(List<String> headers) {
        if (headers.isEmpty()) {
            throw new IllegalArgumentException("a table needs at least one column");
        }
        this.headers = List.copyOf(headers);
        this.alignments = new Align[headers.size()];
        Arrays.fill(alignments, Align.LEFT);
    }

    /** Sets the alignment of every column, in order. */
    public MarkdownTable align(Align... perColumn) {
        if (perColumn.length != headers.size()) {
            throw new IllegalArgumentException(perColumn.length + " alignments for " + headers.size() + " columns");
        }
        System.arraycopy(perColumn, 0, alignments, 0, perColumn.length);
        return this;
    }

    /** Sets the alignment of one column. */
    public MarkdownTable align(int column, Align alignment) {
        alignments[column] = alignment;
        return this;
    }

    /** Adds a row; it must have one cell per column. Null cells render as empty. */
    public MarkdownTable row(Object... cells) {
        return row(Arrays.asList(cells));
    }

    public MarkdownTable row(List<?> cells) {
        if (cells.size() != headers.size()) {
            throw new IllegalArgumentException("row has " + cells.size() + " cells, table has " + headers.size()
                    + " columns: " + cells);
        }
        List<String> row = new ArrayList<>(cells.size());
        for (Object cell : cells) {
            row.add(cell == null ? "" : String.valueOf(cell));
        }
        rows.add(row);
        return this;
    }

    public int columnCount() {
        return headers.size();
    }

    public int rowCount() {
        return rows.size();
    }

    /**
     * GitHub-flavoured markdown, one line per row, each ending in a newline. A {@code |} in a cell is escaped and
     * line breaks become spaces, because either would break the table.
     */
    public String toMarkdown() {
        List<String> header = headers.stream().map(MarkdownTable::escapeMarkdown).toList();
        List<List<String>> body = rows.stream().map(r -> r.stream().map(MarkdownTable::escapeMarkdown).toList())
                .toList();
        // GitHub needs at least three dashes per delimiter cell.
        int[] widths = widths(header, body, 3);
        StringBuilder out = new StringBuilder();
        appendMarkdownRow(out, header, widths);
        out.append('|');
        for (int c = 0; c < widths.length; c++) {
            out.append(' ').append(delimiter(alignments[c], widths[c])).append(" |");
        }
        out.append('\n');
        for (List<String> row : body) {
            appendMarkdownRow(out, row, widths);
        }
        return out.toString();
    }

    /**
     * Fixed-width text: columns separated by two spaces, the header underlined with dashes, trailing spaces
     * trimmed. Meant for a monospaced console.
     */
    public String toPlainText() {
        List<String> header = headers.stream().map(MarkdownTable::singleLine).toList();
        List<List<String>> body = rows.stream().map(r -> r.stream().map(MarkdownTable::singleLine).toList())
                .toList();
        int[] widths = widths(header, body, 1);
        StringBuilder out = new StringBuilder();
        appendPlainRow(out, header, widths);
        List<String> rule = new ArrayList<>();
        for (int width : widths) {
            rule.add("-".repeat(width));
        }
        appendPlainRow(out, rule, widths);
        for (List<String> row : body) {
            appendPlainRow(out, row, widths);
        }
        return out.toString();
    }

    @Override
    public String toString() {
        return toPlainText();
    }

    private void appendMarkdownRow(StringBuilder out, List<String> cells, int[] widths) {
        out.append('|');
        for (int c = 0; c < cells.size(); c++) {
            out.append(' ').append(pad(cells.get(c), widths[c], alignments[c])).append(" |");
        }
        out.append('\n');
    }

    private void appendPlainRow(StringBuilder out, List<String> cells, int[] widths) {
        StringBuilder line = new StringBuilder();
        for (int c = 0; c < cells.size(); c++) {
            if (c > 0) {
                line.append("  ");
            }
            line.append(pad(cells.get(c), widths[c], alignments[c]));
        }
        out.append(line.toString().stripTrailing()).append('\n');
    }

    private static int[] widths(List<String> header, List<List<String>> body, int minimum) {
        int[] widths = new int[header.size()];
        for (int c = 0; c < widths.length; c++) {
            widths[c] = Math.max(minimum, length(header.get(c)));
            for (List<String> row : body) {
                widths[c] = Math.max(widths[c], length(row.get(c)));
            }
        }
        return widths;
    }

    private static String delimiter(Align alignment, int width) {
        return switch (alignment) {
            case LEFT -> ":" + "-".repeat(width - 1);
            case RIGHT -> "-".repeat(width - 1) + ":";
            case CENTER -> ":" + "-".repeat(width - 2) + ":";
        };
    }

    private static String pad(String text, int width, Align alignment) {
        int gap = width - length(text);
        return switch (alignment) {
            case LEFT -> text + " ".repeat(gap);
            case RIGHT -> " ".repeat(gap) + text;
            case CENTER -> " ".repeat(gap / 2) + text + " ".repeat(gap - gap / 2);
        };
    }

    // Code points, not chars, so that a symbol outside the BMP (an emoji marker, say) counts as one column.
    private static int length(String text) {
        return text.codePointCount(0, text.length());
    }

    private static String singleLine(String cell) {
        return cell.replace("\r\n", " ").replace('\n', ' ').replace('\r', ' ');
    }

    private static String escapeMarkdown(String cell) {
        return singleLine(cell).replace("|", "\\|");
    }
}
