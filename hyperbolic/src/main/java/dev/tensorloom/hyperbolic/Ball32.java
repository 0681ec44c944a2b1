package dev.tensorloom.hyperbolic;

/**
 * The per-row scalar algebra of the float32 kernels: given a row's dot products (float32 sums from the
 * kernels), the coefficients of its result as a combination of its operand rows. Coefficients are computed in
 * double, which costs nothing next to the dot products and keeps artanh accurate near the boundary.
 */
final class Ball32 {

    static final double MIN_NORM = PoincareKernels.MIN_NORM;
    static final double TANH_LIMIT = 15;
    static final double ARTANH_LIMIT = PoincareKernels.ARTANH_LIMIT;

    final double c;
    final double sqrtC;
    /** The projection radius (1 - ε)/√c. */
    final double maxNorm;

    Ball32(float c) {
        this.c = Curvature.requirePositive(c);
        this.sqrtC = Math.sqrt(this.c);
        this.maxNorm = (1 - PoincareKernels.EPS) / sqrtC;
    }

    /** The factor that projects a row of squared norm n2: 1 inside the radius, radius/norm outside. */
    double projection(double n2) {
        double n = Math.sqrt(Math.max(n2, MIN_NORM * MIN_NORM));
        return n > maxNorm ? maxNorm / n : 1;
    }

    /** d(maxNorm)/dc = -maxNorm/(2c). */
    double maxNormByC() {
        return -maxNorm / (2 * c);
    }

    static double norm(double n2) {
        return Math.sqrt(Math.max(n2, MIN_NORM * MIN_NORM));
    }

    static double tanh(double u) {
        return Math.tanh(Math.max(-TANH_LIMIT, Math.min(TANH_LIMIT, u)));
    }

    static double clampArtanh(double z) {
        return Math.max(-ARTANH_LIMIT, Math.min(ARTANH_LIMIT, z));
    }

    /**
     * artanh in double as ½·log((1 + z)/(1 - z)): Math.log is an intrinsic, log1p is not, and for a result
     * stored in float32 the absolute error of about 1e-16 this form has near 0 does not matter.
     */
    static double artanh(double z) {
        double a = clampArtanh(z);
        return 0.5 * Math.log((1 + a) / (1 - a));
    }

    /** λ_x = 2/(1 - c||x||²). */
    double lambda(double x2) {
        return 2 / Math.max(1 - c * x2, MIN_NORM);
    }

    /**
     * x⊕y = (s·x + t·y)/den, then projected by k: the result is (k·s/den)·x + (k·t/den)·y.
     * s = 1 + 2c⟨x,y⟩ + c||y||², t = 1 - c||x||², den = 1 + 2c⟨x,y⟩ + c²||x||²||y||².
     */
    record Mobius(double s, double t, double den, double k, double z2) {
        double onX() {
            return k * s / den;
        }

        double onY() {
            return k * t / den;
        }
    }

    Mobius mobius(double x2, double y2, double xy) {
        double s = 1 + 2 * c * xy + c * y2;
        double t = 1 - c * x2;
        double den = Math.max(1 + 2 * c * xy + c * c * x2 * y2, MIN_NORM);
        double z2 = (s * s * x2 + 2 * s * t * xy + t * t * y2) / (den * den);
        return new Mobius(s, t, den, projection(z2), z2);
    }

    /**
     * d(x,y) from ⟨x,y⟩ = g, ||x||² = x2 and ||y||² = y2 by the closed form, with its partial derivatives;
     * d(0,x) is the case g = y2 = 0.
     */
    record Distance(double value, double byG, double byX2, double byY2, double byC) {
    }

    /** d(x,y) alone, for the forward passes: the closed form without its partial derivatives. */
    double distanceValue(double g, double x2, double y2) {
        double a = 1 - 2 * c * g + c * y2;
        double b = 1 - c * x2;
        double num2 = Math.max(a * a * x2 + b * b * y2 - 2 * a * b * g, MIN_NORM * MIN_NORM);
        double den = Math.max(1 - 2 * c * g + c * c * x2 * y2, MIN_NORM);
        return 2 * artanh(sqrtC * Math.sqrt(num2) / den) / sqrtC;
    }

    Distance distance(double g, double x2, double y2) {
        double a = 1 - 2 * c * g + c * y2;
        double b = 1 - c * x2;
        double num2 = a * a * x2 + b * b * y2 - 2 * a * b * g;
        boolean numFloored = num2 < MIN_NORM * MIN_NORM;
        double num = Math.sqrt(numFloored ? MIN_NORM * MIN_NORM : num2);
        double den = 1 - 2 * c * g + c * c * x2 * y2;
        boolean denFloored = den < MIN_NORM;
        // One division, one artanh (one log) and 1/(1 - u²) once each: a training pair takes 51 of these.
        double invDen = 1 / (denFloored ? MIN_NORM : den);
        double r = num * invDen;
        double u = sqrtC * r;
        double artanh = artanh(u);
        double value = 2 * artanh / sqrtC;
        // d = 2·artanh(√c·r)/√c: its derivative in r, and in c at fixed r.
        boolean clamped = u > ARTANH_LIMIT;
        double invOneMinusU2 = clamped ? 0 : 1 / (1 - u * u);
        double byR = 2 * invOneMinusU2;
        double byCAtR = (r * invOneMinusU2 - artanh / sqrtC) / c;
        // r = num/den: d num = d(num²)/(2 num), each partial of num² and den by hand.
        double numScale = numFloored ? 0 : 0.5 * invDen / num;
        double denScale = denFloored ? 0 : -r * invDen;
        double num2ByG = -4 * c * a * x2 - 2 * b * (a - 2 * c * g);
        double num2ByX2 = a * a - 2 * c * b * y2 + 2 * c * a * g;
        double num2ByY2 = 2 * c * a * x2 + b * b - 2 * c * b * g;
        double aByC = -2 * g + y2;
        double bByC = -x2;
        double num2ByC = 2 * a * x2 * aByC + 2 * b * y2 * bByC - 2 * g * (aByC * b + a * bByC);
        double rByG = num2ByG * numScale + denScale * (-2 * c);
        double rByX2 = num2ByX2 * numScale + denScale * (c * c * y2);
        double rByY2 = num2ByY2 * numScale + denScale * (c * c * x2);
        double rByC = num2ByC * numScale + denScale * (-2 * g + 2 * c * x2 * y2);
        return new Distance(value, byR * rByG, byR * rByX2, byR * rByY2, byR * rByC + byCAtR);
    }

