package dev.tensorloom.runtime.kernel;

import dev.tensorloom.runtime.tensor.Tensor;

/** Argument checks shared by every backend, so that each one fails on bad shapes with the same message. */
public final class Shapes {

    private Shapes() {
    }

    public static void matmul(Tensor a, Tensor b, Tensor c) {
        if (a.cols() != b.rows() || c.rows() != a.rows() || c.cols() != b.cols()) {
            throw new IllegalArgumentException("matmul shapes disagree: a " + a + " · b " + b + " -> c " + c);
        }
        unitColumns(a, b, c);
    }

    public static void matmul(Tensor a, PreparedMatrix b, Tensor c) {
        if (a.cols() != b.rows() || c.rows() != a.rows() || c.cols() != b.cols()) {
            throw new IllegalArgumentException("matmul shapes disagree: a " + a + " · prepared [" + b.rows() + ", "
                    + b.cols() + "] -> c " + c);
        }
        unitColumns(a, c);
    }

    public static void matmulTransposedB(Tensor a, Tensor b, Tensor c) {
        if (a.cols() != b.cols() || c.rows() != a.rows() || c.cols() != b.rows()) {
            throw new IllegalArgumentException("matmul shapes disagree: a " + a + " · bᵀ of " + b + " -> c " + c);
        }
        unitColumns(a, b, c);
    }

    public static void gemv(Tensor a, Tensor x, Tensor y) {
        if (x.rank() != 1 || y.rank() != 1 || a.cols() != x.dim(0) || a.rows() != y.dim(0)
                || !x.isContiguous() || !y.isContiguous()) {
            throw new IllegalArgumentException("gemv shapes disagree: a " + a + " · x " + x + " -> y " + y);
        }
        unitColumns(a);
    }

    public static void rowVector(Tensor x, Tensor v, String what) {
        if (v.size() != x.cols() || !v.isContiguous()) {
            throw new IllegalArgumentException(what + " " + v + " does not fit the rows of " + x);
        }
        unitColumns(x);
    }

    public static void sameShape(Tensor x, Tensor y) {
        if (x.rows() != y.rows() || x.cols() != y.cols()) {
            throw new IllegalArgumentException("shapes differ: " + x + " and " + y);
        }
        unitColumns(x, y);
    }

    /** Checks the arguments of {@link Kernels#addBiasResidualLayerNorm}, all before anything is written. */
    public static void biasResidualLayerNorm(Tensor x, Tensor bias, Tensor residual, Tensor gamma, Tensor beta) {
        rowVector(x, bias, "bias");
        sameShape(x, residual);
        rowVector(x, gamma, "gamma");
        rowVector(x, beta, "beta");
    }

    /** Checks attention's arguments and returns the sequence length. */
    public static int attention(Tensor q, Tensor k, Tensor v, Tensor keyMask, int heads, Tensor out) {
        int tokens = q.rows();
        int hidden = q.cols();
        int batch = keyMask.rows();
        if (heads < 1 || hidden % heads != 0) {
            throw new IllegalArgumentException("hidden size " + hidden + " does not split into " + heads + " heads");
        }
        if (batch == 0 || tokens != batch * keyMask.cols()) {
            throw new IllegalArgumentException("attention over " + tokens + " tokens does not match key mask " + keyMask);
        }
        for (Tensor t : new Tensor[] {k, v, out}) {
            if (t.rows() != tokens || t.cols() != hidden) {
                throw new IllegalArgumentException("attention operand " + t + " differs from q " + q);
            }
        }
        unitColumns(q, k, v, out, keyMask);
        return keyMask.cols();
    }

    public static void gather(Tensor table, int[] ids, Tensor out) {
        if (out.rows() != ids.length || out.cols() != table.cols()) {
            throw new IllegalArgumentException("gather of " + ids.length + " rows of " + table + " into " + out);
        }
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= table.rows()) {
                throw new IndexOutOfBoundsException("id " + ids[i] + " at position " + i + " is outside table " + table);
            }
        }
        unitColumns(table, out);
    }

    public static int meanPool(Tensor x, Tensor mask, Tensor out) {
        int batch = mask.rows();
        if (x.rows() != batch * mask.cols() || out.rows() != batch || out.cols() != x.cols()) {
            throw new IllegalArgumentException("mean pool of " + x + " with mask " + mask + " into " + out);
        }
        unitColumns(x, mask, out);
        return mask.cols();
    }

    /** A 2-D tensor with unit column stride, as every kernel operand must be. */
    public static void requireMatrix(Tensor t, String role) {
        if (t.rank() != 2) {
            throw new IllegalArgumentException(role + " " + t + " is not a matrix");
        }
        t.leadingDim();
    }

    private static void unitColumns(Tensor... ts) {
        for (Tensor t : ts) {
            t.leadingDim();
        }
    }
}
