package dev.tensorloom.runtime.kernel;

import dev.tensorloom.runtime.tensor.Tensor;
import dev.tensorloom.testkit.FloatAssertions;
import java.lang.foreign.Arena;

/** {@link FloatAssertions} on host tensors: how a kernel's result is compared with the scalar oracle's. */
final class KernelAssertions {

    private KernelAssertions() {
    }

    /** Σ_p |a[i,p]|·|b[p,j]| (or |b[j,p]| when transposed): the scale of each product's error. */
    static Tensor absoluteProducts(Arena arena, Tensor a, Tensor b, boolean transposed) {
        int n = transposed ? b.rows() : b.cols();
        return Tensor.of(arena, FloatAssertions.absoluteProducts(a.toArray(), b.toArray(), a.rows(), a.cols(), n,
                transposed), a.rows(), n);
    }

    static void assertProductClose(Tensor expected, Tensor actual, Tensor absoluteProducts) {
        FloatAssertions.assertProductClose(expected.toArray(), actual.toArray(), absoluteProducts.toArray(),
                expected.cols());
    }

    /** |expected - actual| ≤ absolute + relative·|expected| for every element, NaN never passing. */
    static void assertClose(Tensor expected, Tensor actual, double absolute, double relative) {
        FloatAssertions.assertClose(expected.toArray(), actual.toArray(), expected.cols(), absolute, relative);
    }
}
