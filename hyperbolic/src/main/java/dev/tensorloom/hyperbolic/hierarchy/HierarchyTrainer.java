package dev.tensorloom.hyperbolic.hierarchy;

import dev.tensorloom.hyperbolic.Curvature;
import dev.tensorloom.hyperbolic.hierarchy.HierarchyEmbedding.Space;
import dev.tensorloom.runtime.kernel.Parallelism;
import java.util.Arrays;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.function.Consumer;

/**
 * Poincaré embeddings (Nickel &amp; Kiela 2017) of a {@link Hierarchy}, and the Euclidean baseline with the same
 * loop. Every is-a pair (u, v) is one example: with K negatives v'_1..v'_K, nodes that u is not a kind of (u's
 * descendants may be among them, as in the published code), the loss is the softmax cross-entropy of -d:
 * <pre>
 *   L(u, v) = -log( e^{-d(u,v)} / (e^{-d(u,v)} + Σ_k e^{-d(u,v'_k)}) )
 * </pre>
 * averaged over a batch of pairs. d is the Poincaré distance or the squared Euclidean distance. Points start
 * uniform in ±{@link Options#initRange}; each batch's gradients are summed per node and the touched rows take one
 * Riemannian SGD step (the published retraction x ← x - lr·∇ᴱ/λ_x², then projected to the radius 1 - 1e-5) or one
 * plain SGD step. The ball is the published one, not the float32 kernels': see {@link Geometry} for why.
 *
 * <p><b>Rows, not tensors.</b> A pair is 51 distances of rows of 10 floats: a kernel call per batch (tensor views,
 * gathering each candidate's row, the backend's per-row dispatch) cost more than the arithmetic. So the loop runs
 * over plain float arrays, one pair at a time, with the distance, its gradient and the step computed in double
 * ({@link Geometry}); the result does not depend on the backend.
 *
 * <p><b>Burn-in</b>, as the published code does it: for the first {@link Options#burnInEpochs} epochs the learning
 * rate is multiplied by {@link Options#burnInFactor} (hype/train.py:17-19), each pair takes
 * {@link Options#burnInNegatives} negatives (graph_dataset.pyx:236-238, {@code neg_multiplier}) and they are drawn
 * in proportion to descendants^{@link Options#dampening} ({@link BurnInDistribution}), so the general nodes are
 * pushed apart first and settle near the origin. After burn-in, negatives are uniform. Either way a pair's
 * negatives are distinct, never the child itself nor one of its ancestors.
 *
 * <p><b>Against the published code</b> (facebookresearch/poincare-embeddings at b1364a1): the loss is
 * hype/energy_function.py:47-48 (cross-entropy of -d over [positive, negatives]) averaged over the batch
 * (hype/train.py:38); negatives as {@link NegativeSampler} (graph_dataset.pyx:204-229); burn-in as above, with the
 * nouns script's 5 negatives and descendants^1.0 ({@link Options#nouns}, train-nouns.sh:37-48); initialisation in
 * ±1e-4 (hype/manifolds/manifold.py:26-27); Riemannian SGD with the row clip at 5 (hype/rsgd.py:55-57,
 * hype/manifolds/poincare.py:41-49, {@link Geometry}). Not as published: the published runs train 1,500 epochs on 5
 * Hogwild processes that each pass over every pair, which this trainer replaces by Riemannian Adam over far fewer
 * epochs (see {@link Optimizer#ADAM}); its evaluation ranks as {@link Reconstruction} does (hype/graph.py:173-203).
 *
 * <p><b>Threads</b>: Hogwild (Recht et al. 2011), as the published code trains. Each epoch's shuffled pairs are
 * cut into one contiguous share per thread; each thread copies its batch's rows out of the shared table, computes
 * in its own arrays and adds each stepped row's change to the table without a lock. Updates of different threads
 * may interleave; the method tolerates that (a point pushed past the boundary by two changes at once is read back
 * projected, as every distance reads its points). With one thread the result is a function of the seed alone,
 * on every backend.
 */
public final class HierarchyTrainer {

    /**
     * Draws per pair before it settles for fewer distinct negatives (then some repeat): 10 per negative of the
     * full count, during burn-in too (hype/graph_dataset.pyx:76, {@code max_tries = 10 * nnegs}).
     */
    private static final int TRIES_PER_NEGATIVE = 10;

