package dev.tensorloom.bench.jmh;

import dev.tensorloom.mpo.Mpo;
import dev.tensorloom.mpo.MpoCost;
import dev.tensorloom.mpo.MpoCostModel;
import dev.tensorloom.mpo.MpoKernels;
import dev.tensorloom.mpo.MpoShape;
import dev.tensorloom.mpo.MpoSweep;
import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.BackendProvider;
import dev.tensorloom.runtime.kernel.Kernels;
import dev.tensorloom.runtime.kernel.Parallelism;
import dev.tensorloom.runtime.kernel.PreparedMatrix;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * x [batch, I]·W by an MPO on the vector backend against the dense fp32 product of the same shape, for a
 * 1536×384 and a 4096×4096 W at compression ratios 2× to 100× (issue 9's speed bars).
 *
 * <p>Each MPO has 4 cores ({@link MpoShape#of}) and every bond capped at the largest D whose parameters stay
 * within I·J / ratio (so the real ratio is at least the one asked; setup prints it); the cores are random, which
 * is all speed needs. Both sides are cold: {@code dense} and {@code direct} each take the next of several copies
 * per call, together {@value #WORKING_SET_BYTES} bytes on each side, eight times the 32 MiB L3, as in
 * {@link GemvBenchmark}; the copies hold the same values (only where they lie matters to the caches).
 *
 * <ul>
 *   <li>{@code dense}: the backend's GEMV over Wᵀ at batch 1, its GEMM over W above: the cached dense path.
 *   <li>{@code direct}: the direct product as an {@code MpoMatrix} runs it, prepared once per copy
 *       ({@link MpoKernels#prepareDirect}), W never formed, in the order of {@link MpoSweep#cheapestOrder}; setup
 *       prints the plan (on the vector backend each step's orientation, rows or transposed; compare with
 *       {@code -jvmArgsAppend -Dtensorloom.mpo.orientation=rows}).
 *   <li>{@code auto}: per call, the path the cost model picks, run as the two cells above run it. Its constants
 *       are measured ({@link MpoCostModel#measure}, with the direct rate of the point's own MPO) before the second
 *       iteration, so run at least one warm-up iteration; {@code -jvmArgsAppend -Dtensorloom.mpo.bandwidthGBps=...}
 *       and the other {@code tensorloom.mpo.*} properties give them instead. Setup prints them, the real ratio, the
 *       bonds, the chosen order, the pick and the model's crossover batch.
 *   <li>{@code toDense}: {@link MpoKernels#contractToDense}, the MPOs rotated the same way.
 *   <li>{@code stepGemm}: the direct product's steps as plain GEMMs on the same backend and threads, warm: for each
 *       step of the chosen order one [P·Q, r]·[r, s] product, so the same FLOPs in the same shapes as
 *       {@code direct}, with operands laid out as the GEMM wants them and no state to rearrange between steps:
 *       the rate a chain of products of these shapes reaches, the reference of issue 9's "direct at 50% of the
 *       GEMM" (the square {@code gemm} is the backend's best rate, beside it).
 *   <li>{@code gemm}: the backend's square GEMM, {@link GemmBenchmark}'s cell, the reference GFLOP/s.
 *   <li>{@code stepOpenblas} and {@code gemmOpenblas}: the same two through OpenBLAS's cblas_sgemm on as many
 *       threads: how near its square rate an established BLAS runs these step shapes (on a Zen 5 set
 *       {@code OPENBLAS_CORETYPE=SkylakeX}, as bench/gemm-peers.sh says why).
 * </ul>
 * Counters: {@code gflop} adds each call's FLOPs from the cost formulas ({@link MpoCost}: 2·batch·I·J dense,
 * the chosen order's steps direct, the chain of products to dense, 2·m·k·n for a GEMM) in units of 10⁹, so JMH
 * reports GFLOP/s; {@code gbRead} adds the weight bytes read (W, or the cores) in GB, reported as GB/s.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
// Four warm-up iterations: the calibration before the second runs other products and recompiles the kernels, and
// with two the first measured iteration of a direct cell after it ran at half speed (17.7 against 35.6-37.0 kops/s).
@Warmup(iterations = 4, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
    "-Xmx4g"})
public class MpoBenchmark {

    static final long WORKING_SET_BYTES = 256L << 20;

    /** One point of the curve: a shape, a compression ratio, a batch; both sides' rotating copies. */
    @State(Scope.Benchmark)
    public static class Curve {
        @Param({"1536x384", "4096x4096"})
        public String shape;

        @Param({"2", "5", "10", "20", "50", "100"})
        public int ratio;

        @Param({"1"})
        public int batch;

        @Param({"2"})
        public int threads;

        Arena arena;
        Backend backend;
        Kernels kernels;
        MpoKernels mpoKernels;
        MpoCostModel model;
        /** Wᵀ [J, I] for the GEMV at batch 1, W [I, J] for the GEMM above. */
        Tensor[] dense;
        Mpo[] mpos;
        /** The direct product of each copy, prepared as an {@code MpoMatrix} prepares it. */
        PreparedMatrix[] directs;
        Tensor x;
        Tensor xRow;
        Tensor y;
        Tensor yRow;
        Tensor w;
        int rows;
        int cols;
        long directFlops;
        long toDenseFlops;
        long mpoBytes;
        int nextDense;
        int nextMpo;
        int iteration;

        @Setup
        public void setUp() {
            String[] dims = shape.split("x");
            rows = Integer.parseInt(dims[0]);
            cols = Integer.parseInt(dims[1]);
            Backend backend = BackendProvider.byName("vector", Parallelism.of(threads));
            kernels = backend.kernels();
            mpoKernels = MpoKernels.FAMILY.on(backend);
            this.backend = backend;
            model = MpoCostModel.defaults().withProperties();
            arena = Arena.ofShared();
            Random random = new Random(rows * 31L + cols);

            long denseBytes = (long) rows * cols * Float.BYTES;
            dense = new Tensor[(int) Math.max(2, Math.ceilDiv(WORKING_SET_BYTES, denseBytes))];
            float[] values = uniform(random, rows * cols);
            for (int c = 0; c < dense.length; c++) {
                dense[c] = batch == 1 ? Tensor.of(arena, values, cols, rows) : Tensor.of(arena, values, rows, cols);
            }

            MpoShape mpoShape = MpoShape.of(rows, cols, 4);
            int[] bonds = bondsFor(mpoShape, (long) rows * cols / ratio);
            Tensor[] cores = new Tensor[mpoShape.cores()];
            for (int k = 0; k < cores.length; k++) {
                // Uniform on ±1/sqrt(d_k·i_k) keeps the product's entries of order one.
                float scale = (float) (1 / Math.sqrt((double) bonds[k] * mpoShape.rowFactor(k)));
                float[] core = uniform(random, (int) mpoShape.coreSize(bonds, k));
                for (int e = 0; e < core.length; e++) {
                    core[e] *= scale;
                }
                cores[k] = Tensor.of(arena, core, bonds[k], mpoShape.rowFactor(k), mpoShape.colFactor(k),
                        bonds[k + 1]);
            }
            Mpo first = new Mpo(mpoShape, bonds, cores);
            mpoBytes = first.bytes();
            mpos = new Mpo[(int) Math.max(2, Math.ceilDiv(WORKING_SET_BYTES, mpoBytes))];
            mpos[0] = first;
            for (int c = 1; c < mpos.length; c++) {
                Tensor[] copies = new Tensor[cores.length];
                for (int k = 0; k < cores.length; k++) {
                    copies[k] = Tensor.allocate(arena, cores[k].shape());
                    copies[k].copyFrom(cores[k]);
                }
                mpos[c] = new Mpo(mpoShape, bonds, copies);
            }
            directs = new PreparedMatrix[mpos.length];
            for (int c = 0; c < mpos.length; c++) {
                directs[c] = mpoKernels.prepareDirect(mpos[c]);
            }
            // The plan: each step's order and, on the vector backend, whether it runs as rows or transposed.
            System.out.printf("%n%s at %dx, batch %d: %s%n", shape, ratio, batch, directs[0]);
            directFlops = 2 * MpoCost.directMultiplyAdds(mpoShape, bonds, batch);
            toDenseFlops = 2 * MpoCost.toDenseMultiplyAdds(mpoShape, bonds);

            x = Tensor.of(arena, uniform(random, batch * rows), batch, rows);
            y = Tensor.allocate(arena, batch, cols);
            if (batch == 1) {
                xRow = x.reshape(rows);
                yRow = y.reshape(cols);
            }
            w = Tensor.allocate(arena, rows, cols);
        }

        /**
         * Before the second iteration, once the first has compiled the kernels: measures the cost model's
         * constants ({@link MpoCostModel#measure}) and this point's direct rate ({@link MpoCostModel#directRate}, as
         * {@code MpoMatrix.calibrate} does), each overridden by its {@code -Dtensorloom.mpo.*} property, for
         * {@code auto}, and prints them with the model's pick and crossover batch for this point. The first
         * iteration (a warm-up one) runs on {@link MpoCostModel#defaults}.
         */
        @Setup(Level.Iteration)
        public void calibrate() {
            if (iteration++ != 1) {
                return;
            }
            Mpo first = mpos[0];
            // As MpoMatrix#calibrate does: the backend's constants, with the direct rate of this point's MPO.
            model = MpoCostModel.measure(backend).withDirectRate(MpoCostModel.directRate(backend, first))
                    .withProperties();
            MpoCostModel.Choice choice = model.choose(first, batch);
            System.out.printf("%n%s: %s, bonds %s, %d parameters (%.1fx), order %s; %s picks %s at batch %d "
                    + "(direct %.1f µs, dense %.1f µs); model's crossover batch %d%n", shape, first.shape(),
                    Arrays.toString(first.bonds()), first.parameters(), (double) rows * cols / first.parameters(),
                    Arrays.toString(MpoSweep.cheapestOrder(first.shape(), first.bonds())), model, choice.path(),
                    batch, choice.directSeconds() * 1e6, choice.denseSeconds() * 1e6,
                    model.crossoverBatch(first, 4096));
        }

        @TearDown
        public void free() {
            arena.close();
        }

        Mpo nextMpo() {
            Mpo mpo = mpos[nextMpo];
            nextMpo = nextMpo + 1 == mpos.length ? 0 : nextMpo + 1;
            return mpo;
        }

        PreparedMatrix nextDirect() {
            PreparedMatrix direct = directs[nextMpo];
            nextMpo = nextMpo + 1 == mpos.length ? 0 : nextMpo + 1;
            return direct;
        }

        void dense(Counters counters) {
            Tensor a = dense[nextDense];
            nextDense = nextDense + 1 == dense.length ? 0 : nextDense + 1;
            if (batch == 1) {
                kernels.gemv(a, xRow, yRow);
            } else {
                kernels.matmul(x, a, y);
            }
            counters.gflop += 2.0 * batch * rows * cols / 1e9;
            counters.gbRead += (double) rows * cols * Float.BYTES / 1e9;
        }

        void direct(Counters counters) {
            nextDirect().multiply(x, y);
            counters.gflop += directFlops / 1e9;
            counters.gbRead += mpoBytes / 1e9;
        }
    }

    /** The largest bond cap whose MPO holds at most {@code budget} parameters (at least cap 1). */
    static int[] bondsFor(MpoShape shape, long budget) {
        int largest = Arrays.stream(shape.fullBonds()).max().orElse(1);
        int cap = 1;
        while (cap < largest && shape.parameters(shape.cappedBonds(cap + 1)) <= budget) {
            cap++;
        }
        return shape.cappedBonds(cap);
    }

    /** One product c = a·b. */
    @FunctionalInterface
    interface Product {
        void multiply(Tensor a, Tensor b, Tensor c);
    }

    /** Warm GEMMs a [m, k]·b [k, n], one after another. */
    abstract static class Gemm {
        Arena arena;
        Kernels kernels;
        /** The vector backend's GEMM, or OpenBLAS's after {@link #useOpenBlas}. */
        Product product;
        Tensor[] a;
        Tensor[] b;
        Tensor[] c;
        double gflop;

        /** Products of the shapes {m, k, n} of {@code shapes}, on the vector backend with {@code threads} threads. */
        void allocate(int threads, int[]... shapes) {
            kernels = BackendProvider.byName("vector", Parallelism.of(threads)).kernels();
            product = kernels::matmul;
            arena = Arena.ofShared();
            a = new Tensor[shapes.length];
            b = new Tensor[shapes.length];
            c = new Tensor[shapes.length];
            for (int g = 0; g < shapes.length; g++) {
                int m = shapes[g][0];
                int k = shapes[g][1];
                int n = shapes[g][2];
                Random random = new Random(m * 31L + n);
                a[g] = Tensor.of(arena, uniform(random, m * k), m, k);
                b[g] = Tensor.of(arena, uniform(random, k * n), k, n);
                c[g] = Tensor.allocate(arena, m, n);
                gflop += 2.0 * m * k * n / 1e9;
            }
        }

        /** From here on the products run through OpenBLAS's cblas_sgemm, on {@code threads} threads of its own. */
        void useOpenBlas(int threads) {
            OpenBlas.useThreads(threads);
            product = OpenBlas::sgemm;
        }

        @TearDown
        public void free() {
            arena.close();
        }
    }

    /** The GEMMs of the direct product's steps at one point of the curve: its FLOPs, in its shapes. */
    @State(Scope.Benchmark)
    public static class StepGemm extends Gemm {
        @Setup
        public void setUp(Curve curve) {
            List<MpoSweep.Step> steps = MpoSweep.of(curve.mpos[0], curve.batch);
            allocate(curve.threads, steps.stream().map(s -> new int[] {s.blocks() * s.q(), s.r(), s.s()})
                    .toArray(int[][]::new));
            if (Math.abs(gflop - curve.directFlops / 1e9) > 1e-12 * gflop) {
                throw new IllegalStateException("step GEMMs of " + gflop + " GFLOP for a direct product of "
                        + curve.directFlops / 1e9);
            }
        }
    }

    /** The backend's square GEMM, the reference rate. */
    @State(Scope.Benchmark)
    public static class SquareGemm extends Gemm {
        @Param({"1024"})
        public int gemmSize;

        @Param({"2"})
        public int gemmThreads;

        @Setup
        public void setUp() {
            allocate(gemmThreads, new int[] {gemmSize, gemmSize, gemmSize});
        }
    }

    /** {@link StepGemm} through OpenBLAS. */
    @State(Scope.Benchmark)
    public static class OpenBlasStepGemm extends StepGemm {

        /** JMH calls the superclass's {@code @Setup}, which dispatches here. */
        @Override
        public void setUp(Curve curve) {
            super.setUp(curve);
            useOpenBlas(curve.threads);
        }
    }

    /** {@link SquareGemm} through OpenBLAS. */
    @State(Scope.Benchmark)
    public static class OpenBlasSquareGemm extends SquareGemm {

        /** JMH calls the superclass's {@code @Setup}, which dispatches here. */
        @Override
        public void setUp() {
            super.setUp();
            useOpenBlas(gemmThreads);
        }
    }

    /** FLOPs and weight bytes, in units of 10⁹; JMH divides by the iteration time. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Counters {
        public double gflop;
        public double gbRead;

        @Setup(Level.Iteration)
        public void reset() {
            gflop = 0;
            gbRead = 0;
        }
    }

    @Benchmark
    public Tensor dense(Curve curve, Counters counters) {
        curve.dense(counters);
        return curve.y;
    }

    @Benchmark
    public Tensor direct(Curve curve, Counters counters) {
        curve.direct(counters);
        return curve.y;
    }

    @Benchmark
    public Tensor auto(Curve curve, Counters counters) {
        // Both sides rotate their own copies; the choice is made for the MPO the direct path would take next.
        if (curve.model.choose(curve.mpos[curve.nextMpo], curve.batch).path() == MpoCostModel.Path.DIRECT) {
            curve.direct(counters);
        } else {
            curve.dense(counters);
        }
        return curve.y;
    }

    @Benchmark
    public Tensor toDense(Curve curve, Counters counters) {
        Mpo mpo = curve.nextMpo();
        curve.mpoKernels.contractToDense(mpo, curve.w);
        counters.gflop += curve.toDenseFlops / 1e9;
        counters.gbRead += curve.mpoBytes / 1e9;
        return curve.w;
    }

    @Benchmark
    public Tensor stepGemm(StepGemm g, Counters counters) {
        return gemm(g, counters);
    }

    @Benchmark
    public Tensor gemm(SquareGemm g, Counters counters) {
        return gemm((Gemm) g, counters);
    }

    @Benchmark
    public Tensor stepOpenblas(OpenBlasStepGemm g, Counters counters) {
        return gemm(g, counters);
    }

    @Benchmark
    public Tensor gemmOpenblas(OpenBlasSquareGemm g, Counters counters) {
        return gemm((Gemm) g, counters);
    }

    private static Tensor gemm(Gemm g, Counters counters) {
        for (int i = 0; i < g.a.length; i++) {
            g.product.multiply(g.a[i], g.b[i], g.c[i]);
            counters.gbRead += g.b[i].size() * (double) Float.BYTES / 1e9;
        }
        counters.gflop += g.gflop;
        return g.c[g.c.length - 1];
    }

    static float[] uniform(Random random, int size) {
        float[] v = new float[size];
        for (int i = 0; i < size; i++) {
            v[i] = random.nextFloat() * 2 - 1;
        }
        return v;
    }
}
