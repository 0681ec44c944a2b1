package dev.tensorloom.mpo.vector;

import static dev.tensorloom.runtime.kernel.vector.PanelGemm.PANEL_WIDTH;

import dev.tensorloom.mpo.Mpo;
import dev.tensorloom.mpo.MpoArguments;
import dev.tensorloom.mpo.MpoSweep;
import dev.tensorloom.mpo.vector.StepProduct.Orientation;
import dev.tensorloom.runtime.kernel.Parallelism;
import dev.tensorloom.runtime.kernel.PreparedMatrix;
import dev.tensorloom.runtime.kernel.Tasks;
import dev.tensorloom.runtime.kernel.vector.PanelGemm;
import dev.tensorloom.runtime.kernel.vector.Rows;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import java.util.stream.IntStream;

/**
 * The direct product x·W by one MPO on the vector backend, planned once: the order of {@link MpoSweep#cheapestOrder},
 * and for each step (a {@link StepProduct}) its core copied into the matrix [r, s] the step reads, and where each
 * element of its product goes in the next state. Every call after only multiplies and places results: at batch 1 on
 * a 1536×384 MPO the steps take microseconds, and rearranging the cores per call, then gathering the state's rows
 * and scattering the tiles as two passes, weighed as much as the products.
 *
 * <p>Each step has an {@link Orientation}: ROWS multiplies its rows [P·Q, r] by the core [r, s], lanes along the
 * core's columns, the core packed into the GEMM's panels once by the plan (a 1536×384 MPO at 10×, mostly ROWS steps,
 * then ran 143-152 µs a product against 190 with the core streamed from its rows, one thread, warm, 2-core Zen 4,
 * 2026-12-03); COLUMNS multiplies the core transposed by the state laid out [r][P·Q], lanes along the rows, for a
 * core too narrow to fill its panels (at 100× a 1536×384 MPO's cores are 36 columns wide, which as ROWS pads 44% of
 * the multiply-adds). Between two steps the state is kept in the layout the next step reads, not in the chain's order
 * [P][r][Q]: the tiles are written there directly. The plan orders each copied core's columns, and a COLUMNS step's
 * lanes, by where they land in the next layout, so that tiles go out in vector runs (a vector scatter where runs are
 * short), and picks the orientations of least padded work plus stores ({@link Layouts#cost}) over every choice;
 * {@code -Dtensorloom.mpo.orientation=rows|columns} forces one on every step, and {@link #toString} shows the plan.
 *
 * <p>Every step runs so, at any batch. Steps of more than 96 rows (P·Q) used to run on the backend's packed GEMM with
 * the state transposed around it; with the cores packed once, these steps ran 1.1-4x faster (2 threads, warm, 2-core
 * Zen 4, 2026-12-03, µs a product): a 1536×384 MPO at 10× with 4, 16 and 64 rows 433 / 1,766 / 7,720 against 1,595 /
 * 6,765 / 26,940, at 2× with 16 rows 6,634 against 26,495; 384×1536 at 20× with 8 rows 765 against 2,175; 4096×4096
 * at 10× with 1, 4 and 16 rows 13,696 / 49,319 / 209,634 against 19,662 / 62,366 / 233,658, at 100× with 1 and 4
 * rows 1,691 / 8,330 against 2,404 / 10,084.
 *
 * <p>The copies are of the cores' values when the plan is made: plan again after they change.
 */
final class DirectProduct implements PreparedMatrix {

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /**
     * A vector store of a tile's products (a run or a scatter) and a float gathered into a step's layout, counted in
     * multiply-adds when the plan weighs orientations: a scatter of 16 floats cost about 6 ns more than a vector
     * copy, a run of one float about as much, against 25 multiply-adds per ns in the kernel (loaded machine, one
     * thread); each store also writes its floats, so 48 rather than the difference alone.
     */
    private static final long STORE_MULTIPLY_ADDS = 48;
    /**
     * A transposed step's multiply-adds count 1/8 more: its b is the state on the heap and its a the core's columns,
     * and at 10× a 1536×384 MPO's middle step [96]·[256×140] transposed, with 10% fewer padded multiply-adds, left
     * the whole product 3-8% slower (loaded machine, best of windows, one and two threads), where at 100× the
     * transposed steps' 44% fewer made it 20-28% faster.
     */
    private static final long COLUMNS_SURCHARGE = 8;
    /** Steps up to which the plan tries every choice of orientations (2^n plans). */
    private static final int SEARCHED_STEPS = 8;
    /** Names the orientation every planned step takes ({@code rows} or {@code columns}) instead of the cheaper. */
    static final String ORIENTATION_PROPERTY = "tensorloom.mpo.orientation";