    /**
     * @param learningRate    SGD rate after burn-in, per batch-mean gradient (the published runs use 0.3 for
     *                        mammals and 1.0 for nouns)
     * @param burnInNegatives negatives per pair during burn-in (the published nouns run: 5, a tenth of its 50)
     * @param dampening       burn-in negatives are drawn in proportion to descendants^dampening (published: 0.75
     *                        by default, 1.0 in the nouns script)
     * @param adamEpsilon     ε of {@link Optimizer#ADAM}, in units of the Riemannian gradient's norm
     * @param pairsPerEpoch   0 for every pair each epoch; else only the first pairs of each epoch's shuffle (to time
     *                        or smoke-test the noun hierarchy)
     * @param boundaryEpsilon Poincaré points are held within (1 - boundaryEpsilon)/√c (published: 1e-5; on the
     *                        nouns 1e-4 measured worse: mean rank 7.39 / MAP 0.823 after 25 epochs against 6.19 /
     *                        0.858)
     * @param finalEpochs     the last this many epochs (after burn-in) step with finalOptimizer at
     *                        finalLearningRate; 0 for none. On the nouns, Riemannian Adam at 0.03 followed by 10
     *                        epochs at 0.01 or 0.003 lowered the mean rank from about 6.1 to 5.6-5.9 (Adam's step is
     *                        about the rate whatever the gradient); Adam at 0.01 throughout, for more epochs, went
     *                        further (4.56-5.16 after 70, 4.80 after 100: EmbedHierarchyCommand's NOUNS_RUN)
     * @param generalNegatives after burn-in, this many of a pair's negatives are drawn as burn-in draws them (general
     *                        nodes) and the rest uniformly; 0 as published. Measured worse on the nouns (10 of 50:
     *                        mean rank 26.0 / MAP 0.621 after 20 epochs, against 7.31 / 0.803 with 0)
     */
    public record Options(Space space, int dim, double curvature, int epochs, int burnInEpochs, double learningRate,
            double burnInFactor, int negatives, int burnInNegatives, double dampening, int batchSize, int threads,
            long seed, double initRange, long pairsPerEpoch, Optimizer optimizer, double adamEpsilon,
            double boundaryEpsilon, int finalEpochs, Optimizer finalOptimizer, double finalLearningRate,
            int generalNegatives) {

        public Options {
            Objects.requireNonNull(space, "space");
            Objects.requireNonNull(optimizer, "optimizer");
            if (dim < 1 || epochs < 0 || burnInEpochs < 0 || negatives < 1 || burnInNegatives < 1 || batchSize < 1
                    || threads < 1 || pairsPerEpoch < 0) {
                throw new IllegalArgumentException("options need dim, negatives, burn-in negatives, batch size and"
                        + " threads >= 1 and epochs, burn-in epochs and pairs per epoch >= 0: " + this);
            }
            if (!(learningRate > 0) || !(burnInFactor > 0) || !(initRange > 0) || !(adamEpsilon > 0)) {
                throw new IllegalArgumentException("learning rate, burn-in factor, init range and Adam's epsilon must"
                        + " be positive: " + this);
            }
            if (!(dampening >= 0) || Double.isInfinite(dampening)) {
                throw new IllegalArgumentException("dampening must be finite and >= 0: " + this);
            }
            if (space == Space.POINCARE) {
                Curvature.requirePositive(curvature);
            }
            Objects.requireNonNull(finalOptimizer, "finalOptimizer");
            if (!(boundaryEpsilon > 0 && boundaryEpsilon < 1)) {
                throw new IllegalArgumentException("the boundary epsilon must be in (0, 1), got " + boundaryEpsilon);
            }
            if (generalNegatives < 0 || generalNegatives > negatives) {
                throw new IllegalArgumentException("general negatives must be in [0, " + negatives + "], got "
                        + generalNegatives);
            }
            if (finalEpochs < 0 || finalEpochs > 0 && finalEpochs > epochs - burnInEpochs
                    || !(finalLearningRate > 0)) {
                throw new IllegalArgumentException("the final phase needs 0 <= its epochs <= the " + epochs
                        + " epochs less " + burnInEpochs + " of burn-in and a positive learning rate, got "
                        + finalEpochs + " epochs at " + finalLearningRate);
            }
        }

        /**
         * The published mammal settings (REFERENCE.md §3, facebookresearch/poincare-embeddings train-mammals.sh):
         * c = 1, 50 negatives (50 during burn-in too: neg_multiplier 1), batches of 10, 20 burn-in epochs at lr/100
         * with negatives drawn by descendants^0.75, init in ±1e-4 (hype/manifolds/manifold.py:26; the paper's text
         * says ±1e-3), Riemannian SGD at 0.3; one thread, seed 1. Their nouns script differs: see {@link #nouns}.
         */
        public static Options paper(Space space, int dim, int epochs) {
            return new Options(space, dim, 1.0, epochs, 20, 0.3, 0.01, 50, 50, 0.75, 10, 1, 1, 1e-4, 0,
                    Optimizer.SGD, 1e-8, Geometry.Poincare.EPS, 0, Optimizer.SGD, 0.3, 0);
        }

        /**
         * The published nouns settings (train-nouns.sh): {@link #paper} with rate 1.0, batches of 50, 5 negatives
         * during burn-in (-neg_multiplier 0.1) drawn by descendants^1.0 (-dampening 1.0, the later of its two
         * -dampening flags). It runs 1,500 epochs on 5 Hogwild processes that each pass over every pair.
         */
        public static Options nouns(Space space, int dim, int epochs) {
            return paper(space, dim, epochs).withLearningRate(1.0).withBatch(50, 50).withBurnInSampling(5, 1.0);
        }

        public Options withLearningRate(double lr) {
            return with(e -> e.learningRate = lr);
        }

        public Options withEpochs(int epochs, int burnInEpochs) {
            return with(e -> {
                e.epochs = epochs;
                e.burnInEpochs = burnInEpochs;
            });
        }

        public Options withThreads(int threads) {
            return with(e -> e.threads = threads);
        }

        public Options withSeed(long seed) {
            return with(e -> e.seed = seed);
        }

        /** Batch size and negatives per pair; burn-in keeps its share of negatives (at least 1). */
        public Options withBatch(int batchSize, int negatives) {
            int burnIn = Math.max(1, (int) Math.round((double) burnInNegatives * negatives / this.negatives));
            return with(e -> {
                e.burnInNegatives = burnIn;
                e.batchSize = batchSize;
                e.negatives = negatives;
            });
        }

        public Options withBurnInSampling(int burnInNegatives, double dampening) {
            return with(e -> {
                e.burnInNegatives = burnInNegatives;
                e.dampening = dampening;
            });
        }

        public Options withOptimizer(Optimizer optimizer) {
            return with(e -> e.optimizer = optimizer);
        }

        public Options withAdamEpsilon(double adamEpsilon) {
            return with(e -> e.adamEpsilon = adamEpsilon);
        }

        public Options withInitRange(double initRange) {
            return with(e -> e.initRange = initRange);
        }

        /** Points are held within the radius (1 - boundaryEpsilon)/√c (the published 1e-5 by default). */
        public Options withBoundaryEpsilon(double boundaryEpsilon) {
            return with(e -> e.boundaryEpsilon = boundaryEpsilon);
        }

        /**
         * The last {@code finalEpochs} epochs step with {@code finalOptimizer} at {@code finalLearningRate} (0 epochs:
         * no final phase). Adam's moments carry over when both phases use it.
         */
        public Options withFinalPhase(int finalEpochs, Optimizer finalOptimizer, double finalLearningRate) {
            return with(e -> {
                e.finalEpochs = finalEpochs;
                e.finalOptimizer = finalOptimizer;
                e.finalLearningRate = finalLearningRate;
            });
        }

        /**
         * After burn-in, the first {@code generalNegatives} of a pair's negatives are drawn as in burn-in (by
         * descendants^dampening: general nodes, never a leaf), the rest uniformly (published: 0, all uniform).
         */
        public Options withGeneralNegatives(int generalNegatives) {
            return with(e -> e.generalNegatives = generalNegatives);
        }

        public Options withPairsPerEpoch(long pairsPerEpoch) {
            return with(e -> e.pairsPerEpoch = pairsPerEpoch);
        }

        /** A copy with the changes {@code change} makes to the fields (checked again by the constructor). */
        private Options with(Consumer<Edit> change) {
            Edit e = new Edit(this);
            change.accept(e);
            return e.build();
        }

        /** The fields of an {@link Options} while a with-method changes some of them. */
        private static final class Edit {
            Space space;
            int dim;
            double curvature;
            int epochs;
            int burnInEpochs;
            double learningRate;
            double burnInFactor;
            int negatives;
            int burnInNegatives;
            double dampening;
            int batchSize;
            int threads;
            long seed;
            double initRange;
            long pairsPerEpoch;
            Optimizer optimizer;
            double adamEpsilon;
            double boundaryEpsilon;
            int finalEpochs;
            Optimizer finalOptimizer;
            double finalLearningRate;
            int generalNegatives;

            Edit(Options o) {
                space = o.space;
                dim = o.dim;
                curvature = o.curvature;
                epochs = o.epochs;
                burnInEpochs = o.burnInEpochs;
                learningRate = o.learningRate;
                burnInFactor = o.burnInFactor;
                negatives = o.negatives;
                burnInNegatives = o.burnInNegatives;
                dampening = o.dampening;
                batchSize = o.batchSize;
                threads = o.threads;
                seed = o.seed;
                initRange = o.initRange;
                pairsPerEpoch = o.pairsPerEpoch;
                optimizer = o.optimizer;
                adamEpsilon = o.adamEpsilon;
                boundaryEpsilon = o.boundaryEpsilon;
                finalEpochs = o.finalEpochs;
                finalOptimizer = o.finalOptimizer;
                finalLearningRate = o.finalLearningRate;
                generalNegatives = o.generalNegatives;
            }

            Options build() {
                return new Options(space, dim, curvature, epochs, burnInEpochs, learningRate,
                        burnInFactor, negatives, burnInNegatives, dampening, batchSize, threads,
                        seed, initRange, pairsPerEpoch, optimizer, adamEpsilon,
                        boundaryEpsilon, finalEpochs, finalOptimizer, finalLearningRate, generalNegatives);
            }
        }
    }

