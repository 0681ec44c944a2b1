package dev.tensorloom.hyperbolic.hierarchy;

import dev.tensorloom.hyperbolic.Curvature;
import dev.tensorloom.hyperbolic.hierarchy.HierarchyEmbedding.Space;

/**
 * What the training loop and the evaluation need of a space, on plain float rows (a training pair is 51 scores of
 * rows of 10 floats, far too little work for a kernel call each): a pair's score with its gradient, one SGD step of
 * a row (a retraction and the metric, from which the optimizers are made), and the score alone for the
 * evaluation.
 *
 * <p>The Poincaré ball here is the published one (facebookresearch/poincare-embeddings, {@code
 * hype/manifolds/poincare.py}), not the float32 kernels': the distance in its arcosh form computed in double, points
 * held within the radius (1 - 1e-5)/√c, and the step the retraction x ← proj(x - lr·∇ᴱ/λ_x²). The kernels project
 * to (1 - 4e-3)/√c, where the largest distance from the origin is 6.2: on the noun hierarchy 98% of the points of a
 * 250-epoch run ended on that sphere, the hierarchy's depth flattened into one shell (MAP 0.335). At 1 - 1e-5 the
 * radius reaches 12.2 from the origin, as in the paper; float32 rows still resolve such points, since every sum
 * and the conformal factor 1 - c||x||² are computed in double. What they do not resolve is a small step there: near
 * the radius a step of Riemannian SGD at rate 1 moves a point by about the spacing of floats (6e-8), and on the
 * nouns such steps from the same start gave the same ranks to three decimals with the radius at 1 - 1e-5 and at
 * 1 - 1e-6. The published code trains in float64 (embed.py:155); rows and Adam's moments in float64 measured no
 * better on the nouns (mean rank 6.20 against 5.86 after 30 epochs of Adam at 0.03, and 5.91 against 5.54 after
 * 10 more of SGD at 1.0), so the rows stay float32.
 */
abstract sealed class Geometry {

    static Geometry of(Space space, double curvature) {
        return of(space, curvature, Poincare.EPS);
    }

    /** boundaryEpsilon: the ball holds points within (1 - boundaryEpsilon)/√c (ignored for Euclidean space). */
    static Geometry of(Space space, double curvature, double boundaryEpsilon) {
        return space == Space.POINCARE ? new Poincare(curvature, boundaryEpsilon) : new Euclidean();
    }

    /**
     * score(u, v) of the rows at a[u..] and b[v..], and its gradient as coefficients over the two rows:
     * dscore/du = grad[g]·u + grad[g+1]·v, dscore/dv = grad[g+2]·u + grad[g+3]·v.
     */
    abstract double score(float[] a, int u, float[] b, int v, int dim, double[] grad, int g);

    /** score(u, v) alone. */
    abstract double score(float[] a, int u, float[] b, int v, int dim);

    /** 1/λ_x² of the row at points[x..]: the Riemannian gradient is this times the Euclidean one. */
    abstract double inverseMetric(float[] points, int x, int dim);

    /** The retraction: the row at points[x..] moves by scale·dir[d..] and is held in the space. */
    abstract void move(float[] points, int x, float[] dir, int d, double scale, int dim);

    /**
     * One Riemannian SGD step of rate lr against the Euclidean gradient at grad[g..]: x ← R_x(-lr·∇ᴱ/λ_x²), the
     * published RiemannianSGD (rgrad, then its expm, which for the ball is x + step) with its renormalisation, the
     * Riemannian gradient's row clipped to {@link #maxGradientNorm} as the published rgrad clips it.
     */
    final void step(double lr, float[] points, int x, float[] grad, int g, int dim) {
        double scale = inverseMetric(points, x, dim);
        double n2 = 0;
        for (int k = 0; k < dim; k++) {
            n2 += (double) grad[g + k] * grad[g + k];
        }
        double norm = scale * Math.sqrt(n2);
        if (norm > maxGradientNorm()) {
            scale *= maxGradientNorm() / norm;
        }
        move(points, x, grad, g, -lr * scale, dim);
    }

    /** The largest Euclidean norm {@link #step} lets the Riemannian gradient ∇ᴱ/λ_x² of a row have. */
    abstract double maxGradientNorm();

    /**
     * The Poincaré ball of curvature -c: d(u,v) = arcosh(1 + 2c||u - v||²/(αβ))/√c with α = 1 - c||u||²,
     * β = 1 - c||v||², and Riemannian SGD by retraction.
     */
    static final class Poincare extends Geometry {
        /** The published boundary margin (PoincareManifold's eps), the default: points stay within (1 - EPS)/√c. */
        static final double EPS = 1e-5;
        /**
         * The published clip of each row's Riemannian gradient (hype/manifolds/poincare.py:48, {@code
         * n_vals.renorm_(2, 0, 5)} on the sparse gradient's rows, after the 1/λ² scaling).
         */
        static final double MAX_GRADIENT_NORM = 5;
        /** Floor of sinh(√c·d) in the gradient: coincident points get a zero gradient, not NaN. */
        private static final double MIN_SINH = 1e-15;

