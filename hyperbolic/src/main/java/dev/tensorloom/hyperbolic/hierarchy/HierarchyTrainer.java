package dev.tensorloom.hyperbolic.hierarchy;

import dev.tensorloom.hyperbolic.Curvature;
import dev.tensorloom.hyperbolic.PoincareKernels;
import dev.tensorloom.hyperbolic.hierarchy.HierarchyEmbedding.Space;
import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.Parallelism;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
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
 * averaged over a batch of pairs. d is the Poincaré distance (the family's {@code distance} and
 * {@code distanceBackward}) or the squared Euclidean distance. Points start uniform in ±{@link Options#initRange};
 * each batch's gradients are summed per node and the touched rows take one Riemannian SGD step (the exponential
 * map, which projects into the ball) or one plain SGD step.
 *
 * <p><b>Burn-in</b>, as the published code does it: for the first {@link Options#burnInEpochs} epochs the learning
 * rate is multiplied by {@link Options#burnInFactor} and negatives are drawn in proportion to
 * (1 + descendants)^0.75 instead of uniformly, so general nodes are pushed apart first and settle near the origin.
 *
 * <p><b>Threads</b>: Hogwild (Recht et al. 2011), as the published code trains. Each epoch's shuffled pairs are
 * cut into one contiguous share per thread; each thread gathers its batch's rows from the shared table, computes in
 * its own confined buffers (so the kernels run inline on that thread) and adds each stepped row's change to the
 * table without a lock. Updates of different threads may interleave; the method tolerates that (a point pushed
 * past the boundary by two changes at once is read back projected, as every kernel reads its points). With one thread on the scalar backend
 * the result is a function of the seed alone; on the vector backend it is so up to rounding, because the Vector
 * API may sum a row's lanes in another order once its reductions are compiled.
 */
public final class HierarchyTrainer {

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
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
            long pairsPerEpoch) {

        public Options {
            Objects.requireNonNull(space, "space");
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
         * The published settings (REFERENCE.md §3, facebookresearch/poincare-embeddings): c = 1, 50 negatives,
         * batches of 10, 20 burn-in epochs at lr/100, init in ±0.001, rate 0.3; one thread, seed 1.
         */
        public static Options paper(Space space, int dim, int epochs) {
            return new Options(space, dim, 1.0, epochs, 20, 0.3, 0.01, 50, 10, 1, 1, 1e-3, 0);
        }

        public Options withLearningRate(double lr) {
            return new Options(space, dim, curvature, epochs, burnInEpochs, lr, burnInFactor, negatives, batchSize,
                    threads, seed, initRange, pairsPerEpoch);
        }

        public Options withEpochs(int epochs, int burnInEpochs) {
            return new Options(space, dim, curvature, epochs, burnInEpochs, learningRate, burnInFactor, negatives,
                    batchSize, threads, seed, initRange, pairsPerEpoch);
        }

        public Options withThreads(int threads) {
            return new Options(space, dim, curvature, epochs, burnInEpochs, learningRate, burnInFactor, negatives,
                    batchSize, threads, seed, initRange, pairsPerEpoch);
        }

        public Options withSeed(long seed) {
            return new Options(space, dim, curvature, epochs, burnInEpochs, learningRate, burnInFactor, negatives,
                    batchSize, threads, seed, initRange, pairsPerEpoch);
        }

        public Options withBatch(int batchSize, int negatives) {
            return new Options(space, dim, curvature, epochs, burnInEpochs, learningRate, burnInFactor, negatives,
                    batchSize, threads, seed, initRange, pairsPerEpoch);
        }

        public Options withPairsPerEpoch(long pairsPerEpoch) {
            return new Options(space, dim, curvature, epochs, burnInEpochs, learningRate, burnInFactor, negatives,
                    batchSize, threads, seed, initRange, pairsPerEpoch);
        }
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

    private final PoincareKernels kernels;

    /** A trainer whose Poincaré ball runs on {@code backend}'s kernels (a host backend: scalar or vector). */
    public HierarchyTrainer(Backend backend) {
        this.kernels = PoincareKernels.FAMILY.on(backend);
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
        Geometry geometry = Geometry.of(o.space(), kernels, o.curvature());
        int[][] pairs = hierarchy.pairArrays();
        int pairCount = pairs[0].length;
        double[] unigram = unigramTable(hierarchy);
        SplittableRandom random = new SplittableRandom(o.seed());
        try (Arena arena = Arena.ofShared()) {
            Tensor table = Tensor.allocate(arena, n, dim);
            for (int i = 0; i < n; i++) {
                for (int k = 0; k < dim; k++) {
                    table.set((float) ((2 * random.nextDouble() - 1) * o.initRange()), i, k);
                }
            }
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
                    loss.add(new Worker(hierarchy, geometry, o, table, burnIn ? unigram : null)
                            .run(order, from, to, pairs, lr, r, listener));
                });
                listener.epochDone(epoch, loss.sum() / used);
            }
            return new HierarchyEmbedding(hierarchy.names(), o.space(), o.curvature(), dim, table.toArray());
        }
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

    /** One thread's share of an epoch, with its own buffers in a confined arena. */
    private static final class Worker {
        private final Hierarchy hierarchy;
        private final Geometry geometry;
        private final Options o;
        private final Tensor table;
        private final double[] unigram;
        private final int candidates;
        private final int dim;
        /** The batch slot of each node touched by the current batch, -1 elsewhere. */
        private final int[] slotOf;
        private final int[] slotNode;
        /** The slot of each row's candidate in the current batch. */
        private final int[] rowSlot;

        Worker(Hierarchy hierarchy, Geometry geometry, Options o, Tensor table, double[] unigram) {
            this.hierarchy = hierarchy;
            this.geometry = geometry;
            this.o = o;
            this.table = table;
            this.unigram = unigram;
            this.candidates = o.negatives() + 1;
            this.dim = o.dim();
            this.slotOf = new int[hierarchy.nodes()];
            Arrays.fill(slotOf, -1);
            this.slotNode = new int[o.batchSize() * (candidates + 1)];
            this.rowSlot = new int[o.batchSize() * candidates];
        }

        /** Trains on order[from, to); returns the summed loss. */
        double run(int[] order, int from, int to, int[][] pairs, double lr, SplittableRandom random,
                Listener listener) {
            int rows = o.batchSize() * candidates;
            int maxSlots = slotNode.length;
            double lossSum = 0;
            try (Arena arena = Arena.ofConfined()) {
                Tensor u = Tensor.allocate(arena, rows, dim);
                Tensor v = Tensor.allocate(arena, rows, dim);
                Tensor d = Tensor.allocate(arena, rows);
                Tensor gradD = Tensor.allocate(arena, rows);
                Tensor gradU = Tensor.allocate(arena, rows, dim);
                Tensor gradV = Tensor.allocate(arena, rows, dim);
                Tensor points = Tensor.allocate(arena, maxSlots, dim);
                Tensor grads = Tensor.allocate(arena, maxSlots, dim);
                Tensor scratch = Tensor.allocate(arena, maxSlots, dim);
                // With other threads writing the table, a row is moved by this step's change, not overwritten:
                // general nodes are in nearly every batch, and overwriting would drop the other threads' steps.
                boolean shared = o.threads() > 1;
                Tensor before = Tensor.allocate(arena, shared ? maxSlots : 1, dim);
                int[] candidate = new int[candidates];
                for (int start = from; start < to; start += o.batchSize()) {
                    int batch = Math.min(o.batchSize(), to - start);
                    int r = batch * candidates;
                    int slots = 0;
                    for (int b = 0; b < batch; b++) {
                        int e = order[start + b];
                        int child = pairs[0][e];
                        candidate[0] = pairs[1][e];
                        sampleNegatives(child, candidate, random);
                        slots = touch(child, slots, points);
                        for (int j = 0; j < candidates; j++) {
                            int row = b * candidates + j;
                            copyRow(table, child, u, row);
                            copyRow(table, candidate[j], v, row);
                            slots = touch(candidate[j], slots, points);
                            rowSlot[row] = slotOf[candidate[j]];
                        }
                    }
                    Tensor ub = u.slice(0, 0, r);
                    Tensor vb = v.slice(0, 0, r);
                    Tensor db = d.slice(0, 0, r);
                    Tensor gdb = gradD.slice(0, 0, r);
                    geometry.scores(ub, vb, db);
                    lossSum += softmaxLossGradient(db, gdb, batch);
                    Tensor gub = gradU.slice(0, 0, r);
                    Tensor gvb = gradV.slice(0, 0, r);
                    geometry.scoresBackward(ub, vb, gdb, gub, gvb);
                    Tensor gs = grads.slice(0, 0, slots);
                    zero(gs);
                    for (int row = 0; row < r; row++) {
                        int b = row / candidates;
                        int child = pairs[0][order[start + b]];
                        addRow(gub, row, gs, slotOf[child]);
                    }
                    for (int row = 0; row < r; row++) {
                        addRow(gvb, row, gs, rowSlot[row]);
                    }
                    Tensor ps = points.slice(0, 0, slots);
                    if (shared) {
                        before.slice(0, 0, slots).copyFrom(ps);
                    }
                    geometry.step(lr, ps, gs, scratch.slice(0, 0, slots));
                    for (int s = 0; s < slots; s++) {
                        if (shared) {
                            addDelta(ps, before, s, table, slotNode[s]);
                        } else {
                            copyRow(ps, s, table, slotNode[s]);
                        }
                        slotOf[slotNode[s]] = -1;
                    }
                    listener.batchDone(batch);
                }
            }
            return lossSum;
        }

        /** Gives node a batch slot holding its current point, if it has none yet; returns the slot count. */
        private int touch(int node, int slots, Tensor points) {
            if (slotOf[node] < 0) {
                slotOf[node] = slots;
                slotNode[slots] = node;
                copyRow(table, node, points, slots);
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
         * For each pair of the batch (rows b·(K+1) .. b·(K+1)+K of d, the first its positive): the loss
         * -log softmax(-d)_0 and its gradient [j = 0] - softmax(-d)_j, both divided by the batch size.
         */
        private double softmaxLossGradient(Tensor d, Tensor gradD, int batch) {
            MemorySegment ds = d.segment();
            MemorySegment gs = gradD.segment();
            double loss = 0;
            for (int b = 0; b < batch; b++) {
                long base = b * (long) candidates;
                double min = Double.POSITIVE_INFINITY;
                for (int j = 0; j < candidates; j++) {
                    min = Math.min(min, ds.getAtIndex(F, d.offset() + base + j));
                }
                double z = 0;
                for (int j = 0; j < candidates; j++) {
                    z += Math.exp(min - ds.getAtIndex(F, d.offset() + base + j));
                }
                for (int j = 0; j < candidates; j++) {
                    double p = Math.exp(min - ds.getAtIndex(F, d.offset() + base + j)) / z;
                    gs.setAtIndex(F, gradD.offset() + base + j, (float) (((j == 0 ? 1 : 0) - p) / batch));
                }
                loss += ds.getAtIndex(F, d.offset() + base) - min + Math.log(z);
            }
            return loss;
        }
    }

    private static void copyRow(Tensor from, int i, Tensor to, int j) {
        int cols = from.cols();
        MemorySegment.copy(from.segment(), (from.offset() + (long) i * from.leadingDim()) * Float.BYTES, to.segment(),
                (to.offset() + (long) j * to.leadingDim()) * Float.BYTES, (long) cols * Float.BYTES);
    }

    private static void addRow(Tensor from, int i, Tensor to, int j) {
        MemorySegment fs = from.segment();
        MemorySegment ts = to.segment();
        long fo = from.offset() + (long) i * from.leadingDim();
        long to0 = to.offset() + (long) j * to.leadingDim();
        for (int k = 0; k < from.cols(); k++) {
            ts.setAtIndex(F, to0 + k, ts.getAtIndex(F, to0 + k) + fs.getAtIndex(F, fo + k));
        }
    }

    /** table[j] += after[i] - before[i]. */
    private static void addDelta(Tensor after, Tensor before, int i, Tensor table, int j) {
        MemorySegment as = after.segment();
        MemorySegment bs = before.segment();
        MemorySegment ts = table.segment();
        long ao = after.offset() + (long) i * after.leadingDim();
        long bo = before.offset() + (long) i * before.leadingDim();
        long to = table.offset() + (long) j * table.leadingDim();
        for (int k = 0; k < after.cols(); k++) {
            float delta = as.getAtIndex(F, ao + k) - bs.getAtIndex(F, bo + k);
            ts.setAtIndex(F, to + k, ts.getAtIndex(F, to + k) + delta);
        }
    }

    private static void zero(Tensor t) {
        for (int i = 0; i < t.rows(); i++) {
            t.segment().asSlice((t.offset() + (long) i * t.leadingDim()) * Float.BYTES, (long) t.cols() * Float.BYTES)
                    .fill((byte) 0);
        }
    }
}
