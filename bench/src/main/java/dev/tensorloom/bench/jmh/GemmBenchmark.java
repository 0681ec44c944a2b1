package dev.tensorloom.bench.jmh;

import dev.tensorloom.runtime.kernel.BackendProvider;
import dev.tensorloom.runtime.kernel.Kernels;
import dev.tensorloom.runtime.kernel.Parallelism;
import dev.tensorloom.runtime.kernel.PreparedMatrix;
import dev.tensorloom.runtime.kernel.vector.Simd;
import dev.tensorloom.runtime.tensor.Tensor;
import dev.tensorloom.testkit.FloatAssertions;
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
 * Square c = a·b, n×n times n×n. Each call is 2n³ floating-point operations (n³ multiply-adds); the
 * {@code gflop} counter adds 2n³/10⁹ per call, so JMH reports it directly in GFLOP/s next to the calls
 * per second. The vector backend runs on {@code threads} kernel threads; the scalar oracle is single
 * threaded and only measured at the two small sizes, as it needs seconds per call beyond them.
 *
 * <p>{@code openblas} is the peer: OpenBLAS's cblas_sgemm on the same operands, sizes and thread count, in the
 * same run. Its setup checks one OpenBLAS product against the vector backend's, so a wrong call fails the run
 * instead of timing something else. bench/gemm-peers.sh runs both with AVX-512 and with AVX2 only.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
    "-Xmx8g"})
public class GemmBenchmark {

    /** Operands for one size, in a shared arena so the kernel threads may read them. */
    public abstract static class Operands {
        Arena arena;
        Tensor a;
        Tensor b;
        Tensor c;
        Kernels kernels;

        void allocate(int n, Kernels backend) {
            arena = Arena.ofShared();
            Random random = new Random(n);
            a = randomMatrix(arena, random, n);
            b = randomMatrix(arena, random, n);
            c = Tensor.allocate(arena, n, n);
            kernels = backend;
        }

        @TearDown
        public void free() {
            arena.close();
        }
    }

    @State(Scope.Benchmark)
    public static class VectorOperands extends Operands {
        @Param({"384", "1024", "2048", "4096"})
        public int size;

        @Param({"2"})
        public int threads;

        @Setup
        public void setUp() {
            allocate(size, BackendProvider.byName("vector", Parallelism.of(threads)).kernels());
            System.out.println("vector: species " + Simd.S + ", " + threads + " threads");
        }
    }

    /** The vector backend's operands, for OpenBLAS, which runs on {@code threads} threads of its own. */
    @State(Scope.Benchmark)
    public static class OpenBlasOperands extends VectorOperands {

        /** JMH calls the superclass's {@code @Setup}, which dispatches here. */
        @Override
        public void setUp() {
            super.setUp();
            OpenBlas.useThreads(threads);
            System.out.println("openblas: core " + OpenBlas.coreName() + ", " + threads + " threads");
            OpenBlas.sgemm(a, b, c);
            float[] ours = product(kernels, a, b);
            float[] bound = product(kernels, abs(a), abs(b));
            FloatAssertions.assertProductClose(ours, c.toArray(), bound, size);
        }

        private float[] product(Kernels kernels, Tensor x, Tensor y) {
            Tensor z = Tensor.allocate(arena, x.rows(), y.cols());
            kernels.matmul(x, y, z);
            return z.toArray();
        }

        private Tensor abs(Tensor x) {
            float[] values = x.toArray();
            for (int i = 0; i < values.length; i++) {
                values[i] = Math.abs(values[i]);
            }
            return Tensor.of(arena, values, x.rows(), x.cols());
        }
    }

    /**
     * The encoder's products: {@code shape} is m×k×n, a [m,k] times a weight [k,n] prepared once as a loaded layer
     * holds it (10 and 100 rows: a sentence at batch 1; 3200: batch 32 of ~100 tokens).
     */
    @State(Scope.Benchmark)
    public static class PreparedOperands {
        @Param({"10x384x1536", "100x384x1536", "3200x384x1536", "3200x1536x384", "3200x384x384"})
        public String shape;

        @Param({"2"})
        public int threads;