    /**
     * exp₀ and log₀ scale their row: φ(n) = tanh(√c·n)/(√c·n) and ψ(n) = artanh(√c·n)/(√c·n), with their
     * derivatives in n and in c. Near u = √c·n = 0 the series φ ≈ 1 - u²/3 and ψ ≈ 1 + u²/3 avoid cancellation.
     */
    record Scale(double value, double byN, double byC) {
    }

    Scale expScale(double n) {
        double u = sqrtC * n;
        if (u < 1e-4) {
            double byU = -2 * u / 3;
            return new Scale(1 - u * u / 3, byU * sqrtC, byU * n / (2 * sqrtC));
        }
        double t = tanh(u);
        double dt = u > TANH_LIMIT ? 0 : 1 - t * t;
        double byU = (dt * u - t) / (u * u);
        return new Scale(t / u, byU * sqrtC, byU * n / (2 * sqrtC));
    }

    Scale logScale(double n) {
        double u = sqrtC * n;
        if (u < 1e-4) {
            double byU = 2 * u / 3;
            return new Scale(1 + u * u / 3, byU * sqrtC, byU * n / (2 * sqrtC));
        }
        double a = artanh(u);
        double da = u > ARTANH_LIMIT ? 0 : 1 / (1 - u * u);
        double byU = (da * u - a) / (u * u);
        return new Scale(a / u, byU * sqrtC, byU * n / (2 * sqrtC));
    }

    /**
     * ½⊗ scales its row by φ(n) = tanh(½·artanh(√c·n))/(√c·n) = 1/(1 + √(1 - u²)), u = √c·n (the half-angle
     * identity, which needs no series near 0); beyond the artanh clamp u is held and φ = t/u.
     */
    Scale halfScale(double n) {
        double u = sqrtC * n;
        double byU;
        double value;
        if (u > ARTANH_LIMIT) {
            double t = Math.tanh(0.5 * artanh(u));
            value = t / u;
            byU = -t / (u * u);
        } else {
            double root = Math.sqrt(1 - u * u);
            value = 1 / (1 + root);
            byU = u / (root * (1 + root) * (1 + root));
        }
        return new Scale(value, byU * sqrtC, byU * n / (2 * sqrtC));
    }

    /**
     * The backward pass of gyr[u,v]w = w + α·u + β·v for an output gradient g, from su = ⟨g,u⟩ and sv = ⟨g,v⟩:
     * α, β and dL/dq = su·∂α/∂q + sv·∂β/∂q for q in ⟨u,w⟩, ⟨v,w⟩, ⟨u,v⟩, ||u||², ||v||² and c.
     */
    record GyrationGrad(double alpha, double beta, double byUw, double byVw, double byUv, double byU2, double byV2,
            double byC) {
    }

    GyrationGrad gyrationBackward(double uw, double vw, double uv, double u2, double v2, double su, double sv) {
        double k = -c;
        double k2 = c * c;
        double a = -k2 * uw * v2 - k * vw + 2 * k2 * uv * vw;
        double b = -k2 * vw * u2 + k * uw;
        double d = 1 - 2 * k * uv + k2 * u2 * v2;
        boolean floored = d < MIN_NORM;
        d = floored ? MIN_NORM : d;
        double alpha = 2 * a / d;
        double beta = 2 * b / d;
        // ∂(2A/D) = (2∂A - α∂D)/D, and likewise for β; D's partials vanish where it is floored.
        double f = floored ? 0 : 1;
        double[] aBy = {-k2 * v2, -k + 2 * k2 * uv, 2 * k2 * vw, 0, -k2 * uw, -2 * k * uw * v2 - vw + 4 * k * uv * vw};
        double[] bBy = {k, -k2 * u2, 0, -k2 * vw, 0, -2 * k * vw * u2 + uw};
        double[] dBy = {0, 0, -2 * k * f, k2 * v2 * f, k2 * u2 * f, (-2 * uv + 2 * k * u2 * v2) * f};
        double[] g = new double[6];
        for (int q = 0; q < 6; q++) {
            g[q] = su * (2 * aBy[q] - alpha * dBy[q]) / d + sv * (2 * bBy[q] - beta * dBy[q]) / d;
        }
        // The last partial was in κ = -c.
        return new GyrationGrad(alpha, beta, g[0], g[1], g[2], g[3], g[4], -g[5]);
    }

    /**
     * gyr[u,v]w = w + (2A/D)·u + (2B/D)·v with κ = -c (REFERENCE.md §3); returns {2A/D, 2B/D}.
     */
    double[] gyration(double uw, double vw, double uv, double u2, double v2) {
        double k = -c;
        double k2 = c * c;
        double a = -k2 * uw * v2 - k * vw + 2 * k2 * uv * vw;
        double b = -k2 * vw * u2 + k * uw;
        double d = Math.max(1 - 2 * k * uv + k2 * u2 * v2, MIN_NORM);
        return new double[] {2 * a / d, 2 * b / d};
    }
}
