package dev.tensorloom.quant;

import dev.tensorloom.runtime.kernel.Shapes;
import dev.tensorloom.runtime.tensor.Tensor;
import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.decomposition.TriangularSolver_DDRM;
import org.ejml.interfaces.decomposition.CholeskyDecomposition_F64;

/**
 * GPTQ (Frantar et al., 2022): quantizes a layer's weights one input channel at a time, and after each one
 * spreads its rounding error over the channels not yet quantized, weighted by the inverse Hessian of the
 * layer's calibration inputs, so that ||XW - XŴ|| stays small where plain rounding lets errors add up.
 *
 * <p>Per layer, with b [k, n] (k input channels, quantized in turn) and H from {@link Hessian}:
 * <ol>
 *   <li>Dead inputs (H_pp = 0: never non-zero in calibration) get weight 0 and H_pp = 1.</li>
 *   <li>Damping: H += λ·I with λ = {@code dampFraction}·mean(diag H); when a Cholesky factorization fails or
 *       is ill-conditioned (a pivot ratio below {@link #MIN_PIVOT_RATIO}), λ is multiplied by 10 and all is retried, up to {@code dampRetries} times, then a clear error.</li>
 *   <li>Act-order (optional): channels in decreasing diag(H), the most active first; undone at the end.</li>
 *   <li>U = the upper Cholesky factor of H⁻¹ (EJML).</li>
 *   <li>For blocks of {@code blockSize} channels: channel p is rounded to its group's grid, its error
 *       e = (w_p - q_p)/U_pp is subtracted from the later channels of the block, w_r -= e·U_pr; after the
 *       block, the block's errors reach all later channels in one product (the lazy batch update).</li>
 * </ol>
 * Groups: without act-order a group's grid ({@link GroupGrid}) is found when its first channel comes up, from
 * the weights as the error feedback has left them (GPTQ's way). With act-order the channels of a group come up
 * scattered, so the grids are found beforehand from the original weights (AutoGPTQ's "static groups"), which
 * keeps the groups contiguous in the packed layout the kernels read.
 */
public final class Gptq {

    /** GPTQ's settings: the paper's defaults are block 128, damping 0.01 of the mean diagonal. */
    public record Options(int blockSize, double dampFraction, int dampRetries, boolean actOrder) {

        public Options {
            if (blockSize < 1) {
                throw new IllegalArgumentException("blockSize must be positive, got " + blockSize);
            }
            if (!(dampFraction > 0) || !Double.isFinite(dampFraction)) {
                throw new IllegalArgumentException("dampFraction must be positive and finite, got " + dampFraction);
            }
            if (dampRetries < 0) {
                throw new IllegalArgumentException("dampRetries must not be negative, got " + dampRetries);
            }
        }

        public static Options defaults() {
            return new Options(128, 0.01, 6, true);
        }

        public Options withActOrder(boolean on) {
            return new Options(blockSize, dampFraction, dampRetries, on);
        }
    }

    private Gptq() {
    }

    /** b [k, n] (host, finite) quantized to {@code format} by GPTQ against the calibration Hessian h. */
    public static PackedWeights quantize(Tensor b, Hessian h, GroupFormat format, Options options) {
        Shapes.requireMatrix(b, "weight");
        int k = b.rows();
        int n = b.cols();
        if (h.size() != k) {
            throw new IllegalArgumentException("the Hessian is " + h.size() + "x" + h.size() + ", but the weight "
                    + b + " has " + k + " input channels");
        }
        PackedWeights packed = new PackedWeights(format, k, n);
        int g = packed.groupSize();

        // w[p][j] = b[p, j], in float64: row p is input channel p, the unit GPTQ quantizes in turn.
        double[][] w = new double[k][n];
        for (int p = 0; p < k; p++) {
            for (int j = 0; j < n; j++) {
                float v = b.get(p, j);
                if (!Float.isFinite(v)) {
                    throw new IllegalArgumentException("weight (" + p + ", " + j + ") is " + v
                            + "; only finite weights can be quantized");
                }
                w[p][j] = v;
            }
        }
        double[] hm = h.matrix();
        for (int p = 0; p < k; p++) {
            if (hm[p * k + p] == 0) {
                hm[p * k + p] = 1;
                Arrays.fill(w[p], 0);
            }
        }

        int[] order = IntStream.range(0, k).toArray();
        if (options.actOrder()) {
            double[] diag = new double[k];
            for (int p = 0; p < k; p++) {
                diag[p] = hm[p * k + p];
            }
            order = IntStream.range(0, k).boxed()
                    .sorted(Comparator.comparingDouble((Integer p) -> -diag[p]))
                    .mapToInt(Integer::intValue).toArray();
        }
        double[] u = upperCholeskyOfInverse(permuted(hm, order, k), k, options);

        // Static grids (act-order, or per-channel): from the weights before any error feedback.
        GroupGrid[][] grids = new GroupGrid[packed.groups()][];
        if (options.actOrder() || format.groupSize() == GroupFormat.PER_CHANNEL) {
            for (int group = 0; group < grids.length; group++) {
                grids[group] = gridsOf(w, group * g, g, format, n);
            }
        }

        double[][] errors = new double[options.blockSize()][];
        for (int i1 = 0; i1 < k; i1 += options.blockSize()) {
            int i2 = Math.min(k, i1 + options.blockSize());
            for (int i = i1; i < i2; i++) {
                int p = order[i];
                int group = p / g;
                if (grids[group] == null) {
                    // Without act-order, channels come in order: p opens its group, whose channels are all in
                    // this block (g divides 128-blocks) or later, and carry every error so far.
                    grids[group] = gridsOf(w, group * g, g, format, n);
                }
                double d = u[i * k + i];
                double[] e = new double[n];
                for (int j = 0; j < n; j++) {
                    GroupGrid grid = grids[group][j];
                    int code = grid.code((float) w[p][j]);
                    packed.setCode(p, j, code);
                    e[j] = (w[p][j] - grid.level(code)) / d;
                }
                errors[i - i1] = e;
                for (int r = i + 1; r < i2; r++) {
                    subtractScaled(w[order[r]], e, u[i * k + r]);
                }
            }
            // The lazy batch update: the block's errors reach every later channel at once.
            for (int r = i2; r < k; r++) {
                double[] row = w[order[r]];
                for (int i = i1; i < i2; i++) {
                    subtractScaled(row, errors[i - i1], u[i * k + r]);
                }
            }
        }
        for (int group = 0; group < grids.length; group++) {
            for (int j = 0; j < n; j++) {
                packed.setScale(group, j, grids[group][j].scaleBits());
                if (!format.symmetric()) {
                    packed.setZero(group, j, grids[group][j].zero());
                }
            }
        }
        return packed;
    }

