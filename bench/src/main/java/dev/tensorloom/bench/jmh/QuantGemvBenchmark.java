package dev.tensorloom.bench.jmh;

import dev.tensorloom.quant.GgmlQuantizer;
import dev.tensorloom.quant.GgmlType;
import dev.tensorloom.quant.GgmlWeights;
import dev.tensorloom.quant.GroupFormat;
import dev.tensorloom.quant.PackedWeights;
import dev.tensorloom.quant.QuantKernels;
import dev.tensorloom.quant.QuantizedWeights;
import dev.tensorloom.quant.Rtn;
import dev.tensorloom.runtime.kernel.BackendProvider;
import dev.tensorloom.runtime.kernel.Parallelism;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Random;
import java.util.concurrent.TimeUnit;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * c = a·W with W size×size in a low-bit format, on the quant family's kernels: batch 1 is the GEMV, batch 16 the
 * small GEMM. Time per product (average time), so the numbers line up with ggml's matmul bench
 * (../shared/anchors/ggml), whose cold cells this copies: the calls rotate over floor({@value #COLD_BYTES} / bytes)
 * + 1 distinct matrices, so the weights come from DRAM. That is the 256 MiB that {@link GemvBenchmark}'s fp32
 * matrices rotate over, and ggml's 4·L3 when told {@code --l3-mib 64}; 4·L3 of a 32 MiB Zen 5, 128 MiB, stays in
 * the cache of a 2-core Xeon whose 384×1536 GEMV ran in 80 µs over 72 MiB of copies and 180-200 µs over 256 MiB
 * (2026-12-01). The {@code gbRead} counter adds the packed matrix's bytes per call in units of 10⁹.
 *
 * <p>Formats: {@code intB-gG} is our group format at B bits with groups of G (symmetric, RTN); {@code q4_0},
 * {@code q8_0} are ggml's blocks written by our bit-exact quantizer; {@code q4_K} and {@code q6_K} are random but
 * valid ggml blocks (we have no K-quant quantizer; the kernel's speed does not depend on the values).
 *
 * <p>Five warmup iterations: the 16-bit integer GEMV (4- and 2-bit groups of 128) runs its first calls for
 * seconds in the interpreter and C1 before C2 compiles it (on the loaded machine, per call in the one-second
 * warmup iterations: 4-bit 4.2, 0.009, 0.003 s, then steady; 2-bit 4.4, 1.3, 1.1, 0.02 s), where two iterations
 * left the measurement still warming.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "-Xmx8g"})
@State(Scope.Benchmark)
public class QuantGemvBenchmark {

    static final long COLD_BYTES = GemvBenchmark.WORKING_SET_BYTES;

    @Param({"int4-g128", "int2-g128", "int3-g128", "int8-g128", "q4_0", "q8_0", "q4_K", "q6_K"})
    public String format;

    @Param({"1", "16"})
    public int batch;

    @Param({"4096"})
    public int size;

    @Param({"vector"})
    public String backend;

    @Param({"2"})
    public int threads;

    private Arena arena;
    private QuantizedWeights[] matrices;
    private QuantKernels kernels;
    private Tensor a;
    private Tensor c;
    private int next;

    @Setup
    public void setUp() {
        arena = Arena.ofShared();
        Random random = new Random(size);
        kernels = QuantKernels.FAMILY.on(BackendProvider.byName(backend, Parallelism.of(threads)));
        QuantizedWeights first = quantize(random);
        matrices = new QuantizedWeights[(int) Math.max(2, COLD_BYTES / first.bytes() + 1)];
        matrices[0] = first;
        for (int m = 1; m < matrices.length; m++) {
            matrices[m] = quantize(random);
        }
        a = Tensor.of(arena, randomValues(random, batch * size), batch, size);
        c = Tensor.allocate(arena, batch, size);
        if (batch == 1) { // the GEMV takes vectors
            a = a.row(0);
            c = c.row(0);
        }
    }

    @TearDown
    public void free() {
        arena.close();
    }

    private QuantizedWeights quantize(Random random) {
        return switch (format) {
            case "q4_0" -> GgmlQuantizer.quantize(randomMatrix(random), GgmlType.Q4_0);
            case "q8_0" -> GgmlQuantizer.quantize(randomMatrix(random), GgmlType.Q8_0);
            case "q4_K" -> randomBlocks(random, GgmlType.Q4_K, 0, 2);
            case "q6_K" -> randomBlocks(random, GgmlType.Q6_K, 208);
            default -> Rtn.quantize(randomMatrix(random), groupFormat(format));
        };
    }

    /** "int4-g128" as a symmetric group format. */
    static GroupFormat groupFormat(String name) {
        String[] parts = name.split("-g");
        return GroupFormat.symmetric(Integer.parseInt(parts[0].substring(3)), Integer.parseInt(parts[1]));
    }

    private Tensor randomMatrix(Random random) {
        return Tensor.of(Arena.ofAuto(), randomValues(random, size * size), size, size);
    }

    /** Random ggml blocks whose fp16 scales (at the given byte offsets of each block) are all 1/64. */
    private GgmlWeights randomBlocks(Random random, GgmlType type, int... scaleOffsets) {
        byte[] data = new byte[size * type.rowBytes(size)];
        random.nextBytes(data);
        for (int block = 0; block < data.length; block += type.blockBytes()) {
            for (int o : scaleOffsets) {
                data[block + o] = 0x00;
                data[block + o + 1] = 0x24; // fp16 0x2400 = 1/64
            }
        }
        return new GgmlWeights(type, size, size, data);
    }

    private static float[] randomValues(Random random, int count) {
        float[] values = new float[count];
        for (int i = 0; i < count; i++) {
            values[i] = (float) random.nextGaussian();
        }
        return values;
    }

    @Benchmark
    public Tensor product() {
        QuantizedWeights w = matrices[next];
        next = next + 1 == matrices.length ? 0 : next + 1;
        switch (w) {
            case PackedWeights packed when batch == 1 -> kernels.gemv(a, packed, c);
            case PackedWeights packed -> kernels.gemm(a, packed, c);
            case GgmlWeights blocks when batch == 1 -> kernels.gemv(a, blocks, c);
            case GgmlWeights blocks -> kernels.gemm(a, blocks, c);
        }
        return c;
    }
}
