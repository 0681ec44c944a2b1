package dev.tensorloom.bench.mpo;

import dev.tensorloom.bench.report.BarChart;
import dev.tensorloom.bench.report.MarkdownTable.Align;
import dev.tensorloom.bench.report.MarkdownTable;
import dev.tensorloom.bench.study.EmbeddingFidelity;
import dev.tensorloom.mpo.MpoCostModel;
import dev.tensorloom.mpo.MpoFile;
import dev.tensorloom.mpo.MpoMatrix;
import dev.tensorloom.mpo.MpoModel;
import dev.tensorloom.mpo.MpoShape;
import dev.tensorloom.mpo.SharedCentralModel;
import dev.tensorloom.mpo.Truncation;
import dev.tensorloom.mpo.TtSvd;
import dev.tensorloom.mpo.WhitenedLowRank;
import dev.tensorloom.runtime.bert.BertWeights;
import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.MatrixPreparer;
import dev.tensorloom.runtime.tensor.Tensor;
import dev.tensorloom.runtime.tokenize.HfTokenizer;
import java.lang.foreign.Arena;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * The MPO compression study on a BERT model (issue 9, item 8): a model whose chosen projection matrices are MPOs
 * (the rest dense), against fp32 by {@link EmbeddingFidelity} (cosine on held-out text, top-10 neighbour overlap
 * on retrieval), beside its compression ratio. Each matrix is decomposed once per (factoring, truncation) and
 * shared by every variant that uses it; the MPOs run on the cached dense path (the study embeds batches of 32
 * texts, where contracting once and multiplying densely is the faster path), which computes the same W' the
 * cores hold.
 *
 * <p>Measured once on the 2-core build machine under load (fidelity only, no timings; bundled MiniLM, 64 held-out
 * glosses, retrieval over 500 with 50 queries, 64 calibration glosses): every projection at 2x, 4x or 8x in three
 * cores keeps mean cosine 0.21, 0.20, 0.18 (the level of unrelated sentences: nothing survives); MPOBERT at bond cap
 * 64, unshared 0.46 (1.3x), layers 0-2/3-5 sharing 0.17 (3.7x), all six 0.20 (6.9x). FFN only at 2x: W's own
 * truncated SVD (two cores (I,1)×(1,J)) 0.631, two even cores 0.528, three 0.466, five 0.490 (fewer, larger cores
 * keep more, and the low-rank cut most), the SVD whitened by the layers' inputs 0.864 (worst 0.765, top-10 overlap
 * 0.63): short of the 0.95 without training. Sharing one budget across the twelve matrices by σ² per
 * parameter of the whitened spectra (ranks 197-283 for the intermediate, 50-64 for the output matrices) does worse,
 * 0.811: the error each matrix makes on its own inputs does not weigh what it costs the embedding. One type at 2x in three cores: attention output 0.748 and FFN
 * output 0.736 tolerate it best, QKV 0.473, FFN intermediate worst 0.388; one layer at a time: layers 0-3 0.89-0.92,
 * layer 4 0.81, layer 5 0.65.
 */
public final class CompressionStudy implements AutoCloseable {

    /** How a matrix is cut into cores. */
    public record Factoring(String name, int cores, boolean rankOfW) {

        /** {@code cores} cores of the most even factors ({@link MpoShape#of(int, int, int)}). */
        public static Factoring even(int cores) {
            return new Factoring(cores + " cores", cores, false);
        }

        /**
         * Two cores of shape (I, 1) × (1, J): the one bond is W's own rank, so a truncated one is W's truncated SVD,
         * the low-rank factorization every other factoring is measured against.
         */
        public static Factoring lowRank() {
            return new Factoring("2 cores (I,1)x(1,J): low rank", 2, true);
        }

        /** The MPO shape of a rows × cols matrix. */
        public MpoShape shape(int rows, int cols) {
            return rankOfW ? MpoShape.of(rows, cols, new int[] {rows, 1}, new int[] {1, cols})
                    : MpoShape.of(rows, cols, cores);
        }
    }

    /**
     * One variant: which matrices it compressed ({@code compressed} of them), their dense and compressed
     * parameters, every projection's parameters as the variant stores them against dense, and the fidelity.
     */
    public record Row(String section, String variant, int compressed, long denseParameters, long storedParameters,
            double projectionRatio, EmbeddingFidelity.Result fidelity) {

        /** Dense over stored parameters of the compressed matrices. */
        public double ratio() {
            return denseParameters / (double) storedParameters;
        }
    }

    private final BertWeights weights;
    private final Backend backend;
    private final EmbeddingFidelity fidelity;
    private final Arena copies = Arena.ofShared();
    private final Map<String, Tensor> matrices;
    private final long projectionParameters;
    private final Map<String, MpoFile.Matrix> decompositions = new ConcurrentHashMap<>();

    public CompressionStudy(BertWeights weights, Backend backend, EmbeddingFidelity fidelity) {
        this.weights = weights;
        this.backend = backend;
        this.fidelity = fidelity;
        this.matrices = MpoModel.encoderMatrices(weights, copies);
        this.projectionParameters = matrices.values().stream().mapToLong(Tensor::size).sum();
    }

    /** The projection names (as the encoder gives them) of one type, or of one layer. */
    public static Predicate<String> only(MpoModel.Projection type) {
        return name -> MpoModel.Projection.of(name) == type;
    }

    public static Predicate<String> layer(int layer) {
        return name -> MpoModel.Projection.layer(name) == layer;
    }

    /** The FFN matrices (intermediate and output dense) of every layer. */
    public static Predicate<String> ffn() {
        return only(MpoModel.Projection.INTERMEDIATE).or(only(MpoModel.Projection.OUTPUT));
    }

