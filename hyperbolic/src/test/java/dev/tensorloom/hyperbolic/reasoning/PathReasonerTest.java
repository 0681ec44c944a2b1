package dev.tensorloom.hyperbolic.reasoning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.hyperbolic.Curvature;
import dev.tensorloom.hyperbolic.reasoning.PathReasoner.Answer;
import dev.tensorloom.hyperbolic.reasoning.PathReasoner.Variant;
import dev.tensorloom.hyperbolic.reasoning.QueryEvaluation.HopScores;
import dev.tensorloom.hyperbolic.reasoning.ReasonerTrainer.Options;
import dev.tensorloom.runtime.kernel.Parallelism;
import dev.tensorloom.runtime.kernel.vector.VectorBackend;
import dev.tensorloom.runtime.tensor.Tensor;
import dev.tensorloom.testkit.WordNetNouns;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reasoner on 300 WordNet 3.1 entities around mammal.n.01: its gradients match finite differences of its
 * loss, training lifts filtered MRR well above the untrained model's (both measured here), per-stage curvatures
 * learn and stay positive, a saved model answers as the original, bad names and an empty graph are refused.
 */
class PathReasonerTest {

    private static final ReasonerTrainer TRAINER = new ReasonerTrainer(new VectorBackend(Parallelism.of(1)));

    private static KnowledgeGraph wordnet;
    private static KnowledgeGraph graph;
    private static KnowledgeGraph.Split split;
    private static List<PathQuery> train;
    private static List<PathQuery> test;

    @BeforeAll
    static void load() {
        WordNetNouns.Pointers p = WordNetNouns.pointers();
        wordnet = KnowledgeGraph.of(p.entities(), p.relations(), p.heads(), p.relationIds(), p.tails());
        graph = wordnet.neighbourhood("mammal.n.01", 300);
        split = graph.split(0.1, 5);
        train = new ArrayList<>();
        test = new ArrayList<>();
        for (int hops = 1; hops <= 3; hops++) {
            train.addAll(PathQueries.training(split.train(), hops, 300, 20, hops));
            test.addAll(PathQueries.test(graph, split.train(), hops, 40, 20, 10 + hops));
        }
    }

    @Test
    void theNeighbourhoodIsTheInducedSubgraphAroundItsCentre() {
        assertEquals(300, graph.entityCount());
        assertEquals("mammal.n.01", graph.entities().getFirst());
        int inside = 0;
        for (int h = 0; h < graph.entityCount(); h++) {
            int wh = wordnet.entity(graph.entities().get(h));
            for (int r = 0; r < graph.relationCount(); r++) {
                for (int t = 0; t < graph.entityCount(); t++) {
                    boolean there = wordnet.contains(wh, r, wordnet.entity(graph.entities().get(t)));
                    assertEquals(there, graph.contains(h, r, t), "triple kept exactly when both ends are inside");
                    inside += there ? 1 : 0;
                }
            }
        }
        assertEquals(inside, graph.triples());
    }

    /** dL/dθ from the backward passes against central differences of the loss, for every kind of parameter. */
    @Test
    void gradientsMatchFiniteDifferencesOfTheLoss() {
        for (Variant v : Variant.values()) {
            Options o = Options.small(1).withDim(6);
            PathReasoner m = TRAINER.train(split.train(), train, v, o);
            List<PathQuery> batch = train.stream().filter(q -> q.hops() == 3).limit(4).toList();
            int candidates = 5;
            SplittableRandom random = new SplittableRandom(3);
            int[] candidate = new int[batch.size() * candidates];
            for (int i = 0; i < candidate.length; i++) {
                candidate[i] = i % candidates == 0 ? batch.get(i / candidates).answers()[0]
                        : random.nextInt(graph.entityCount());
            }
            try (Arena arena = Arena.ofConfined()) {
                ReasonerTrainer.Step step = TRAINER.new Step(m, batch.size(), candidates, arena);
                DoubleSupplier loss = () -> step.lossAndGradients(batch, candidate);
                loss.getAsDouble();
                int anchor = batch.getFirst().anchor();
                int relationRow = 2 * graph.relationCount() + batch.getFirst().relations()[2];
                checkEntry(v + " anchor", loss, m.entityPoints, anchor, 1, step.gradEntities);
                checkEntry(v + " negative", loss, m.entityPoints, candidate[1], 0, step.gradEntities);
                checkEntry(v + " diagonal of stage 3", loss, m.diagonals, relationRow, 2, step.gradDiagonals);
                checkEntry(v + " translation of stage 3", loss, m.translations, relationRow, 4, step.gradTranslations);
                for (int i = 0; i < m.curvatures.length; i++) {
                    loss.getAsDouble();
                    Curvature c = m.curvatures[i];
                    double analytic = c.rawGradient(step.gradCurvature[i]);
                    double h = 1e-2;
                    c.descend(-h);
                    double up = loss.getAsDouble();
                    c.descend(2 * h);
                    double down = loss.getAsDouble();
                    c.descend(-h);
                    assertClose(v + " curvature " + i, (up - down) / (2 * h), analytic);
                }
            }
        }
    }

