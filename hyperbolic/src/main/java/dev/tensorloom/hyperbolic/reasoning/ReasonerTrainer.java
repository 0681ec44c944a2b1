package dev.tensorloom.hyperbolic.reasoning;

import static dev.tensorloom.hyperbolic.reasoning.Rows.at;
import static dev.tensorloom.hyperbolic.reasoning.Rows.put;

import dev.tensorloom.hyperbolic.PoincareKernels;
import dev.tensorloom.hyperbolic.optim.RiemannianAdam;
import dev.tensorloom.hyperbolic.reasoning.PathReasoner.Variant;
import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Trains a {@link PathReasoner} on path queries with sampled negatives. Each example is a query, one of its
 * answers and K negatives (entities that do not answer it); the loss is the softmax cross-entropy of the scores
 * -d²:
 * <pre>
 *   L = -log( e^{-d(q,a)²} / (e^{-d(q,a)²} + Σ_k e^{-d(q,n_k)²}) )
 * </pre>
 * averaged over a batch of queries of one hop count (batches of every hop count interleave in a shuffled order).
 * Gradients flow back through the family's backward passes, curvatures included. Points of a ball (entities,
 * translations) step by Riemannian Adam in their stage's ball; the diagonals, the Euclidean variant and the
 * curvatures' softplus parameters by plain Adam (the curvatures at their own rate). One thread: the batches are
 * small and every one touches every curvature, so Hogwild (as {@code HierarchyTrainer} runs it) would race on them.
 */
public final class ReasonerTrainer {

    private static final int TRIES_PER_NEGATIVE = 10;

    /**
     * @param learningRate          plain Adam's rate (the diagonals; everything of the Euclidean variant)
     * @param ballLearningRate      Riemannian Adam's rate for the points of a ball (entities, translations). It
     *                              is set apart because Riemannian Adam keeps one second moment per row, not per
     *                              coordinate, and steps a Riemannian length: near the origin (λ = 2) a step moves a
     *                              point about rate/(2√dim) per coordinate where plain Adam moves it the rate.
     * @param curvatureLearningRate plain Adam's rate for the curvatures' softplus parameters
     */
    public record Options(int dim, int epochs, double learningRate, double ballLearningRate,
            double curvatureLearningRate, int negatives,
            int batchSize, double initialCurvature, double initRange, long seed) {

        public Options {
            if (dim < 1 || epochs < 0 || negatives < 1 || batchSize < 1) {
                throw new IllegalArgumentException("options need dim, negatives and batch size >= 1 and epochs >= 0: "
                        + this);
            }
            if (!(learningRate > 0) || !(ballLearningRate > 0) || !(curvatureLearningRate > 0) || !(initRange > 0)) {
                throw new IllegalArgumentException("learning rates and init range must be positive: " + this);
            }
        }

        /**
         * Settings that train a few hundred entities in seconds: dim 16, Adam at 0.01, Riemannian Adam at 0.05,
         * curvatures at 0.01, 32 negatives, batches of 32 queries, c = 1 and points within ±0.01 at the start.
         */
        public static Options small(int epochs) {
            return new Options(16, epochs, 0.01, 0.05, 0.01, 32, 32, 1.0, 1e-2, 1);
        }

        public Options withEpochs(int epochs) {
            return new Options(dim, epochs, learningRate, ballLearningRate, curvatureLearningRate, negatives,
                    batchSize, initialCurvature, initRange, seed);
        }

        public Options withDim(int dim) {
            return new Options(dim, epochs, learningRate, ballLearningRate, curvatureLearningRate, negatives,
                    batchSize, initialCurvature, initRange, seed);
        }

        public Options withSeed(long seed) {
            return new Options(dim, epochs, learningRate, ballLearningRate, curvatureLearningRate, negatives,
                    batchSize, initialCurvature, initRange, seed);
        }
    }

    /** Told of progress. */
    public interface Listener {
        default void batchDone(int queries) {
        }

        default void epochDone(int epoch, double meanLoss) {
        }
    }

    private final PoincareKernels kernels;

    /** A trainer on {@code backend}'s Poincaré kernels (a host backend: scalar or vector). */
    public ReasonerTrainer(Backend backend) {
        this.kernels = PoincareKernels.FAMILY.on(backend);
    }

