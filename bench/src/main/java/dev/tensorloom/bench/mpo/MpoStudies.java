package dev.tensorloom.bench.mpo;

import dev.tensorloom.bench.report.MarkdownTable.Align;
import dev.tensorloom.bench.report.MarkdownTable;
import dev.tensorloom.mpo.Decomposition;
import dev.tensorloom.mpo.ModelStableRanks;
import dev.tensorloom.mpo.Mpo;
import dev.tensorloom.mpo.MpoCostModel;
import dev.tensorloom.mpo.MpoeFfn;
import dev.tensorloom.mpo.Overparameterization;
import dev.tensorloom.mpo.SharedCentralModel;
import dev.tensorloom.runtime.bert.BertWeights;
import dev.tensorloom.runtime.embed.EmbedderOptions;
import dev.tensorloom.runtime.embed.TextEmbedder;
import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.PreparedMatrix;
import dev.tensorloom.runtime.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * The MPO family's studies on real sizes, each a table the CLI prints ({@code ./tensorloom mpo-study}): stable ranks
 * of a model's matrices, OPF's deep expansion and merge, MPOBERT's shared central tensors, MPOE's weight traffic.
 *
 * <p>Measured once on the 2-core build machine (fidelity only, no timings), bundled MiniLM, 3 cores per matrix:
 * <ul>
 *   <li>Stable ranks 10.0 (layer 5 FFN output) to 77.8 (layer 5 attention output); power iteration took 14 to 705
 *       steps.</li>
 *   <li>OPF, 15 cores: 768×768 holds 895,656 parameters (1.52× dense, largest bond 384), 768×3072 5,028,520
 *       (2.13×, bond 1536); merged back, relative errors 6.4e-7 and 7.6e-7; the merged matrix is the dense one.</li>
 *   <li>Sharing, bond cap 64, 32 held-out glosses: unshared MPOs (8.17M parameters) keep mean cosine 0.477;
 *       layers 0-2 and 3-5 sharing (2.86M, 65% fewer than unshared) 0.193; all six layers (1.53M) 0.224. Per
 *       matrix the shared central tensor moves the relative error from 0-0.53 (own) to 0.73-0.85: the trained
 *       layers' central tensors differ too much for a shared one without retraining. At bond cap 16 every variant
 *       is near 0.2 (own errors already 0.90-0.96).</li>
 *   <li>MPOE, layer 0's FFN, 8 experts, top 2, bond cap 64: 950,272 expert parameters against 9,437,184 dense
 *       (9.9×); weight bytes per token 2.9× fewer than dense experts for one token (2 experts active, the central
 *       cores dominate), 9.9× once a batch uses all 8.</li>
 * </ul>
 */
public final class MpoStudies {

    private MpoStudies() {
    }

    /** Every projection's stable rank, then the top k per matrix type. */
    public static List<MarkdownTable> stableRanks(BertWeights weights, int k) {
        List<ModelStableRanks.MatrixRank> ranks = ModelStableRanks.of(weights);
        MarkdownTable all = new MarkdownTable("matrix", "shape", "stable rank", "power steps")
                .align(Align.LEFT, Align.RIGHT, Align.RIGHT, Align.RIGHT);
        for (ModelStableRanks.MatrixRank r : ranks) {
            all.row(r.name(), r.rows() + "×" + r.cols(), format("%.2f", r.stableRank()), r.estimate().iterations());
        }
        MarkdownTable top = new MarkdownTable("type", "top " + k + " by stable rank (layer: value)");
        ModelStableRanks.topPerType(ranks, k, ModelStableRanks.Order.HIGHEST).forEach((type, list) -> top.row(type,
                String.join(", ", list.stream().map(r -> r.layer() + ": " + format("%.2f", r.stableRank())).toList())));
        return List.of(all, top);
    }

    /**
     * Gaussian matrices of the given shapes expanded into deep MPOs of {@code cores} cores and merged back on
     * {@code backend}: the shape, the largest bond, the parameters against the matrix's, the relative Frobenius error
     * of the merged matrix, and whether the merged matrix's bytes equal the dense one's.
     */
    public static MarkdownTable opf(Backend backend, List<int[]> shapes, int cores) {
        MarkdownTable table = new MarkdownTable("matrix", "MPO shape", "largest bond", "MPO parameters",
                "× dense", "merged relative error", "merged bytes = dense bytes");
        for (int[] s : shapes) {
            int rows = s[0];
            int cols = s[1];
            Random random = new Random(rows * 31L + cols);
            float[] w = new float[rows * cols];
            for (int e = 0; e < w.length; e++) {
                w[e] = (float) random.nextGaussian();
            }
            Decomposition d = Overparameterization.expand(w, rows, cols, cores);
            try (Arena arena = Arena.ofShared()) {
                Tensor[] placed = d.toMpo(arena).cores();
                for (int k = 0; k < placed.length; k++) {
                    placed[k] = backend.toDevice(placed[k], arena);
                }
                PreparedMatrix merged = Overparameterization.merge(backend,
                        new Mpo(d.shape(), d.bonds(), placed), arena);
                Tensor identity = Tensor.allocate(arena, rows, rows);
                for (int i = 0; i < rows; i++) {
                    identity.set(1, i, i);
                }
                Tensor back = backend.allocate(arena, rows, cols);
                merged.multiply(backend.toDevice(identity, arena), back);
                float[] r = backend.toHost(back, arena).toArray();
                double diff = 0;
                double norm = 0;
                for (int e = 0; e < w.length; e++) {
                    diff += Math.pow((double) w[e] - r[e], 2);
                    norm += (double) w[e] * w[e];
                }
                PreparedMatrix dense = backend.kernels().prepare(backend.toDevice(Tensor.of(arena, w, rows, cols),
                        arena));
                table.row(rows + "×" + cols, d.shape().toString(), Arrays.stream(d.bonds()).max().orElseThrow(),
                        d.parameters(), format("%.2f", d.parameters() / (double) w.length),
                        format("%.2e", Math.sqrt(diff / norm)),
                        dense.bytes() == merged.bytes() && dense.getClass() == merged.getClass());
            }
        }
        return table;
    }

