package dev.tensorloom.hyperbolic.hierarchy;

import dev.tensorloom.hyperbolic.Curvature;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * One point per node of a hierarchy: in the Poincaré ball of curvature -c, or in Euclidean space (the paper's
 * baseline, scored by the squared distance ||u - v||²). Saved and loaded as the text format of docs/FORMATS.md
 * ("Hierarchy embeddings"). Immutable.
 */
public final class HierarchyEmbedding {

    /** Where the points live. */
    public enum Space {
        POINCARE, EUCLIDEAN;

        String key() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** The first line of a saved embedding. */
    static final String MAGIC = "tensorloom-hierarchy-embedding 1";

    private final List<String> names;
    private final Space space;
    private final double curvature;
    private final int dim;
    private final float[] coordinates;

    /**
     * @param coordinates row-major, names.size() × dim; copied
     * @param curvature   c of the ball for {@link Space#POINCARE} (positive); ignored and stored as 0 for Euclidean
     */
    public HierarchyEmbedding(List<String> names, Space space, double curvature, int dim, float[] coordinates) {
        this.names = List.copyOf(names);
        this.space = Objects.requireNonNull(space, "space");
        this.curvature = space == Space.POINCARE ? Curvature.requirePositive(curvature) : 0;
        if (dim < 1) {
            throw new IllegalArgumentException("dimension must be at least 1, got " + dim);
        }
        if (coordinates.length != (long) names.size() * dim) {
            throw new IllegalArgumentException(names.size() + " points of dimension " + dim + " need "
                    + (long) names.size() * dim + " coordinates, got " + coordinates.length);
        }
        this.dim = dim;
        this.coordinates = coordinates.clone();
    }

    public List<String> names() {
        return names;
    }

    public Space space() {
        return space;
    }

    /** c of the ball; 0 for a Euclidean embedding. */
    public double curvature() {
        return curvature;
    }

    public int dim() {
        return dim;
    }

    public int size() {
        return names.size();
    }

    /** Node i's point (a copy). */
    public float[] point(int i) {
        float[] p = new float[dim];
        System.arraycopy(coordinates, i * dim, p, 0, dim);
        return p;
    }

    /** All points, row-major (a copy). */
    public float[] coordinates() {
        return coordinates.clone();
    }

    /**
     * The score the embedding was trained with, in float64: the Poincaré distance
     * d(u,v) = arcosh(1 + 2c||u - v||²/((1 - c||u||²)(1 - c||v||²)))/√c (norms read at most (1 - 1e-5)/√c, the
     * training radius), or ||u - v||² in Euclidean space.
     */
    public double distance(int i, int j) {
        Objects.checkIndex(i, size());
        Objects.checkIndex(j, size());
        return Geometry.of(space, space == Space.POINCARE ? curvature : 1).score(coordinates, i * dim, coordinates,
                j * dim, dim);
    }

    /** Writes the text format of docs/FORMATS.md. */
    public void save(Path file) throws IOException {
        try (BufferedWriter out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            out.write(MAGIC);
            out.newLine();
            out.write(String.format(Locale.ROOT, "space=%s curvature=%s dim=%d nodes=%d", space.key(),
                    Double.toString(curvature), dim, names.size()));
            out.newLine();
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < names.size(); i++) {
                line.setLength(0);
                line.append(names.get(i));
                for (int k = 0; k < dim; k++) {
                    line.append('\t').append(Float.toString(coordinates[i * dim + k]));
                }
                out.write(line.toString());
                out.newLine();
            }
        }
    }

    /** Reads what {@link #save} wrote; a malformed file is an IOException naming the file and line. */
    public static HierarchyEmbedding load(Path file) throws IOException {
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String magic = in.readLine();
            if (!MAGIC.equals(magic)) {
                throw malformed(file, 1, "expected '" + MAGIC + "', found '" + magic + "'");
            }
            String header = in.readLine();
            if (header == null) {
                throw malformed(file, 2, "missing the header line");
            }
            Space space = null;
            double curvature = Double.NaN;
            int dim = -1;
            int nodes = -1;
            for (String field : header.trim().split(" +")) {
                int eq = field.indexOf('=');
                String key = eq < 0 ? field : field.substring(0, eq);
                String value = eq < 0 ? "" : field.substring(eq + 1);
                try {
                    switch (key) {
                        case "space" -> space = Space.valueOf(value.toUpperCase(Locale.ROOT));
                        case "curvature" -> curvature = Double.parseDouble(value);
                        case "dim" -> dim = Integer.parseInt(value);
                        case "nodes" -> nodes = Integer.parseInt(value);
                        default -> throw malformed(file, 2, "unknown header field '" + field + "'");
                    }
                } catch (IllegalArgumentException e) {
                    throw malformed(file, 2, "bad header field '" + field + "'");
                }
            }
            if (space == null || Double.isNaN(curvature) || dim < 1 || nodes < 0) {
                throw malformed(file, 2, "the header needs space, curvature, dim >= 1 and nodes >= 0: '" + header + "'");
            }
            List<String> names = new ArrayList<>(nodes);
            float[] coordinates = new float[Math.multiplyExact(nodes, dim)];
            for (int i = 0; i < nodes; i++) {
                String line = in.readLine();
                int lineNo = i + 3;
                if (line == null) {
                    throw malformed(file, lineNo, "the header promised " + nodes + " nodes, the file ends after " + i);
                }
                String[] cells = line.split("\t");
                if (cells.length != dim + 1) {
                    throw malformed(file, lineNo, "expected a name and " + dim + " coordinates, found " + cells.length
                            + " fields");
                }
                names.add(cells[0]);
                for (int k = 0; k < dim; k++) {
                    try {
                        coordinates[i * dim + k] = Float.parseFloat(cells[k + 1]);
                    } catch (NumberFormatException e) {
                        throw malformed(file, lineNo, "coordinate " + k + " is not a number: '" + cells[k + 1] + "'");
                    }
                }
            }
            if (in.readLine() != null) {
                throw malformed(file, nodes + 3, "text after the " + nodes + " nodes the header promised");
            }
            return new HierarchyEmbedding(names, space, space == Space.POINCARE ? curvature : 0, dim, coordinates);
        }
    }

    private static IOException malformed(Path file, int line, String what) {
        return new IOException(file + ", line " + line + ": " + what);
    }

    @Override
    public String toString() {
        return "HierarchyEmbedding[" + space.key() + (space == Space.POINCARE ? " c=" + curvature : "") + ", "
                + names.size() + " points of dimension " + dim + "]";
    }
}
