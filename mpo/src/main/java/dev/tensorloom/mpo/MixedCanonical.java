package dev.tensorloom.mpo;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;

/**
 * An MPO of a matrix W in mixed-canonical form about its central core c, in float64: the cores left of c are
 * left-orthogonal (core k read as [d_k·p_k, d_{k+1}] has orthonormal columns, p_k = i_k·j_k), those right of it
 * right-orthogonal (read as [d_k, p_k·d_{k+1}], orthonormal rows). The auxiliary cores then contract to isometries
 * A [left digits, d_c] and B [d_{c+1}, right digits], and for W's interleaved tensor T (sliced by the central digit
 * pair x) the central core is the projection P[·, x, ·] = Aᵀ·T[·, x, ·]·Bᵀ: the best central core for those
 * auxiliary cores, with ||W − A·P·B||_F² = ||W||_F² − ||P||_F² (Pythagoras, A and B being isometries).
 *
 * <p>The canonical gauge: the bonds next to the central core are rotated so that the central core's two
 * unfoldings, [d_c, p_c·d_{c+1}] and [d_c·p_c, d_{c+1}], have their singular vectors along the bond axes, ordered by
 * descending singular value. That fixes the gauge up to a sign per bond index (and rotations within repeated
 * singular values).
 *
 * <p>Mutable: {@link #rotate} moves the gauge of the central bonds, which changes the three cores around them but
 * not the matrix.
 */
final class MixedCanonical {

    final MpoShape shape;
    final int[] d;
    final int[] p;
    final int c;
    /** Core k, row-major [d_k, i_k, j_k, d_{k+1}]. */
    final double[][] cores;
    /** ||W||_F². */
    final double normSquared;

    private MixedCanonical(MpoShape shape, int[] d, double[][] cores, double normSquared) {
        this.shape = shape;
        this.d = d;
        this.c = shape.centralCore();
        this.p = new int[shape.cores()];
        for (int k = 0; k < p.length; k++) {
            p[k] = shape.rowFactor(k) * shape.colFactor(k);
        }
        this.cores = cores;
        this.normSquared = normSquared;
    }

    /**
     * The auxiliary cores of {@code decomposition} orthogonalized towards the centre, and the central core
     * recomputed as the projection of {@code w} (the matrix it was made from), in the canonical gauge.
     */
    static MixedCanonical of(float[] w, Decomposition decomposition) {
        MpoShape shape = decomposition.shape();
        int n = shape.cores();
        int[] d = decomposition.bonds();
        double[][] cores = new double[n][];
        for (int k = 0; k < n; k++) {
            float[] f = decomposition.cores()[k];
            cores[k] = new double[f.length];
            for (int e = 0; e < f.length; e++) {
                cores[k][e] = f[e];
            }
        }
        double[] t = shape.interleave(w);
        double norm = 0;
        for (double v : t) {
            norm += v * v;
        }
        MixedCanonical m = new MixedCanonical(shape, d, cores, norm);
        m.orthogonalize();
        m.cores[m.c] = m.project(t);
        m.canonicalGauge();
        return m;
    }

    /** Left sweep to c, right sweep to c, each by SVD (which, unlike EJML's QR, takes zero columns too). */
    private void orthogonalize() {
        for (int k = 0; k < c; k++) {
            ThinSvd s = ThinSvd.of(DMatrixRMaj.wrap(d[k] * p[k], d[k + 1], cores[k]));
            // A bond larger than its neighbours allow (d_{k+1} > d_k·p_k) shrinks to the rank it can carry.
            cores[k] = s.u().data;
            DMatrixRMaj carry = s.sigmaVt(s.sigma().length);
            cores[k + 1] = times(carry, DMatrixRMaj.wrap(d[k + 1], p[k + 1] * d[k + 2], cores[k + 1])).data;
            d[k + 1] = s.u().numCols;
        }
        for (int k = shape.cores() - 1; k > c; k--) {
            ThinSvd s = ThinSvd.of(DMatrixRMaj.wrap(d[k], p[k] * d[k + 1], cores[k]));
            cores[k] = s.vt().data;
            DMatrixRMaj uSigma = s.uSigma();
            cores[k - 1] = times(DMatrixRMaj.wrap(d[k - 1] * p[k - 1], d[k], cores[k - 1]), uSigma).data;
            d[k] = s.vt().numRows;
        }
    }

