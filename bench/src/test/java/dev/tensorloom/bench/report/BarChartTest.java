package dev.tensorloom.bench.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BarChartTest {

    @TempDir
    Path dir;

    private static BarChart throughput() {
        return new BarChart("Throughput", "batch size", "sentences/s")
                .add("tensorloom", "1", 410.5).add("onnxruntime", "1", 380.2)
                .add("tensorloom", "32", 1210).add("onnxruntime", "32", 1105.7);
    }

    @Test
    void writesAPngOfTheRequestedSize() throws IOException {
        Path png = dir.resolve("charts/throughput.png");
        throughput().writePng(png, 640, 360);
        BufferedImage image = ImageIO.read(png.toFile());
        assertNotNull(image, "not a decodable image");
        assertEquals(640, image.getWidth());
        assertEquals(360, image.getHeight());
        assertTrue(distinctColours(image) > 3, "the chart should draw bars and text, not a blank canvas");
    }

    @Test
    void drawsHorizontalBarsToo() throws IOException {
        Path png = dir.resolve("horizontal.png");
        throughput().orientation(BarChart.Orientation.HORIZONTAL).valueFormat("0").writePng(png, 500, 700);
        BufferedImage image = ImageIO.read(png.toFile());
        assertEquals(500, image.getWidth());
        assertEquals(700, image.getHeight());
    }

    @Test
    void rejectsEmptyChartsAndMissingValues() {
        BarChart empty = new BarChart("nothing", "x", "y");
        assertThrows(IllegalStateException.class, () -> empty.writePng(dir.resolve("empty.png"), 100, 100));
        assertThrows(IllegalArgumentException.class, () -> empty.add("s", "c", Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> empty.valueFormat("0.0.0"));
    }

    private static int distinctColours(BufferedImage image) {
        Set<Integer> colours = new HashSet<>();
        for (int y = 0; y < image.getHeight(); y += 4) {
            for (int x = 0; x < image.getWidth(); x += 4) {
                colours.add(image.getRGB(x, y));
            }
        }
        return colours.size();
    }
}