    private static void checkEntry(String what, DoubleSupplier loss, Tensor param, int row, int col, Tensor grad) {
        loss.getAsDouble();
        double analytic = Rows.at(grad, row, col);
        float x = Rows.at(param, row, col);
        float h = 1e-2f;
        Rows.put(param, row, col, x + h);
        double up = loss.getAsDouble();
        Rows.put(param, row, col, x - h);
        double down = loss.getAsDouble();
        Rows.put(param, row, col, x);
        assertClose(what, (up - down) / (2 * h), analytic);
    }

    /**
     * Central differences in float32 with h = 1e-2: O(h²) truncation (a few percent here) and rounding of the loss
     * (about 1e-7 of it, over 2h: ~1e-5). The gradients checked are 1e-4 to 1e-2.
     */
    private static void assertClose(String what, double numeric, double analytic) {
        assertEquals(numeric, analytic, 1e-5 + 0.03 * Math.abs(numeric),
                what + ": numeric " + numeric + ", analytic " + analytic);
        System.out.printf("%s: numeric %.6f analytic %.6f%n", what, numeric, analytic);
    }

    /**
     * The Euclidean limit, a closed form: as c → 0 every Möbius operation becomes its vector counterpart and
     * d_c(x, y) → 2||x - y||, so per-stage balls of c = 1e-6 with the Euclidean model's parameters put every entity at
     * twice its Euclidean distance, for queries of 1, 2 and 3 hops.
     */
    @Test
    void perStageBallsOfVanishingCurvatureAreTheEuclideanModelAtTwiceTheDistance() {
        PathReasoner euclidean = PathReasoner.initial(Variant.EUCLIDEAN, 5, graph.entities(), graph.relations(), 1,
                0.3, 7);
        PathReasoner flat = new PathReasoner(Variant.PER_STAGE, 5, graph.entities(), graph.relations(),
                new double[] {1e-6, 2e-6, 1e-6});
        flat.entityPoints.copyFrom(euclidean.entityPoints);
        flat.translations.copyFrom(euclidean.translations);
        SplittableRandom random = new SplittableRandom(8);
        for (int i = 0; i < flat.diagonals.rows(); i++) {
            for (int k = 0; k < 5; k++) {
                float rho = (float) (0.5 + random.nextDouble());
                Rows.put(flat.diagonals, i, k, rho);
                Rows.put(euclidean.diagonals, i, k, rho);
            }
        }
        for (int[] relations : new int[][] {{0}, {1, 0}, {2, 1, 0}}) {
            float[] e = euclidean.distances(TRAINER.kernels(), 3, relations);
            float[] h = flat.distances(TRAINER.kernels(), 3, relations);
            for (int i = 0; i < e.length; i++) {
                assertEquals(2 * e[i], h[i], 1e-3 * (1 + 2 * e[i]), "entity " + i + ", " + relations.length + " hops");
            }
        }
    }

    @Test
    void trainingLiftsFilteredMrrWellAboveTheUntrainedModel() {
        Options o = Options.small(10);
        for (Variant v : List.of(Variant.EUCLIDEAN, Variant.PER_STAGE)) {
            List<HopScores> before = QueryEvaluation.evaluate(TRAINER.initial(graph, v, o), TRAINER.kernels(), test);
            PathReasoner m = TRAINER.train(split.train(), train, v, o);
            List<HopScores> after = QueryEvaluation.evaluate(m, TRAINER.kernels(), test);
            assertEquals(3, after.size());
            for (int h = 0; h < 3; h++) {
                System.out.printf("%s %d hops: MRR %.3f -> %.3f, Hits@10 %.3f -> %.3f%n", v, h + 1, before.get(h).mrr(),
                        after.get(h).mrr(), before.get(h).hitsAt10(), after.get(h).hitsAt10());
                assertTrue(after.get(h).mrr() > 2 * before.get(h).mrr() && after.get(h).mrr() > 0.1,
                        v + " " + (h + 1) + " hops: " + before.get(h) + " -> " + after.get(h));
            }
        }
    }