    /**
     * MPOBERT on a model: per matrix the relative error with its own central tensor and with the shared one, then
     * the parameters and the sentence-embedding cosine to fp32 over {@code texts} for each grouping.
     */
    public static List<MarkdownTable> sharing(BertWeights weights, Map<String, List<List<Integer>>> groupings,
            int cores, int bondCap, Backend backend, List<String> texts) throws IOException {
        MarkdownTable summary = new MarkdownTable("grouping", "dense parameters", "MPO parameters",
                "shared parameters", "saved by sharing", "mean cosine", "worst cosine")
                .align(Align.LEFT, Align.RIGHT, Align.RIGHT, Align.RIGHT, Align.RIGHT, Align.RIGHT, Align.RIGHT);
        MarkdownTable perMatrix = null;
        float[][] reference;
        try (TextEmbedder fp32 = TextEmbedder.bundledMiniLm(EmbedderOptions.of(backend))) {
            reference = fp32.embed(texts);
        }
        for (Map.Entry<String, List<List<Integer>>> grouping : groupings.entrySet()) {
            SharedCentralModel model = SharedCentralModel.fit(weights, grouping.getValue(), cores, bondCap, backend,
                    MpoCostModel.defaults());
            if (perMatrix == null) {
                perMatrix = new MarkdownTable("matrix", "own central: relative error",
                        "shared (" + grouping.getKey() + "): relative error");
                for (SharedCentralModel.MatrixFidelity f : model.fidelity()) {
                    perMatrix.row(f.name(), format("%.4f", f.ownError()), format("%.4f", f.sharedError()));
                }
            }
            double[] cos;
            try (TextEmbedder shared = TextEmbedder.bundledMiniLm(
                    EmbedderOptions.of(backend).withMatrices(model.preparer()))) {
                cos = cosines(reference, shared.embed(texts));
            }
            summary.row(grouping.getKey(), model.denseParameters(), model.unsharedParameters(),
                    model.sharedParameters(),
                    format("%.1f%%", 100.0 * (model.unsharedParameters() - model.sharedParameters())
                            / model.unsharedParameters()),
                    format("%.4f", Arrays.stream(cos).average().orElse(Double.NaN)),
                    format("%.4f", Arrays.stream(cos).min().orElse(Double.NaN)));
        }
        return List.of(summary, perMatrix);
    }

    /**
     * MPOE on one layer's FFN: {@code experts} experts, top-k routing, bytes of weights read per token for batches of
     * the given sizes (Gaussian inputs of the hidden width), counted against the closed form, and against as many
     * dense experts.
     */
    public static MarkdownTable moe(BertWeights weights, int layer, int experts, int topK, int cores, int bondCap,
            int[] batches) {
        MpoeFfn ffn = MpoeFfn.fromLayer(weights.layers().get(layer), experts, topK, cores, bondCap, 0.05, 7);
        MarkdownTable table = new MarkdownTable("tokens", "active experts", "MPOE bytes/token (counted)",
                "closed form", "dense experts bytes/token", "dense / MPOE")
                .align(Align.RIGHT, Align.RIGHT, Align.RIGHT, Align.RIGHT, Align.RIGHT, Align.RIGHT);
        Random random = new Random(11);
        for (int m : batches) {
            float[] x = new float[m * ffn.hidden()];
            for (int e = 0; e < x.length; e++) {
                x[e] = (float) random.nextGaussian();
            }
            MpoeFfn.Traffic traffic = new MpoeFfn.Traffic();
            ffn.forward(x, m, traffic);
            int active = ffn.route(x, m).activeExperts();
            long dense = ffn.weightBytes(active, true);
            table.row(m, active, traffic.bytes() / m, ffn.weightBytes(active, false) / m, dense / m,
                    format("%.1f", dense / (double) traffic.bytes()));
        }
        table.row("parameters", experts + " experts", ffn.parameters(), "", ffn.denseParameters(),
                format("%.1f", ffn.denseParameters() / (double) ffn.parameters()));
        return table;
    }

    private static double[] cosines(float[][] a, float[][] b) {
        double[] c = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            double dot = 0;
            double na = 0;
            double nb = 0;
            for (int h = 0; h < a[i].length; h++) {
                dot += (double) a[i][h] * b[i][h];
                na += (double) a[i][h] * a[i][h];
                nb += (double) b[i][h] * b[i][h];
            }
            c[i] = dot / Math.sqrt(na * nb);
        }
        return c;
    }

    private static String format(String pattern, Object... args) {
        return String.format(Locale.ROOT, pattern, args);
    }
}
