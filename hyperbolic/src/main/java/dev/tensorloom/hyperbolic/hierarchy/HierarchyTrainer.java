package dev.tensorloom.hyperbolic.hierarchy;

import dev.tensorloom.hyperbolic.Curvature;
import dev.tensorloom.hyperbolic.hierarchy.HierarchyEmbedding.Space;
import dev.tensorloom.runtime.kernel.Parallelism;
import java.util.Arrays;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.DoubleAdder;

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
 * rate is multiplied by {@link Options#burnInFactor} and negatives are drawn in proportion to
 * (1 + descendants)^0.75 instead of uniformly, so general nodes are pushed apart first and settle near the origin.
 *
 * <p><b>Threads</b>: Hogwild (Recht et al. 2011), as the published code trains. Each epoch's shuffled pairs are
 * cut into one contiguous share per thread; each thread copies its batch's rows out of the shared table, computes
 * in its own arrays and adds each stepped row's change to the table without a lock. Updates of different threads
 * may interleave; the method tolerates that (a point pushed past the boundary by two changes at once is read back
 * projected, as every distance reads its points). With one thread the result is a function of the seed alone,
 * on every backend.
 */
public final class HierarchyTrainer {

    private static final double UNIGRAM_POWER = 0.75;
    /** Tries per negative before a pair settles for fewer distinct negatives (then some repeat). */
    private static final int TRIES_PER_NEGATIVE = 10;

    /**
     * @param learningRate    SGD rate after burn-in, per batch-mean gradient (the published runs use 0.3 for
     *                        mammals and 1.0 for nouns)
     * @param pairsPerEpoch   0 for every pair each epoch; else only the first pairs of each epoch's shuffle (to time
     *                        or smoke-test the noun hierarchy)
     */
    public record Options(Space space, int dim, double curvature, int epochs, int burnInEpochs, double learningRate,
            double burnInFactor, int negatives, int batchSize, int threads, long seed, double initRange,
            long pairsPerEpoch, Optimizer optimizer) {

        public Options {
            Objects.requireNonNull(space, "space");
            Objects.requireNonNull(optimizer, "optimizer");
            if (dim < 1 || epochs < 0 || burnInEpochs < 0 || negatives < 1 || batchSize < 1 || threads < 1
                    || pairsPerEpoch < 0) {
                throw new IllegalArgumentException("options need dim, negatives, batch size and threads >= 1 and"
                        + " epochs, burn-in epochs and pairs per epoch >= 0: " + this);
            }
            if (!(learningRate > 0) || !(burnInFactor > 0) || !(initRange > 0)) {
                throw new IllegalArgumentException("learning rate, burn-in factor and init range must be positive: "
                        + this);
            }
            if (space == Space.POINCARE) {
                Curvature.requirePositive(curvature);
            }
        }

        /**
         * The published mammal settings (REFERENCE.md §3, facebookresearch/poincare-embeddings train-mammals.sh):
         * c = 1, 50 negatives, batches of 10, 20 burn-in epochs at lr/100, init in ±0.001 (the paper's; the code
         * uses ±0.0001), Riemannian SGD at 0.3; one thread, seed 1. Their nouns script differs: rate 1.0, batches
         * of 50, 1,500 epochs on 5 Hogwild processes that each pass over every pair (7,500 passes), and 5
         * negatives drawn in proportion to the descendant count during burn-in.
         */
        public static Options paper(Space space, int dim, int epochs) {
            return new Options(space, dim, 1.0, epochs, 20, 0.3, 0.01, 50, 10, 1, 1, 1e-3, 0, Optimizer.SGD);
        }

        public Options withLearningRate(double lr) {
            return new Options(space, dim, curvature, epochs, burnInEpochs, lr, burnInFactor, negatives, batchSize,
                    threads, seed, initRange, pairsPerEpoch, optimizer);
        }

        public Options withEpochs(int epochs, int burnInEpochs) {
            return new Options(space, dim, curvature, epochs, burnInEpochs, learningRate, burnInFactor, negatives,
                    batchSize, threads, seed, initRange, pairsPerEpoch, optimizer);
        }

        public Options withThreads(int threads) {
            return new Options(space, dim, curvature, epochs, burnInEpochs, learningRate, burnInFactor, negatives,
                    batchSize, threads, seed, initRange, pairsPerEpoch, optimizer);
        }

        public Options withSeed(long seed) {
            return new Options(space, dim, curvature, epochs, burnInEpochs, learningRate, burnInFactor, negatives,
                    batchSize, threads, seed, initRange, pairsPerEpoch, optimizer);
        }

        public Options withBatch(int batchSize, int negatives) {
            return new Options(space, dim, curvature, epochs, burnInEpochs, learningRate, burnInFactor, negatives,
                    batchSize, threads, seed, initRange, pairsPerEpoch, optimizer);
        }

        public Options withOptimizer(Optimizer optimizer) {
            return new Options(space, dim, curvature, epochs, burnInEpochs, learningRate, burnInFactor, negatives,
                    batchSize, threads, seed, initRange, pairsPerEpoch, optimizer);
        }

        public Options withPairsPerEpoch(long pairsPerEpoch) {
            return new Options(space, dim, curvature, epochs, burnInEpochs, learningRate, burnInFactor, negatives,
                    batchSize, threads, seed, initRange, pairsPerEpoch, optimizer);
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
         * is of second order in the step). β₁ = 0.9, β₂ = 0.999, ε = 1e-8. The step's Riemannian length is about
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
    }

    public HierarchyEmbedding train(Hierarchy hierarchy, Options options) {
        return train(hierarchy, options, new Listener() { });
    }

    public HierarchyEmbedding train(Hierarchy hierarchy, Options o, Listener listener) {
        if (hierarchy.pairs() == 0) {
            throw new IllegalArgumentException("nothing to train on: " + hierarchy + " has no is-a pairs");
        }
        if (hierarchy.nodes() < o.negatives() + 2) {
            throw new IllegalArgumentException(o.negatives() + " negatives need at least " + (o.negatives() + 2)
                    + " nodes, " + hierarchy + " has " + hierarchy.nodes());
        }
        int n = hierarchy.nodes();
        int dim = o.dim();
        Geometry geometry = Geometry.of(o.space(), o.curvature());
        int[][] pairs = hierarchy.pairArrays();
        int pairCount = pairs[0].length;
        double[] unigram = unigramTable(hierarchy);
        SplittableRandom random = new SplittableRandom(o.seed());
        // The points, row after row, shared by the threads (Hogwild: plain reads and writes, no lock).
        float[] table = new float[Math.multiplyExact(n, dim)];
        for (int i = 0; i < table.length; i++) {
            table[i] = (float) ((2 * random.nextDouble() - 1) * o.initRange());
        }
        AdamState adam = o.optimizer() == Optimizer.ADAM ? new AdamState(n, dim) : null;
        int[] order = new int[pairCount];
        for (int e = 0; e < pairCount; e++) {
            order[e] = e;
        }
        int used = o.pairsPerEpoch() == 0 ? pairCount : (int) Math.min(pairCount, o.pairsPerEpoch());
        Parallelism pool = Parallelism.of(o.threads());
        for (int epoch = 0; epoch < o.epochs(); epoch++) {
            shuffle(order, random);
            boolean burnIn = epoch < o.burnInEpochs();
            double lr = burnIn ? o.learningRate() * o.burnInFactor() : o.learningRate();
            DoubleAdder loss = new DoubleAdder();
            int threads = o.threads();
            long epochSeed = random.nextLong();
            pool.forEach(threads, t -> {
                int from = (int) ((long) used * t / threads);
                int to = (int) ((long) used * (t + 1) / threads);
                SplittableRandom r = new SplittableRandom(epochSeed + 0x9E3779B97F4A7C15L * t);
                loss.add(new Worker(hierarchy, geometry, o, table, burnIn ? unigram : null, adam)
                        .run(order, from, to, pairs, lr, r, listener));
            });
            listener.epochDone(epoch, loss.sum() / used);
        }
        return new HierarchyEmbedding(hierarchy.names(), o.space(), o.curvature(), dim, table);
    }

    /** Cumulative (1 + descendants)^0.75, the burn-in distribution of negatives. */
    private static double[] unigramTable(Hierarchy h) {
        int[] counts = h.descendantCounts();
        double[] cumulative = new double[counts.length];
        double sum = 0;
        for (int i = 0; i < counts.length; i++) {
            sum += Math.pow(1 + counts[i], UNIGRAM_POWER);
            cumulative[i] = sum;
        }
        return cumulative;
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
        private static final double EPSILON = 1e-8;

        /**
         * Per node, side by side so that a step touches one or two cache lines rather than four arrays: the first
         * moment (dim floats), the second moment, and β₁ᵗ and β₂ᵗ of the row's own step count t (for the bias
         * corrections, kept rather than recomputed by pow).
         */
        private final float[] state;
        private final int stride;

        AdamState(int nodes, int dim) {
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
                    / (Math.sqrt(second / (1 - beta2Power)) + EPSILON), dim);
            // Carry m to the new point: λ_x/λ_x' = √(1/λ_x'² ÷ 1/λ_x²).
            float transport = (float) Math.sqrt(geometry.inverseMetric(points, p, dim) / inverseMetric);
            for (int k = 0; k < dim; k++) {
                state[m + k] *= transport;
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
        private final double[] unigram;
        private final AdamState adam;
        private final int candidates;
        private final int dim;
        /** The batch slot of each node touched by the current batch, -1 elsewhere. */
        private final int[] slotOf;
        private final int[] slotNode;
        /** The slots' points and gradients, dim floats per slot. */
        private final float[] points;
        private final float[] grads;

        Worker(Hierarchy hierarchy, Geometry geometry, Options o, float[] table, double[] unigram, AdamState adam) {
            this.adam = adam;
            this.hierarchy = hierarchy;
            this.geometry = geometry;
            this.o = o;
            this.table = table;
            this.unigram = unigram;
            this.candidates = o.negatives() + 1;
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
                    sampleNegatives(child, candidate, random);
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

        /** candidate[1..K]: nodes that child is not a kind of, other than child itself. */
        private void sampleNegatives(int child, int[] candidate, SplittableRandom random) {
            int n = hierarchy.nodes();
            int found = 1;
            for (int tries = 0; found < candidate.length && tries < TRIES_PER_NEGATIVE * (candidate.length - 1);
                    tries++) {
                int w = unigram == null ? random.nextInt(n) : drawUnigram(random);
                if (w != child && !hierarchy.isA(child, w)) {
                    candidate[found++] = w;
                }
            }
            if (found == 1) {
                throw new IllegalStateException("no negative found for '" + hierarchy.name(child) + "' in "
                        + TRIES_PER_NEGATIVE * (candidate.length - 1) + " draws: it is a kind of nearly every node");
            }
            // Too few distinct draws (rare): repeat the ones found, as the published code does.
            for (int j = found; j < candidate.length; j++) {
                candidate[j] = candidate[1 + random.nextInt(found - 1)];
            }
        }

        private int drawUnigram(SplittableRandom random) {
            double x = random.nextDouble() * unigram[unigram.length - 1];
            int i = Arrays.binarySearch(unigram, x);
            return Math.min(i >= 0 ? i : -i - 1, unigram.length - 1);
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