    public PoincareKernels kernels() {
        return kernels;
    }

    /** The untrained model these options start from: what {@link #train} returns after zero epochs. */
    public PathReasoner initial(KnowledgeGraph graph, Variant variant, Options o) {
        return PathReasoner.initial(variant, o.dim(), graph.entities(), graph.relations(), o.initialCurvature(),
                o.initRange(), o.seed());
    }

    public PathReasoner train(KnowledgeGraph graph, List<PathQuery> queries, Variant variant, Options o) {
        return train(graph, queries, variant, o, new Listener() { });
    }

    /**
     * @throws IllegalArgumentException for a graph without triples, no queries, a query longer than
     *     {@link PathReasoner#STAGES} hops, or fewer entities than negatives + 2
     */
    public PathReasoner train(KnowledgeGraph graph, List<PathQuery> queries, Variant variant, Options o,
            Listener listener) {
        Objects.requireNonNull(variant, "variant");
        if (graph.triples() == 0) {
            throw new IllegalArgumentException("nothing to reason over: " + graph + " has no triples");
        }
        if (queries.isEmpty()) {
            throw new IllegalArgumentException("no training queries for " + graph);
        }
        if (graph.entityCount() < o.negatives() + 2) {
            throw new IllegalArgumentException(o.negatives() + " negatives need at least " + (o.negatives() + 2)
                    + " entities, " + graph + " has " + graph.entityCount());
        }
        for (PathQuery q : queries) {
            PathReasoner.checkHops(q.hops());
        }
        PathReasoner model = initial(graph, variant, o);
        int n = graph.entityCount();
        int rCount = graph.relationCount();
        int dim = o.dim();
        boolean euclidean = variant == Variant.EUCLIDEAN;
        SplittableRandom random = new SplittableRandom(o.seed() ^ 0x5DEECE66DL);
        RiemannianAdam entityAdam = euclidean ? null : new RiemannianAdam(kernels, n, dim, o.ballLearningRate());
        RiemannianAdam[] translationAdam = new RiemannianAdam[PathReasoner.STAGES];
        for (int s = 0; s < PathReasoner.STAGES && !euclidean; s++) {
            translationAdam[s] = new RiemannianAdam(kernels, rCount, dim, o.ballLearningRate());
        }
        Adam plainEntities = new Adam(n * dim, o.learningRate());
        Adam plainTranslations = new Adam(PathReasoner.STAGES * rCount * dim, o.learningRate());
        Adam diagonalAdam = new Adam(PathReasoner.STAGES * rCount * dim, o.learningRate());
        Adam curvatureAdam = new Adam(model.curvatures.length, o.curvatureLearningRate());
        try (Arena arena = Arena.ofConfined()) {
            Step step = new Step(model, o.batchSize(), o.negatives() + 1, arena);
            for (int epoch = 0; epoch < o.epochs(); epoch++) {
                double lossSum = 0;
                for (int[] batch : batches(queries, o.batchSize(), random)) {
                    int candidates = o.negatives() + 1;
                    int[] candidate = new int[batch.length * candidates];
                    for (int i = 0; i < batch.length; i++) {
                        PathQuery q = queries.get(batch[i]);
                        candidate[i * candidates] = q.answers()[random.nextInt(q.answers().length)];
                        for (int j = 1; j < candidates; j++) {
                            candidate[i * candidates + j] = negative(q, n, random);
                        }
                    }
                    List<PathQuery> qs = Arrays.stream(batch).mapToObj(queries::get).toList();
                    lossSum += step.lossAndGradients(qs, candidate) * batch.length;
                    diagonalAdam.step(model.diagonals, step.gradDiagonals);
                    if (euclidean) {
                        plainEntities.step(model.entityPoints, step.gradEntities);
                        plainTranslations.step(model.translations, step.gradTranslations);
                    } else {
                        entityAdam.step(model.curvatures[model.curvatureOf[0]], model.entityPoints,
                                step.gradEntities);
                        for (int s = 0; s < PathReasoner.STAGES; s++) {
                            translationAdam[s].step(model.curvatures[model.curvatureOf[s]],
                                    model.translations.slice(0, (long) s * rCount, (long) (s + 1) * rCount),
                                    step.gradTranslations.slice(0, (long) s * rCount, (long) (s + 1) * rCount));
                        }
                        curvatureAdam.step(model.curvatures, step.gradCurvature);
                    }
                    listener.batchDone(batch.length);
                }
                listener.epochDone(epoch, lossSum / queries.size());
            }
        }
        return model;
    }

