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

    /** The largest state the direct sweep holds, m·max_k (∏_{l≤k} j_l)·d_{k+1}·(∏_{l>k+1} i_l), checked to fit an array. */
    public static int largestState(Mpo mpo, int m) {
        MpoShape shape = mpo.shape();
        int[] d = mpo.bonds();
        long largest = (long) m * shape.rows();
        long p = m;
        for (int k = 0; k < shape.cores(); k++) {
            p *= shape.colFactor(k);
            long q = 1;
            for (int l = k + 1; l < shape.cores(); l++) {
                q *= shape.rowFactor(l);
            }
            largest = Math.max(largest, p * d[k + 1] * q);
        }
        if (largest > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("the direct product of " + mpo + " with " + m
                    + " rows holds a state of " + largest + " floats, more than an array takes");
        }
        return (int) largest;
    }
}
