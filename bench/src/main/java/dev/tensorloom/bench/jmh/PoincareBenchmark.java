package dev.tensorloom.bench.jmh;

import dev.tensorloom.hyperbolic.PoincareKernels;
import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.BackendProvider;
import dev.tensorloom.runtime.kernel.Parallelism;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
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
 * The Poincaré family on the vector backend, against the references it is judged by in the same run.
 *
 * <p><b>All pairs.</b> {@code allPairsDistance} of points × points ({@code points} rows of {@code dim}) against the
 * dense family's fp32 GEMM of the same shape, [points, dim]·[dim, points] ({@code gemmSameShape}). Both add
 * 2·points²·dim/10⁹ to {@code gflop} per call ({@link GemmBenchmark.Flops}, the GEMM's count), so their GFLOP/s
 * compare directly: the distance is the GEMM plus one elementwise step, and the ratio is the share of GEMM speed it
 * keeps (the bar: at least half).
 *
 * <p><b>Elementwise.</b> Each row-wise operation over {@code rows} rows of {@code dim} (64 MiB per operand at the
 * default, far beyond the caches) adds the bytes its definition reads and writes per call, in 10⁹, to {@code gb}:
 * JMH reports GB/s, the convention of {@link MemoryCopyBenchmark}'s {@code gbReadWritten} (run it in the same
 * invocation: {@code ./tensorloom jmh 'PoincareBenchmark|MemoryCopyBenchmark'}). Temporaries an operation may
 * write internally are not counted: the figure is what a fused kernel has to move.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
    "-Xmx8g"})
public class PoincareBenchmark {

    static final float C = 1f;

    /** Points for all pairs, and the GEMM operands of the same shape. */
    @State(Scope.Benchmark)
    public static class Pairs {
        @Param({"4096"})
        public int points;

        @Param({"64"})
        public int dim;

        @Param({"2"})
        public int threads;

        Arena arena;
        Backend backend;
        PoincareKernels kernels;
        Tensor x;
        Tensor xT;
        Tensor out;

        @Setup
        public void setUp() {
            arena = Arena.ofShared();
            backend = BackendProvider.byName("vector", Parallelism.of(threads));
            kernels = PoincareKernels.FAMILY.on(backend);
            Random random = new Random(points);
            x = ballPoints(arena, random, points, dim);
            xT = Tensor.allocate(arena, dim, points);
            for (int i = 0; i < points; i++) {
                for (int k = 0; k < dim; k++) {
                    xT.set(x.get(i, k), k, i);
                }
            }
            out = Tensor.allocate(arena, points, points);
        }

        @TearDown
        public void free() {
            arena.close();
        }
    }

    /** Rows for the elementwise operations: two point operands and a tangent one, and the outputs. */
    @State(Scope.Benchmark)
    public static class Rows {
        @Param({"262144"})
        public int rows;

        @Param({"64"})
        public int dim;

        @Param({"2"})
        public int threads;

        Arena arena;
        PoincareKernels kernels;
        Tensor x;
        Tensor y;
        Tensor v;
        Tensor out;
        Tensor out2;
        Tensor perRow;

        @Setup
        public void setUp() {
            arena = Arena.ofShared();
            kernels = PoincareKernels.FAMILY.on(BackendProvider.byName("vector", Parallelism.of(threads)));
            Random random = new Random(rows);
            x = ballPoints(arena, random, rows, dim);
            y = ballPoints(arena, random, rows, dim);
            v = ballPoints(arena, random, rows, dim);
            out = Tensor.allocate(arena, rows, dim);
            out2 = Tensor.allocate(arena, rows, dim);
            perRow = Tensor.allocate(arena, rows);
        }

        @TearDown
        public void free() {
            arena.close();
        }

        /** 10⁹ bytes of `matrices` [rows, dim] operands plus `vectors` [rows] ones. */
        double gb(int matrices, int vectors) {
            return ((double) matrices * rows * dim + (double) vectors * rows) * Float.BYTES / 1e9;
        }
    }

