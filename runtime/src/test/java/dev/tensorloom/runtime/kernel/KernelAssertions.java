package dev.tensorloom.runtime.kernel;

import static org.junit.jupiter.api.Assertions.fail;

import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;

/**
 * How a kernel's result is compared with the scalar oracle's.
 *
 * <p>A float32 sum of k products carries a rounding error of at most about k·u·Σ|a||b| (u = 2⁻²⁴ ≈ 6e-8)
 * and in practice, errors being random, a few √k·u·Σ|a||b|; both backends err, in different orders.
 * 1e-5·Σ|a||b| is 168u, above √k·u for every k used in the tests (√2003 ≈ 45) with room for both sides,
 * yet far below the error of a wrong element.
 */
final class KernelAssertions {

    private static final double PRODUCT_TOLERANCE = 1e-5;
    private static final double ABSOLUTE_TOLERANCE = 1e-6;

    private KernelAssertions() {
    }

    /** Σ_p |a[i,p]|·|b[p,j]| (or |b[j,p]| when transposed), in double: the scale of each product's error. */
    static Tensor absoluteProducts(Arena arena, Tensor a, Tensor b, boolean transposed) {
        int m = a.rows();
        int k = a.cols();
        int n = transposed ? b.rows() : b.cols();
        float[] av = a.toArray();
        float[] bv = b.toArray();
        float[] bound = new float[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    s += Math.abs(av[i * k + p]) * Math.abs(transposed ? bv[j * k + p] : bv[p * n + j]);
                }
                bound[i * n + j] = (float) s;
            }
        }
        return Tensor.of(arena, bound, m, n);
    }

    static void assertProductClose(Tensor expected, Tensor actual, Tensor absoluteProducts) {
        float[] e = expected.toArray();
        float[] a = actual.toArray();
        float[] bound = absoluteProducts.toArray();
        int n = expected.cols();
        for (int i = 0; i < e.length; i++) {
            double tolerance = PRODUCT_TOLERANCE * bound[i] + ABSOLUTE_TOLERANCE;
            if (!(Math.abs(e[i] - a[i]) <= tolerance)) {
                fail("element (" + i / n + ", " + i % n + "): expected " + e[i] + " but was " + a[i]
                        + " (tolerance " + tolerance + ")");
            }
        }
    }

    /** |expected - actual| ≤ absolute + relative·|expected| for every element, NaN never passing. */
    static void assertClose(Tensor expected, Tensor actual, double absolute, double relative) {
        float[] e = expected.toArray();
        float[] a = actual.toArray();
        int n = expected.cols();
        for (int i = 0; i < e.length; i++) {
            double tolerance = absolute + relative * Math.abs(e[i]);
            if (!(Math.abs(e[i] - a[i]) <= tolerance) && e[i] != a[i]) {
                fail("element (" + i / n + ", " + i % n + "): expected " + e[i] + " but was " + a[i]
                        + " (tolerance " + tolerance + ")");
            }
        }
    }
}
