package dev.tensorloom.hyperbolic.reasoning;

import static dev.tensorloom.hyperbolic.reasoning.Rows.at;
import static dev.tensorloom.hyperbolic.reasoning.Rows.put;

import dev.tensorloom.hyperbolic.Curvature;
import dev.tensorloom.hyperbolic.PoincareKernels;
import dev.tensorloom.runtime.tensor.Tensor;
import java.io.BufferedWriter;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * A multi-stage path reasoner in the style of HyperMR: a k-hop query (anchor, r1, ..., rk) runs k stages, stage s
 * in its own Poincaré ball of curvature -c_s, and is answered by the entities nearest its final point. Stage s
 * applies relation r's MuRP transformation (Balažević et al. 2019) in ball s:
 * <pre>
 *   q_s = (diag(ρ_{s,r}) ⊗_{c_s} q̃) ⊕_{c_s} t_{s,r},   q̃ = exp₀^{c_s}(log₀^{c_{s-1}}(q_{s-1}))
 * </pre>
 * q̃ carries the previous stage's point into this ball through the origin. Since M⊗_c x = exp₀^c(M·log₀^c(x)), the
 * carry and the Möbius matrix-vector product fuse exactly into exp₀^{c_s}(ρ ⊙ log₀^{c_{s-1}}(q_{s-1})), which is
 * what the stage computes. Entities live in the first stage's ball (q_0 is the anchor's point); the answer to a
 * k-hop query is scored in ball k against each entity carried there the same way:
 * score(e) = -d_{c_k}(q_k, exp₀^{c_k}(log₀^{c_1}(x_e)))².
 *
 * <p>{@link Variant#EUCLIDEAN} is the same model with plain vector operations (q_s = ρ ⊙ q_{s-1} + t, score
 * -||q_k - x_e||², the c → 0 limit); {@link Variant#SHARED} has one learnable curvature for every stage;
 * {@link Variant#PER_STAGE} one per stage. Relation parameters are per stage. The model is not thread-safe.
 */
public final class PathReasoner {

    /** How the stages' geometry is chosen. */
    public enum Variant { EUCLIDEAN, SHARED, PER_STAGE }

    /** One entity of a query's answer and its distance from the query point (in the last stage's ball). */
    public record Answer(String entity, double distance) {
    }

    /** The number of stages: the longest query a reasoner answers. */
    public static final int STAGES = 3;

    private final Variant variant;
    private final int dim;
    private final List<String> entities;
    private final List<String> relations;
    private final NameIndex entityIndex;
    private final NameIndex relationIndex;
    /** The distinct curvatures; stage s uses curvatures[curvatureOf[s]]. Empty for EUCLIDEAN. */
    final Curvature[] curvatures;
    final int[] curvatureOf;
    /** [entities, dim]: points of stage 1's ball (or of R^dim). */
    final Tensor entityPoints;
    /** [STAGES·relations, dim], row s·R + r: the diagonal ρ_{s,r}. */
    final Tensor diagonals;
    /** [STAGES·relations, dim], row s·R + r: the translation t_{s,r}, a point of stage s's ball. */
    final Tensor translations;

    PathReasoner(Variant variant, int dim, List<String> entities, List<String> relations, double[] curvatureValues) {
        this.variant = Objects.requireNonNull(variant, "variant");
        if (dim < 1) {
            throw new IllegalArgumentException("the dimension must be >= 1, got " + dim);
        }
        if (entities.isEmpty() || relations.isEmpty()) {
            throw new IllegalArgumentException("a reasoner needs entities and relations, got " + entities.size()
                    + " and " + relations.size());
        }
        this.dim = dim;
        this.entities = List.copyOf(entities);
        this.relations = List.copyOf(relations);
        this.entityIndex = new NameIndex("entity", this.entities);
        this.relationIndex = new NameIndex("relation", this.relations);
        int expected = switch (variant) {
            case EUCLIDEAN -> 0;
            case SHARED -> 1;
            case PER_STAGE -> STAGES;
        };
        if (curvatureValues.length != expected) {
            throw new IllegalArgumentException(variant + " needs " + expected + " curvatures, got "
                    + curvatureValues.length);
        }
        curvatures = new Curvature[expected];
        for (int i = 0; i < expected; i++) {
            curvatures[i] = Curvature.learnable(curvatureValues[i]);
        }
        curvatureOf = variant == Variant.PER_STAGE ? new int[] {0, 1, 2} : new int[STAGES];
        // An automatic arena: the parameters live as long as the model.
        Arena arena = Arena.ofAuto();
        entityPoints = Tensor.allocate(arena, entities.size(), dim);
        diagonals = Tensor.allocate(arena, (long) STAGES * relations.size(), dim);
        translations = Tensor.allocate(arena, (long) STAGES * relations.size(), dim);
    }

    /**
     * A fresh model: entity points and translations uniform in ±initRange, diagonals 1 (every relation starts as
     * the identity), every curvature learnable from c = initialCurvature.
     */
    public static PathReasoner initial(Variant variant, int dim, List<String> entities, List<String> relations,
            double initialCurvature, double initRange, long seed) {
        Curvature.requirePositive(initialCurvature);
        double[] cs = new double[variant == Variant.EUCLIDEAN ? 0 : variant == Variant.SHARED ? 1 : STAGES];
        Arrays.fill(cs, initialCurvature);
        PathReasoner m = new PathReasoner(variant, dim, entities, relations, cs);
        SplittableRandom random = new SplittableRandom(seed);
        fill(m.entityPoints, initRange, random);
        fill(m.translations, initRange, random);
        for (int i = 0; i < m.diagonals.rows(); i++) {
            for (int k = 0; k < dim; k++) {
                put(m.diagonals, i, k, 1);
            }
        }
        return m;
    }

    private static void fill(Tensor t, double range, SplittableRandom random) {
        for (int i = 0; i < t.rows(); i++) {
            for (int k = 0; k < t.cols(); k++) {
                put(t, i, k, (float) ((2 * random.nextDouble() - 1) * range));
            }
        }
    }

    public Variant variant() {
        return variant;
    }

    public int dim() {
        return dim;
    }

    public List<String> entities() {
        return entities;
    }

    public List<String> relations() {
        return relations;
    }

    /** c of stage s (from 0); 0 for the Euclidean variant. */
    public double curvature(int stage) {
        return variant == Variant.EUCLIDEAN ? 0 : curvatures[curvatureOf[stage]].value();
    }

    /** The entity called name, or an exception naming it with close matches. */
    public int entity(String name) {
        return entityIndex.of(name);
    }

    /** The relation called name, or an exception naming it with close matches (or listing them all). */
    public int relation(String name) {
        return relationIndex.of(name);
    }

    float c(int stage) {
        return (float) curvature(stage);
    }

    /**
     * The {@code top} entities nearest the query (anchor, relations...) with their distances, nearest first.
     *
     * @throws IllegalArgumentException for an unknown name (with close matches), no relations or more than
     *     {@link #STAGES}
     */
    public List<Answer> answer(PoincareKernels kernels, String anchor, List<String> relationNames, int top) {
        int a = entity(anchor);
        int[] rs = new int[relationNames.size()];
        for (int i = 0; i < rs.length; i++) {
            rs[i] = relation(relationNames.get(i));
        }
        checkHops(rs.length);
        float[] d = distances(kernels, a, rs);
        Integer[] order = new Integer[d.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (x, y) -> Float.compare(d[x], d[y]));
        List<Answer> out = new ArrayList<>();
        for (int i = 0; i < Math.min(top, order.length); i++) {
            out.add(new Answer(entities.get(order[i]), d[order[i]]));
        }
        return out;
    }

    static void checkHops(int hops) {
        if (hops < 1 || hops > STAGES) {
            throw new IllegalArgumentException("a query takes 1 to " + STAGES + " relations, got " + hops);
        }
    }

    /** The distance of every entity from the query point of (anchor, relations), in the last stage's space. */
    float[] distances(PoincareKernels kernels, int anchor, int[] rs) {
        try (Arena arena = Arena.ofConfined()) {
            Forward f = new Forward(kernels, arena, 1);
            put1(f.query[0], anchor);
            f.run(rs.length, new int[][] {rs});
            Tensor targets = targets(kernels, arena, rs.length);
            int n = entities.size();
            Tensor out = Tensor.allocate(arena, 1, n);
            Tensor q = f.query[rs.length];
            float[] d = new float[n];
            if (variant == Variant.EUCLIDEAN) {
                for (int e = 0; e < n; e++) {
                    d[e] = (float) Math.sqrt(squaredDistance(q, 0, targets, e));
                }
            } else {
                kernels.allPairsDistance(c(rs.length - 1), q, targets, out);
                for (int e = 0; e < n; e++) {
                    d[e] = at(out, 0, e);
                }
            }
            return d;
        }
    }

    private void put1(Tensor q, int anchor) {
        Rows.copyRow(entityPoints, anchor, q, 0);
    }

    /** Every entity carried into the ball of a {@code hops}-hop query's last stage. */
    Tensor targets(PoincareKernels kernels, Arena arena, int hops) {
        Tensor out = Tensor.allocate(arena, entities.size(), dim);
        if (variant == Variant.EUCLIDEAN) {
            out.copyFrom(entityPoints);
            return out;
        }
        Tensor tangent = Tensor.allocate(arena, entities.size(), dim);
        kernels.logmap0(c(0), entityPoints, tangent);
        kernels.expmap0(c(hops - 1), tangent, out);
        return out;
    }

    static double squaredDistance(Tensor x, int i, Tensor y, int j) {
        double s = 0;
        for (int k = 0; k < x.cols(); k++) {
            double d = at(x, i, k) - at(y, j, k);
            s += d * d;
        }
        return s;
    }

    /**
     * The stages of a batch of queries of one hop count, with what the backward pass needs kept. query[0] holds
     * the anchors' points (filled by the caller); {@link #run} fills query[1..hops].
     */
    final class Forward {
        final PoincareKernels kernels;
        final int rows;
        final Tensor[] query = new Tensor[STAGES + 1];
        final Tensor[] tangent = new Tensor[STAGES];
        final Tensor[] scaled = new Tensor[STAGES];
        final Tensor[] moved = new Tensor[STAGES];
        final Tensor[] diagonal = new Tensor[STAGES];
        final Tensor[] translation = new Tensor[STAGES];
        /** Scratch of the backward pass: dL/d(moved point), d(translation), d(scaled tangent), d(tangent). */
        private final Tensor gradMoved;
        private final Tensor gradTranslation;
        private final Tensor gradScaled;
        private final Tensor gradTangent;
        int[][] relationsOf;

        Forward(PoincareKernels kernels, Arena arena, int rows) {
            this.kernels = kernels;
            this.rows = rows;
            for (int s = 0; s <= STAGES; s++) {
                query[s] = Tensor.allocate(arena, rows, dim);
            }
            for (int s = 0; s < STAGES; s++) {
                tangent[s] = Tensor.allocate(arena, rows, dim);
                scaled[s] = Tensor.allocate(arena, rows, dim);
                moved[s] = Tensor.allocate(arena, rows, dim);
                diagonal[s] = Tensor.allocate(arena, rows, dim);
                translation[s] = Tensor.allocate(arena, rows, dim);
            }
            gradMoved = Tensor.allocate(arena, rows, dim);
            gradTranslation = Tensor.allocate(arena, rows, dim);
            gradScaled = Tensor.allocate(arena, rows, dim);
            gradTangent = Tensor.allocate(arena, rows, dim);
        }

        /** Runs {@code hops} stages; relationsOf[i] are row i's relations. Uses the first relationsOf.length rows. */
        void run(int hops, int[][] relationsOf) {
            this.relationsOf = relationsOf;
            int b = relationsOf.length;
            int rCount = relations.size();
            for (int s = 0; s < hops; s++) {
                for (int i = 0; i < b; i++) {
                    int row = s * rCount + relationsOf[i][s];
                    Rows.copyRow(diagonals, row, diagonal[s], i);
                    Rows.copyRow(translations, row, translation[s], i);
                }
                Tensor in = rowsOf(query[s], b);
                Tensor u = rowsOf(tangent[s], b);
                Tensor w = rowsOf(scaled[s], b);
                Tensor m = rowsOf(moved[s], b);
                Tensor out = rowsOf(query[s + 1], b);
                if (variant == Variant.EUCLIDEAN) {
                    u.copyFrom(in);
                } else {
                    kernels.logmap0(c(Math.max(s - 1, 0)), in, u);
                }
                for (int i = 0; i < b; i++) {
                    for (int k = 0; k < dim; k++) {
                        put(w, i, k, at(diagonal[s], i, k) * at(u, i, k));
                    }
                }
                if (variant == Variant.EUCLIDEAN) {
                    for (int i = 0; i < b; i++) {
                        for (int k = 0; k < dim; k++) {
                            put(out, i, k, at(w, i, k) + at(translation[s], i, k));
                        }
                    }
                } else {
                    kernels.expmap0(c(s), w, m);
                    kernels.mobiusAdd(c(s), m, rowsOf(translation[s], b), out);
                }
            }
        }

        /**
         * From dL/dq_hops (in gradQuery[hops]) to the gradients of the anchors' points (gradQuery[0]), the rows of
         * the diagonals and translations used (added into gradDiagonals and gradTranslations) and the curvatures
         * (added into gradCurvature, one per distinct curvature).
         */
        void backward(int hops, Tensor[] gradQuery, Tensor gradDiagonals, Tensor gradTranslations,
                double[] gradCurvature) {
            int b = relationsOf.length;
            int rCount = relations.size();
            Tensor gm = rowsOf(gradMoved, b);
            Tensor gt = rowsOf(gradTranslation, b);
            Tensor gw = rowsOf(gradScaled, b);
            Tensor gu = rowsOf(gradTangent, b);
            for (int s = hops - 1; s >= 0; s--) {
                Tensor g = rowsOf(gradQuery[s + 1], b);
                Tensor u = rowsOf(tangent[s], b);
                Tensor w = rowsOf(scaled[s], b);
                if (variant == Variant.EUCLIDEAN) {
                    gm.copyFrom(g);
                    gt.copyFrom(g);
                } else {
                    gradCurvature[curvatureOf[s]] += kernels.mobiusAddBackward(c(s), rowsOf(moved[s], b),
                            rowsOf(translation[s], b), g, gm, gt);
                }
                if (variant == Variant.EUCLIDEAN) {
                    gw.copyFrom(gm);
                } else {
                    gradCurvature[curvatureOf[s]] += kernels.expmap0Backward(c(s), w, gm, gw);
                }
                for (int i = 0; i < b; i++) {
                    int row = s * rCount + relationsOf[i][s];
                    for (int k = 0; k < dim; k++) {
                        float gwk = at(gw, i, k);
                        Rows.add(gradDiagonals, row, k, gwk * at(u, i, k));
                        put(gu, i, k, gwk * at(diagonal[s], i, k));
                    }
                    Rows.addRow(gt, i, gradTranslations, row);
                }
                Tensor gIn = rowsOf(gradQuery[s], b);
                if (variant == Variant.EUCLIDEAN) {
                    gIn.copyFrom(gu);
                } else {
                    int prev = Math.max(s - 1, 0);
                    gradCurvature[curvatureOf[prev]] += kernels.logmap0Backward(c(prev), rowsOf(query[s], b), gu,
                            gIn);
                }
            }
        }
    }

    /** The first line of a saved model. */
    static final String MAGIC = "tensorloom-path-reasoner 1";

    /**
     * Saves the model as UTF-8 text (docs/FORMATS.md, "Path reasoner"): a header (magic line, variant, dim,
     * curvatures, counts), then per relation and stage its diagonal and translation, then per entity its point.
     * Floats are written as Java prints them, so a load gives back the same floats.
     */
    public void save(Path file) throws IOException {
        try (BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            w.write(MAGIC + "\n");
            w.write("variant\t" + variant + "\n");
            w.write("dim\t" + dim + "\n");
            StringBuilder cs = new StringBuilder("curvatures");
            for (Curvature c : curvatures) {
                cs.append('\t').append(c.value());
            }
            w.write(cs + "\n");
            w.write("relations\t" + relations.size() + "\n");
            w.write("entities\t" + entities.size() + "\n");
            for (int s = 0; s < STAGES; s++) {
                for (int r = 0; r < relations.size(); r++) {
                    int row = s * relations.size() + r;
                    w.write("relation\t" + relations.get(r) + "\t" + (s + 1) + "\t" + floats(diagonals, row) + "\t"
                            + floats(translations, row) + "\n");
                }
            }
            for (int e = 0; e < entities.size(); e++) {
                w.write("entity\t" + entities.get(e) + "\t" + floats(entityPoints, e) + "\n");
            }
        }
    }

    private String floats(Tensor t, int row) {
        StringBuilder b = new StringBuilder();
        for (int k = 0; k < dim; k++) {
            b.append(k == 0 ? "" : " ").append(at(t, row, k));
        }
        return b.toString();
    }

    /** A model saved by {@link #save}; a malformed file is an exception naming its line. */
    public static PathReasoner load(Path file) throws IOException {
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        int at = 0;
        try {
            if (lines.isEmpty() || !lines.get(0).equals(MAGIC)) {
                throw new IllegalArgumentException("not a saved path reasoner (the first line is not '" + MAGIC
                        + "')");
            }
            Variant variant = Variant.valueOf(field(lines, at = 1, "variant")[1]);
            int dim = Integer.parseInt(field(lines, at = 2, "dim")[1]);
            String[] cf = field(lines, at = 3, "curvatures");
            double[] cs = new double[cf.length - 1];
            for (int i = 0; i < cs.length; i++) {
                cs[i] = Double.parseDouble(cf[i + 1]);
            }
            int rCount = Integer.parseInt(field(lines, at = 4, "relations")[1]);
            int n = Integer.parseInt(field(lines, at = 5, "entities")[1]);
            int first = 6;
            if (lines.size() != first + STAGES * rCount + n) {
                at = lines.size() - 1;
                throw new IllegalArgumentException("expected " + (first + STAGES * rCount + n) + " lines for " + rCount
                        + " relations and " + n + " entities, the file has " + lines.size());
            }
            List<String> relationNames = new ArrayList<>();
            for (int r = 0; r < rCount; r++) {
                relationNames.add(field(lines, first + r, "relation")[1]);
            }
            List<String> entityNames = new ArrayList<>();
            for (int e = 0; e < n; e++) {
                entityNames.add(field(lines, first + STAGES * rCount + e, "entity")[1]);
            }
            PathReasoner m = new PathReasoner(variant, dim, entityNames, relationNames, cs);
            for (int row = 0; row < STAGES * rCount; row++) {
                at = first + row;
                String[] f = field(lines, at, "relation");
                String expected = relationNames.get(row % rCount) + "\t" + (row / rCount + 1);
                if (f.length != 5 || !(f[1] + "\t" + f[2]).equals(expected)) {
                    throw new IllegalArgumentException("expected relation '" + relationNames.get(row % rCount)
                            + "' of stage " + (row / rCount + 1) + " with 2 rows of values, got '" + lines.get(at)
                            + "'");
                }
                parseRow(f[3], m.diagonals, row, dim);
                parseRow(f[4], m.translations, row, dim);
            }
            for (int e = 0; e < n; e++) {
                at = first + STAGES * rCount + e;
                parseRow(field(lines, at, "entity")[2], m.entityPoints, e, dim);
            }
            return m;
        } catch (RuntimeException ex) {
            throw new IllegalArgumentException(file + " line " + (at + 1) + ": " + ex.getMessage(), ex);
        }
    }

    private static String[] field(List<String> lines, int i, String key) {
        if (i >= lines.size()) {
            throw new IllegalArgumentException("the file ends before its '" + key + "' line");
        }
        String[] f = lines.get(i).split("\t", -1);
        if (!f[0].equals(key)) {
            throw new IllegalArgumentException("expected a '" + key + "' line, got '" + f[0] + "'");
        }
        return f;
    }

    private static void parseRow(String text, Tensor t, int row, int dim) {
        String[] v = text.split(" ");
        if (v.length != dim) {
            throw new IllegalArgumentException("expected " + dim + " values, got " + v.length);
        }
        for (int k = 0; k < dim; k++) {
            put(t, row, k, Float.parseFloat(v[k]));
        }
    }

    static Tensor rowsOf(Tensor t, int rows) {
        return t.rows() == rows ? t : t.slice(0, 0, rows);
    }
}