    @Test
    void perStageCurvaturesLearnApartAndStayPositive() {
        PathReasoner m = TRAINER.train(split.train(), train, Variant.PER_STAGE, Options.small(3));
        for (int s = 0; s < PathReasoner.STAGES; s++) {
            System.out.printf("stage %d: c = %.4f%n", s + 1, m.curvature(s));
            assertTrue(m.curvature(s) > 0 && Math.abs(m.curvature(s) - 1.0) > 1e-3,
                    "stage " + s + ": " + m.curvature(s));
        }
        assertTrue(m.curvature(0) != m.curvature(1) && m.curvature(1) != m.curvature(2));
        PathReasoner shared = TRAINER.train(split.train(), train, Variant.SHARED, Options.small(1));
        assertTrue(Math.abs(shared.curvature(0) - 1.0) > 1e-4);
        assertEquals(shared.curvature(0), shared.curvature(2));
    }

    @Test
    void aSavedModelAnswersAsTheOriginal(@TempDir Path dir) throws IOException {
        for (Variant v : List.of(Variant.EUCLIDEAN, Variant.PER_STAGE)) {
            PathReasoner m = TRAINER.train(split.train(), train, v, Options.small(1).withDim(4));
            Path file = dir.resolve(v + ".txt");
            m.save(file);
            PathReasoner back = PathReasoner.load(file);
            List<String> path = List.of(graph.relations().get(train.getLast().relations()[0]));
            String anchor = graph.entities().get(train.getLast().anchor());
            List<Answer> a = m.answer(TRAINER.kernels(), anchor, path, 5);
            List<Answer> b = back.answer(TRAINER.kernels(), anchor, path, 5);
            for (int i = 0; i < 5; i++) {
                assertEquals(a.get(i).entity(), b.get(i).entity());
                assertEquals(a.get(i).distance(), b.get(i).distance(), 1e-5 * (1 + a.get(i).distance()));
            }
            assertTrue(a.get(0).distance() <= a.get(4).distance());
        }
        Path swapped = dir.resolve("swapped.txt");
        List<String> lines = new ArrayList<>(Files.readAllLines(dir.resolve("PER_STAGE.txt")));
        int stage2 = 6 + graph.relationCount();
        lines.set(stage2, lines.get(stage2).replace("\t2\t", "\t3\t"));
        Files.write(swapped, lines);
        IllegalArgumentException wrongStage = assertThrows(IllegalArgumentException.class,
                () -> PathReasoner.load(swapped));
        assertTrue(wrongStage.getMessage().contains("line " + (stage2 + 1) + ": expected relation"),
                wrongStage.getMessage());
        Path bad = dir.resolve("bad.txt");
        Files.writeString(bad, PathReasoner.MAGIC + "\nvariant\tSHARED\ndim\tfour\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PathReasoner.load(bad));
        assertTrue(e.getMessage().contains("line 3"), e.getMessage());
    }

    @Test
    void unknownNamesAreRefusedWithCloseMatches() {
        PathReasoner m = TRAINER.initial(graph, Variant.SHARED, Options.small(0));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> m.answer(TRAINER.kernels(), "mammal.n.1", List.of("hypernym"), 3));
        assertTrue(e.getMessage().contains("unknown entity 'mammal.n.1'") && e.getMessage().contains("mammal.n.01"),
                e.getMessage());
        String relation = graph.relations().getFirst();
        String typo = relation.substring(0, relation.length() - 1);
        e = assertThrows(IllegalArgumentException.class,
                () -> m.answer(TRAINER.kernels(), "mammal.n.01", List.of(typo), 3));
        assertTrue(e.getMessage().contains("unknown relation '" + typo + "'") && e.getMessage().contains(relation),
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> m.answer(TRAINER.kernels(), "mammal.n.01",
                List.of(relation, relation, relation, relation), 3));
        assertTrue(e.getMessage().contains("1 to 3 relations, got 4"), e.getMessage());
    }

    @Test
    void anEmptyGraphIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> KnowledgeGraph.of(List.of(), List.of("hypernym"), new int[0], new int[0], new int[0]));
        assertTrue(e.getMessage().contains("empty knowledge graph"), e.getMessage());
        KnowledgeGraph noTriples = KnowledgeGraph.of(graph.entities(), graph.relations(), new int[0], new int[0],
                new int[0]);
        e = assertThrows(IllegalArgumentException.class,
                () -> TRAINER.train(noTriples, train, Variant.PER_STAGE, Options.small(1)));
        assertTrue(e.getMessage().contains("has no triples"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> TRAINER.train(split.train(), List.of(), Variant.PER_STAGE, Options.small(1)));
        assertTrue(e.getMessage().contains("no training queries"), e.getMessage());
    }
}
