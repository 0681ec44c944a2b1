package dev.tensorloom.mpo;

import dev.tensorloom.runtime.tensor.Tensor;

/** Argument checks every implementation of {@link MpoKernels} shares, so all fail with the same message. */
public final class MpoArguments {

    private MpoArguments() {
    }

    public static void contractToDense(Mpo mpo, Tensor w) {
        if (w.rank() != 2 || w.rows() != mpo.rows() || w.cols() != mpo.cols()) {
            throw new IllegalArgumentException("dense matrix " + w + " is not the " + mpo.rows() + " × " + mpo.cols()
                    + " of " + mpo);
        }
        unitColumns(w);
    }

    public static void multiply(Mpo mpo, Tensor x, Tensor y) {
        if (x.rank() != 2 || y.rank() != 2 || x.cols() != mpo.rows() || y.cols() != mpo.cols()
                || x.rows() != y.rows()) {
            throw new IllegalArgumentException("MPO product shapes disagree: x " + x + " · " + mpo + " ["
                    + mpo.rows() + ", " + mpo.cols() + "] -> y " + y);
        }
        unitColumns(x);
        unitColumns(y);
    }

    private static void unitColumns(Tensor t) {
        if (t.stride(1) != 1) {
            throw new IllegalArgumentException("operand " + t + " must have unit column stride");
        }
    }
}