    /** Floats in a 64-byte cache line: {@link #fetch} reads one of each. */
    private static final int FLOATS_PER_LINE = 16;

    private final Mpo mpo;
    private final Parallelism parallelism;
    private final int[] order;
    /** Per step: its orientation. */
    private final Orientation[] orientations;
    /** For a {@link Orientation#ROWS} step: the core as read, [r, s], in the GEMM's panels. */
    private final float[][] packedCores;
    /** For a {@link Orientation#COLUMNS} step: the core transposed, [s, r], then a zero row. */
    private final float[][] transposedCores;
    /**
     * For a {@link Orientation#COLUMNS} step: the lane (place along [P·Q] in its layout [r][P·Q]) of each of its
     * rows (see {@link Layouts}).
     */
    private final int[][] laneOf;
    /** For each step: where its product goes when the next step follows in this call, and when not. */
    private final StepProduct.Target[] toNext;
    private final StepProduct.Target[] toChain;
    private final long bytes;
    /** What {@link #fetch} read, summed, so that the reads are not dropped as dead code. */
    private volatile float fetched;

    DirectProduct(Mpo mpo, Parallelism parallelism) {
        this(mpo, parallelism, -1);
    }

    /**
     * A plan that leaves out the step absorbing core {@code skipped} (-1 for none), for MPOs whose shared core's step
     * one other plan runs for them all ({@link SharedCoreDirect}).
     */
    DirectProduct(Mpo mpo, Parallelism parallelism, int skipped) {
        this(mpo, parallelism, skipped, forcedOrientation());
    }

    /** A plan whose steps all take {@code forced}, or the cheapest choice of orientations if null. */
    DirectProduct(Mpo mpo, Parallelism parallelism, int skipped, Orientation forced) {
        this(mpo, parallelism, skipped, forced, MpoSweep.cheapestOrder(mpo.shape(), mpo.bonds()));
    }

    /** A plan absorbing the cores in {@code order} (a permutation of the cores). */
    DirectProduct(Mpo mpo, Parallelism parallelism, int skipped, Orientation forced, int[] order) {
        this.mpo = mpo;
        this.parallelism = parallelism;
        this.order = order.clone();
        List<MpoSweep.Step> steps = MpoSweep.of(mpo.shape(), mpo.bonds(), 1, order);
        int n = steps.size();
        Layouts layouts = forced != null ? Layouts.of(steps, fixed(steps, forced)) : cheapestLayouts(steps);
        orientations = layouts.ways();
        laneOf = layouts.laneOf();
        toNext = layouts.toNext();
        toChain = layouts.toChain();
        packedCores = new float[n][];
        transposedCores = new float[n][];
        long copied = 0;
        for (int t = 0; t < n; t++) {
            MpoSweep.Step step = steps.get(t);
            if (step.core() == skipped) {
                continue;
            }
            float[] matrix = coreAsRead(mpo.core(step.core()), step, layouts.columns()[t]);
            if (orientations[t] == Orientation.ROWS) {
                packedCores[t] = PanelGemm.packPanels(matrix, step.r(), step.s());
                copied += packedCores[t].length;
            } else {
                transposedCores[t] = transposedWithZeroRow(matrix, step.r(), step.s());
                copied += transposedCores[t].length;
            }
        }
        this.bytes = copied * Float.BYTES;
    }

