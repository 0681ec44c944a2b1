package dev.tensorloom.testkit;

/**
 * How a float32 kernel's result is compared with an oracle's, element by element over row-major arrays
 * ({@code cols} names elements as (row, column) in messages). A mismatch throws {@link AssertionError}, which
 * every test framework reports as a failure.
 *
 * <p>A float32 sum of k products carries a rounding error of at most about k·u·Σ|a||b| (u = 2⁻²⁴ ≈ 6e-8)
 * and in practice, errors being random, a few √k·u·Σ|a||b|; both sides err, in different orders.
 * 1e-5·Σ|a||b| is 168u, above √k·u for every k the tests use (√2003 ≈ 45) with room for both sides, yet
 * far below the error of a wrong element.
 */
public final class FloatAssertions {

    /** Relative tolerance of a product against Σ|a||b|. */
    public static final double PRODUCT_TOLERANCE = 1e-5;
    /** Absolute floor of a product's tolerance. */
    public static final double ABSOLUTE_TOLERANCE = 1e-6;

    private FloatAssertions() {
    }

    /**
     * Σ_p |a[i,p]|·|b[p,j]| (or |b[j,p]| when transposed), in double, for a [m,k] and b [k,n] (or [n,k]):
     * the scale of each product's rounding error.
     */
    public static float[] absoluteProducts(float[] a, float[] b, int m, int k, int n, boolean transposed) {
        float[] bound = new float[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    s += Math.abs(a[i * k + p]) * Math.abs(transposed ? b[j * k + p] : b[p * n + j]);
                }
                bound[i * n + j] = (float) s;
            }
        }
        return bound;
    }

    /** Each element within {@link #PRODUCT_TOLERANCE}·Σ|a||b| + {@link #ABSOLUTE_TOLERANCE}; NaN never passes. */
    public static void assertProductClose(float[] expected, float[] actual, float[] absoluteProducts, int cols) {
        requireSameLength(expected, actual);
        for (int i = 0; i < expected.length; i++) {
            double tolerance = PRODUCT_TOLERANCE * absoluteProducts[i] + ABSOLUTE_TOLERANCE;
            if (!(Math.abs(expected[i] - actual[i]) <= tolerance)) {
                throw new AssertionError(mismatch(expected, actual, i, cols, tolerance));
            }
        }
    }

    /** |expected - actual| ≤ absolute + relative·|expected| for every element, NaN never passing. */
    public static void assertClose(float[] expected, float[] actual, int cols, double absolute, double relative) {
        requireSameLength(expected, actual);
        for (int i = 0; i < expected.length; i++) {
            double tolerance = absolute + relative * Math.abs(expected[i]);
            // Equal infinities are equal, though their difference is NaN.
            if (!(Math.abs(expected[i] - actual[i]) <= tolerance) && expected[i] != actual[i]) {
                throw new AssertionError(mismatch(expected, actual, i, cols, tolerance));
            }
        }
    }

    private static void requireSameLength(float[] expected, float[] actual) {
        if (expected.length != actual.length) {
            throw new AssertionError("expected " + expected.length + " elements but got " + actual.length);
        }
    }

    private static String mismatch(float[] expected, float[] actual, int i, int cols, double tolerance) {
        return "element (" + i / cols + ", " + i % cols + "): expected " + expected[i] + " but was " + actual[i]
                + " (tolerance " + tolerance + ")";
    }
}
