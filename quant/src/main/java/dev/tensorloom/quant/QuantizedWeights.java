package dev.tensorloom.quant;

/**
 * A weight matrix b [k, n] in a low-bit form the quant kernels read directly: this module's group formats
 * ({@link PackedWeights}) or ggml's block formats ({@link GgmlWeights}).
 */
public sealed interface QuantizedWeights permits PackedWeights, GgmlWeights {

    /** k: input channels. */
    int rows();

    /** n: output channels. */
    int cols();

    /** Bytes the packed form holds, scales included. */
    long bytes();
}
