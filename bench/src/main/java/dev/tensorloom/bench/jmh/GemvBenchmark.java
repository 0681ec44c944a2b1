package dev.tensorloom.bench.jmh;

import dev.tensorloom.runtime.kernel.BackendProvider;
import dev.tensorloom.runtime.kernel.Kernels;
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
 * y = A·x with A of size×size, memory bound. Each call takes the next of several matrices, together
 * {@value #WORKING_SET_BYTES} bytes, eight times the 32 MiB L3, so the weights come from DRAM as they would
 * in a model too large for cache. The {@code gbRead} counter adds the matrix's bytes (size²·4, the x and y
 * traffic is negligible) per call in units of 10⁹: JMH reports it as read bandwidth in GB/s, the same
 * convention as {@link MemoryCopyBenchmark}'s {@code gbRead}.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
@State(Scope.Benchmark)
public class GemvBenchmark {

    static final long WORKING_SET_BYTES = 256L << 20;

    @Param({"4096", "2048", "1024", "384"})
    public int size;

    @Param({"vector", "scalar"})
    public String backend;

    @Param({"2"})
    public int threads;

    private Arena arena;
    private Tensor[] matrices;
    private Tensor x;
    private Tensor y;
    private Kernels kernels;
    private int next;

    @Setup
    public void setUp() {
        arena = Arena.ofShared();
        Random random = new Random(size);
        long bytes = (long) size * size * Float.BYTES;
        matrices = new Tensor[(int) Math.max(2, WORKING_SET_BYTES / bytes)];
        float[] values = new float[size * size];
        for (int m = 0; m < matrices.length; m++) {
            for (int i = 0; i < values.length; i++) {
                values[i] = random.nextFloat() * 2 - 1;
            }
            matrices[m] = Tensor.of(arena, values, size, size);
        }
        float[] xs = new float[size];
        for (int i = 0; i < size; i++) {
            xs[i] = random.nextFloat();
        }
        x = Tensor.of(arena, xs, size);
        y = Tensor.allocate(arena, size);
        kernels = BackendProvider.byName(backend, Parallelism.of(threads)).kernels();
    }

    @TearDown
    public void free() {
        arena.close();
    }

    /** Matrix bytes read, in units of 10⁹; JMH divides by the iteration time. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Traffic {
        public double gbRead;

        @Setup(Level.Iteration)
        public void reset() {
            gbRead = 0;
        }
    }

    @Benchmark
    public Tensor gemv(Traffic traffic) {
        Tensor a = matrices[next];
        next = next + 1 == matrices.length ? 0 : next + 1;
        kernels.gemv(a, x, y);
        traffic.gbRead += a.size() * (double) Float.BYTES / 1e9;
        return y;
    }
}
