package dev.tensorloom.runtime.kernel.vector;

import dev.tensorloom.runtime.tensor.Tensor;

/** Byte addresses of the rows of 2-D tensors with unit column stride, as the Vector API's segment loads take them. */
public final class Rows {

    private Rows() {
    }

    /** Byte offset of element (i, 0) of t in its segment. */
    public static long byteOffset(Tensor t, int i) {
        return (t.offset() + (long) i * t.leadingDim()) * Float.BYTES;
    }

    /** Byte offset of element (i, j) of t in its segment. */
    public static long byteOffset(Tensor t, int i, int j) {
        return (t.offset() + (long) i * t.leadingDim() + j) * Float.BYTES;
    }

    /** Byte offset of element 0 of a contiguous vector or row vector v. */
    public static long start(Tensor v) {
        return v.offset() * Float.BYTES;
    }
}
