package dev.tensorloom.bench.jmh;

import com.github.tjake.jlama.safetensors.DType;
import com.github.tjake.jlama.tensor.AbstractTensor;
import com.github.tjake.jlama.tensor.FloatBufferTensor;
import com.github.tjake.jlama.tensor.Q4ByteBufferTensor;
import com.github.tjake.jlama.tensor.operations.NativeSimdTensorOperations;
import com.github.tjake.jlama.tensor.operations.PanamaTensorOperations;
import com.github.tjake.jlama.tensor.operations.TensorOperations;
import com.github.tjake.jlama.util.MachineSpec;
import com.github.tjake.jlama.util.PhysicalCoreExecutor;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The peer of {@link QuantGemvBenchmark}: Jlama 0.8.4's Q4 matrix product (blocks of 32 4-bit weights with a float
 * scale, 5 bits per weight), size×size, cold weights rotated the same way, as Jlama's own model code runs a
 * linear layer: the input is quantized to Jlama's working type once per call, then {@code dotProductChunk} is
 * split over its thread pool as {@code VectorMath.pchunk} does, with the pool set to {@code threads}.
 *
 * <p>Paths: {@code native} is {@code NativeSimdTensorOperations} (jlama-native's C kernels through Panama, its
 * fastest CPU path); {@code panama} is {@code PanamaTensorOperations} (pure Java, the Vector API). Activation
 * {@code I8} is the input quantized to Jlama's Q8 blocks (what its models do for Q4 weights); {@code F32} keeps
 * it in float.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "-Xmx8g"})
@State(Scope.Benchmark)
public class JlamaGemvBenchmark {

    @Param({"native", "panama"})
    public String path;

    @Param({"I8", "F32"})
    public String activation;

    @Param({"1", "16"})
    public int batch;

    @Param({"4096"})
    public int size;

    @Param({"2"})
    public int threads;

    private TensorOperations ops;
    private Q4ByteBufferTensor[] matrices;
    private FloatBufferTensor x;
    private FloatBufferTensor y;
    private int next;

    @Setup
    public void setUp() {
        PhysicalCoreExecutor.overrideThreadCount(threads);
        ops = switch (path) {
            case "native" -> new NativeSimdTensorOperations();
            case "panama" -> new PanamaTensorOperations(MachineSpec.VECTOR_TYPE);
            default -> throw new IllegalArgumentException("path is native or panama, not " + path);
        };
        Random random = new Random(size);
        FloatBufferTensor w = new FloatBufferTensor(size, size); // [n, k]: Jlama stores one output per row
        long bytes = (long) size * size / 2 + (long) size * size / Q4ByteBufferTensor.BLOCK_SIZE * Float.BYTES;
        matrices = new Q4ByteBufferTensor[(int) Math.max(2, QuantGemvBenchmark.COLD_BYTES / bytes + 1)];
        for (int m = 0; m < matrices.length; m++) {
            fill(w, random);
            matrices[m] = new Q4ByteBufferTensor(w);
        }
        x = new FloatBufferTensor(batch, size);
        fill(x, random);
        y = new FloatBufferTensor(batch, size);
    }

    private static void fill(FloatBufferTensor t, Random random) {
        int rows = t.shape().dim(0);
        int cols = t.shape().dim(1);
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                t.set((float) random.nextGaussian(), r, c);
            }
        }
    }

    @Benchmark
    public FloatBufferTensor product() {
        Q4ByteBufferTensor w = matrices[next];
        next = next + 1 == matrices.length ? 0 : next + 1;
        if (activation.equals("F32")) {
            multiply(x, w);
        } else {
            try (AbstractTensor q = ops.quantize(x, DType.I8, 0, size)) {
                multiply(q, w);
            }
        }
        return y;
    }

    /** What Jlama's {@code VectorMath.pchunk} does, with {@code threads} chunks instead of its provider's count. */
    private void multiply(AbstractTensor input, Q4ByteBufferTensor w) {
        int chunk = size / threads;
        PhysicalCoreExecutor.instance.get().execute(() -> IntStream.range(0, threads).parallel().forEach(i ->
                ops.dotProductChunk(y, input, w, 0, size, i * chunk, i == threads - 1 ? size - i * chunk : chunk)));
    }
}
