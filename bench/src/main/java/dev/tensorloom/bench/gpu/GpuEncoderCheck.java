package dev.tensorloom.bench.gpu;

import dev.tensorloom.quant.GroupFormat;
import dev.tensorloom.quant.MatrixRecipe;
import dev.tensorloom.quant.ModelQuantizer;
import dev.tensorloom.quant.QuantPolicy;
import dev.tensorloom.quant.QuantizedBert;
import dev.tensorloom.runtime.bert.BertEncoder;
import dev.tensorloom.runtime.bert.BertOnnxLoader;
import dev.tensorloom.runtime.bert.BertWeights;
import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.BackendProvider;
import dev.tensorloom.runtime.kernel.MatrixPreparer;
import dev.tensorloom.runtime.onnx.OnnxModel;
import dev.tensorloom.runtime.tensor.Tensor;
import dev.tensorloom.runtime.tokenize.TokenBatch;
import dev.tensorloom.testkit.TinyBertOnnx;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.function.Function;

/**
 * End-to-end encoder throughput of the cuda backend against the vector backend on the same machine, run by
 * bench/gpu-check.sh on a GPU machine: {@code GpuEncoderCheck results.tsv [--cases 1x10,32x100]}.
 *
 * <p>The GPU machine receives no model files (the bundled all-MiniLM-L6-v2 is 90 MB, more than travels
 * there with the JDK), so the model here has MiniLM's exact architecture and sizes (6 layers, hidden 384,
 * 12 heads, intermediate 1536, vocabulary 30522) with seeded random weights, written as ONNX by the test
 * kit and read by the same loader. The work per token is MiniLM's; only the weights' values differ. Both
 * backends run the same batches, and the hidden states they return must agree within the cuda backend's
 * parity bar (max |Δ| ≤ 1e-3), else the check exits with status 1.
 *
 * <p>Each case runs twice: with the fp32 weights, and with every projection quantized to 4 bits in groups of
 * 128 by RTN (the quant family's products on both backends: the dequantizing GEMV and GEMM kernels on the
 * GPU). The two backends then share the same quantized weights, so the same parity bar holds.
 */
public final class GpuEncoderCheck {

    /** A batch shape: texts × tokens, all real tokens. */
    private record Case(int batch, int tokens) {
    }

    private static final String DEFAULT_CASES = "1x10,1x100,32x10,32x100,32x256";
    private static final long MIN_NANOS = 2_000_000_000L;
    private static final double MAX_ABS_DIFF = 1e-3;
    private static final int MIN_RUNS = 5;

    private GpuEncoderCheck() {
    }