    /** 10⁹ bytes read and written by the operation's definition. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Traffic {
        public double gb;

        @Setup(Level.Iteration)
        public void reset() {
            gb = 0;
        }
    }

    // ---- all pairs against the GEMM -------------------------------------------------------------------------

    @Benchmark
    public Tensor allPairsDistance(Pairs p, GemmBenchmark.Flops n) {
        p.kernels.allPairsDistance(C, p.x, p.x, p.out);
        n.count(p.out, p.x);
        return p.out;
    }

    @Benchmark
    public Tensor gemmSameShape(Pairs p, GemmBenchmark.Flops n) {
        p.backend.kernels().matmul(p.x, p.xT, p.out);
        n.count(p.out, p.x);
        return p.out;
    }

    // ---- elementwise: bytes read + written per call ----------------------------------------------------------

    @Benchmark
    public Tensor mobiusAdd(Rows r, Traffic n) {
        r.kernels.mobiusAdd(C, r.x, r.y, r.out);
        n.gb += r.gb(3, 0);
        return r.out;
    }

    @Benchmark
    public Tensor expmap(Rows r, Traffic n) {
        r.kernels.expmap(C, r.x, r.v, r.out);
        n.gb += r.gb(3, 0);
        return r.out;
    }

    @Benchmark
    public Tensor logmap(Rows r, Traffic n) {
        r.kernels.logmap(C, r.x, r.y, r.out);
        n.gb += r.gb(3, 0);
        return r.out;
    }

    @Benchmark
    public Tensor expmap0(Rows r, Traffic n) {
        r.kernels.expmap0(C, r.v, r.out);
        n.gb += r.gb(2, 0);
        return r.out;
    }

    @Benchmark
    public Tensor logmap0(Rows r, Traffic n) {
        r.kernels.logmap0(C, r.y, r.out);
        n.gb += r.gb(2, 0);
        return r.out;
    }

    @Benchmark
    public Tensor distance(Rows r, Traffic n) {
        r.kernels.distance(C, r.x, r.y, r.perRow);
        n.gb += r.gb(2, 1);
        return r.perRow;
    }

    @Benchmark
    public Tensor distance0(Rows r, Traffic n) {
        r.kernels.distance0(C, r.x, r.perRow);
        n.gb += r.gb(1, 1);
        return r.perRow;
    }

    @Benchmark
    public Tensor project(Rows r, Traffic n) {
        r.kernels.project(C, r.x, r.out);
        n.gb += r.gb(2, 0);
        return r.out;
    }

    @Benchmark
    public Tensor transport0(Rows r, Traffic n) {
        r.kernels.transport0(C, r.y, r.v, r.out);
        n.gb += r.gb(3, 0);
        return r.out;
    }

    @Benchmark
    public Tensor gyration(Rows r, Traffic n) {
        r.kernels.gyration(C, r.x, r.y, r.v, r.out);
        n.gb += r.gb(4, 0);
        return r.out;
    }

    @Benchmark
    public float distanceBackward(Rows r, Traffic n) {
        // Reads x, y and one upstream value per row; writes the two gradients.
        float dc = r.kernels.distanceBackward(C, r.x, r.y, r.perRow, r.out, r.out2);
        n.gb += r.gb(4, 1);
        return dc;
    }

    /** Rows uniform in direction with norms uniform in [0, 0.9): points well inside the unit ball. */
    static Tensor ballPoints(Arena arena, Random random, int rows, int dim) {
        float[] values = new float[rows * dim];
        for (int i = 0; i < rows; i++) {
            double n2 = 0;
            for (int k = 0; k < dim; k++) {
                double g = random.nextGaussian();
                values[i * dim + k] = (float) g;
                n2 += g * g;
            }
            double scale = random.nextDouble() * 0.9 / Math.sqrt(n2);
            for (int k = 0; k < dim; k++) {
                values[i * dim + k] *= (float) scale;
            }
        }
        return Tensor.of(arena, values, rows, dim);
    }
}