    /** {@code way} for every step. */
    private static Orientation[] fixed(List<MpoSweep.Step> steps, Orientation way) {
        Orientation[] ways = new Orientation[steps.size()];
        Arrays.fill(ways, way);
        return ways;
    }

    /**
     * The choice of orientations of least {@link Layouts#cost}, over every choice for up to
     * {@value #SEARCHED_STEPS} steps (each step's runs depend on the next step's layout, so the steps are
     * not chosen one by one); with more, each step its fewer padded multiply-adds.
     */
    private static Layouts cheapestLayouts(List<MpoSweep.Step> steps) {
        int n = steps.size();
        if (n > SEARCHED_STEPS) {
            Orientation[] ways = fixed(steps, Orientation.ROWS);
            for (int t = 0; t < n; t++) {
                MpoSweep.Step step = steps.get(t);
                if (Orientation.COLUMNS.paddedMultiplyAdds(step) < Orientation.ROWS.paddedMultiplyAdds(step)) {
                    ways[t] = Orientation.COLUMNS;
                }
            }
            return Layouts.of(steps, ways);
        }
        Layouts best = null;
        long bestCost = Long.MAX_VALUE;
        // Mask 0 (every step ROWS) first: a tie keeps rows.
        for (int mask = 0; mask < 1 << n; mask++) {
            Orientation[] ways = fixed(steps, Orientation.ROWS);
            for (int t = 0; t < n; t++) {
                if ((mask >> t & 1) != 0) {
                    ways[t] = Orientation.COLUMNS;
                }
            }
            Layouts layouts = Layouts.of(steps, ways);
            long cost = layouts.cost(steps);
            if (cost < bestCost) {
                best = layouts;
                bestCost = cost;
            }
        }
        return best;
    }

    /**
     * For one choice of orientations (one per step): the order of each
     * COLUMNS step's lanes ({@code laneOf} the lane of each row, {@code rowAt} the row at each lane), each step's
     * columns in the order its core is copied, and where its products go ({@link StepProduct.Target}), into the next
     * step's layout or into the chain's order.
     */
    private record Layouts(Orientation[] ways, int[][] laneOf, int[][] rowAt, int[][] columns,
            StepProduct.Target[] toNext, StepProduct.Target[] toChain) {

        /**
         * Laid out from the last step back, so that each step's layout is known when the step before writes into it:
         * a COLUMNS step's lanes and any step's columns are ordered by where they go in the next layout (or the
         * chain's order), so that its tiles go out in runs as long as the two layouts allow.
         */
        static Layouts of(List<MpoSweep.Step> steps, Orientation[] ways) {
            int n = steps.size();
            Layouts l = new Layouts(ways, new int[n][], new int[n][], new int[n][], new StepProduct.Target[n],
                    new StepProduct.Target[n]);
            for (int t = n - 1; t >= 0; t--) {
                MpoSweep.Step step = steps.get(t);
                MpoSweep.Step next = t + 1 < n ? steps.get(t + 1) : null;
                int[] nextLanes = next == null ? null : l.laneOf[t + 1];
                int[] natural = chainRowDest(step);
                int[] chainRows = natural;
                if (ways[t] == Orientation.COLUMNS) {
                    int[] firstDest = Arrays.stream(natural)
                            .map(e -> next == null ? e : layoutIndex(next, nextLanes, e)).toArray();
                    l.rowAt[t] = IntStream.range(0, natural.length).boxed()
                            .sorted(Comparator.comparingInt(row -> firstDest[row])).mapToInt(Integer::intValue)
                            .toArray();
                    l.laneOf[t] = new int[natural.length];
                    for (int lane = 0; lane < natural.length; lane++) {
                        l.laneOf[t][l.rowAt[t][lane]] = lane;
                    }
                    chainRows = Arrays.stream(l.rowAt[t]).map(row -> natural[row]).toArray();
                }
                int[] chainCols = IntStream.range(0, step.s()).map(c -> c * step.q()).toArray();
                int[] columns = IntStream.range(0, step.s()).boxed()
                        .sorted(Comparator.comparingInt(
                                c -> next == null ? c : layoutIndex(next, nextLanes, chainCols[c])))
                        .mapToInt(Integer::intValue).toArray();
                l.columns[t] = columns;
                int perBatch = step.outputSize();
                l.toChain[t] = new StepProduct.Target(chainRows, perBatch,
                        Arrays.stream(columns).map(c -> chainCols[c]).toArray());
                if (next != null) {
                    l.toNext[t] = new StepProduct.Target(
                            Arrays.stream(chainRows).map(e -> layoutIndex(next, nextLanes, e)).toArray(), perBatch,
                            Arrays.stream(columns).map(c -> layoutIndex(next, nextLanes, chainCols[c])).toArray());
                }
            }
            return l;
        }

        /**
         * The batch-1 work of the steps in multiply-adds: the whole tiles multiplied
         * ({@link Orientation#paddedMultiplyAdds}, a COLUMNS step's an eighth more, {@link #COLUMNS_SURCHARGE}), and
         * {@value #STORE_MULTIPLY_ADDS} for each vector store that places their products ({@link StepProduct#stores})
         * and for each float gathered into the first step's layout from the chain's order (a ROWS step with Q = 1
         * only copies).
         */
        long cost(List<MpoSweep.Step> steps) {
            long cost = 0;
            for (int t = 0; t < ways.length; t++) {
                MpoSweep.Step step = steps.get(t);
                StepProduct.Target target = t + 1 < ways.length ? toNext[t] : toChain[t];
                long stores = ways[t] == Orientation.ROWS
                        ? (long) target.rowDest().length * StepProduct.stores(target.colRuns())
                        : (long) target.colDest().length * StepProduct.stores(target.rowRuns());
                boolean gathers = t == 0 && !(ways[t] == Orientation.ROWS && step.q() == 1);
                long gathered = gathers ? (long) step.blocks() * step.r() * step.q() : 0;
                long padded = ways[t].paddedMultiplyAdds(step);
                if (ways[t] == Orientation.COLUMNS) {
                    padded += padded / COLUMNS_SURCHARGE;
                }
                cost += padded + STORE_MULTIPLY_ADDS * (stores + gathered);
            }
            return cost;
        }
    }

