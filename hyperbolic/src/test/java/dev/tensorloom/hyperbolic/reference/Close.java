package dev.tensorloom.hyperbolic.reference;

import static org.junit.jupiter.api.Assertions.fail;

/** Element-by-element float64 comparisons; NaN never passes. */
final class Close {

    private Close() {
    }

    /** |expected - actual| ≤ tolerance·(1 + |expected|) everywhere. */
    static void assertClose(double[] expected, double[] actual, double tolerance, String what) {
        if (expected.length != actual.length) {
            fail(what + ": expected " + expected.length + " values, got " + actual.length);
        }
        for (int i = 0; i < expected.length; i++) {
            if (!(Math.abs(expected[i] - actual[i]) <= tolerance * (1 + Math.abs(expected[i])))) {
                fail(what + ": element " + i + " expected " + expected[i] + " but was " + actual[i] + " (tolerance "
                        + tolerance + " relative)");
            }
        }
    }

    static void assertClose(double expected, double actual, double tolerance, String what) {
        assertClose(new double[] {expected}, new double[] {actual}, tolerance, what);
    }

    static void assertFinite(double[] values, String what) {
        for (int i = 0; i < values.length; i++) {
            if (!Double.isFinite(values[i])) {
                fail(what + ": element " + i + " is " + values[i]);
            }
        }
    }

    static void assertFinite(PoincareReference.Gradients g, String what) {
        for (int k = 0; k < g.inputs().length; k++) {
            assertFinite(g.of(k), what + ", gradient of input " + k);
        }
        assertFinite(new double[] {g.curvature()}, what + ", gradient of c");
    }
}
