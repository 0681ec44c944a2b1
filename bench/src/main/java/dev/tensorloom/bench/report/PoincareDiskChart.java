package dev.tensorloom.bench.report;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Line2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;

/**
 * Points of a 2-D Poincaré ball of curvature -c drawn in the unit disk (coordinates scaled by √c), with links
 * between them and labels on chosen points, as a PNG. Rendered headless with Java2D.
 *
 * <pre>{@code
 * new PoincareDiskChart("WordNet mammals", 1.0).point("mammal", 0.01, 0.02, true).link(3, 0)
 *         .writePng(dir.resolve("mammals-disk.png"), 1000);
 * }</pre>
 */
public final class PoincareDiskChart {

    static {
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
    }

    private record Point(String label, double x, double y, boolean labelled) {
    }

    private final String title;
    private final double sqrtC;
    private final List<Point> points = new ArrayList<>();
    private final List<int[]> links = new ArrayList<>();

    public PoincareDiskChart(String title, double curvature) {
        if (!(curvature > 0)) {
            throw new IllegalArgumentException("the curvature -c needs c > 0, got c = " + curvature);
        }
        this.title = title;
        this.sqrtC = Math.sqrt(curvature);
    }

    /** Adds a point of the ball; returns this. Points are numbered from 0 in the order added. */
    public PoincareDiskChart point(String label, double x, double y, boolean labelled) {
        if (!Double.isFinite(x) || !Double.isFinite(y)) {
            throw new IllegalArgumentException("point '" + label + "' is not finite: (" + x + ", " + y + ")");
        }
        points.add(new Point(label, x * sqrtC, y * sqrtC, labelled));
        return this;
    }

    /** A straight segment between points a and b (a light guide; geodesics would be arcs). */
    public PoincareDiskChart link(int a, int b) {
        if (a < 0 || b < 0 || a >= points.size() || b >= points.size()) {
            throw new IndexOutOfBoundsException("link " + a + "-" + b + " of " + points.size() + " points");
        }
        links.add(new int[] {a, b});
        return this;
    }

    /** Renders a size × size image into file, creating its folder. */
    public void writePng(Path file, int size) throws IOException {
        if (size < 100) {
            throw new IllegalArgumentException("disk chart size must be at least 100 pixels, got " + size);
        }
        BufferedImage image = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, size, size);
            double margin = size * 0.06;
            double radius = (size - 2 * margin) / 2;
            double cx = size / 2.0;
            double cy = size / 2.0 + margin * 0.3;
            g.setColor(new Color(0xF4F6FA));
            g.fill(new Ellipse2D.Double(cx - radius, cy - radius, 2 * radius, 2 * radius));
            g.setColor(Color.GRAY);
            g.setStroke(new BasicStroke(1.5f));
            g.draw(new Ellipse2D.Double(cx - radius, cy - radius, 2 * radius, 2 * radius));
            g.setStroke(new BasicStroke(0.5f));
            g.setColor(new Color(0x4E79A7 & 0xFFFFFF | 0x40000000, true));
            for (int[] l : links) {
                Point a = points.get(l[0]);
                Point b = points.get(l[1]);
                g.draw(new Line2D.Double(cx + a.x * radius, cy - a.y * radius, cx + b.x * radius, cy - b.y * radius));
            }
            double dot = Math.max(2, size / 400.0);
            g.setColor(new Color(0xE15759));
            for (Point p : points) {
                g.fill(new Ellipse2D.Double(cx + p.x * radius - dot, cy - p.y * radius - dot, 2 * dot, 2 * dot));
            }
            g.setColor(Color.BLACK);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, Math.max(9, size / 90)));
            for (Point p : points) {
                if (p.labelled) {
                    g.drawString(p.label, (float) (cx + p.x * radius + dot + 1), (float) (cy - p.y * radius - dot - 1));
                }
            }
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, Math.max(12, size / 50)));
            g.drawString(title, (float) margin, (float) (margin * 0.8));
        } finally {
            g.dispose();
        }
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        if (!ImageIO.write(image, "png", file.toFile())) {
            throw new IOException("no PNG writer available for " + file);
        }
    }
}