    static Orientation forcedOrientation() {
        String name = System.getProperty(ORIENTATION_PROPERTY);
        if (name == null || name.isBlank()) {
            return null;
        }
        return switch (name.strip()) {
            case "rows" -> Orientation.ROWS;
            case "columns" -> Orientation.COLUMNS;
            default -> throw new IllegalArgumentException("-D" + ORIENTATION_PROPERTY + "=" + name
                    + ": expected rows or columns");
        };
    }

    /**
     * Lets {@code plans} (of MPOs with the same cores but one) hold one copy of each core they copied alike, and
     * returns the bytes of the copies they hold between them.
     */
    static long shareCopies(DirectProduct[] plans) {
        long bytes = 0;
        for (int p = 0; p < plans.length; p++) {
            for (int t = 0; t < plans[p].order.length; t++) {
                bytes += share(plans, p, t, plan -> plan.packedCores)
                        + share(plans, p, t, plan -> plan.transposedCores);
            }
        }
        return bytes;
    }

    /** Plan p's copy at step t in {@code copies}: the same array as an earlier plan's equal one, else its bytes. */
    private static long share(DirectProduct[] plans, int p, int t, Function<DirectProduct, float[][]> copies) {
        float[] mine = copies.apply(plans[p])[t];
        if (mine == null) {
            return 0;
        }
        for (int q = 0; q < p; q++) {
            float[] theirs = copies.apply(plans[q])[t];
            if (Arrays.equals(mine, theirs)) {
                copies.apply(plans[p])[t] = theirs;
                return 0;
            }
        }
        return (long) mine.length * Float.BYTES;
    }

    /** The orientation of step t of the sweep. */
    Orientation orientation(int t) {
        return orientations[t];
    }

    @Override
    public int rows() {
        return mpo.rows();
    }

    @Override
    public int cols() {
        return mpo.cols();
    }