    /**
     * How a touched row steps from its batch gradient. Both are Riemannian: the gradient is scaled by the inverse
     * metric 1/λ_x² and the point moves by the ball's retraction (plain SGD and Adam in Euclidean space).
     */
    public enum Optimizer {
        /** x ← R_x(-lr·∇ᴱ/λ_x²): the published RiemannianSGD. */
        SGD,
        /**
         * Riemannian Adam (Bécigneul &amp; Ganea 2019), kept per row and lazily, as sparse Adam does: a row's first
         * moment (a tangent vector) and second moment (a scalar, the Riemannian squared norm λ_x²||g||²) decay only
         * when the row is touched, its bias correction counts its own steps, and after each step the first moment
         * is carried to the new point by the conformal factor λ_x/λ_x' (parallel transport up to the gyration, which
         * is of second order in the step). β₁ = 0.9, β₂ = 0.999, ε = {@link Options#adamEpsilon}. The step's Riemannian length is about
         * lr whatever the gradient's size, which moves the rarely touched leaves of a large hierarchy as fast as
         * its general nodes.
         */
        ADAM
    }

    /** Told of progress; called from the training threads. */
    public interface Listener {
        /** A batch of {@code pairs} pairs is done. */
        default void batchDone(int pairs) {
        }

        /** Epoch {@code epoch} (from 0) ended with this mean loss per pair. */
        default void epochDone(int epoch, double meanLoss) {
        }

