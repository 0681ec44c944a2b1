package dev.tensorloom.runtime.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Erf against reference values (A&S table 7.1, to 16 digits) within the formula's published 1.5e-7. */
class ErfTest {

    private static final double BOUND = 1.5e-7;

    @Test
    void matchesReferenceValues() {
        double[][] reference = {
            {0.1, 0.1124629160182849}, {0.5, 0.5204998778130465}, {1.0, 0.8427007929497149},
            {1.5, 0.9661051464753108}, {2.0, 0.9953222650189527}, {3.0, 0.9999779095030014},
        };
        for (double[] r : reference) {
            assertEquals(r[1], Erf.erf(r[0]), BOUND, "erf(" + r[0] + ")");
        }
    }

    @Test
    void isOddAndBoundedByOne() {
        for (double x = 0; x <= 6; x += 0.01) {
            assertEquals(-Erf.erf(x), Erf.erf(-x), 0.0, "erf(-" + x + ")");
            assertTrue(Math.abs(Erf.erf(x)) <= 1.0, "|erf(" + x + ")|");
        }
        assertEquals(0.0, Erf.erf(0.0), BOUND);
        assertEquals(1.0, Erf.erf(10.0), 0.0);
        assertEquals(-1.0, Erf.erf(Double.NEGATIVE_INFINITY), 0.0);
    }

    @Test
    void staysWithinTheBoundOfASeriesReference() {
        for (double x = -3; x <= 3; x += 0.0625) {
            assertEquals(series(x), Erf.erf(x), BOUND, "erf(" + x + ")");
        }
    }

    /** erf(x) = 2/√π · Σ (-1)ⁿ x²ⁿ⁺¹ / (n! (2n+1)), exact to double rounding for |x| ≤ 3. */
    private static double series(double x) {
        double term = x;
        double sum = x;
        for (int n = 1; n < 200; n++) {
            term *= -x * x / n;
            sum += term / (2 * n + 1);
        }
        return 2 / Math.sqrt(Math.PI) * sum;
    }
}
