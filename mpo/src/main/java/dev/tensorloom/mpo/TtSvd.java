package dev.tensorloom.mpo;

import dev.tensorloom.runtime.tensor.Tensor;
import java.util.Arrays;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.QRDecomposition;

/**
 * TT-SVD of a matrix into an MPO, in float64 with EJML's thin SVD, in three sweeps:
 * <ol>
 *   <li>left to right, exact: cut the interleaved tensor's unfolding (d_k·i_k·j_k) × rest by a thin QR, keep Q as
 *       core k, carry R on. Every core but the last is left-orthogonal.</li>
 *   <li>the canonical step, right to left: SVD each core as d_k × (i_k·j_k·d_{k+1}), keep Vᵀ (right-orthogonal)
 *       and push U·diag(σ) into its left neighbour. With the cores to the left left-orthogonal and those to the
 *       right right-orthogonal, σ are exactly the singular values of W's k-th unfolding, and the bond is now
 *       ordered by them, descending.</li>
 *   <li>left to right, truncating (skipped when every bond stays whole): choose each bond's rank from those
 *       spectra (by the {@link Truncation}), then SVD each core again and keep its first d'_k columns. Each step changes W by exactly the discarded
 *       ε_k in Frobenius norm (the parts around it are isometries) in mutually orthogonal directions, so
 *       ||W - MPO(W)||_F ≤ sqrt(Σ_k ε_k²) (Oseledets, TT-rounding); and ε_k never exceeds the canonical tail the
 *       choice was made from, since projecting an unfolding's rows cannot raise its singular values.</li>
 * </ol>
 */
public final class TtSvd {

    private TtSvd() {
    }

    /** The MPO of a host matrix w [I, J]. */
    public static Decomposition decompose(Tensor w, MpoShape shape, Truncation truncation) {
        if (w.rank() != 2 || w.rows() != shape.rows() || w.cols() != shape.cols()) {
            throw new IllegalArgumentException("matrix " + w + " does not have the " + shape.rows() + " × "
                    + shape.cols() + " of MPO shape " + shape);
        }
        return decompose(w.toArray(), shape, truncation);
    }

    /** The MPO of w [I, J], row-major. */
    public static Decomposition decompose(float[] w, MpoShape shape, Truncation truncation) {
        int cols = shape.cols();
        for (int e = 0; e < w.length; e++) {
            if (!Float.isFinite(w[e])) {
                throw new IllegalArgumentException("cannot decompose a matrix holding " + w[e] + " at ("
                        + e / cols + ", " + e % cols + ")");
            }
        }
        int n = shape.cores();
        int[] p = new int[n];
        for (int k = 0; k < n; k++) {
            p[k] = shape.rowFactor(k) * shape.colFactor(k);
        }
        double[] t = shape.interleave(w);
        double norm = 0;
        for (double v : t) {
            norm += v * v;
        }
        norm = Math.sqrt(norm);
        int[] d = shape.fullBonds();
        double[][] cores = new double[n][];

        // 1. Exact, left to right. Only orthogonality is needed here, so a thin QR does what an SVD would.
        double[] rest = t;
        for (int k = 0; k < n - 1; k++) {
            int rows = d[k] * p[k];
            DMatrixRMaj a = DMatrixRMaj.wrap(rows, rest.length / rows, rest);
            QRDecomposition<DMatrixRMaj> qr = DecompositionFactory_DDRM.qr(a.numRows, a.numCols);
            if (qr.decompose(qr.inputModified() ? a.copy() : a)) {
                cores[k] = qr.getQ(null, true).data;
                rest = qr.getR(null, true).data;
            } else {
                // EJML's Householder QR refuses a matrix with an exactly zero column (a zero W, say); the SVD
                // handles every matrix.
                ThinSvd s = ThinSvd.of(a);
                cores[k] = s.u().data;
                rest = s.sigmaVt(s.sigma().length).data;
            }
        }
        cores[n - 1] = rest;

        // 2. Canonical, right to left.
        double[][] spectra = new double[n + 1][];
        spectra[0] = new double[0];
        spectra[n] = new double[0];
        for (int k = n - 1; k >= 1; k--) {
            ThinSvd s = ThinSvd.of(DMatrixRMaj.wrap(d[k], p[k] * d[k + 1], cores[k]));
            cores[k] = s.vt().data;
            DMatrixRMaj uSigma = s.uSigma();
            DMatrixRMaj left = DMatrixRMaj.wrap(d[k - 1] * p[k - 1], d[k], cores[k - 1]);
            DMatrixRMaj pushed = new DMatrixRMaj(left.numRows, d[k]);
            CommonOps_DDRM.mult(left, uSigma, pushed);
            cores[k - 1] = pushed.data;
            spectra[k] = s.sigma();
        }

        // 3. Ranks from the canonical spectra.
        int[] keep = ranks(truncation, shape, d, spectra, norm);

        // 4. Truncating, left to right; with nothing to cut, the canonical cores are the MPO.
        int[] bonds = Arrays.equals(keep, d) ? d : new int[n + 1];
        bonds[0] = 1;
        bonds[n] = 1;
        double[][] discarded = new double[n + 1][];
        Arrays.fill(discarded, new double[0]);
        for (int k = 0; k < n - 1 && bonds != d; k++) {
            ThinSvd s = ThinSvd.of(DMatrixRMaj.wrap(bonds[k] * p[k], d[k + 1], cores[k]));
            int kept = Math.min(keep[k + 1], s.sigma().length);
            discarded[k + 1] = Arrays.copyOfRange(s.sigma(), kept, s.sigma().length);
            DMatrixRMaj u = new DMatrixRMaj(s.u().numRows, kept);
            CommonOps_DDRM.extract(s.u(), 0, s.u().numRows, 0, kept, u, 0, 0);
            cores[k] = u.data;
            DMatrixRMaj right = DMatrixRMaj.wrap(d[k + 1], p[k + 1] * d[k + 2], cores[k + 1]);
            DMatrixRMaj carried = new DMatrixRMaj(kept, right.numCols);
            CommonOps_DDRM.mult(s.sigmaVt(kept), right, carried);
            cores[k + 1] = carried.data;
            bonds[k + 1] = kept;
        }

        float[][] floats = new float[n][];
        for (int k = 0; k < n; k++) {
            floats[k] = new float[cores[k].length];
            for (int e = 0; e < floats[k].length; e++) {
                floats[k][e] = (float) cores[k][e];
            }
        }
        return new Decomposition(shape, bonds, floats, spectra, discarded, norm);
    }

