package dev.tensorloom.hyperbolic.hierarchy;

import dev.tensorloom.hyperbolic.Curvature;
import dev.tensorloom.hyperbolic.PoincareKernels;
import dev.tensorloom.hyperbolic.hierarchy.HierarchyEmbedding.Space;
import dev.tensorloom.hyperbolic.optim.RiemannianSgd;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * What the training loop and the evaluation need of a space: row-wise scores and their backward pass, an SGD
 * step, and all-pairs scores. The Poincaré ball takes all four from the family's kernels and Riemannian SGD; the
 * Euclidean baseline is plain loops over ||u - v||², which is all it is.
 */
abstract sealed class Geometry {

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    static Geometry of(Space space, PoincareKernels kernels, double curvature) {
        return space == Space.POINCARE ? new Poincare(kernels, Curvature.fixed(curvature)) : new Euclidean();
    }

    /** out[i] = score(u[i], v[i]). */
    abstract void scores(Tensor u, Tensor v, Tensor out);

    /** dL/du and dL/dv from dL/dscore. */
    abstract void scoresBackward(Tensor u, Tensor v, Tensor gradOut, Tensor gradU, Tensor gradV);

    /** points ← a step of rate lr against grad (overwritten); scratch has the points' shape. */
    abstract void step(double lr, Tensor points, Tensor grad, Tensor scratch);

    /** out[i, j] = score(x[i], y[j]). */
    abstract void allPairs(Tensor x, Tensor y, Tensor out);

    /** The Poincaré ball: d(u,v) by the family's kernels, steps by Riemannian SGD with the exponential map. */
    static final class Poincare extends Geometry {
        private final PoincareKernels kernels;
        private final Curvature curvature;
        private final float c;

        Poincare(PoincareKernels kernels, Curvature curvature) {
            this.kernels = kernels;
            this.curvature = curvature;
            this.c = (float) curvature.value();
        }

        @Override
        void scores(Tensor u, Tensor v, Tensor out) {
            kernels.distance(c, u, v, out);
        }

        @Override
        void scoresBackward(Tensor u, Tensor v, Tensor gradOut, Tensor gradU, Tensor gradV) {
            kernels.distanceBackward(c, u, v, gradOut, gradU, gradV);
        }

        @Override
        void step(double lr, Tensor points, Tensor grad, Tensor scratch) {
            // A RiemannianSgd is a learning rate and the kernels: making one per step costs nothing.
            new RiemannianSgd(kernels, lr).step(curvature, points, grad, scratch);
        }

        @Override
        void allPairs(Tensor x, Tensor y, Tensor out) {
            kernels.allPairsDistance(c, x, y, out);
        }
    }

    /** Euclidean space scored by ||u - v||², the paper's baseline; plain SGD, no constraint. */
    static final class Euclidean extends Geometry {

        @Override
        void scores(Tensor u, Tensor v, Tensor out) {
            for (int i = 0; i < u.rows(); i++) {
                double s = 0;
                for (int k = 0; k < u.cols(); k++) {
                    double d = at(u, i, k) - at(v, i, k);
                    s += d * d;
                }
                put(out, i, 0, (float) s, 1);
            }
        }

        @Override
        void scoresBackward(Tensor u, Tensor v, Tensor gradOut, Tensor gradU, Tensor gradV) {
            for (int i = 0; i < u.rows(); i++) {
                float g = gradOut.segment().getAtIndex(F, gradOut.offset() + i);
                for (int k = 0; k < u.cols(); k++) {
                    float d = 2 * g * (at(u, i, k) - at(v, i, k));
                    put(gradU, i, k, d, gradU.leadingDim());
                    put(gradV, i, k, -d, gradV.leadingDim());
                }
            }
        }

        @Override
        void step(double lr, Tensor points, Tensor grad, Tensor scratch) {
            for (int i = 0; i < points.rows(); i++) {
                for (int k = 0; k < points.cols(); k++) {
                    put(points, i, k, (float) (at(points, i, k) - lr * at(grad, i, k)), points.leadingDim());
                }
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
                    put(out, i, j, (float) s, out.leadingDim());
                }
            }
        }
    }

    static float at(Tensor t, int row, int col) {
        return t.segment().getAtIndex(F, t.offset() + (long) row * t.leadingDim() + col);
    }

    /** Writes t[row, col] of a tensor whose rows are ld apart (1 for a vector, read as a column). */
    static void put(Tensor t, int row, int col, float value, int ld) {
        MemorySegment s = t.segment();
        s.setAtIndex(F, t.offset() + (long) row * ld + col, value);
    }
}
