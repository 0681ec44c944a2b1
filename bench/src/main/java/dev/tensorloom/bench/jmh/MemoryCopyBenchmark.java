package dev.tensorloom.bench.jmh;

import dev.tensorloom.runtime.kernel.Parallelism;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
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
 * The memory bandwidth reference for {@link GemvBenchmark}: {@link MemorySegment#copy} of a 256 MiB buffer
 * into another, split in {@code threads} equal parts run on the same kind of pool the kernels use.
 *
 * <p>Two counters, both in 10⁹ bytes per second: {@code gbRead} counts the bytes read (the buffer size, the
 * convention GEMV's {@code gbRead} uses, so their ratio is the fraction of copy speed GEMV reaches), and
 * {@code gbReadWritten} counts read plus written bytes (twice the buffer size, the STREAM Copy convention).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
@State(Scope.Benchmark)
public class MemoryCopyBenchmark {

    static final long BYTES = 256L << 20;

    @Param({"2"})
    public int threads;

    private Arena arena;
    private MemorySegment source;
    private MemorySegment target;
    private Parallelism parallelism;

    @Setup
    public void setUp() {
        arena = Arena.ofShared();
        source = arena.allocate(BYTES, 64);
        target = arena.allocate(BYTES, 64);
        // Touch every page of both buffers so that no page fault is timed.
        source.fill((byte) 1);
        target.fill((byte) 0);
        parallelism = Parallelism.of(threads);
    }

    @TearDown
    public void free() {
        arena.close();
    }

    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Traffic {
        public double gbRead;
        public double gbReadWritten;

        @Setup(Level.Iteration)
        public void reset() {
            gbRead = 0;
            gbReadWritten = 0;
        }
    }

    @Benchmark
    public MemorySegment copy(Traffic traffic) {
        long part = BYTES / threads;
        parallelism.forEach(threads, t -> {
            long from = t * part;
            long length = t == threads - 1 ? BYTES - from : part;
            MemorySegment.copy(source, from, target, from, length);
        });
        traffic.gbRead += BYTES / 1e9;
        traffic.gbReadWritten += 2 * BYTES / 1e9;
        return target;
    }
}
