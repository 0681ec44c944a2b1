package dev.tensorloom.runtime.embed;

import dev.tensorloom.runtime.kernel.KernelProvider;
import dev.tensorloom.runtime.kernel.Kernels;
import dev.tensorloom.runtime.tokenize.OverlongText;

/**
 * How a {@link TextEmbedder} runs.
 *
 * @param kernels the backend that does the arithmetic
 * @param pooling how token states become a sentence vector
 * @param normalize whether sentence vectors are scaled to unit length
 * @param overlong what happens to text longer than the model's positions
 * @param batchSize texts per forward pass; longer lists are split, similar lengths batched together
 */
public record EmbedderOptions(Kernels kernels, Pooling pooling, boolean normalize, OverlongText overlong,
        int batchSize) {

    public EmbedderOptions {
        if (kernels == null || pooling == null || overlong == null) {
            throw new IllegalArgumentException("embedder options need kernels, pooling and an overlong-text policy");
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        }
    }

    /** The process-wide backend, mean pooling, unit vectors, truncation, batches of 32. */
    public static EmbedderOptions defaults() {
        return of(KernelProvider.kernels());
    }

    /** The defaults on the given backend. */
    public static EmbedderOptions of(Kernels kernels) {
        return new EmbedderOptions(kernels, Pooling.MEAN, true, OverlongText.TRUNCATE, 32);
    }

    public EmbedderOptions withKernels(Kernels k) {
        return new EmbedderOptions(k, pooling, normalize, overlong, batchSize);
    }

    public EmbedderOptions withPooling(Pooling p) {
        return new EmbedderOptions(kernels, p, normalize, overlong, batchSize);
    }

    public EmbedderOptions withNormalize(boolean n) {
        return new EmbedderOptions(kernels, pooling, n, overlong, batchSize);
    }

    public EmbedderOptions withOverlong(OverlongText o) {
        return new EmbedderOptions(kernels, pooling, normalize, o, batchSize);
    }

    public EmbedderOptions withBatchSize(int b) {
        return new EmbedderOptions(kernels, pooling, normalize, overlong, b);
    }
}
