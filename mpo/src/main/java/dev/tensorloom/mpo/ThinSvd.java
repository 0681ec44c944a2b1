package dev.tensorloom.mpo;

import java.util.Arrays;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.SingularOps_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.SingularValueDecomposition_F64;

/** EJML's thin SVD a = U·diag(σ)·Vᵀ with σ descending, and the products of its factors the MPO code needs. */
record ThinSvd(DMatrixRMaj u, double[] sigma, DMatrixRMaj vt) {

    /** The SVD of a (left unchanged). */
    static ThinSvd of(DMatrixRMaj a) {
        SingularValueDecomposition_F64<DMatrixRMaj> svd =
                DecompositionFactory_DDRM.svd(a.numRows, a.numCols, true, true, true);
        if (!svd.decompose(svd.inputModified() ? a.copy() : a)) {
            throw new IllegalStateException("SVD of a " + a.numRows + " × " + a.numCols + " matrix did not converge");
        }
        DMatrixRMaj u = svd.getU(null, false);
        DMatrixRMaj vt = svd.getV(null, true);
        int count = svd.numberOfSingularValues();
        double[] sigma = Arrays.copyOf(svd.getSingularValues(), count);
        SingularOps_DDRM.descendingOrder(u, false, sigma, count, vt, true);
        return new ThinSvd(u, sigma, vt);
    }

    /** diag(σ₁…σ_r)·(the first r rows of Vᵀ). */
    DMatrixRMaj sigmaVt(int r) {
        DMatrixRMaj out = new DMatrixRMaj(r, vt.numCols);
        for (int i = 0; i < r; i++) {
            for (int j = 0; j < vt.numCols; j++) {
                out.unsafe_set(i, j, sigma[i] * vt.unsafe_get(i, j));
            }
        }
        return out;
    }

    /** U·diag(σ). */
    DMatrixRMaj uSigma() {
        DMatrixRMaj out = u.copy();
        for (int i = 0; i < out.numRows; i++) {
            for (int j = 0; j < out.numCols; j++) {
                out.unsafe_set(i, j, out.unsafe_get(i, j) * sigma[j]);
            }
        }
        return out;
    }

    /** U·Vᵀ: for a square input, the orthogonal matrix Q maximizing tr(Qᵀ·a) (orthogonal Procrustes). */
    DMatrixRMaj polar() {
        DMatrixRMaj out = new DMatrixRMaj(u.numRows, vt.numCols);
        CommonOps_DDRM.mult(u, vt, out);
        return out;
    }
}
