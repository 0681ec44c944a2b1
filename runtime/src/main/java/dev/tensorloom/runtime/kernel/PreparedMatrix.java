package dev.tensorloom.runtime.kernel;

import dev.tensorloom.runtime.tensor.Tensor;

/**
 * A constant right-hand matrix b [k, n] (a layer's weights) in whatever form multiplies fastest or smallest,
 * made once and used for every product after: dense panels packed for the vector GEMM, a device copy, packed
 * low-bit blocks, MPO cores. It multiplies itself, so a transformer layer holds any prepared matrix without
 * knowing what it is. It computes where the backend that made it computes: its operands must live there.
 */
public interface PreparedMatrix {

    /** k. */
    int rows();

    /** n. */
    int cols();

    /** c = a·b, with a [m, k] and c [m, n], where this matrix's backend computes. */
    void multiply(Tensor a, Tensor c);

    /** Bytes this form holds for the matrix: what a model pays to keep it, in host or device memory. */
    long bytes();

    /**
     * Whether products still read the host matrix this was prepared from, which must then stay alive: true
     * for a host matrix multiplied as it is, whose {@link #bytes()} are the source's. A form that keeps its
     * own copy (packed panels, a device copy, packed codes) must return false: its owner may then free the
     * source, and counts {@link #bytes()} as memory of the form's own (a model's resident weight bytes count
     * a form that says true as its source alone). The default, true, keeps the source alive for a form that
     * does not say.
     */
    default boolean readsSource() {
        return true;
    }
}