    /** The copied cores, as the steps read them. */
    @Override
    public long bytes() {
        return bytes;
    }

    @Override
    public void multiply(Tensor x, Tensor y) {
        MpoArguments.multiply(mpo, x, y);
        int m = x.rows();
        if (m == 0) {
            return;
        }
        writeRows(run(Scratch.of().input(x), m, 0, order.length), y);
    }

    /** y's rows from {@code values}, [y's rows, y's columns] row-major. */
    static void writeRows(float[] values, Tensor y) {
        int cols = y.cols();
        MemorySegment ys = y.segment();
        for (int b = 0; b < y.rows(); b++) {
            MemorySegment.copy(values, b * cols, ys, F, Rows.byteOffset(y, b), cols);
        }
    }

    /** The position in the sweep of the step that absorbs core k. */
    int stepOf(int k) {
        for (int t = 0; t < order.length; t++) {
            if (order[t] == k) {
                return t;
            }
        }
        throw new IllegalArgumentException("core " + k + " of " + mpo);
    }

    /** Floats of the state, per row of the batch, after steps [0, t). */
    int stateSize(int t) {
        return t == 0 ? mpo.rows() : MpoSweep.of(mpo.shape(), mpo.bonds(), 1, order).get(t - 1).outputSize();
    }

    /**
     * Steps [from, to) of the sweep for m rows: {@code in} holds the state after step from - 1 in the chain's order
     * (x itself for step 0), and the state after step to - 1, in the chain's order, is returned in an array of this
     * thread's scratch, valid until its next call. {@code in} is only read.
     */
    float[] run(float[] in, int m, int from, int to) {
        if (from == to) {
            return in;
        }
        List<MpoSweep.Step> steps = MpoSweep.of(mpo.shape(), mpo.bonds(), m, order);
        int stateFloats = m * Math.max(mpo.rows(), mpo.cols());
        for (MpoSweep.Step step : steps) {
            stateFloats = Math.max(stateFloats, Math.max(step.blocks() * step.r() * step.q(), step.outputSize()));
            stateFloats = Math.max(stateFloats, (step.blocks() * step.q() + 1) * step.r());
        }
        // Spare floats after the last: a masked load of a last panel (a COLUMNS step reads the state in panels) or
        // a masked store of a run never reaches past the array.
        int floats = stateFloats + PANEL_WIDTH;
        // The states (two, in turn) and the rows of a step gathered from the chain's order, from this thread's
        // scratch: kernel threads may touch it (heap arrays and an automatic arena), and nothing is allocated (or
        // zeroed) per call.
        Scratch scratch = Scratch.of();
        float[] first = scratch.floats(Scratch.STATE, floats);
        float[] second = scratch.floats(Scratch.NEXT, floats);
        float[] state = in;
        boolean fetching = parallelism.threads() > 1;
        for (int t = from; t < to; t++) {
            float[] next = state == first ? second : first;
            MpoSweep.Step step = steps.get(t);
            Tasks tasks = Tasks.forMultiplyAdds(parallelism, step.multiplyAdds());
            if (fetching && !tasks.parallel() && t + 1 < to) {
                // The first step that runs on this thread alone: the pool's idle thread meanwhile reads the later
                // steps' cores, so that they wait in cache rather than in memory when their turn comes.
                fetching = false;
                int at = t;
                float[] current = state;
                parallelism.forEach(2, task -> {
                    if (task == 0) {
                        absorb(step, at, at == from, at + 1 < to, m, floats, scratch, current, next, tasks);
                    } else {
                        fetch(at + 1, to);
                    }
                });
            } else {
                absorb(step, t, t == from, t + 1 < to, m, floats, scratch, state, next, tasks);
            }
            state = next;
        }
        return state;
    }