    /** Aᵀ·T·Bᵀ, [d_c, p_c, d_{c+1}], for the interleaved tensor t. */
    double[] project(double[] t) {
        int n = shape.cores();
        // From the left: [d_k·p_k, rest] → [d_{k+1}, rest / p_k].
        DMatrixRMaj x = DMatrixRMaj.wrap(p[0], t.length / p[0], t.clone());
        for (int k = 0; k < c; k++) {
            DMatrixRMaj core = DMatrixRMaj.wrap(d[k] * p[k], d[k + 1], cores[k]);
            DMatrixRMaj next = new DMatrixRMaj(d[k + 1], x.numCols);
            CommonOps_DDRM.multTransA(core, x, next);
            x = DMatrixRMaj.wrap(d[k + 1] * p[k + 1], next.data.length / (d[k + 1] * p[k + 1]), next.data);
        }
        // From the right: [rest, p_k·d_{k+1}] → [rest / p_k, d_k].
        int cols = p[n - 1];
        DMatrixRMaj y = DMatrixRMaj.wrap(x.data.length / cols, cols, x.data);
        for (int k = n - 1; k > c; k--) {
            DMatrixRMaj core = DMatrixRMaj.wrap(d[k], p[k] * d[k + 1], cores[k]);
            DMatrixRMaj next = new DMatrixRMaj(y.numRows, d[k]);
            CommonOps_DDRM.multTransB(y, core, next);
            int width = p[k - 1] * d[k];
            y = DMatrixRMaj.wrap(next.data.length / width, width, next.data);
        }
        return y.data;
    }

    /** Rotates the central bonds onto the singular vectors of the central core's two unfoldings. */
    private void canonicalGauge() {
        if (c > 0) {
            ThinSvd s = ThinSvd.of(DMatrixRMaj.wrap(d[c], p[c] * d[c + 1], cores[c]));
            rotate(s.u(), null);
        }
        if (c < shape.cores() - 1) {
            ThinSvd s = ThinSvd.of(DMatrixRMaj.wrap(d[c] * p[c], d[c + 1], cores[c]));
            DMatrixRMaj v = new DMatrixRMaj(s.vt().numCols, s.vt().numRows);
            CommonOps_DDRM.transpose(s.vt(), v);
            rotate(null, v);
        }
    }

    /**
     * A ← A·Q on the left bond and B ← Rᵀ·B on the right one (orthogonal Q [d_c, d_c] and R [d_{c+1}, d_{c+1}], null
     * for none), with the central core P ← Qᵀ·P·R so that the matrix stays the same.
     */
    void rotate(DMatrixRMaj q, DMatrixRMaj r) {
        if (q != null) {
            cores[c - 1] = times(DMatrixRMaj.wrap(d[c - 1] * p[c - 1], d[c], cores[c - 1]), q).data;
            DMatrixRMaj central = DMatrixRMaj.wrap(d[c], p[c] * d[c + 1], cores[c]);
            DMatrixRMaj rotated = new DMatrixRMaj(d[c], p[c] * d[c + 1]);
            CommonOps_DDRM.multTransA(q, central, rotated);
            cores[c] = rotated.data;
        }
        if (r != null) {
            cores[c] = times(DMatrixRMaj.wrap(d[c] * p[c], d[c + 1], cores[c]), r).data;
            DMatrixRMaj right = DMatrixRMaj.wrap(d[c + 1], p[c + 1] * d[c + 2], cores[c + 1]);
            DMatrixRMaj rotated = new DMatrixRMaj(d[c + 1], right.numCols);
            CommonOps_DDRM.multTransA(r, right, rotated);
            cores[c + 1] = rotated.data;
        }
    }

    /** Whether the left (true) or right central bond has a neighbour core whose gauge can absorb a rotation. */
    boolean leftFree() {
        return c > 0;
    }

    boolean rightFree() {
        return c < shape.cores() - 1;
    }

    /** ||W||_F² − ||P||_F²: the squared error of this MPO with its own central core. */
    double ownErrorSquared() {
        return Math.max(0, normSquared - dot(cores[c], cores[c]));
    }

    /** The cores in fp32, with {@code central} in place of the central core. */
    float[][] floatCores(double[] central) {
        float[][] f = new float[cores.length][];
        for (int k = 0; k < cores.length; k++) {
            double[] src = k == c ? central : cores[k];
            f[k] = new float[src.length];
            for (int e = 0; e < src.length; e++) {
                f[k][e] = (float) src[e];
            }
        }
        return f;
    }

    static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    static DMatrixRMaj times(DMatrixRMaj a, DMatrixRMaj b) {
        DMatrixRMaj out = new DMatrixRMaj(a.numRows, b.numCols);
        CommonOps_DDRM.mult(a, b, out);
        return out;
    }
}
