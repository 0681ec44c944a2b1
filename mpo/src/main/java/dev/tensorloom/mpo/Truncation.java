package dev.tensorloom.mpo;

/**
 * Which singular values TT-SVD keeps on each bond, after its canonical step has ordered every bond by
 * descending singular value: all of them, the first {@code cap}, as few as keep the relative Frobenius error
 * bound within a target, or as many as fit a parameter budget.
 */
public sealed interface Truncation {

    /** Keep every bond whole: the MPO reproduces W up to rounding. */
    static Truncation none() {
        return new None();
    }

    /** d_k ≤ cap on every bond. */
    static Truncation bondCap(int cap) {
        return new BondCap(cap);
    }

    /** The fewest singular values such that the bound sqrt(Σε²) stays ≤ target·||W||_F. */
    static Truncation relativeError(double target) {
        return new RelativeError(target);
    }

    /** The cores hold at most {@code parameters} numbers; the smallest singular values per parameter go first. */
    static Truncation parameterBudget(long parameters) {
        return new ParameterBudget(parameters);
    }

    /** The cores hold at most I·J / {@code ratio} numbers (a budget of {@link #parameterBudget} set by the matrix). */
    static Truncation parameterRatio(double ratio) {
        return new ParameterRatio(ratio);
    }

    record None() implements Truncation {
    }

    record BondCap(int cap) implements Truncation {
        public BondCap {
            if (cap < 1) {
                throw new IllegalArgumentException("bond cap must be >= 1, got " + cap);
            }
        }
    }

    record RelativeError(double target) implements Truncation {
        public RelativeError {
            if (!(target >= 0 && target <= 1)) {
                throw new IllegalArgumentException("relative error target must be in [0, 1], got " + target);
            }
        }
    }

    record ParameterRatio(double ratio) implements Truncation {
        public ParameterRatio {
            if (!(ratio >= 1) || Double.isInfinite(ratio)) {
                throw new IllegalArgumentException("parameter ratio must be a finite number >= 1, got " + ratio);
            }
        }

        /** The budget for a matrix of {@code shape}: I·J / ratio, at least 1. */
        public long budget(MpoShape shape) {
            return Math.max(1, (long) ((double) shape.rows() * shape.cols() / ratio));
        }
    }

    record ParameterBudget(long parameters) implements Truncation {
        public ParameterBudget {
            if (parameters < 1) {
                throw new IllegalArgumentException("parameter budget must be >= 1, got " + parameters);
            }
        }
    }
}