    /**
     * Step t of the sweep for m rows, absorbing its core: from {@code state} (in the chain's order when it is the
     * call's first step, else as the step reads it) into {@code next}, in the layout of step t + 1 when that one
     * follows in this call, else in the chain's order. Arrays of {@code floats} floats come from the caller's
     * {@code scratch}.
     */
    private void absorb(MpoSweep.Step step, int t, boolean callsFirst, boolean nextFollows, int m, int floats,
            Scratch scratch, float[] state, float[] next, Tasks tasks) {
        int p = step.blocks();
        int q = step.q();
        int r = step.r();
        int s = step.s();
        // After this call's first step the state lies as the step reads it: the step before wrote it so.
        boolean stateInLayout = !callsFirst;
        // The core as planned (in panels, or transposed); the tiles written where the next step reads them.
        StepProduct.Target target = nextFollows ? toNext[t] : toChain[t];
        if (orientations[t] == Orientation.ROWS) {
            int rows = p * q;
            float[] rowsA;
            if (stateInLayout) {
                rowsA = state;
                Arrays.fill(rowsA, rows * r, (rows + 1) * r, 0f);
            } else {
                rowsA = scratch.floats(Scratch.ROWS, floats);
                StepProduct.gatherRows(state, p, r, q, rowsA);
            }
            StepProduct.multiply(rowsA, rows, r, packedCores[t], s, target, next, tasks);
        } else {
            float[] columns = state;
            if (!stateInLayout) {
                columns = scratch.floats(Scratch.ROWS, floats);
                StepProduct.gatherColumns(state, m, p / m, r, q, laneOf[t], columns);
            }
            // The kernel loads the state as its b, from a segment: a native one (see Scratch#staged).
            MemorySegment staged = scratch.staged(columns, p * q * r + PANEL_WIDTH);
            StepProduct.multiplyColumns(staged, m, p / m * q, r, transposedCores[t], s, target, next, tasks);
        }
    }

    /**
     * Reads one float of every cache line of the cores of steps [from, to): they come from memory while the thread
     * that calls this has nothing else to do, instead of when their steps stall on them. A 1536×384 MPO at 10×
     * rotated over 1,000 copies (cold), 2 threads, four windows of 4 s alternating builds: best 88-97 against
     * 95-105 µs a product, medians 99-109 against 113-171; at 50× and 100×, and 4096×4096 at 100×, no clear change
     * either way; warm, the same 83-84 (2-core Zen 4, 2026-12-03).
     */
    private void fetch(int from, int to) {
        float sum = 0;
        for (int t = from; t < to; t++) {
            float[] core = packedCores[t] != null ? packedCores[t] : transposedCores[t];
            if (core != null) {
                for (int e = 0; e < core.length; e += FLOATS_PER_LINE) {
                    sum += core[e];
                }
            }
        }
        fetched = sum;
    }

    /** The copied cores are the plan's own. */
    @Override
    public boolean readsSource() {
        return false;
    }

    @Override
    public String toString() {
        List<MpoSweep.Step> steps = MpoSweep.of(mpo.shape(), mpo.bonds(), 1, order);
        StringBuilder plan = new StringBuilder("DirectProduct[").append(mpo).append(", steps");
        for (int t = 0; t < order.length; t++) {
            MpoSweep.Step step = steps.get(t);
            plan.append(t == 0 ? " " : ", ").append("core ").append(order[t]).append(' ')
                    .append(orientations[t].name().toLowerCase(Locale.ROOT))
                    .append(" [").append(step.blocks() * step.q()).append('x').append(step.r()).append("]·[")
                    .append(step.r()).append('x').append(step.s()).append(']');
        }
        return plan.append(']').toString();
    }

    /** For one batch row, where row (p, q) of the step's product starts in the chain's order [P][s][Q]. */
    private static int[] chainRowDest(MpoSweep.Step step) {
        int q = step.q();
        int[] dest = new int[step.blocks() * q];
        for (int row = 0; row < dest.length; row++) {
            dest[row] = row / q * step.s() * q + row % q;
        }
        return dest;
    }

