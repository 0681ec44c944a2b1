package dev.tensorloom.mpo;

import java.util.Arrays;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.CholeskyDecomposition_F64;

/**
 * The rank-r W' = A·B of a weight W [I, J] (multiplied as x·W) that is closest to W on the inputs the layer really
 * sees, not in plain Frobenius norm: it minimizes ||X·(W - W')||_F over calibration inputs X [N, I] (SVD-LLM's
 * truncation-aware whitening; no training, only the inputs' Gram matrix G = XᵀX). With G = L·Lᵀ (Cholesky),
 * ||X·E||_F = ||Lᵀ·E||_F, so the best W' is L⁻ᵀ·(Lᵀ·W)_r, and the error on the inputs is exactly the singular values
 * of Lᵀ·W it drops. Held as a two-core MPO of shape (I, 1) × (1, J), whose one bond is the rank: A = L⁻ᵀ·U_r·Σ_r is
 * core 0, B = V_rᵀ core 1.
 *
 * @param matrix          the two-core MPO, named
 * @param weightedError   ||X·(W - W')||_F: the square root of the sum of the dropped σ² of Lᵀ·W
 * @param weightedNorm    ||X·W||_F
 * @param spectrum        the singular values of Lᵀ·W, descending: rank k keeps σ_k² of ||X·W||², which lets ranks be
 *                        chosen across matrices under one budget
 */
public record WhitenedLowRank(MpoFile.Matrix matrix, double weightedError, double weightedNorm, double[] spectrum) {

    /**
     * W' of rank {@code rank}, named {@code name}, for w [rows, cols] (row-major) and the inputs' Gram matrix {@code gram} [rows, rows]
     * (row-major, XᵀX up to any positive scale). A Gram matrix that is only semidefinite (an input that never
     * varies) gets a ridge of 1e-6 of its mean diagonal, so the Cholesky factor exists.
     */
    public static WhitenedLowRank of(String name, float[] w, int rows, int cols, double[] gram, int rank) {
        if (w.length != rows * cols || gram.length != rows * rows) {
            throw new IllegalArgumentException("w of " + w.length + " and a Gram matrix of " + gram.length
                    + " elements do not make a " + rows + "x" + cols + " matrix and its " + rows + "x" + rows
                    + " inputs' Gram matrix");
        }
        if (rank < 1 || rank > Math.min(rows, cols)) {
            throw new IllegalArgumentException("rank must be 1 to " + Math.min(rows, cols) + ", got " + rank);
        }
        double trace = 0;
        for (int i = 0; i < rows; i++) {
            trace += gram[i * rows + i];
        }
        if (!(trace > 0) || !Double.isFinite(trace)) {
            throw new IllegalArgumentException("the Gram matrix's trace is " + trace + "; calibrate on some input");
        }
        DMatrixRMaj g = new DMatrixRMaj(rows, rows, true, gram);
        for (int i = 0; i < rows; i++) {
            g.add(i, i, 1e-6 * trace / rows);
        }
        CholeskyDecomposition_F64<DMatrixRMaj> cholesky = DecompositionFactory_DDRM.chol(rows, true);
        if (!cholesky.decompose(g)) {
            throw new IllegalArgumentException("the Gram matrix is not positive definite");
        }
        DMatrixRMaj l = cholesky.getT(null);
        DMatrixRMaj weight = new DMatrixRMaj(rows, cols);
        for (int e = 0; e < w.length; e++) {
            if (!Float.isFinite(w[e])) {
                throw new IllegalArgumentException("cannot factor a matrix holding " + w[e] + " at (" + e / cols
                        + ", " + e % cols + ")");
            }
            weight.data[e] = w[e];
        }
        DMatrixRMaj m = new DMatrixRMaj(rows, cols);
        CommonOps_DDRM.multTransA(l, weight, m);
        ThinSvd svd = ThinSvd.of(m);
        double[] sigma = svd.sigma();
        double dropped = 0;
        double all = 0;
        for (int k = 0; k < sigma.length; k++) {
            all += sigma[k] * sigma[k];
            dropped += k >= rank ? sigma[k] * sigma[k] : 0;
        }
        // A = L⁻ᵀ·U_r·Σ_r: solve Lᵀ·A = U_r·Σ_r (Lᵀ is upper triangular).
        DMatrixRMaj uSigma = svd.uSigma();
        DMatrixRMaj ur = new DMatrixRMaj(rows, rank);
        CommonOps_DDRM.extract(uSigma, 0, rows, 0, rank, ur, 0, 0);
        DMatrixRMaj lt = CommonOps_DDRM.transpose(l, null);
        DMatrixRMaj a = new DMatrixRMaj(rows, rank);
        if (!CommonOps_DDRM.solve(lt, ur, a)) {
            throw new IllegalArgumentException("the Gram matrix's Cholesky factor is singular");
        }
        DMatrixRMaj b = svd.sigmaVt(rank);
        // sigmaVt scales by σ; B must be V_rᵀ alone, so undo the scaling row by row.
        for (int k = 0; k < rank; k++) {
            double s = sigma[k];
            for (int j = 0; j < cols; j++) {
                b.set(k, j, s == 0 ? svd.vt().get(k, j) : b.get(k, j) / s);
            }
        }
        MpoShape shape = new MpoShape(new int[] {rows, 1}, new int[] {1, cols});
        float[][] cores = {toFloats(a.data), toFloats(b.data)};
        return new WhitenedLowRank(new MpoFile.Matrix(name, shape, new int[] {1, rank, 1}, cores), Math.sqrt(dropped),
                Math.sqrt(all), sigma.clone());
    }

    /** The rank a parameter budget affords: (I + J)·r parameters at most. */
    public static int rankFor(int rows, int cols, long parameters) {
        long rank = parameters / (rows + cols);
        if (rank < 1) {
            throw new IllegalArgumentException("a budget of " + parameters + " parameters is below one rank of "
                    + rows + "x" + cols + " (" + (rows + cols) + ")");
        }
        return (int) Math.min(rank, Math.min(rows, cols));
    }

    private static float[] toFloats(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }

    @Override
    public String toString() {
        return "WhitenedLowRank[" + matrix.shape() + ", bonds " + Arrays.toString(matrix.bonds())
                + ", weighted error " + weightedError + " of " + weightedNorm + "]";
    }
}
