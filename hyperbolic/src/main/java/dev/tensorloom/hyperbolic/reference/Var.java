package dev.tensorloom.hyperbolic.reference;

/** A float64 number recorded on a {@link Tape}, with the elementary operations the Poincaré-ball formulas use. */
final class Var {

    final Tape tape;
    final int id;
    final double value;

    Var(Tape tape, int id, double value) {
        this.tape = tape;
        this.id = id;
        this.value = value;
    }

    Var plus(Var o) {
        return tape.push(value + o.value, id, 1, o.id, 1);
    }

    Var plus(double k) {
        return tape.push(value + k, id, 1, -1, 0);
    }

    Var minus(Var o) {
        return tape.push(value - o.value, id, 1, o.id, -1);
    }

    /** k - this. */
    Var subtractedFrom(double k) {
        return tape.push(k - value, id, -1, -1, 0);
    }

    Var times(Var o) {
        return tape.push(value * o.value, id, o.value, o.id, value);
    }

    Var times(double k) {
        return tape.push(value * k, id, k, -1, 0);
    }

    Var div(Var o) {
        double q = value / o.value;
        return tape.push(q, id, 1 / o.value, o.id, -q / o.value);
    }

    /** k / this. */
    Var dividing(double k) {
        double q = k / value;
        return tape.push(q, id, -q / value, -1, 0);
    }

    Var neg() {
        return tape.push(-value, id, -1, -1, 0);
    }

    Var sqrt() {
        double s = Math.sqrt(value);
        return tape.push(s, id, 0.5 / s, -1, 0);
    }

    Var tanh() {
        double t = Math.tanh(value);
        return tape.push(t, id, 1 - t * t, -1, 0);
    }

    /** artanh, in float64 (the JDK has none): ½·log1p(2z/(1 - z)). */
    Var artanh() {
        double a = 0.5 * Math.log1p(2 * value / (1 - value));
        return tape.push(a, id, 1 / (1 - value * value), -1, 0);
    }

    /** softplus(x) = log(1 + eˣ), computed without overflow. */
    Var softplus() {
        double s = value > 0 ? value + Math.log1p(Math.exp(-value)) : Math.log1p(Math.exp(value));
        return tape.push(s, id, 1 / (1 + Math.exp(-value)), -1, 0);
    }

    /** This, held to [lo, hi]; the derivative is 0 where it is held. */
    Var clamp(double lo, double hi) {
        if (value < lo) {
            return tape.push(lo, id, 0, -1, 0);
        }
        if (value > hi) {
            return tape.push(hi, id, 0, -1, 0);
        }
        return this;
    }

    Var atLeast(double lo) {
        return clamp(lo, Double.POSITIVE_INFINITY);
    }

    Var atMost(double hi) {
        return clamp(Double.NEGATIVE_INFINITY, hi);
    }

    @Override
    public String toString() {
        return Double.toString(value);
    }
}