    public static void main(String[] args) throws IOException {
        Path tsv = Path.of("gpu-encoder.tsv");
        String caseList = DEFAULT_CASES;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--cases") && i + 1 < args.length) {
                caseList = args[++i];
            } else {
                tsv = Path.of(args[i]);
            }
        }
        List<Case> cases = parseCases(caseList);
        boolean agree = true;
        TinyBertOnnx model = TinyBertOnnx.build(TinyBertOnnx.Spec.small().withSizes(30522, 384, 6, 12, 1536, 512, 2));
        List<String> rows = new ArrayList<>();
        rows.add("weights\tbatch\ttokens\tvector_ms\tcuda_ms\tvector_tokens_per_s\tcuda_tokens_per_s"
                + "\tcuda_over_vector\tmax_abs_diff");
        try (BertWeights weights = BertOnnxLoader.load(OnnxModel.read(model.bytes(), "MiniLM-shaped (random)"))) {
            Backend vector = BackendProvider.byName("vector");
            Backend cuda = BackendProvider.byName("cuda");
            System.out.println("vector: " + vector + "; cuda: " + cuda);
            agree &= compare("fp32", weights, vector, cuda, MatrixPreparer::dense, cases, rows);
            QuantizedBert int4 = ModelQuantizer.quantize(weights,
                    QuantPolicy.uniform(MatrixRecipe.rtn(GroupFormat.symmetric(4, 128))));
            agree &= compare("int4-g128", weights, vector, cuda, int4::preparer, cases, rows);
        }
        Files.write(tsv, rows);
        System.out.println("wrote " + tsv);
        if (!agree) {
            System.err.println("cuda and vector disagree by more than " + MAX_ABS_DIFF + " (see max|Δ|)");
            System.exit(1);
        }
    }

    /** Every case on both backends, each with its matrices from {@code preparer}; whether the two agree. */
    private static boolean compare(String label, BertWeights weights, Backend onVector, Backend onCuda,
            Function<Backend, MatrixPreparer> preparer, List<Case> cases, List<String> rows) {
        PrintStream out = System.out;
        boolean agree = true;
        try (BertEncoder vector = new BertEncoder(weights, onVector, preparer.apply(onVector));
                BertEncoder cuda = new BertEncoder(weights, onCuda, preparer.apply(onCuda))) {
            out.printf(Locale.ROOT, "%-10s %6s %6s %12s %12s %14s %14s %8s %10s%n", "weights", "batch", "tokens",
                    "vector ms", "cuda ms", "vector tok/s", "cuda tok/s", "ratio", "max|Δ|");
            for (Case c : cases) {
                TokenBatch batch = randomBatch(c, weights.config().vocabSize());
                double diff = maxAbsDiff(hidden(vector, batch), hidden(cuda, batch));
                agree &= diff <= MAX_ABS_DIFF;
                double vectorMs = medianMillis(vector, batch);
                double cudaMs = medianMillis(cuda, batch);
                double tokens = (double) c.batch() * c.tokens();
                rows.add(String.format(Locale.ROOT, "%s\t%d\t%d\t%.3f\t%.3f\t%.0f\t%.0f\t%.2f\t%.2e", label,
                        c.batch(), c.tokens(), vectorMs, cudaMs, tokens / vectorMs * 1e3, tokens / cudaMs * 1e3,
                        vectorMs / cudaMs, diff));
                out.printf(Locale.ROOT, "%-10s %6d %6d %12.3f %12.3f %14.0f %14.0f %7.2fx %10.2e%n", label, c.batch(),
                        c.tokens(), vectorMs, cudaMs, tokens / vectorMs * 1e3, tokens / cudaMs * 1e3,
                        vectorMs / cudaMs, diff);
            }
        }
        return agree;
    }

    /** "1x10,32x100": texts × tokens per case. */
    private static List<Case> parseCases(String spec) {
        List<Case> cases = new ArrayList<>();
        for (String c : spec.split(",")) {
            String[] parts = c.trim().split("x");
            if (parts.length != 2) {
                throw new IllegalArgumentException("case '" + c + "' is not TEXTSxTOKENS, e.g. 32x100");
            }
            cases.add(new Case(Integer.parseInt(parts[0]), Integer.parseInt(parts[1])));
        }
        return cases;
    }

    private static TokenBatch randomBatch(Case c, int vocab) {
        Random random = new Random(c.batch() * 1000L + c.tokens());
        int n = c.batch() * c.tokens();
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = i % c.tokens() == 0 ? 101 : random.nextInt(vocab);
        }
        float[] mask = new float[n];
        Arrays.fill(mask, 1f);
        int[] lengths = new int[c.batch()];
        Arrays.fill(lengths, c.tokens());
        return new TokenBatch(c.batch(), c.tokens(), ids, new int[n], mask, lengths);
    }

    private static float[] hidden(BertEncoder encoder, TokenBatch batch) {
        try (Arena arena = Arena.ofShared()) {
            Tensor states = encoder.forward(batch, arena);
            return states.toArray();
        }
    }

    /** Median wall time of one forward pass with the hidden states back on the host, after warm-up. */
    private static double medianMillis(BertEncoder encoder, TokenBatch batch) {
        for (int i = 0; i < 3; i++) {
            hidden(encoder, batch);
        }
        List<Long> times = new ArrayList<>();
        long start = System.nanoTime();
        while (times.size() < MIN_RUNS || System.nanoTime() - start < MIN_NANOS) {
            long t0 = System.nanoTime();
            try (Arena arena = Arena.ofShared()) {
                encoder.forward(batch, arena);
            }
            times.add(System.nanoTime() - t0);
        }
        times.sort(null);
        return times.get(times.size() / 2) / 1e6;
    }

    private static double maxAbsDiff(float[] a, float[] b) {
        double worst = 0;
        for (int i = 0; i < a.length; i++) {
            double d = Math.abs(a[i] - b[i]);
            worst = Double.isNaN(d) ? Double.POSITIVE_INFINITY : Math.max(worst, d);
        }
        return worst;
    }
}