    /**
     * One batch's loss and the gradients of every parameter, computed in buffers that live as long as the arena:
     * queries of one hop count, each with its candidates (the answer first, then the negatives).
     */
    final class Step {
        private final PathReasoner model;
        private final int candidates;
        private final int dim;
        private final PathReasoner.Forward f;
        private final Tensor[] gradQuery = new Tensor[PathReasoner.STAGES + 1];
        final Tensor gradEntities;
        final Tensor gradDiagonals;
        final Tensor gradTranslations;
        final double[] gradCurvature;
        private final Tensor qRep;
        private final Tensor points;
        private final Tensor tangent;
        private final Tensor carried;
        private final Tensor dist;
        private final Tensor gradDist;
        private final Tensor gradQRep;
        private final Tensor gradCarried;
        private final Tensor gradTangent;
        private final Tensor gradPoints;

        Step(PathReasoner model, int batchSize, int candidates, Arena arena) {
            this.model = model;
            this.candidates = candidates;
            this.dim = model.dim();
            int rCount = model.relations().size();
            int maxRows = batchSize * candidates;
            f = model.new Forward(kernels, arena, batchSize);
            for (int s = 0; s <= PathReasoner.STAGES; s++) {
                gradQuery[s] = Tensor.allocate(arena, batchSize, dim);
            }
            gradEntities = Tensor.allocate(arena, model.entities().size(), dim);
            gradDiagonals = Tensor.allocate(arena, PathReasoner.STAGES * rCount, dim);
            gradTranslations = Tensor.allocate(arena, PathReasoner.STAGES * rCount, dim);
            gradCurvature = new double[model.curvatures.length];
            qRep = Tensor.allocate(arena, maxRows, dim);
            points = Tensor.allocate(arena, maxRows, dim);
            tangent = Tensor.allocate(arena, maxRows, dim);
            carried = Tensor.allocate(arena, maxRows, dim);
            dist = Tensor.allocate(arena, maxRows);
            gradDist = Tensor.allocate(arena, maxRows);
            gradQRep = Tensor.allocate(arena, maxRows, dim);
            gradCarried = Tensor.allocate(arena, maxRows, dim);
            gradTangent = Tensor.allocate(arena, maxRows, dim);
            gradPoints = Tensor.allocate(arena, maxRows, dim);
        }

