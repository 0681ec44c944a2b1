package dev.tensorloom.bench.cli;

import dev.tensorloom.bench.mpo.CompressionStudy;
import dev.tensorloom.bench.mpo.WhitenedCompression;
import dev.tensorloom.bench.report.ProgressBars;
import dev.tensorloom.mpo.Decomposition;
import dev.tensorloom.mpo.MpoFile;
import dev.tensorloom.mpo.MpoModel;
import dev.tensorloom.mpo.Truncation;
import dev.tensorloom.mpo.TtSvd;
import dev.tensorloom.runtime.bert.BertOnnxLoader;
import dev.tensorloom.runtime.bert.BertWeights;
import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.BackendProvider;
import dev.tensorloom.runtime.tensor.Tensor;
import dev.tensorloom.runtime.tokenize.HfTokenizer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code compress}: the projection matrices of a BERT-family model as MPOs, written with the rest of the model and
 * its tokenizer as one MPO model file that {@code embed --model FILE} runs.
 */
@Command(name = "compress", mixinStandardHelpOptions = true,
        description = "Decomposes the projection matrices of a model (TT-SVD) and writes them, with the rest of the"
                + " model and its tokenizer, as an MPO model file (docs/FORMATS.md) that embed --model FILE runs.")
final class CompressCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ModelOptions model = new ModelOptions();

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE", description = "the MPO file to write")
    Path output;

    @Option(names = "--cores", defaultValue = "3", description = "cores per matrix (default: ${DEFAULT-VALUE})")
    int cores;

    @Option(names = "--low-rank", description = "two cores of (I,1)x(1,J) instead: each matrix's truncated SVD, which"
            + " kept the FFN best at 2x in mpo-study")
    boolean lowRank;

    @Option(names = "--whiten", paramLabel = "N",
            description = "two cores like --low-rank, but each matrix's rank-r factor closest to W on the inputs it sees"
                    + " when the model embeds the first N WordNet glosses (the calibration slice); needs --ratio and"
                    + " the model's tokenizer. It kept MiniLM's FFN at 2x best in mpo-study")
    Integer whiten;

    @Option(names = "--only", split = ",", paramLabel = "TYPE",
            description = "compress only these projections: QKV, ATTENTION_OUTPUT, INTERMEDIATE, OUTPUT (default: all);"
                    + " the others are stored whole (one core)")
    Set<MpoModel.Projection> only;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Cut cut;

    static final class Cut {
        @Option(names = "--bond-cap", paramLabel = "D", description = "keep at most D singular values per bond")
        Integer bondCap;

        @Option(names = "--relative-error", paramLabel = "E",
                description = "keep the fewest singular values whose error bound stays within E·||W||")
        Double relativeError;

        @Option(names = "--ratio", paramLabel = "R",
                description = "keep at most 1/R of each matrix's parameters (bonds chosen by a parameter budget)")
        Double ratio;

        Truncation truncation() {
            if (bondCap != null) {
                return Truncation.bondCap(bondCap);
            }
            return relativeError != null ? Truncation.relativeError(relativeError) : Truncation.parameterRatio(ratio);
        }
    }

    @Override
    public Integer call() throws Exception {
        Truncation truncation = cut.truncation();
        Path onnx = model.model != null && Files.isRegularFile(model.model) ? model.model : model.files().onnx();
        byte[] tokenizer;
        try {
            tokenizer = Files.readAllBytes(model.files().tokenizer());
        } catch (IOException none) {
            System.err.println("no tokenizer.json beside " + onnx + ": the file holds none, so embed cannot run it");
            tokenizer = new byte[0];
        }
        if (whiten != null) {
            return whitened(onnx, tokenizer);
        }
        Map<String, Decomposition> decompositions = new ConcurrentHashMap<>();
        try (BertWeights weights = BertOnnxLoader.load(onnx);
                ProgressBar bar = ProgressBars.start("compress", 4L * weights.layers().size())) {
            Map<String, MpoFile.Matrix> projections = MpoModel.compress(weights, (name, w) -> {
                try {
                    if (!chosen(name)) {
                        return MpoModel.whole(name, w);
                    }
                    CompressionStudy.Factoring factoring = lowRank ? CompressionStudy.Factoring.lowRank()
                            : CompressionStudy.Factoring.even(cores);
                    Decomposition d = TtSvd.decompose(w, factoring.shape(w.rows(), w.cols()), truncation);
                    decompositions.put(name, d);
                    return MpoFile.Matrix.of(name, d);
                } finally {
                    bar.step();
                }
            });
            MpoModel.write(output, "source=" + onnx.getFileName() + "; cores=" + (lowRank ? "2 (low rank)" : cores)
                    + "; truncation=" + truncation
                    + "; only=" + (only == null ? "all" : only), weights, projections, tokenizer);
            double worst = 0;
            for (Decomposition d : decompositions.values()) {
                worst = Math.max(worst, d.relativeBound());
            }
            System.out.printf(Locale.ROOT, "%s, worst relative error bound %.4f; wrote %s%n",
                    summary(projections, decompositions.keySet()), worst, output);
        }
        return 0;
    }

    /** Whether {@code name} is one of the projections to compress. */
    private boolean chosen(String name) {
        return only == null || only.contains(MpoModel.Projection.of(name));
    }

    /** {@code --whiten N}: the chosen matrices as whitened low-rank factors at 1/R of their parameters. */
    private int whitened(Path onnx, byte[] tokenizerJson) throws IOException {
        if (cut.ratio == null) {
            throw new ParameterException(spec.commandLine(), "--whiten keeps 1/R of each matrix's parameters: give"
                    + " --ratio R instead of --bond-cap or --relative-error");
        }
        if (tokenizerJson.length == 0) {
            throw new ParameterException(spec.commandLine(), "--whiten embeds calibration text, which needs the"
                    + " model's tokenizer.json beside " + onnx);
        }
        List<String> calibration = CalibrationText.calibration(whiten);
        // The inputs are gathered in host memory: a CPU backend.
        Backend backend = model.backend(BackendProvider.vectorModuleReadable() ? "vector" : "scalar");
        try (BertWeights weights = BertOnnxLoader.load(onnx);
                HfTokenizer hf = HfTokenizer.open(new ByteArrayInputStream(tokenizerJson), onnx + " (its tokenizer)");
                Arena copies = Arena.ofShared();
                ProgressBar bar = ProgressBars.start("calibrating", calibration.size())) {
            Map<String, Tensor> matrices = MpoModel.encoderMatrices(weights, copies);
            Map<String, MpoFile.Matrix> factors = WhitenedCompression.factors(weights, backend, matrices,
                    this::chosen, cut.ratio, hf, calibration, false, text -> bar.step());
            Map<String, MpoFile.Matrix> projections = new LinkedHashMap<>();
            matrices.forEach((name, w) -> projections.put(name, factors.containsKey(name) ? factors.get(name)
                    : MpoModel.whole(name, w)));
            MpoModel.write(output, "source=" + onnx.getFileName() + "; cores=2 (low rank whitened by "
                    + calibration.size() + " calibration glosses); truncation=ratio " + cut.ratio
                    + "; only=" + (only == null ? "all" : only), weights, projections, tokenizerJson);
            System.out.printf(Locale.ROOT, "%s, whitened by %d calibration glosses; wrote %s%n",
                    summary(projections, factors.keySet()), calibration.size(), output);
        }
        return 0;
    }

    /** "K of N projections as MPOs, P → Q parameters (Rx fewer)", over the {@code compressed} ones. */
    private static String summary(Map<String, MpoFile.Matrix> projections, Set<String> compressed) {
        long dense = 0;
        long mpo = 0;
        for (String name : compressed) {
            MpoFile.Matrix m = projections.get(name);
            dense += (long) m.shape().rows() * m.shape().cols();
            mpo += m.shape().parameters(m.bonds());
        }
        return String.format(Locale.ROOT, "%d of %d projections as MPOs, %d → %d parameters (%.2fx fewer)",
                compressed.size(), projections.size(), dense, mpo, dense / (double) Math.max(1, mpo));
    }
}
