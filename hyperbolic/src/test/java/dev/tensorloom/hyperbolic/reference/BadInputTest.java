package dev.tensorloom.hyperbolic.reference;

import static dev.tensorloom.hyperbolic.reference.Close.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.hyperbolic.Curvature;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Bad arguments fail with a message naming the problem; points outside the ball follow the projection policy. */
class BadInputTest {

    private final PoincareReference ball = new PoincareReference(1);

    @ParameterizedTest
    @ValueSource(doubles = {0, -1, Double.NaN, Double.POSITIVE_INFINITY})
    void aCurvatureThatIsNotPositiveAndFiniteIsRefused(double c) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new PoincareReference(c));
        assertTrue(e.getMessage().contains("c > 0") && e.getMessage().contains(String.valueOf(c)), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Curvature.fixed(c));
        assertThrows(IllegalArgumentException.class, () -> Curvature.learnable(c));
    }

    @Test
    void mismatchedDimensionsNameTheOperands() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ball.mobiusAdd(new double[6], new double[4], 2));
        assertEquals("x has 3 rows but y has 2 (dimension 2)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ball.distance(new double[5], new double[5], 2));
        assertEquals("x has 5 values, not a whole number of rows of dimension 2", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ball.expmap0(new double[4], 0));
        assertEquals("dimension must be at least 1, got 0", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ball.matVec(new double[5], 2, new double[6], 3));
        assertEquals("M [2, 3] needs 6 values, got 5", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ball.scalarMul(new double[3], new double[4], 2));
        assertEquals("r (one scalar per row) needs 2 values, got 3", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> ball.weightedMidpoint(new double[4], new double[] {1}, 2));
        assertEquals("weights (one per point) needs 2 values, got 1", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> ball.mobiusAddBackward(new double[4], new double[4], 2, new double[3]));
        assertEquals("the output gradient needs 4 values, got 3", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> ball.gyration(new double[4], new double[4], new double[6], 2));
        assertEquals("v has 2 rows but w has 3 (dimension 2)", e.getMessage());
    }

    @Test
    void nonFiniteValuesNameTheirIndex() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ball.expmap0(new double[] {0, Double.NaN}, 2));
        assertEquals("value NaN at index 1 is not finite", e.getMessage());
    }

    @Test
    void aPointOutsideTheBallIsReadAsItsProjection() {
        double[] outside = {3, -4};
        double[] projected = ball.project(outside, 2);
        double[] y = {0.1, 0.2};
        assertClose(ball.mobiusAdd(projected, y, 2), ball.mobiusAdd(outside, y, 2), 0, "x⊕y");
        assertClose(ball.distance(projected, y, 2), ball.distance(outside, y, 2), 0, "d(x, y)");
        assertClose(ball.logmap0(projected, 2), ball.logmap0(outside, 2), 0, "log₀(x)");
        // Moving the outside point further out changes nothing: its gradient has no radial part.
        double[] g = ball.distance0Backward(outside, 2, new double[] {1}).of(0);
        assertClose(0, g[0] * 3 + g[1] * -4, 1e-12, "radial gradient outside the ball");
    }
}
