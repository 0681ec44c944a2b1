package dev.tensorloom.hyperbolic.reference;

import java.util.Random;

/** Random points of the ball and tangent vectors, as row-major [rows, dim] arrays. */
public final class BallSamples {

    private BallSamples() {
    }

    /** Rows uniform in direction with norm uniform in [0, maxFraction/√c). */
    public static double[] points(Random random, int rows, int dim, double c, double maxFraction) {
        double[] x = new double[rows * dim];
        for (int i = 0; i < rows; i++) {
            double radius = random.nextDouble() * maxFraction / Math.sqrt(c);
            setRow(x, i, dim, direction(random, dim), radius);
        }
        return x;
    }

    /**
     * Rows whose distance from the boundary is between minGap/√c and maxGap/√c: norm in
     * [(1 - maxGap)/√c, (1 - minGap)/√c).
     */
    public static double[] nearBoundary(Random random, int rows, int dim, double c, double minGap, double maxGap) {
        double[] x = new double[rows * dim];
        for (int i = 0; i < rows; i++) {
            double radius = (1 - minGap - random.nextDouble() * (maxGap - minGap)) / Math.sqrt(c);
            setRow(x, i, dim, direction(random, dim), radius);
        }
        return x;
    }

    /** Gaussian entries times scale. */
    public static double[] gaussian(Random random, int n, double scale) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = random.nextGaussian() * scale;
        }
        return v;
    }

    public static double[] direction(Random random, int dim) {
        double[] d = gaussian(random, dim, 1);
        double n = Math.sqrt(dot(d, d));
        for (int j = 0; j < dim; j++) {
            d[j] /= n;
        }
        return d;
    }

    public static void setRow(double[] x, int i, int dim, double[] direction, double radius) {
        for (int j = 0; j < dim; j++) {
            x[i * dim + j] = direction[j] * radius;
        }
    }

    public static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    public static double[] row(double[] x, int i, int dim) {
        return java.util.Arrays.copyOfRange(x, i * dim, (i + 1) * dim);
    }

    public static double norm(double[] a) {
        return Math.sqrt(dot(a, a));
    }

    public static double[] neg(double[] a) {
        double[] r = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = -a[i];
        }
        return r;
    }

    public static double[] scale(double[] a, double k) {
        double[] r = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = a[i] * k;
        }
        return r;
    }
}
