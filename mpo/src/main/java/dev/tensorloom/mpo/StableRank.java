package dev.tensorloom.mpo;

import dev.tensorloom.runtime.tensor.Tensor;
import java.util.Arrays;
import java.util.Random;

/**
 * The stable rank of a matrix, ||W||_F² / ||W||₂² = Σσᵢ²/σ₁² (REFERENCE.md section 2): a smooth lower bound on
 * the rank, 1 for a rank-one matrix and n for an orthogonal one. ||W||_F² is a sum; σ₁² is the largest eigenvalue
 * of WᵀW, found by power iteration (in float64) on the smaller of WᵀW and WWᵀ.
 *
 * <p>Convergence check: after each step v ← WᵀWv/||WᵀWv|| the Rayleigh quotient λ = vᵀWᵀWv and the residual
 * r = WᵀWv − λv are computed; for a symmetric matrix some eigenvalue lies within ||r|| of λ (Bauer–Fike), and λ
 * itself is off by at most ||r||²/gap from it. The iteration stops once ||r|| ≤ tolerance·λ, and a matrix that
 * has not converged within the step limit is an error rather than a silently wrong estimate. The start vector is
 * random (fixed seed), so it has a component along the top singular vector almost surely.
 */
public final class StableRank {

    /** Relative residual at which the power iteration stops. */
    public static final double DEFAULT_TOLERANCE = 1e-7;

    /** Steps after which it gives up. */
    public static final int DEFAULT_MAX_ITERATIONS = 20_000;

    private StableRank() {
    }

    /**
     * What the power iteration found.
     *
     * @param frobeniusSquared ||W||_F²
     * @param spectralSquared  σ₁², the Rayleigh quotient it stopped at
     * @param iterations       power steps taken
     * @param residual         ||WᵀWv − λv|| at the end, relative to λ
     */
    public record Estimate(double frobeniusSquared, double spectralSquared, int iterations, double residual) {

        /** ||W||_F² / σ₁². */
        public double stableRank() {
            return frobeniusSquared / spectralSquared;
        }
    }

    /** The stable rank of a host matrix. */
    public static Estimate of(Tensor w) {
        if (w.rank() != 2) {
            throw new IllegalArgumentException("stable rank needs a matrix, got " + w);
        }
        return of(w.toArray(), w.rows(), w.cols());
    }

    /** The stable rank of w [rows, cols] (row-major), with the default tolerance and step limit. */
    public static Estimate of(float[] w, int rows, int cols) {
        return of(w, rows, cols, DEFAULT_TOLERANCE, DEFAULT_MAX_ITERATIONS);
    }

    /**
     * The stable rank of w [rows, cols] (row-major).
     *
     * @throws IllegalArgumentException for a shape that does not match, a non-finite entry or a zero matrix (whose
     *                                  stable rank is 0/0)
     * @throws ArithmeticException      when the residual is still above {@code tolerance} after
     *                                  {@code maxIterations} steps
     */
    public static Estimate of(float[] w, int rows, int cols, double tolerance, int maxIterations) {
        if (rows < 1 || cols < 1 || w.length != (long) rows * cols) {
            throw new IllegalArgumentException("matrix of " + w.length + " elements is not " + rows + " × " + cols);
        }
        if (!(tolerance > 0) || maxIterations < 1) {
            throw new IllegalArgumentException("tolerance must be > 0 and the step limit >= 1, got " + tolerance
                    + " and " + maxIterations);
        }
        double frobenius = 0;
        for (int e = 0; e < w.length; e++) {
            if (!Float.isFinite(w[e])) {
                throw new IllegalArgumentException("cannot take the stable rank of a matrix holding " + w[e] + " at ("
                        + e / cols + ", " + e % cols + ")");
            }
            frobenius += (double) w[e] * w[e];
        }
        if (frobenius == 0) {
            throw new IllegalArgumentException("the stable rank of a zero " + rows + " × " + cols
                    + " matrix is undefined (0/0)");
        }
        // Iterate on the Gram matrix of the smaller side: v has min(rows, cols) entries.
        boolean onColumns = cols <= rows;
        int n = onColumns ? cols : rows;
        int other = onColumns ? rows : cols;
        double[] v = new double[n];
        Random random = new Random(0x5eed);
        for (int i = 0; i < n; i++) {
            v[i] = random.nextGaussian();
        }
        normalize(v);
        double[] u = new double[other];
        double[] g = new double[n];
        for (int step = 1; step <= maxIterations; step++) {
            gram(w, rows, cols, onColumns, v, u, g);
            double lambda = dot(v, g);
            double residual = 0;
            for (int i = 0; i < n; i++) {
                double r = g[i] - lambda * v[i];
                residual += r * r;
            }
            residual = Math.sqrt(residual) / lambda;
            if (residual <= tolerance) {
                return new Estimate(frobenius, lambda, step, residual);
            }
            System.arraycopy(g, 0, v, 0, n);
            normalize(v);
            if (step == maxIterations) {
                throw new ArithmeticException("power iteration on a " + rows + " × " + cols + " matrix did not converge"
                        + " in " + maxIterations + " steps: relative residual " + residual + " > " + tolerance);
            }
        }
        throw new AssertionError("unreachable");
    }

    /** g = WᵀW·v (v over the columns) or W·Wᵀ·v (v over the rows), through u = W·v or Wᵀ·v. */
    private static void gram(float[] w, int rows, int cols, boolean onColumns, double[] v, double[] u, double[] g) {
        Arrays.fill(g, 0);
        if (onColumns) {
            for (int i = 0; i < rows; i++) {
                double s = 0;
                int row = i * cols;
                for (int j = 0; j < cols; j++) {
                    s += w[row + j] * v[j];
                }
                u[i] = s;
            }
            for (int i = 0; i < rows; i++) {
                double ui = u[i];
                int row = i * cols;
                for (int j = 0; j < cols; j++) {
                    g[j] += w[row + j] * ui;
                }
            }
        } else {
            Arrays.fill(u, 0);
            for (int i = 0; i < rows; i++) {
                double vi = v[i];
                int row = i * cols;
                for (int j = 0; j < cols; j++) {
                    u[j] += w[row + j] * vi;
                }
            }
            for (int i = 0; i < rows; i++) {
                double s = 0;
                int row = i * cols;
                for (int j = 0; j < cols; j++) {
                    s += w[row + j] * u[j];
                }
                g[i] = s;
            }
        }
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    private static void normalize(double[] v) {
        double norm = Math.sqrt(dot(v, v));
        for (int i = 0; i < v.length; i++) {
            v[i] /= norm;
        }
    }
}
