package dev.tensorloom.outside;

import dev.tensorloom.runtime.kernel.KernelFamily;
import dev.tensorloom.runtime.tensor.Tensor;

/**
 * A kernel family declared outside runtime's packages, the way quant, mpo and hyperbolic declare
 * theirs: an interface and three implementations loaded by class name. Its vector implementation links the
 * Vector API, so a JVM without that module proves the scalar path never loads it.
 */
public interface SumOfSquares {

    KernelFamily<SumOfSquares> FAMILY = new KernelFamily<>(SumOfSquares.class,
            "dev.tensorloom.outside.ScalarSumOfSquares",
            "dev.tensorloom.outside.VectorSumOfSquares",
            "dev.tensorloom.outside.CudaSumOfSquares");

    /** Σ x², over a contiguous vector living where the family's backend computes. */
    float of(Tensor x);
}