        /**
         * Whether {@link #pointsAfter} wants the points after epoch {@code epoch} (a copy of the table each time it
         * does).
         */
        default boolean wantsPoints(int epoch) {
            return false;
        }

        /** The points after epoch {@code epoch} (from 0), a copy, when {@link #wantsPoints} asked for them. */
        default void pointsAfter(int epoch, HierarchyEmbedding points) {
        }
    }

    public HierarchyEmbedding train(Hierarchy hierarchy, Options options) {
        return train(hierarchy, options, new Listener() { });
    }

    public HierarchyEmbedding train(Hierarchy hierarchy, Options o, Listener listener) {
        return train(hierarchy, o, listener, null);
    }

    /**
     * Trains from {@code start}'s points instead of the uniform initialisation (to continue a run, or to fine-tune
     * an embedding with another optimizer); null starts afresh.
     */
    public HierarchyEmbedding train(Hierarchy hierarchy, Options o, Listener listener, HierarchyEmbedding start) {
        if (hierarchy.pairs() == 0) {
            throw new IllegalArgumentException("nothing to train on: " + hierarchy + " has no is-a pairs");
        }
        if (hierarchy.nodes() < o.negatives() + 2) {
            throw new IllegalArgumentException(o.negatives() + " negatives need at least " + (o.negatives() + 2)
                    + " nodes, " + hierarchy + " has " + hierarchy.nodes());
        }
        int n = hierarchy.nodes();
        int dim = o.dim();
        Geometry geometry = Geometry.of(o.space(), o.curvature(), o.boundaryEpsilon());
        int[][] pairs = hierarchy.pairArrays();
        int pairCount = pairs[0].length;
        BurnInDistribution burnInDraws = new BurnInDistribution(hierarchy, o.dampening());
        SplittableRandom random = new SplittableRandom(o.seed());
        // The points, row after row, shared by the threads (Hogwild: plain reads and writes, no lock).
        float[] table = new float[Math.multiplyExact(n, dim)];
        for (int i = 0; i < table.length; i++) {
            table[i] = (float) ((2 * random.nextDouble() - 1) * o.initRange());
        }
        if (start != null) {
            if (!start.names().equals(hierarchy.names()) || start.dim() != dim || start.space() != o.space()) {
                throw new IllegalArgumentException("cannot start training " + o.space() + " d" + dim + " of "
                        + hierarchy + " from " + start + ": its names, space or dimension differ");
            }
            System.arraycopy(start.coordinates(), 0, table, 0, table.length);
        }
        AdamState adam = o.optimizer() == Optimizer.ADAM || o.finalEpochs() > 0 && o.finalOptimizer() == Optimizer.ADAM
                ? new AdamState(n, dim, o.adamEpsilon()) : null;
        int[] order = new int[pairCount];
        for (int e = 0; e < pairCount; e++) {
            order[e] = e;
        }
        int used = o.pairsPerEpoch() == 0 ? pairCount : (int) Math.min(pairCount, o.pairsPerEpoch());
        Parallelism pool = Parallelism.of(o.threads());
        for (int epoch = 0; epoch < o.epochs(); epoch++) {
            shuffle(order, random);
            boolean burnIn = epoch < o.burnInEpochs();
            boolean finalPhase = epoch >= o.epochs() - o.finalEpochs();
            double lr = burnIn ? o.learningRate() * o.burnInFactor()
                    : finalPhase ? o.finalLearningRate() : o.learningRate();
            AdamState stepper = (finalPhase ? o.finalOptimizer() : o.optimizer()) == Optimizer.ADAM ? adam : null;
            DoubleAdder loss = new DoubleAdder();
            int threads = o.threads();
            long epochSeed = random.nextLong();
            pool.forEach(threads, t -> {
                int from = (int) ((long) used * t / threads);
                int to = (int) ((long) used * (t + 1) / threads);
                SplittableRandom r = new SplittableRandom(epochSeed + 0x9E3779B97F4A7C15L * t);
                loss.add(new Worker(hierarchy, geometry, o, table, burnInDraws, burnIn, stepper)
                        .run(order, from, to, pairs, lr, r, listener));
            });
            listener.epochDone(epoch, loss.sum() / used);
            if (listener.wantsPoints(epoch)) {
                listener.pointsAfter(epoch, new HierarchyEmbedding(hierarchy.names(), o.space(), o.curvature(), dim,
                        table));
            }
        }
        return new HierarchyEmbedding(hierarchy.names(), o.space(), o.curvature(), dim, table);
    }