        /**
         * Prepared copies of the weight the calls take in turn: 1 keeps it warm in the caches; enough copies to
         * outgrow the last-level cache make every call read its weight from memory, as an encoder at batch 1 does
         * (its six layers' weights, 42 MiB for MiniLM, pass through the caches once a forward pass).
         */
        @Param({"1"})
        public int copies;

        Arena arena;
        Tensor a;
        Tensor c;
        Tensor[] weights;
        PreparedMatrix[] prepared;
        int next;

        @Setup
        public void setUp() {
            String[] dims = shape.split("x");
            int m = Integer.parseInt(dims[0]);
            int k = Integer.parseInt(dims[1]);
            int n = Integer.parseInt(dims[2]);
            arena = Arena.ofShared();
            Random random = new Random(m + k + n);
            a = randomMatrix(arena, random, m, k);
            c = Tensor.allocate(arena, m, n);
            Kernels kernels = BackendProvider.byName("vector", Parallelism.of(threads)).kernels();
            weights = new Tensor[copies];
            prepared = new PreparedMatrix[copies];
            for (int i = 0; i < copies; i++) {
                weights[i] = randomMatrix(arena, random, k, n);
                prepared[i] = kernels.prepare(weights[i]);
            }
        }

        /** The index of this call's weight: the copies in turn. */
        int nextCopy() {
            int i = next;
            next = (next + 1) % copies;
            return i;
        }

        @TearDown
        public void free() {
            arena.close();
        }
    }

    /** {@link PreparedOperands} for OpenBLAS: the same weights as they lie (row-major), on {@code threads} of its own. */
    @State(Scope.Benchmark)
    public static class OpenBlasPreparedOperands extends PreparedOperands {

        /** JMH calls the superclass's {@code @Setup}, which dispatches here. */
        @Override
        public void setUp() {
            super.setUp();
            OpenBlas.useThreads(threads);
        }
    }

    @State(Scope.Benchmark)
    public static class ScalarOperands extends Operands {
        @Param({"384", "1024"})
        public int scalarSize;

        @Setup
        public void setUp() {
            allocate(scalarSize, BackendProvider.byName("scalar").kernels());
        }
    }

    /** Floating-point operations done, in units of 10⁹; JMH divides by the iteration time. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Flops {
        public double gflop;

        @Setup(Level.Iteration)
        public void reset() {
            gflop = 0;
        }

        void count(Tensor c, Tensor a) {
            gflop += 2.0 * c.rows() * c.cols() * a.cols() / 1e9;
        }
    }

    @Benchmark
    public Tensor vector(VectorOperands o, Flops flops) {
        o.kernels.matmul(o.a, o.b, o.c);
        flops.count(o.c, o.a);
        return o.c;
    }

    @Benchmark
    public Tensor openblas(OpenBlasOperands o, Flops flops) {
        OpenBlas.sgemm(o.a, o.b, o.c);
        flops.count(o.c, o.a);
        return o.c;
    }

    @Benchmark
    public Tensor prepared(PreparedOperands o, Flops flops) {
        o.prepared[o.nextCopy()].multiply(o.a, o.c);
        flops.count(o.c, o.a);
        return o.c;
    }

    /** OpenBLAS on {@code prepared}'s shapes and weights (row-major, as a loaded layer holds them), in turn. */
    @Benchmark
    public Tensor openblasPrepared(OpenBlasPreparedOperands o, Flops flops) {
        OpenBlas.sgemm(o.a, o.weights[o.nextCopy()], o.c);
        flops.count(o.c, o.a);
        return o.c;
    }

    @Benchmark
    public Tensor scalar(ScalarOperands o, Flops flops) {
        o.kernels.matmul(o.a, o.b, o.c);
        flops.count(o.c, o.a);
        return o.c;
    }

    static Tensor randomMatrix(Arena arena, Random random, int n) {
        return randomMatrix(arena, random, n, n);
    }

    static Tensor randomMatrix(Arena arena, Random random, int rows, int cols) {
        float[] values = new float[rows * cols];
        for (int i = 0; i < values.length; i++) {
            values[i] = random.nextFloat() * 2 - 1;
        }
        return Tensor.of(arena, values, rows, cols);
    }
}
