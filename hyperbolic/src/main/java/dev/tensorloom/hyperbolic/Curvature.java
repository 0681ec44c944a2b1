package dev.tensorloom.hyperbolic;

/**
 * The curvature -c of a Poincaré ball, given by c > 0: fixed, or learnable through c = softplus(ρ) =
 * log(1 + e^ρ), which keeps c positive whatever step an optimizer takes on ρ. {@link #rawGradient} turns a
 * gradient with respect to c (what every backward pass returns) into one with respect to ρ:
 * dL/dρ = dL/dc · sigmoid(ρ).
 */
public final class Curvature {

    private final boolean learnable;
    private double raw;

    private Curvature(boolean learnable, double raw) {
        this.learnable = learnable;
        this.raw = raw;
    }

    /** A curvature -c that does not train. */
    public static Curvature fixed(double c) {
        return new Curvature(false, requirePositive(c));
    }

    /** A learnable curvature starting at -c, stored as ρ = softplus⁻¹(c) = log(e^c - 1). */
    public static Curvature learnable(double c) {
        requirePositive(c);
        // log(e^c - 1) = c + log(1 - e^-c), which does not overflow for large c.
        return new Curvature(true, c + Math.log(-Math.expm1(-c)));
    }

    /** c > 0 and finite, or an exception naming the value. */
    public static double requirePositive(double c) {
        if (!(c > 0) || !Double.isFinite(c)) {
            throw new IllegalArgumentException("the curvature -c needs c > 0 and finite, got c = " + c);
        }
        return c;
    }

    public boolean isLearnable() {
        return learnable;
    }

    /** c. */
    public double value() {
        return learnable ? softplus(raw) : raw;
    }

    /** ρ for a learnable curvature, c for a fixed one. */
    public double raw() {
        return raw;
    }

    /** dL/dρ from dL/dc; 0 for a fixed curvature. */
    public double rawGradient(double curvatureGradient) {
        return learnable ? curvatureGradient * sigmoid(raw) : 0;
    }

    /** ρ ← ρ - step, for a learnable curvature. */
    public void descend(double step) {
        if (!learnable) {
            throw new IllegalStateException("a fixed curvature does not train");
        }
        raw -= step;
        requirePositive(value());
    }

    static double softplus(double x) {
        return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
    }

    static double sigmoid(double x) {
        return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
    }

    @Override
    public String toString() {
        return (learnable ? "learnable c = " : "c = ") + value();
    }
}