    /**
     * The published burn-in distribution of negatives (hype/graph_dataset.pyx:90-117): node w with probability
     * descendants(w)^dampening / Σ_v descendants(v)^dampening, where descendants(w) counts the pairs with w as
     * the ancestor ({@code counts[h] += weights[i]}, line 93, then {@code counts ** sample_dampening}, line 96).
     * A leaf has weight 0 (for dampening > 0) and is never drawn: burn-in pushes the general nodes apart. The
     * published code draws with the alias method; here a binary search over the cumulative weights draws the same
     * distribution.
     */
    static final class BurnInDistribution {
        private final double[] cumulative;

        BurnInDistribution(Hierarchy h, double dampening) {
            int[] counts = h.descendantCounts();
            cumulative = new double[counts.length];
            double sum = 0;
            for (int i = 0; i < counts.length; i++) {
                sum += Math.pow(counts[i], dampening);
                cumulative[i] = sum;
            }
        }

        /** The probability of drawing node w. */
        double probability(int w) {
            return (cumulative[w] - (w == 0 ? 0 : cumulative[w - 1])) / cumulative[cumulative.length - 1];
        }

        /** One draw: the first node whose cumulative weight exceeds a uniform x in [0, total). */
        int draw(SplittableRandom random) {
            double x = random.nextDouble() * cumulative[cumulative.length - 1];
            int lo = 0;
            int hi = cumulative.length - 1;
            while (lo < hi) {
                int mid = (lo + hi) >>> 1;
                if (cumulative[mid] > x) {
                    hi = mid;
                } else {
                    lo = mid + 1;
                }
            }
            return lo;
        }
    }

