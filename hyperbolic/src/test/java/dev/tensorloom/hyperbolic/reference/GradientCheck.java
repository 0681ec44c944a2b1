package dev.tensorloom.hyperbolic.reference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Random;

/**
 * A backward pass against float64 central finite differences: for a random output gradient g, each input
 * element's (and c's) derivative of L = ⟨g, f(inputs, c)⟩ is (L(θ + h) - L(θ - h))/2h with h = 1e-6 relative
 * to the element's size; its truncation error is O(h²) and its rounding error about 1e-16·|L|/h ≈ 1e-10·|L|,
 * so 1e-6·(1 + |derivative|) passes a correct gradient and fails any wrong term.
 */
final class GradientCheck {

    static final double TOLERANCE = 1e-6;

    interface Forward {
        double[] apply(PoincareReference ball, double[][] inputs);
    }

    interface Backward {
        PoincareReference.Gradients apply(PoincareReference ball, double[][] inputs, double[] gradOut);
    }

    private GradientCheck() {
    }

    static void check(String name, double c, Forward f, Backward b, Random random, double[]... inputs) {
        PoincareReference ball = new PoincareReference(c);
        double[] out = f.apply(ball, inputs);
        double[] g = BallSamples.gaussian(random, out.length, 1);
        PoincareReference.Gradients analytic = b.apply(ball, inputs, g);
        assertEquals(inputs.length, analytic.inputs().length, name + ": one gradient per input");
        for (int k = 0; k < inputs.length; k++) {
            for (int i = 0; i < inputs[k].length; i++) {
                double saved = inputs[k][i];
                double h = 1e-6 * Math.max(1, Math.abs(saved));
                inputs[k][i] = saved + h;
                double plus = BallSamples.dot(g, f.apply(ball, inputs));
                inputs[k][i] = saved - h;
                double minus = BallSamples.dot(g, f.apply(ball, inputs));
                inputs[k][i] = saved;
                compare(name + " (c = " + c + "): d/d input " + k + "[" + i + "]", (plus - minus) / (2 * h),
                        analytic.of(k)[i]);
            }
        }
        double h = 1e-6 * c;
        double plus = BallSamples.dot(g, f.apply(new PoincareReference(c + h), inputs));
        double minus = BallSamples.dot(g, f.apply(new PoincareReference(c - h), inputs));
        compare(name + " (c = " + c + "): d/dc", (plus - minus) / (2 * h), analytic.curvature());
    }

    private static void compare(String what, double numeric, double analytic) {
        if (!(Math.abs(numeric - analytic) <= TOLERANCE * (1 + Math.abs(numeric)))) {
            fail(what + ": finite differences give " + numeric + ", the backward pass " + analytic);
        }
    }
}