    private static void subtractScaled(double[] row, double[] e, double f) {
        if (f == 0) {
            return;
        }
        for (int j = 0; j < row.length; j++) {
            row[j] -= e[j] * f;
        }
    }

    /** Each output channel's grid over input channels [from, from + g), from the current weights. */
    private static GroupGrid[] gridsOf(double[][] w, int from, int g, GroupFormat format, int n) {
        GroupGrid[] grids = new GroupGrid[n];
        for (int j = 0; j < n; j++) {
            float min = Float.POSITIVE_INFINITY;
            float max = Float.NEGATIVE_INFINITY;
            for (int p = from; p < from + g; p++) {
                min = Math.min(min, (float) w[p][j]);
                max = Math.max(max, (float) w[p][j]);
            }
            grids[j] = GroupGrid.of(format, min, max);
        }
        return grids;
    }

    private static double[] permuted(double[] h, int[] order, int k) {
        double[] out = new double[h.length];
        for (int a = 0; a < k; a++) {
            for (int c = 0; c < k; c++) {
                out[a * k + c] = h[order[a] * k + order[c]];
            }
        }
        return out;
    }

    /**
     * Whether a Cholesky factor's pivots are usable: the smallest squared pivot at least {@link #MIN_PIVOT_RATIO}
     * of the largest. A semi-definite H can factor with a pivot of rounding size, and its "inverse" would then be
     * rounding noise times 1e16.
     */
    private static boolean wellConditioned(DMatrixRMaj factor, int k) {
        double min = Double.POSITIVE_INFINITY;
        double max = 0;
        for (int p = 0; p < k; p++) {
            double d = factor.get(p, p);
            if (!(d > 0) || !Double.isFinite(d)) {
                return false;
            }
            min = Math.min(min, d);
            max = Math.max(max, d);
        }
        return (min / max) * (min / max) >= MIN_PIVOT_RATIO;
    }

    /** The least ratio of squared Cholesky pivots accepted: an inverse then carries relative errors below 1e-4. */
    static final double MIN_PIVOT_RATIO = 1e-12;

    /**
     * The upper Cholesky factor U of (H + λI)⁻¹ (UᵀU = (H + λI)⁻¹), row-major, with λ raised tenfold on every
     * failed factorization.
     */
    static double[] upperCholeskyOfInverse(double[] h, int k, Options options) {
        double mean = 0;
        for (int p = 0; p < k; p++) {
            mean += h[p * k + p];
        }
        mean /= k;
        if (!(mean > 0) || !Double.isFinite(mean)) {
            throw new IllegalArgumentException("the Hessian's mean diagonal is " + mean + "; calibration inputs "
                    + "must be finite and not all zero");
        }
        double lambda = options.dampFraction() * mean;
        for (int attempt = 0; attempt <= options.dampRetries(); attempt++, lambda *= 10) {
            DMatrixRMaj damped = new DMatrixRMaj(k, k, true, h);
            for (int p = 0; p < k; p++) {
                damped.add(p, p, lambda);
            }
            // Both factorizations through EJML's factory, which picks its blocked Cholesky from k = 1000 up.
            CholeskyDecomposition_F64<DMatrixRMaj> lower = DecompositionFactory_DDRM.chol(k, true);
            if (!lower.decompose(damped)) {
                continue;
            }
            DMatrixRMaj l = lower.getT(null);
            if (!wellConditioned(l, k)) {
                continue;
            }
            // (L·Lᵀ)⁻¹ = L⁻ᵀ·L⁻¹, with L⁻¹ lower triangular (the part above the diagonal cleared first).
            for (int r = 0; r < k; r++) {
                for (int c = r + 1; c < k; c++) {
                    l.unsafe_set(r, c, 0);
                }
            }
            TriangularSolver_DDRM.invertLower(l.data, k);
            DMatrixRMaj inverse = new DMatrixRMaj(k, k);
            CommonOps_DDRM.multTransA(l, l, inverse);
            CholeskyDecomposition_F64<DMatrixRMaj> upper = DecompositionFactory_DDRM.chol(k, false);
            if (!upper.decompose(inverse)) {
                continue;
            }
            DMatrixRMaj factor = upper.getT(null);
            if (wellConditioned(factor, k)) {
                return factor.getData();
            }
        }
        throw new IllegalStateException("the Hessian stays singular or ill-conditioned after " + options.dampRetries()
                + " damping retries (last λ = " + lambda / 10 + " against a mean diagonal of " + mean
                + "); calibrate with more, or more varied, inputs");
    }
}
