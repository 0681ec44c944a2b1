package dev.tensorloom.hyperbolic;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class CurvatureTest {

    @ParameterizedTest
    @ValueSource(doubles = {1e-6, 0.1, 1, 10, 800})
    void aLearnableCurvatureStartsAtItsValueAndChainsItsGradientThroughSoftplus(double c) {
        Curvature k = Curvature.learnable(c);
        assertTrue(k.isLearnable());
        assertEquals(c, k.value(), 1e-12 * c);
        // dc/dρ by central differences on softplus.
        double rho = k.raw();
        double h = 1e-6 * Math.max(1, Math.abs(rho));
        double dcdrho = (Curvature.softplus(rho + h) - Curvature.softplus(rho - h)) / (2 * h);
        assertEquals(2.5 * dcdrho, k.rawGradient(2.5), 1e-7 * (1 + dcdrho));
    }

    @Test
    void descendingOnRhoKeepsCPositive() {
        Curvature k = Curvature.learnable(1);
        k.descend(50);
        assertTrue(k.value() > 0, k.toString());
        k.descend(-60);
        assertTrue(k.value() > 9, k.toString());
    }

    @Test
    void aFixedCurvatureHasNoGradientAndDoesNotTrain() {
        Curvature k = Curvature.fixed(2);
        assertFalse(k.isLearnable());
        assertEquals(2, k.value());
        assertEquals(0, k.rawGradient(3.0));
        assertThrows(IllegalStateException.class, () -> k.descend(0.1));
    }
}