    /** The rank to keep on each bond d₀ … dₙ, chosen from the canonical spectra. */
    static int[] ranks(Truncation truncation, MpoShape shape, int[] full, double[][] spectra, double norm) {
        int[] keep = full.clone();
        switch (truncation) {
            case Truncation.None none -> {
            }
            case Truncation.BondCap cap -> {
                for (int k = 0; k < keep.length; k++) {
                    keep[k] = Math.min(keep[k], cap.cap());
                }
            }
            case Truncation.RelativeError target -> {
                // Drop the smallest kept singular value of any bond while the bound stays within the target.
                double allowed = Math.pow(target.target() * norm, 2);
                double used = 0;
                while (true) {
                    int bond = -1;
                    for (int k = 1; k < keep.length - 1; k++) {
                        if (keep[k] > 1 && (bond < 0 || spectra[k][keep[k] - 1] < spectra[bond][keep[bond] - 1])) {
                            bond = k;
                        }
                    }
                    if (bond < 0) {
                        break;
                    }
                    double sigma = spectra[bond][keep[bond] - 1];
                    if (used + sigma * sigma > allowed) {
                        break;
                    }
                    used += sigma * sigma;
                    keep[bond]--;
                }
            }
            case Truncation.ParameterBudget budget -> shrinkToBudget(keep, budget.parameters(), shape, spectra);
            case Truncation.ParameterRatio ratio -> shrinkToBudget(keep, ratio.budget(shape), shape, spectra);
        }
        return keep;
    }

    /** Shrinks the bond whose next singular value costs the least squared error per parameter saved, until it fits. */
    private static void shrinkToBudget(int[] keep, long budget, MpoShape shape, double[][] spectra) {
        int[] ones = new int[keep.length];
        Arrays.fill(ones, 1);
        long least = shape.parameters(ones);
        if (budget < least) {
            throw new IllegalArgumentException("parameter budget " + budget + " is below the " + least
                    + " parameters of shape " + shape + " with every bond 1");
        }
        while (shape.parameters(keep) > budget) {
            int bond = -1;
            double best = Double.POSITIVE_INFINITY;
            for (int k = 1; k < keep.length - 1; k++) {
                if (keep[k] > 1) {
                    double sigma = spectra[k][keep[k] - 1];
                    long saved = (long) keep[k - 1] * shape.rowFactor(k - 1) * shape.colFactor(k - 1)
                            + (long) keep[k + 1] * shape.rowFactor(k) * shape.colFactor(k);
                    double cost = sigma * sigma / saved;
                    if (bond < 0 || cost < best) {
                        bond = k;
                        best = cost;
                    }
                }
            }
            keep[bond]--;
        }
    }
}