        /** The batch-mean loss; the gradients land in the grad fields (overwritten). */
        double lossAndGradients(List<PathQuery> batch, int[] candidate) {
            boolean euclidean = model.variant() == Variant.EUCLIDEAN;
            int b = batch.size();
            int hops = batch.getFirst().hops();
            int rows = b * candidates;
            int last = hops - 1;
            int[][] rels = new int[b][];
            for (int i = 0; i < b; i++) {
                rels[i] = batch.get(i).relations();
                Rows.copyRow(model.entityPoints, batch.get(i).anchor(), f.query[0], i);
            }
            f.run(hops, rels);
            Tensor qr = qRep.slice(0, 0, rows);
            Tensor pts = points.slice(0, 0, rows);
            for (int row = 0; row < rows; row++) {
                Rows.copyRow(f.query[hops], row / candidates, qr, row);
                Rows.copyRow(model.entityPoints, candidate[row], pts, row);
            }
            Tensor ds = dist.slice(0, 0, rows);
            Tensor cr = carried.slice(0, 0, rows);
            Tensor tg = tangent.slice(0, 0, rows);
            if (euclidean) {
                for (int row = 0; row < rows; row++) {
                    put(ds, row, 0, (float) Math.sqrt(PathReasoner.squaredDistance(qr, row, pts, row)));
                }
            } else {
                kernels.logmap0(model.c(0), pts, tg);
                kernels.expmap0(model.c(last), tg, cr);
                kernels.distance(model.c(last), qr, cr, ds);
            }
            Tensor gds = gradDist.slice(0, 0, rows);
            double loss = softmaxLossGradient(ds, gds, b, candidates);
            Arrays.fill(gradCurvature, 0);
            Rows.zero(gradEntities);
            Rows.zero(gradDiagonals);
            Rows.zero(gradTranslations);
            Tensor gq = gradQRep.slice(0, 0, rows);
            Tensor gp = gradPoints.slice(0, 0, rows);
            if (euclidean) {
                // d(q, x) = ||q - x||: dd/dq = (q - x)/d.
                for (int row = 0; row < rows; row++) {
                    float g = at(gds, row, 0) / Math.max(at(ds, row, 0), 1e-15f);
                    for (int k = 0; k < dim; k++) {
                        float diff = g * (at(qr, row, k) - at(pts, row, k));
                        put(gq, row, k, diff);
                        put(gp, row, k, -diff);
                    }
                }
            } else {
                Tensor gc = gradCarried.slice(0, 0, rows);
                Tensor gt = gradTangent.slice(0, 0, rows);
                gradCurvature[model.curvatureOf[last]] += kernels.distanceBackward(model.c(last), qr, cr, gds, gq,
                        gc);
                gradCurvature[model.curvatureOf[last]] += kernels.expmap0Backward(model.c(last), tg, gc, gt);
                gradCurvature[model.curvatureOf[0]] += kernels.logmap0Backward(model.c(0), pts, gt, gp);
            }
            Tensor gLast = gradQuery[hops];
            Rows.zero(gLast);
            for (int row = 0; row < rows; row++) {
                Rows.addRow(gq, row, gLast, row / candidates);
                Rows.addRow(gp, row, gradEntities, candidate[row]);
            }
            f.backward(hops, gradQuery, gradDiagonals, gradTranslations, gradCurvature);
            for (int i = 0; i < b; i++) {
                Rows.addRow(gradQuery[0], i, gradEntities, batch.get(i).anchor());
            }
            return loss / b;
        }
    }

    /** The queries' indices cut into batches of one hop count each, in a shuffled order. */
    private static List<int[]> batches(List<PathQuery> queries, int batchSize, SplittableRandom random) {
        List<int[]> out = new ArrayList<>();
        for (int hops = 1; hops <= PathReasoner.STAGES; hops++) {
            final int h = hops;
            int[] ids = IntStream.range(0, queries.size()).filter(i -> queries.get(i).hops() == h)
                    .toArray();
            shuffle(ids, random);
            for (int from = 0; from < ids.length; from += batchSize) {
                out.add(Arrays.copyOfRange(ids, from, Math.min(ids.length, from + batchSize)));
            }
        }
        int[] order = IntStream.range(0, out.size()).toArray();
        shuffle(order, random);
        List<int[]> shuffled = new ArrayList<>();
        for (int i : order) {
            shuffled.add(out.get(i));
        }
        return shuffled;
    }

    private static void shuffle(int[] a, SplittableRandom random) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }

    /** An entity that does not answer q (after a few tries, any entity). */
    private static int negative(PathQuery q, int n, SplittableRandom random) {
        int e = random.nextInt(n);
        for (int t = 0; t < TRIES_PER_NEGATIVE && Arrays.binarySearch(q.answers(), e) >= 0; t++) {
            e = random.nextInt(n);
        }
        return e;
    }

    /**
     * The batch-mean softmax cross-entropy of scores -d² (candidate 0 of each query the positive) and its gradient
     * with respect to d, written into grad; returns the summed loss.
     */
    static double softmaxLossGradient(Tensor d, Tensor grad, int batch, int candidates) {
        double loss = 0;
        double[] p = new double[candidates];
        for (int b = 0; b < batch; b++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < candidates; j++) {
                double dj = at(d, b * candidates + j, 0);
                p[j] = -dj * dj;
                max = Math.max(max, p[j]);
            }
            double sum = 0;
            for (int j = 0; j < candidates; j++) {
                p[j] = Math.exp(p[j] - max);
                sum += p[j];
            }
            loss += -Math.log(p[0] / sum);
            for (int j = 0; j < candidates; j++) {
                double dScore = (p[j] / sum - (j == 0 ? 1 : 0)) / batch;
                double dj = at(d, b * candidates + j, 0);
                put(grad, b * candidates + j, 0, (float) (dScore * -2 * dj));
            }
        }
        return loss;
    }
}
