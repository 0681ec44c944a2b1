package dev.tensorloom.bench.report;

import java.awt.Color;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.DecimalFormat;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.AxisLocation;
import org.jfree.chart.axis.CategoryAxis;
import org.jfree.chart.labels.StandardCategoryItemLabelGenerator;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.data.category.DefaultCategoryDataset;

/**
 * A grouped bar chart written as a PNG: one group of bars per category (a batch size, a sequence length), one bar
 * per series in each group (an engine, a kernel), each bar labelled with its value.
 *
 * <pre>{@code
 * new BarChart("Latency per sentence", "batch size", "ms")
 *         .add("tensorloom", "1", 2.1).add("onnxruntime", "1", 2.4)
 *         .add("tensorloom", "32", 0.9).add("onnxruntime", "32", 1.1)
 *         .writePng(dir.resolve("latency.png"), 900, 500);
 * }</pre>
 * Categories and series keep the order in which they were first added. Rendering is headless: loading this class
 * sets {@code java.awt.headless=true} unless the property is already set, so a bench run on a server without a
 * display works; pass {@code -Djava.awt.headless=true} as well if AWT may be initialised earlier. Not thread-safe.
 */
public final class BarChart {

    static {
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
    }

    /** Which way the bars grow. Horizontal suits many or long category names. */
    public enum Orientation {
        HORIZONTAL, VERTICAL
    }

    // Tableau 10: distinguishable, print-safe, and calmer than JFreeChart's saturated defaults.
    private static final Color[] PALETTE = {
        new Color(0x4E79A7), new Color(0xF28E2B), new Color(0x59A14F), new Color(0xE15759), new Color(0x76B7B2),
        new Color(0xEDC948), new Color(0xB07AA1), new Color(0xFF9DA7), new Color(0x9C755F), new Color(0xBAB0AC),
    };

    private final String title;
    private final String categoryAxisLabel;
    private final String valueAxisLabel;
    private final DefaultCategoryDataset dataset = new DefaultCategoryDataset();
    private Orientation orientation = Orientation.VERTICAL;
    private String valueFormat = "#,##0.##";

    /**
     * @param title             shown above the chart
     * @param categoryAxisLabel names what the groups are, e.g. "batch size"
     * @param valueAxisLabel    names the measured quantity and its unit, e.g. "sentences/s"
     */
    public BarChart(String title, String categoryAxisLabel, String valueAxisLabel) {
        this.title = title;
        this.categoryAxisLabel = categoryAxisLabel;
        this.valueAxisLabel = valueAxisLabel;
    }

    /** Sets the bar length of {@code series} in group {@code category}; adding the same pair again replaces it. */
    public BarChart add(String series, String category, double value) {
        if (!Double.isFinite(value)) {
            throw new IllegalArgumentException(series + "/" + category + " has no finite value: " + value);
        }
        dataset.setValue(value, series, category);
        return this;
    }

    public BarChart orientation(Orientation orientation) {
        this.orientation = orientation;
        return this;
    }

    /** The {@link DecimalFormat} pattern of the value printed on each bar; the default is {@code #,##0.##}. */
    public BarChart valueFormat(String decimalFormatPattern) {
        new DecimalFormat(decimalFormatPattern); // a bad pattern fails here, not later inside rendering
        this.valueFormat = decimalFormatPattern;
        return this;
    }

    public String title() {
        return title;
    }

    /** Renders the chart at {@code width} x {@code height} pixels into {@code file}, creating its folder. */
    public void writePng(Path file, int width, int height) throws IOException {
        if (width < 1 || height < 1) {
            throw new IllegalArgumentException("chart size must be positive, got " + width + "x" + height);
        }
        if (dataset.getRowCount() == 0) {
            throw new IllegalStateException("chart '" + title + "' has no values");
        }
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        try (OutputStream out = Files.newOutputStream(file)) {
            ChartUtils.writeChartAsPNG(out, build(), width, height);
        }
    }

    private JFreeChart build() {
        PlotOrientation plotOrientation = orientation == Orientation.HORIZONTAL
                ? PlotOrientation.HORIZONTAL : PlotOrientation.VERTICAL;
        JFreeChart chart = ChartFactory.createBarChart(title, categoryAxisLabel, valueAxisLabel, dataset,
                plotOrientation, dataset.getRowCount() > 1, false, false);
        chart.setBackgroundPaint(Color.WHITE);

        CategoryPlot plot = chart.getCategoryPlot();
        plot.setBackgroundPaint(Color.WHITE);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        plot.setOutlineVisible(false);
        // Values read along the bottom edge (left when vertical) in both orientations, as readers expect.
        plot.setRangeAxisLocation(AxisLocation.BOTTOM_OR_LEFT);
        // Room past the longest bar for its value label.
        plot.getRangeAxis().setUpperMargin(0.12);
        CategoryAxis categories = plot.getDomainAxis();
        categories.setMaximumCategoryLabelLines(2);

        // Flat bars: the default gradient and shadow make close values harder to compare.
        BarRenderer renderer = (BarRenderer) plot.getRenderer();
        renderer.setBarPainter(new StandardBarPainter());
        renderer.setShadowVisible(false);
        renderer.setDrawBarOutline(false);
        renderer.setItemMargin(0.05);
        for (int series = 0; series < dataset.getRowCount(); series++) {
            renderer.setSeriesPaint(series, PALETTE[series % PALETTE.length]);
        }
        renderer.setDefaultItemLabelGenerator(
                new StandardCategoryItemLabelGenerator("{2}", new DecimalFormat(valueFormat)));
        renderer.setDefaultItemLabelsVisible(true);
        return chart;
    }
}