        private final double c;
        private final double sqrtC;
        private final double maxNorm;
        /** The largest c||x||² a point may have: (1 - eps)², eps the boundary epsilon. */
        private final double maxCx2;

        Poincare(double curvature, double eps) {
            if (!(eps > 0 && eps < 1)) {
                throw new IllegalArgumentException("the boundary epsilon must be in (0, 1), got " + eps);
            }
            this.c = Curvature.requirePositive(curvature);
            this.sqrtC = Math.sqrt(c);
            this.maxNorm = (1 - eps) / sqrtC;
            this.maxCx2 = (1 - eps) * (1 - eps);
        }

        @Override
        double score(float[] a, int u, float[] b, int v, int dim, double[] grad, int g) {
            double x2 = 0;
            double y2 = 0;
            double diff2 = 0;
            for (int k = 0; k < dim; k++) {
                double p = a[u + k];
                double q = b[v + k];
                x2 += p * p;
                y2 += q * q;
                diff2 += (p - q) * (p - q);
            }
            double alpha = 1 - Math.min(c * x2, maxCx2);
            double beta = 1 - Math.min(c * y2, maxCx2);
            // γ = 1 + t; sinh(√c·d) = √(γ² - 1) = √(t(t + 2)), no cancellation near γ = 1.
            double t = 2 * c * diff2 / (alpha * beta);
            double sinh = Math.sqrt(t * (t + 2));
            // ∂d/∂u = K·((1 + c||u - v||²/α)·u - v), K = 4√c/(αβ·sinh); ∂d/∂v alike with β.
            double k = 4 * sqrtC / (alpha * beta * Math.max(sinh, MIN_SINH));
            grad[g] = k * (1 + c * diff2 / alpha);
            grad[g + 1] = -k;
            grad[g + 2] = -k;
            grad[g + 3] = k * (1 + c * diff2 / beta);
            return Math.log(1 + t + sinh) / sqrtC;
        }

        /** The value alone: the few extra operations of the gradient cost nothing next to the logarithm. */
        @Override
        double score(float[] a, int u, float[] b, int v, int dim) {
            return score(a, u, b, v, dim, new double[4], 0);
        }

        @Override
        double maxGradientNorm() {
            return MAX_GRADIENT_NORM;
        }

        /** 1/λ_x² = (1 - c||x||²)²/4. */
        @Override
        double inverseMetric(float[] points, int x, int dim) {
            double x2 = 0;
            for (int k = 0; k < dim; k++) {
                double p = points[x + k];
                x2 += p * p;
            }
            double conformal = 1 - Math.min(c * x2, maxCx2);
            return conformal * conformal / 4;
        }

        /** x + scale·dir, projected to the radius (1 - eps)/√c. */
        @Override
        void move(float[] points, int x, float[] dir, int d, double scale, int dim) {
            double n2 = 0;
            for (int k = 0; k < dim; k++) {
                float p = (float) (points[x + k] + scale * dir[d + k]);
                points[x + k] = p;
                n2 += (double) p * p;
            }
            if (n2 > maxNorm * maxNorm) {
                float shrink = (float) (maxNorm / Math.sqrt(n2));
                for (int k = 0; k < dim; k++) {
                    points[x + k] *= shrink;
                }
            }
        }
    }

    /** Euclidean space scored by ||u - v||², the paper's baseline; plain SGD, no constraint. */
    static final class Euclidean extends Geometry {

        @Override
        double score(float[] a, int u, float[] b, int v, int dim, double[] grad, int g) {
            grad[g] = 2;
            grad[g + 1] = -2;
            grad[g + 2] = -2;
            grad[g + 3] = 2;
            return score(a, u, b, v, dim);
        }

        @Override
        double score(float[] a, int u, float[] b, int v, int dim) {
            double s = 0;
            for (int k = 0; k < dim; k++) {
                double d = a[u + k] - b[v + k];
                s += d * d;
            }
            return s;
        }

        @Override
        double inverseMetric(float[] points, int x, int dim) {
            return 1;
        }

        /** The published Euclidean manifold's rgrad returns the gradient as it is (hype/manifolds/euclidean.py:31). */
        @Override
        double maxGradientNorm() {
            return Double.POSITIVE_INFINITY;
        }

        @Override
        void move(float[] points, int x, float[] dir, int d, double scale, int dim) {
            for (int k = 0; k < dim; k++) {
                points[x + k] = (float) (points[x + k] + scale * dir[d + k]);
            }
        }
    }
}
