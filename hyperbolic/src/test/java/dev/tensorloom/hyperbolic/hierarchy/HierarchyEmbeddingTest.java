package dev.tensorloom.hyperbolic.hierarchy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.hyperbolic.hierarchy.HierarchyEmbedding.Space;
import dev.tensorloom.hyperbolic.reference.PoincareReference;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The saved format of docs/FORMATS.md, and the distance an embedding is scored by. */
class HierarchyEmbeddingTest {

    private static final float[] POINTS = {0.1f, -0.2f, 0.3f, 1e-7f, -0.45f, 0.5f, 0f, 0f, 0f};
    private static final List<String> NAMES = List.of("a.n.01", "b.n.01", "c.n.02");

    @Test
    void saveAndLoadGiveBackTheSameFloats(@TempDir Path dir) throws IOException {
        for (Space space : Space.values()) {
            HierarchyEmbedding e = new HierarchyEmbedding(NAMES, space, 0.5, 3, POINTS);
            Path file = dir.resolve(space + ".tsv");
            e.save(file);
            HierarchyEmbedding back = HierarchyEmbedding.load(file);
            assertEquals(NAMES, back.names());
            assertEquals(space, back.space());
            assertEquals(space == Space.POINCARE ? 0.5 : 0, back.curvature());
            assertArrayEquals(POINTS, back.coordinates());
        }
    }

    @Test
    void poincareDistanceIsTheReferencesAndEuclideanIsTheSquaredDistance() {
        for (double c : new double[] {0.1, 1, 2}) {
            HierarchyEmbedding e = new HierarchyEmbedding(NAMES, Space.POINCARE, c, 3, POINTS);
            PoincareReference ref = new PoincareReference(c);
            for (int i = 0; i < 3; i++) {
                for (int j = 0; j < 3; j++) {
                    double expected = ref.distance(toDouble(e.point(i)), toDouble(e.point(j)), 3)[0];
                    assertEquals(expected, e.distance(i, j), 1e-9 * (1 + expected), "c " + c + " " + i + "," + j);
                }
            }
        }
        HierarchyEmbedding flat = new HierarchyEmbedding(NAMES, Space.EUCLIDEAN, 0, 3, POINTS);
        assertEquals(0.1 * 0.1 + 0.2 * 0.2 + 0.3 * 0.3, flat.distance(0, 2), 1e-7);
    }

    @Test
    void aMalformedFileNamesItsLine(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("e.tsv");
        new HierarchyEmbedding(NAMES, Space.POINCARE, 1, 3, POINTS).save(file);
        List<String> lines = Files.readAllLines(file);
        assertMalformed(dir, List.of("hello"), "line 1: expected 'tensorloom-hierarchy-embedding 1'");
        assertMalformed(dir, List.of(lines.get(0), "space=poincare dim=3 nodes=3"), "line 2: the header needs");
        assertMalformed(dir, List.of(lines.get(0), lines.get(1).replace("dim=3", "size=3")),
                "line 2: unknown header field 'size=3'");
        assertMalformed(dir, lines.subList(0, 4), "line 5: the header promised 3 nodes, the file ends after 2");
        assertMalformed(dir, List.of(lines.get(0), lines.get(1), lines.get(2), lines.get(3).replace("\t", " "),
                lines.get(4)), "line 4: expected a name and 3 coordinates, found 1 fields");
        assertMalformed(dir, List.of(lines.get(0), lines.get(1), "a.n.01\t0.1\tx\t0", lines.get(3), lines.get(4)),
                "line 3: coordinate 1 is not a number: 'x'");
    }

    @Test
    void badConstructionIsNamed() {
        assertThrows(IllegalArgumentException.class, () -> new HierarchyEmbedding(NAMES, Space.POINCARE, 0, 3, POINTS));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new HierarchyEmbedding(NAMES, Space.EUCLIDEAN, 0,
                2, POINTS)).getMessage().contains("need 6 coordinates, got 9"));
    }

    private static void assertMalformed(Path dir, List<String> lines, String expected) throws IOException {
        Path bad = dir.resolve("bad.tsv");
        Files.write(bad, lines);
        String message = assertThrows(IOException.class, () -> HierarchyEmbedding.load(bad)).getMessage();
        assertTrue(message.startsWith(bad + ", " + expected), message);
    }

    private static double[] toDouble(float[] p) {
        double[] d = new double[p.length];
        for (int i = 0; i < p.length; i++) {
            d[i] = p[i];
        }
        return d;
    }
}
