package dev.tensorloom.hyperbolic.hierarchy;

import dev.tensorloom.hyperbolic.BallRows;
import dev.tensorloom.hyperbolic.Curvature;
import dev.tensorloom.hyperbolic.PoincareKernels;
import dev.tensorloom.hyperbolic.hierarchy.HierarchyEmbedding.Space;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.ValueLayout;

/**
 * What the training loop and the evaluation need of a space: a pair's score with its gradient and an SGD step of
 * one row, on plain float rows (a training pair is 51 scores of rows of 10 floats, far too little work for a kernel
 * call each), and all-pairs scores for the evaluation. The Poincaré ball takes the first two from
 * {@link BallRows} (the family's formulas, row by row) and all pairs from the family's kernels; the Euclidean
 * baseline is plain loops over ||u - v||², which is all it is.
 */
abstract sealed class Geometry {

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    static Geometry of(Space space, PoincareKernels kernels, double curvature) {
        return space == Space.POINCARE ? new Poincare(kernels, Curvature.fixed(curvature)) : new Euclidean();
    }

    /**
     * score(u, v) of the rows at a[u..] and b[v..], and its gradient as coefficients over the two rows:
     * dscore/du = grad[g]·u + grad[g+1]·v, dscore/dv = grad[g+2]·u + grad[g+3]·v.
     */
    abstract double score(float[] a, int u, float[] b, int v, int dim, double[] grad, int g);

    /** The row at points[x..] takes one step of rate lr against the gradient at grad[g..]; tmp holds dim floats. */
    abstract void step(double lr, float[] points, int x, float[] grad, int g, int dim, float[] tmp);

    /** out[i, j] = score(x[i], y[j]). */
    abstract void allPairs(Tensor x, Tensor y, Tensor out);

    /** The Poincaré ball: d(u,v) and Riemannian SGD with the exponential map, as the family computes them. */
    static final class Poincare extends Geometry {
        private final PoincareKernels kernels;
        private final BallRows rows;
        private final float c;

        Poincare(PoincareKernels kernels, Curvature curvature) {
            this.kernels = kernels;
            this.c = (float) curvature.value();
            this.rows = new BallRows(c);
        }

        @Override
        double score(float[] a, int u, float[] b, int v, int dim, double[] grad, int g) {
            return rows.distance(a, u, b, v, dim, grad, g);
        }

        @Override
        void step(double lr, float[] points, int x, float[] grad, int g, int dim, float[] tmp) {
            rows.riemannianSgdStep(lr, points, x, grad, g, dim, tmp);
        }

        @Override
        void allPairs(Tensor x, Tensor y, Tensor out) {
            kernels.allPairsDistance(c, x, y, out);
        }
    }

    /** Euclidean space scored by ||u - v||², the paper's baseline; plain SGD, no constraint. */
    static final class Euclidean extends Geometry {

        @Override
        double score(float[] a, int u, float[] b, int v, int dim, double[] grad, int g) {
            double s = 0;
            for (int k = 0; k < dim; k++) {
                double d = a[u + k] - b[v + k];
                s += d * d;
            }
            grad[g] = 2;
            grad[g + 1] = -2;
            grad[g + 2] = -2;
            grad[g + 3] = 2;
            return s;
        }

        @Override
        void step(double lr, float[] points, int x, float[] grad, int g, int dim, float[] tmp) {
            for (int k = 0; k < dim; k++) {
                points[x + k] = (float) (points[x + k] - lr * grad[g + k]);
            }
        }

        @Override
        void allPairs(Tensor x, Tensor y, Tensor out) {
            for (int i = 0; i < x.rows(); i++) {
                for (int j = 0; j < y.rows(); j++) {
                    double s = 0;
                    for (int k = 0; k < x.cols(); k++) {
                        double d = at(x, i, k) - at(y, j, k);
                        s += d * d;
                    }
                    put(out, i, j, (float) s);
                }
            }
        }
    }

    static float at(Tensor t, int row, int col) {
        return t.segment().getAtIndex(F, t.offset() + (long) row * t.leadingDim() + col);
    }

    static void put(Tensor t, int row, int col, float value) {
        t.segment().setAtIndex(F, t.offset() + (long) row * t.leadingDim() + col, value);
    }
}
