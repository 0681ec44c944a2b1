package dev.tensorloom.bench.cli;

import dev.tensorloom.bench.mpo.CompressionStudy;
import dev.tensorloom.bench.report.ProgressBars;
import dev.tensorloom.mpo.Decomposition;
import dev.tensorloom.mpo.MpoFile;
import dev.tensorloom.mpo.MpoModel;
import dev.tensorloom.mpo.Truncation;
import dev.tensorloom.mpo.TtSvd;
import dev.tensorloom.runtime.bert.BertOnnxLoader;
import dev.tensorloom.runtime.bert.BertWeights;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code compress}: the projection matrices of a BERT-family model as MPOs, written with the rest of the model and
 * its tokenizer as one MPO model file that {@code embed --model FILE} runs.
 */
@Command(name = "compress", mixinStandardHelpOptions = true,
        description = "Decomposes the projection matrices of a model (TT-SVD) and writes them, with the rest of the"
                + " model and its tokenizer, as an MPO model file (docs/FORMATS.md) that embed --model FILE runs.")
final class CompressCommand implements Callable<Integer> {

    @Mixin
    ModelOptions model = new ModelOptions();

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE", description = "the MPO file to write")
    Path output;

    @Option(names = "--cores", defaultValue = "3", description = "cores per matrix (default: ${DEFAULT-VALUE})")
    int cores;

    @Option(names = "--low-rank", description = "two cores of (I,1)x(1,J) instead: each matrix's truncated SVD, which"
            + " kept the FFN best at 2x in mpo-study")
    boolean lowRank;

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
        Map<String, Decomposition> decompositions = new ConcurrentHashMap<>();
        try (BertWeights weights = BertOnnxLoader.load(onnx);
                ProgressBar bar = ProgressBars.start("compress", 4L * weights.layers().size())) {
            Map<String, MpoFile.Matrix> projections = MpoModel.compress(weights, (name, w) -> {
                try {
                    if (only != null && !only.contains(MpoModel.Projection.of(name))) {
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
            long dense = 0;
            long mpo = 0;
            double worst = 0;
            for (Decomposition d : decompositions.values()) {
                dense += (long) d.shape().rows() * d.shape().cols();
                mpo += d.parameters();
                worst = Math.max(worst, d.relativeBound());
            }
            System.out.printf(Locale.ROOT, "%d of %d projections as MPOs, %d → %d parameters (%.2fx fewer), worst"
                    + " relative error bound %.4f; wrote %s%n", decompositions.size(), projections.size(), dense, mpo,
                    dense / (double) Math.max(1, mpo), worst, output);
        }
        return 0;
    }
}
