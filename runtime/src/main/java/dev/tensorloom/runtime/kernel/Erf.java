package dev.tensorloom.runtime.kernel;

/**
 * The error function, which java.lang.Math lacks. Abramowitz and Stegun 7.1.26 with its published
 * coefficients: |error| below 1.5e-7 on the whole line, below float32's resolution near 1.
 */
public final class Erf {

    public static final float P = 0.3275911f;
    public static final float A1 = 0.254829592f;
    public static final float A2 = -0.284496736f;
    public static final float A3 = 1.421413741f;
    public static final float A4 = -1.453152027f;
    public static final float A5 = 1.061405429f;

    private Erf() {
    }

    public static double erf(double x) {
        double ax = Math.abs(x);
        double t = 1.0 / (1.0 + P * ax);
        double poly = t * (A1 + t * (A2 + t * (A3 + t * (A4 + t * A5))));
        double y = 1.0 - poly * Math.exp(-ax * ax);
        return Math.copySign(y, x);
    }
}
