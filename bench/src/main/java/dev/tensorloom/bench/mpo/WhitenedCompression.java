package dev.tensorloom.bench.mpo;

import dev.tensorloom.mpo.MpoFile;
import dev.tensorloom.mpo.WhitenedLowRank;
import dev.tensorloom.quant.ObservedInputs;
import dev.tensorloom.runtime.bert.BertEncoder;
import dev.tensorloom.runtime.bert.BertWeights;
import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.MatrixPreparer;
import dev.tensorloom.runtime.tensor.Tensor;
import dev.tensorloom.runtime.tokenize.HfTokenizer;
import dev.tensorloom.runtime.tokenize.OverlongText;
import dev.tensorloom.runtime.tokenize.TokenBatch;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;

/**
 * Projection matrices as {@link WhitenedLowRank} factors: each the rank-r factor closest to W on the inputs the
 * matrix sees when the fp32 model embeds calibration text, which kept MiniLM's FFN at 2x far better than W's own
 * truncated SVD (mean cosine 0.864 against 0.631 in the compression study). What {@code compress --whiten} writes
 * and what {@link CompressionStudy#whitened} measures.
 */
public final class WhitenedCompression {

    private WhitenedCompression() {
    }

    /**
     * The {@code selected} ones of {@code matrices} (by the encoder's names) at 1/{@code ratio} of their parameters,
     * whitened by XᵀX of their inputs over {@code calibration} (one text per forward pass, so no padding row counts).
     * With {@code acrossMatrices} the ranks share one budget, taken by σ² per parameter of the whitened spectra;
     * else each matrix keeps the largest rank within its own 1/{@code ratio}. {@code progress} hears each text.
     */
    public static Map<String, MpoFile.Matrix> factors(BertWeights weights, Backend backend,
            Map<String, Tensor> matrices, Predicate<String> selected, double ratio, HfTokenizer tokenizer,
            List<String> calibration, boolean acrossMatrices, Consumer<String> progress) {
        if (!(ratio >= 1)) {
            throw new IllegalArgumentException("whitened factors keep 1/ratio of the parameters; ratio must be >= 1,"
                    + " got " + ratio);
        }
        if (calibration.isEmpty()) {
            throw new IllegalArgumentException("whitening needs calibration text, got none");
        }
        Map<String, DMatrixRMaj> grams = inputGrams(weights, backend, selected, tokenizer, calibration, progress);
        List<String> names = matrices.keySet().stream().filter(selected).toList();
        Map<String, Integer> ranks = new ConcurrentHashMap<>();
        for (String name : names) {
            Tensor w = matrices.get(name);
            ranks.put(name, WhitenedLowRank.rankFor(w.rows(), w.cols(), (long) (w.size() / ratio)));
        }
        if (acrossMatrices) {
            sharedBudget(matrices, names, grams, ratio, ranks);
        }
        Map<String, MpoFile.Matrix> factors = new ConcurrentHashMap<>();
        names.parallelStream().forEach(name -> {
            Tensor w = matrices.get(name);
            factors.put(name, WhitenedLowRank.of(name, w.toArray(), w.rows(), w.cols(), grams.get(name).data,
                    ranks.get(name)).matrix());
        });
        return factors;
    }

    /** XᵀX of each selected matrix's inputs as the fp32 model embeds the texts, summed over them. */
    private static Map<String, DMatrixRMaj> inputGrams(BertWeights weights, Backend backend,
            Predicate<String> selected, HfTokenizer tokenizer, List<String> calibration, Consumer<String> progress) {
        Map<String, DMatrixRMaj> grams = new ConcurrentHashMap<>();
        MatrixPreparer observing = ObservedInputs.preparer(MatrixPreparer.dense(backend), (name, a) -> {
            if (selected.test(name)) {
                DMatrixRMaj x = new DMatrixRMaj(a.rows(), a.cols());
                for (int r = 0; r < a.rows(); r++) {
                    for (int c = 0; c < a.cols(); c++) {
                        x.unsafe_set(r, c, a.get(r, c));
                    }
                }
                DMatrixRMaj g = grams.computeIfAbsent(name, n -> new DMatrixRMaj(a.cols(), a.cols()));
                synchronized (g) {
                    CommonOps_DDRM.multAddTransA(x, x, g);
                }
            }
        });
        try (BertEncoder encoder = new BertEncoder(weights, backend, observing)) {
            for (String text : calibration) {
                TokenBatch one = HfTokenizer.pad(tokenizer.encodeEach(List.of(text), weights.config().maxPositions(),
                        OverlongText.TRUNCATE));
                try (Arena arena = Arena.ofShared()) {
                    encoder.forward(one, arena);
                }
                progress.accept(text);
            }
        }
        return grams;
    }

    /** One budget for all: the ranks that keep the most of Σ||X·W||² per parameter, largest first. */
    private static void sharedBudget(Map<String, Tensor> matrices, List<String> names, Map<String, DMatrixRMaj> grams,
            double ratio, Map<String, Integer> ranks) {
        Map<String, double[]> spectra = new ConcurrentHashMap<>();
        names.parallelStream().forEach(name -> {
            Tensor w = matrices.get(name);
            spectra.put(name, WhitenedLowRank.of(name, w.toArray(), w.rows(), w.cols(), grams.get(name).data, 1)
                    .spectrum());
        });
        long budget = names.stream().mapToLong(n -> (long) (matrices.get(n).size() / ratio)).sum();
        record Step(String name, int rank, double gain) {
        }
        List<Step> steps = new ArrayList<>();
        for (String name : names) {
            Tensor w = matrices.get(name);
            double[] sigma = spectra.get(name);
            for (int k = 0; k < sigma.length; k++) {
                steps.add(new Step(name, k + 1, sigma[k] * sigma[k] / (w.rows() + w.cols())));
            }
        }
        steps.sort(Comparator.comparingDouble(Step::gain).reversed());
        names.forEach(n -> ranks.put(n, 0));
        long used = 0;
        for (Step step : steps) {
            Tensor w = matrices.get(step.name());
            long cost = w.rows() + w.cols();
            if (used + cost <= budget && ranks.get(step.name()) == step.rank() - 1) {
                ranks.put(step.name(), step.rank());
                used += cost;
            }
        }
        names.forEach(n -> ranks.merge(n, 1, Math::max));
    }
}