    /**
     * Where the float at {@code chain} of one batch row's state in the chain's order [P][r][Q] lies in the layout a
     * step reads it in: its rows [P·Q, r] for {@link Orientation#ROWS} ({@code lanes} null), [r][P·Q] with row
     * p·Q + q at lane {@code lanes[p·Q + q]} for {@link Orientation#COLUMNS}.
     */
    private static int layoutIndex(MpoSweep.Step step, int[] lanes, int chain) {
        int r = step.r();
        int q = step.q();
        int p = chain / (r * q);
        int k = chain / q % r;
        int row = p * q + chain % q;
        return lanes == null ? row * r + k : k * lanes.length + lanes[row];
    }

    /** The step's matrix [r, s] of core k with its columns in {@code columns}' order. */
    private static float[] coreAsRead(Tensor core, MpoSweep.Step step, int[] columns) {
        int r = step.r();
        int s = step.s();
        float[] from = new float[r * s];
        MemorySegment.copy(core.segment(), F, Rows.start(core), from, 0, r * s);
        float[] into = new float[r * s];
        for (int row = 0; row < r; row++) {
            for (int c = 0; c < s; c++) {
                into[row * s + c] = from[step.coreIndex(row, columns[c])];
            }
        }
        return into;
    }

    /** A {@link Orientation#COLUMNS} step's a operand: the matrix [r, s] transposed to [s, r], then one zero row. */
    private static float[] transposedWithZeroRow(float[] matrix, int r, int s) {
        float[] transposed = new float[(s + 1) * r];
        for (int row = 0; row < r; row++) {
            for (int c = 0; c < s; c++) {
                transposed[c * r + row] = matrix[row * s + c];
            }
        }
        return transposed;
    }

    /** A thread's reusable arrays, each grown when a call needs more; freed with the thread. */
    static final class Scratch {
        static final int STATE = 0;
        static final int NEXT = 1;
        static final int ROWS = 2;
        /** The input of a product, read by {@link #run}. */
        static final int INPUT = 3;
        /** Two more, for a caller of {@link #run} that keeps states between its calls. */
        static final int KEPT = 4;
        static final int KEPT_TOO = 5;
        /** A product's columns gathered for the caller that writes them out ({@link ColumnParts}). */
        static final int OUTPUT = 6;
        private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

        private final float[][] floats = new float[7][0];
        /** A COLUMNS step's state on its way into the kernel (see {@link #staged}). */
        private MemorySegment staging = MemorySegment.NULL;

        /** This thread's. */
        static Scratch of() {
            return SCRATCH.get();
        }

        /** x's rows, copied into the array in {@link #INPUT}: what {@link #run} reads for step 0. */
        float[] input(Tensor x) {
            int cols = x.cols();
            float[] in = floats(INPUT, x.rows() * cols);
            MemorySegment xs = x.segment();
            for (int b = 0; b < x.rows(); b++) {
                MemorySegment.copy(xs, F, Rows.byteOffset(x, b), in, b * cols, cols);
            }
            return in;
        }

        /** The array in {@code slot} (one of the float constants), at least {@code size} long. */
        float[] floats(int slot, int size) {
            if (floats[slot].length < size) {
                floats[slot] = new float[Math.max(size, 2 * floats[slot].length)];
            }
            return floats[slot];
        }

        /**
         * {@code values}[0, floats) copied into this thread's native segment, grown when a call needs more: what the
         * kernel reads, while the states themselves are heap arrays.
         *
         * <p>No heap segment reaches a vector kernel. The Vector API's loads and stores from a segment share one type
         * profile per JDK method across the whole process, so once any of them has seen a heap segment, every kernel
         * in the process reads native memory through code compiled for both kinds: a 4096×4096 GEMV (2 threads,
         * 2-core Zen 5, 2026-12-01) took 1.5-2.0 ms instead of 0.9-1.0 after the direct product had run its GEMMs
         * on heap-wrapped states, and the dense side of the MPO benchmark ran at half its speed.
         */
        MemorySegment staged(float[] values, int floats) {
            long bytes = (long) floats * Float.BYTES;
            if (staging.byteSize() < bytes) {
                staging = Arena.ofAuto().allocate(Math.max(bytes, 2 * staging.byteSize()), 64);
            }
            MemorySegment.copy(values, 0, staging, F, 0, floats);
            return staging;
        }
    }
}
