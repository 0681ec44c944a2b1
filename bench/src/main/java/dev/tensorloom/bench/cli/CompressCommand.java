package dev.tensorloom.bench.cli;

import dev.tensorloom.bench.report.ProgressBars;
import dev.tensorloom.mpo.Decomposition;
import dev.tensorloom.mpo.MpoFile;
import dev.tensorloom.mpo.MpoShape;
import dev.tensorloom.mpo.Truncation;
import dev.tensorloom.mpo.TtSvd;
import dev.tensorloom.runtime.bert.BertEncoder;
import dev.tensorloom.runtime.bert.BertOnnxLoader;
import dev.tensorloom.runtime.bert.BertWeights;
import dev.tensorloom.runtime.kernel.MatrixPreparer;
import dev.tensorloom.runtime.kernel.ScalarBackend;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code compress}: every projection matrix of a BERT-family model as an MPO, written to an MPO file. */
@Command(name = "compress", mixinStandardHelpOptions = true,
        description = "Decomposes every projection matrix of a model (TT-SVD) and writes the MPOs to an MPO file"
                + " (docs/FORMATS.md).")
final class CompressCommand implements Callable<Integer> {

    @Mixin
    ModelOptions model = new ModelOptions();

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE", description = "the MPO file to write")
    Path output;

    @Option(names = "--cores", defaultValue = "3", description = "cores per matrix (default: ${DEFAULT-VALUE})")
    int cores;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Cut cut;

    static final class Cut {
        @Option(names = "--bond-cap", paramLabel = "D", description = "keep at most D singular values per bond")
        Integer bondCap;

        @Option(names = "--relative-error", paramLabel = "E",
                description = "keep the fewest singular values whose error bound stays within E·||W||")
        Double relativeError;

        Truncation truncation() {
            return bondCap != null ? Truncation.bondCap(bondCap) : Truncation.relativeError(relativeError);
        }
    }

    @Override
    public Integer call() throws Exception {
        Truncation truncation = cut.truncation();
        Path onnx = model.model != null && Files.isRegularFile(model.model) ? model.model : model.files().onnx();
        List<MpoFile.Matrix> matrices = new ArrayList<>();
        long dense = 0;
        long mpo = 0;
        double worst = 0;
        try (BertWeights weights = BertOnnxLoader.load(onnx);
                ProgressBar bar = ProgressBars.start("compress", 4L * weights.layers().size())) {
            List<Decomposition> decompositions = new ArrayList<>();
            MatrixPreparer decomposing = (name, weight, arena) -> {
                Decomposition d = TtSvd.decompose(weight, MpoShape.of(weight.rows(), weight.cols(), cores), truncation);
                matrices.add(MpoFile.Matrix.of(name, d));
                decompositions.add(d);
                bar.step();
                return MatrixPreparer.dense(new ScalarBackend()).prepare(name, weight, arena);
            };
            new BertEncoder(weights, new ScalarBackend(), decomposing).close();
            for (Decomposition d : decompositions) {
                dense += (long) d.shape().rows() * d.shape().cols();
                mpo += d.parameters();
                worst = Math.max(worst, d.relativeBound());
            }
        }
        MpoFile.write(output, "source=" + onnx.getFileName() + "; cores=" + cores + "; truncation=" + truncation,
                matrices);
        System.out.printf(Locale.ROOT, "%d matrices, %d → %d parameters (%.2fx smaller), worst relative error bound"
                + " %.4f; wrote %s%n", matrices.size(), dense, mpo, dense / (double) mpo, worst, output);
        return 0;
    }
}