    /** The model with the {@code selected} matrices cut into {@code factoring} by {@code truncation}, the rest dense. */
    public Row cut(String section, String variant, Predicate<String> selected, Factoring factoring,
            Truncation truncation) {
        List<String> names = matrices.keySet().stream().filter(selected).toList();
        names.parallelStream().forEach(name -> decomposition(name, factoring, truncation));
        long dense = 0;
        long stored = 0;
        return measured(section, variant, selected, name -> decomposition(name, factoring, truncation));
    }

    /**
     * The model with the {@code selected} matrices as {@link WhitenedLowRank} factors at 1/{@code ratio} of their
     * parameters ({@link WhitenedCompression#factors}), the rest dense.
     */
    public Row whitened(String section, String variant, Predicate<String> selected, double ratio, HfTokenizer tokenizer,
            List<String> calibration, boolean acrossMatrices) {
        Map<String, MpoFile.Matrix> factors = WhitenedCompression.factors(weights, backend, matrices, selected, ratio,
                tokenizer, calibration, acrossMatrices, text -> { });
        List<Integer> ranks = matrices.keySet().stream().filter(selected).map(n -> factors.get(n).bonds()[1]).toList();
        return measured(section, variant + (acrossMatrices ? ", ranks " + ranks : ""), selected, factors::get);
    }

    /** The row of a model whose {@code selected} matrices are {@code mpo}'s, the rest dense. */
    private Row measured(String section, String variant, Predicate<String> selected,
            Function<String, MpoFile.Matrix> mpo) {
        List<String> names = matrices.keySet().stream().filter(selected).toList();
        long dense = 0;
        long stored = 0;
        for (String name : names) {
            MpoFile.Matrix m = mpo.apply(name);
            dense += matrices.get(name).size();
            stored += m.shape().parameters(m.bonds());
        }
        MatrixPreparer preparer = (name, weight, arena) -> selected.test(name)
                ? MpoMatrix.of(backend, mpo.apply(name).toMpo(arena), MpoCostModel.defaults(),
                        MpoCostModel.Path.DENSE, arena)
                : MatrixPreparer.dense(backend).prepare(name, weight, arena);
        return new Row(section, variant, names.size(), dense, stored,
                projectionParameters / (double) (projectionParameters - dense + stored), fidelity.measure(preparer));
    }

    /** MPOBERT: every matrix capped at {@code bondCap} in {@code cores} cores, central tensors shared by {@code groups}. */
    public Row shared(String section, String variant, List<List<Integer>> groups, int cores, int bondCap) {
        SharedCentralModel model = SharedCentralModel.fit(weights, groups, cores, bondCap, backend,
                MpoCostModel.defaults());
        return new Row(section, variant, matrices.size(), model.denseParameters(), model.sharedParameters(),
                projectionParameters / (double) model.sharedParameters(), fidelity.measure(model.preparer()));
    }

    /** The rows as a table: section, variant, matrices compressed, their parameters and ratio, the model's, fidelity. */
    public static MarkdownTable table(List<Row> rows) {
        MarkdownTable table = new MarkdownTable("section", "variant", "matrices", "dense → MPO parameters",
                "ratio", "projections ratio", "mean cos", "worst cos", "top-10 overlap")
                .align(Align.LEFT, Align.LEFT, Align.RIGHT, Align.RIGHT, Align.RIGHT, Align.RIGHT, Align.RIGHT,
                        Align.RIGHT, Align.RIGHT);
        for (Row r : rows) {
            table.row(r.section(), r.variant(), r.compressed(), r.denseParameters() + " → " + r.storedParameters(),
                    format("%.2fx", r.ratio()), format("%.2fx", r.projectionRatio()),
                    format("%.4f", r.fidelity().meanCosine()), format("%.4f", r.fidelity().worstCosine()),
                    format("%.3f", r.fidelity().top10Overlap()));
        }
        return table;
    }

    /** Mean cosine and top-10 overlap per variant, one bar each. */
    public static BarChart chart(List<Row> rows) {
        BarChart chart = new BarChart("MPO compression: fidelity to fp32", "variant", "fidelity")
                .orientation(BarChart.Orientation.HORIZONTAL).valueFormat("0.000");
        for (Row r : rows) {
            String label = r.section() + ": " + r.variant() + format(" (%.1fx)", r.ratio());
            chart.add("mean cosine", label, r.fidelity().meanCosine());
            chart.add("top-10 overlap", label, r.fidelity().top10Overlap());
        }
        return chart;
    }

    /**
     * Among the rows of {@code section} (one matrix type or one layer at a time, at one ratio), the variant that
     * keeps the most and the one that keeps the least, by mean cosine.
     */
    public static String tolerance(List<Row> rows, String section) {
        List<Row> part = rows.stream().filter(r -> r.section().equals(section))
                .sorted(Comparator.comparingDouble(r -> r.fidelity().meanCosine())).toList();
        if (part.size() < 2) {
            return "";
        }
        return format("%s: %s tolerates compression best (mean cos %.4f), %s worst (%.4f).", section,
                part.getLast().variant(), part.getLast().fidelity().meanCosine(), part.getFirst().variant(),
                part.getFirst().fidelity().meanCosine());
    }

    private static String format(String pattern, Object... args) {
        return String.format(Locale.ROOT, pattern, args);
    }

    private MpoFile.Matrix decomposition(String name, Factoring factoring, Truncation truncation) {
        return decompositions.computeIfAbsent(name + " | " + factoring + " | " + truncation, key -> {
            Tensor w = matrices.get(name);
            return MpoFile.Matrix.of(name, TtSvd.decompose(w, factoring.shape(w.rows(), w.cols()), truncation));
        });
    }

    /** Frees the copies of the matrices. */
    @Override
    public void close() {
        copies.close();
    }
}