    private static void shuffle(int[] a, SplittableRandom random) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }

    /**
     * The moments of {@link Optimizer#ADAM}, a row per node, shared by the threads as the table is (Hogwild: a
     * moment updated by two threads at once loses one of the updates, which the method tolerates as it does for
     * the points).
     */
    private static final class AdamState {
        private static final double BETA1 = 0.9;
        private static final double BETA2 = 0.999;

        /**
         * Per node, side by side so that a step touches one or two cache lines rather than four arrays: the first
         * moment (dim floats), the second moment, and β₁ᵗ and β₂ᵗ of the row's own step count t (for the bias
         * corrections, kept rather than recomputed by pow).
         */
        private final float[] state;
        private final int stride;
        private final double epsilon;

        AdamState(int nodes, int dim, double epsilon) {
            this.epsilon = epsilon;
            this.stride = dim + 3;
            this.state = new float[Math.multiplyExact(nodes, stride)];
            for (int node = 0; node < nodes; node++) {
                state[node * stride + dim + 1] = 1;
                state[node * stride + dim + 2] = 1;
            }
        }

        /** Node's row at points[p..] takes one step from its Euclidean gradient at grad[p..] (left unchanged). */
        void step(Geometry geometry, double lr, int node, float[] points, int p, float[] grad, int dim) {
            double inverseMetric = geometry.inverseMetric(points, p, dim);
            int m = node * stride;
            int v = m + dim;
            double g2 = 0;
            for (int k = 0; k < dim; k++) {
                double g = inverseMetric * grad[p + k];
                g2 += g * g;
                state[m + k] = (float) (BETA1 * state[m + k] + (1 - BETA1) * g);
            }
            // ||g||_x² = λ_x²·||g||² of the Riemannian gradient g = ∇ᴱ/λ_x².
            double second = BETA2 * state[v] + (1 - BETA2) * g2 / inverseMetric;
            state[v] = (float) second;
            double beta1Power = state[v + 1] * BETA1;
            double beta2Power = state[v + 2] * BETA2;
            state[v + 1] = (float) beta1Power;
            state[v + 2] = (float) beta2Power;
            geometry.move(points, p, state, m, -lr / (1 - beta1Power)
                    / (Math.sqrt(second / (1 - beta2Power)) + epsilon), dim);
            // Carry m to the new point: λ_x/λ_x' = √(1/λ_x'² ÷ 1/λ_x²).
            float transport = (float) Math.sqrt(geometry.inverseMetric(points, p, dim) / inverseMetric);
            for (int k = 0; k < dim; k++) {
                state[m + k] *= transport;
            }
        }
    }

    /**
     * Draws a pair's negatives as the published sampler does (hype/graph_dataset.pyx:204-229): distinct nodes
     * ({@code unordered_set}), never the child itself ({@code n != t}) nor one of its ancestors (no edge (t, n)),
     * drawn from the burn-in distribution or uniformly, at most {@code maxTries} draws; when fewer distinct ones
     * turn up, the ones found repeat (lines 227-229). One per thread.
     */
    static final class NegativeSampler {
        private final Hierarchy hierarchy;
        private final BurnInDistribution weightedDraws;
        private final int weighted;
        /** Draws after which the weighted share gives up and the rest are uniform. */
        private final int weightedTries;
        private final int maxTries;
        /** Per node, the last pair that drew it (so that a pair's negatives are distinct). */
        private final int[] drawnBy;
        private int pairStamp;

        /** burnInDraws: null for uniform draws; else every negative is drawn from it. */
        NegativeSampler(Hierarchy hierarchy, BurnInDistribution burnInDraws, int maxTries) {
            this(hierarchy, burnInDraws, burnInDraws == null ? 0 : Integer.MAX_VALUE, maxTries);
        }

        /** The first {@code weighted} negatives of a pair are drawn from weightedDraws, the rest uniformly. */
        NegativeSampler(Hierarchy hierarchy, BurnInDistribution weightedDraws, int weighted, int maxTries) {
            this.hierarchy = hierarchy;
            this.weightedDraws = weightedDraws;
            this.weighted = weightedDraws == null ? 0 : weighted;
            this.weightedTries = weighted == Integer.MAX_VALUE ? maxTries
                    : (int) Math.min(maxTries, (long) TRIES_PER_NEGATIVE * weighted);
            this.maxTries = maxTries;
            this.drawnBy = new int[hierarchy.nodes()];
        }

        /** Fills candidate[1..count) with child's negatives (candidate[0], the positive, is left alone). */
        void sample(int child, int[] candidate, int count, SplittableRandom random) {
            int n = hierarchy.nodes();
            int stamp = ++pairStamp;
            if (stamp == 0) {  // wrapped around after 2^32 pairs: forget every mark
                Arrays.fill(drawnBy, 0);
                stamp = ++pairStamp;
            }
            int found = 1;
            for (int tries = 0; found < count && tries < maxTries; tries++) {
                int w = found <= weighted && tries < weightedTries ? weightedDraws.draw(random) : random.nextInt(n);
                if (w != child && drawnBy[w] != stamp && !hierarchy.isA(child, w)) {
                    drawnBy[w] = stamp;
                    candidate[found++] = w;
                }
            }
            if (found == 1) {
                throw new IllegalStateException("no negative found for '" + hierarchy.name(child) + "' in "
                        + maxTries + " draws: it is a kind of nearly every node that can be drawn");
            }
            for (int j = found; j < count; j++) {
                candidate[j] = candidate[1 + random.nextInt(found - 1)];
            }
        }
    }

    /**
     * One thread's share of an epoch. A batch gives each node it touches a slot: the node's point as read from the
     * table when first touched, and its summed gradient. Each pair's scores and gradients are computed straight
     * from the slots' rows, the batch's summed gradients then step each slot once, and the stepped rows go back.
     */
    private static final class Worker {
        private final Hierarchy hierarchy;
        private final Geometry geometry;
        private final Options o;
        private final float[] table;
        private final NegativeSampler sampler;
        private final AdamState adam;
        /** 1 + the negatives per pair of this epoch. */
        private final int candidates;
        private final int dim;
        /** The batch slot of each node touched by the current batch, -1 elsewhere. */
        private final int[] slotOf;
        private final int[] slotNode;
        /** The slots' points and gradients, dim floats per slot. */
        private final float[] points;
        private final float[] grads;

        /** burnInDraws: the burn-in distribution (all of burn-in's negatives, the general ones after). */
        Worker(Hierarchy hierarchy, Geometry geometry, Options o, float[] table, BurnInDistribution burnInDraws,
                boolean burnIn, AdamState adam) {
            this.adam = adam;
            this.hierarchy = hierarchy;
            this.geometry = geometry;
            this.o = o;
            this.table = table;
            this.candidates = (burnIn ? o.burnInNegatives() : o.negatives()) + 1;
            this.sampler = new NegativeSampler(hierarchy, burnInDraws, burnIn ? Integer.MAX_VALUE : o.generalNegatives(),
                    TRIES_PER_NEGATIVE * o.negatives());
            this.dim = o.dim();
            this.slotOf = new int[hierarchy.nodes()];
            Arrays.fill(slotOf, -1);
            int maxSlots = o.batchSize() * (candidates + 1);
            this.slotNode = new int[maxSlots];
            this.points = new float[maxSlots * dim];
            this.grads = new float[maxSlots * dim];
        }

        /** Trains on order[from, to); returns the summed loss. */
        double run(int[] order, int from, int to, int[][] pairs, double lr, SplittableRandom random,
                Listener listener) {
            double lossSum = 0;
            // With other threads writing the table, a row is moved by this step's change, not overwritten:
            // general nodes are in nearly every batch, and overwriting would drop the other threads' steps.
            boolean shared = o.threads() > 1;
            float[] before = new float[shared ? points.length : 0];
            int[] candidate = new int[candidates];
            int[] slot = new int[candidates];
            double[] score = new double[candidates];
            double[] grad = new double[4 * candidates];
            for (int start = from; start < to; start += o.batchSize()) {
                int batch = Math.min(o.batchSize(), to - start);
                int slots = 0;
                for (int b = 0; b < batch; b++) {
                    int e = order[start + b];
                    int child = pairs[0][e];
                    candidate[0] = pairs[1][e];
                    sampler.sample(child, candidate, candidates, random);
                    slots = touch(child, slots);
                    int u = slotOf[child] * dim;
                    for (int j = 0; j < candidates; j++) {
                        slots = touch(candidate[j], slots);
                        slot[j] = slotOf[candidate[j]] * dim;
                        score[j] = geometry.score(points, u, points, slot[j], dim, grad, 4 * j);
                    }
                    lossSum += softmaxLossGradient(score, batch);
                    for (int j = 0; j < candidates; j++) {
                        int v = slot[j];
                        double g = score[j];
                        addCombination(grads, u, g * grad[4 * j], u, g * grad[4 * j + 1], v);
                        addCombination(grads, v, g * grad[4 * j + 2], u, g * grad[4 * j + 3], v);
                    }
                }
                if (shared) {
                    System.arraycopy(points, 0, before, 0, slots * dim);
                }
                for (int s = 0; s < slots; s++) {
                    int p = s * dim;
                    if (adam == null) {
                        geometry.step(lr, points, p, grads, p, dim);
                    } else {
                        adam.step(geometry, lr, slotNode[s], points, p, grads, dim);
                    }
                    int t = slotNode[s] * dim;
                    if (shared) {
                        for (int k = 0; k < dim; k++) {
                            table[t + k] += points[p + k] - before[p + k];
                        }
                    } else {
                        System.arraycopy(points, p, table, t, dim);
                    }
                    slotOf[slotNode[s]] = -1;
                }
                listener.batchDone(batch);
            }
            return lossSum;
        }

        /** grads[to..] += α·points[x..] + β·points[y..]. */
        private void addCombination(float[] into, int to, double alpha, int x, double beta, int y) {
            float a = (float) alpha;
            float b = (float) beta;
            for (int k = 0; k < dim; k++) {
                into[to + k] += a * points[x + k] + b * points[y + k];
            }
        }

        /**
         * Gives node a batch slot holding its current point and a zero gradient, if it has none yet; returns the
         * slot count.
         */
        private int touch(int node, int slots) {
            if (slotOf[node] < 0) {
                slotOf[node] = slots;
                slotNode[slots] = node;
                System.arraycopy(table, node * dim, points, slots * dim, dim);
                Arrays.fill(grads, slots * dim, (slots + 1) * dim, 0);
                return slots + 1;
            }
            return slots;
        }

        /**
         * For one pair's scores d (the first its positive): returns the loss -log softmax(-d)_0 and leaves in d its
         * gradient [j = 0] - softmax(-d)_j, divided by the batch size.
         */
        private static double softmaxLossGradient(double[] d, int batch) {
            double min = Double.POSITIVE_INFINITY;
            for (double x : d) {
                min = Math.min(min, x);
            }
            double z = 0;
            for (double x : d) {
                z += Math.exp(min - x);
            }
            double loss = d[0] - min + Math.log(z);
            for (int j = 0; j < d.length; j++) {
                double p = Math.exp(min - d[j]) / z;
                d[j] = ((j == 0 ? 1 : 0) - p) / batch;
            }
            return loss;
        }
    }
}
