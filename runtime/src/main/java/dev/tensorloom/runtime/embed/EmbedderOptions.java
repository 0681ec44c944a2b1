package dev.tensorloom.runtime.embed;

import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.BackendProvider;
import dev.tensorloom.runtime.kernel.MatrixPreparer;
import dev.tensorloom.runtime.tokenize.OverlongText;

/**
 * How a {@link TextEmbedder} runs.
 *
 * @param backend where the arithmetic runs
 * @param pooling how token states become a sentence vector
 * @param normalize whether sentence vectors are scaled to unit length
 * @param overlong what happens to text longer than the model's positions
 * @param batchSize texts per forward pass; longer lists are split, similar lengths batched together
 * @param matrices how the encoder's weight matrices are prepared (dense on the backend, quantized, MPO, ...);
 *        it must make matrices that compute on {@code backend}
 */
public record EmbedderOptions(Backend backend, Pooling pooling, boolean normalize, OverlongText overlong,
        int batchSize, MatrixPreparer matrices) {

    public EmbedderOptions {
        if (backend == null || pooling == null || overlong == null || matrices == null) {
            throw new IllegalArgumentException(
                    "embedder options need a backend, pooling, an overlong-text policy and a matrix preparer");
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        }
    }

    /** The process-wide backend, mean pooling, unit vectors, truncation, batches of 32. */
    public static EmbedderOptions defaults() {
        return of(BackendProvider.backend());
    }

    /** The defaults on the given backend. */
    public static EmbedderOptions of(Backend backend) {
        return new EmbedderOptions(backend, Pooling.MEAN, true, OverlongText.TRUNCATE, 32,
                MatrixPreparer.dense(backend));
    }

    /** These options on another backend, with dense matrices there. */
    public EmbedderOptions withBackend(Backend b) {
        return new EmbedderOptions(b, pooling, normalize, overlong, batchSize, MatrixPreparer.dense(b));
    }

    /** These options with the weight matrices prepared by {@code m} (which computes on this backend). */
    public EmbedderOptions withMatrices(MatrixPreparer m) {
        return new EmbedderOptions(backend, pooling, normalize, overlong, batchSize, m);
    }

    public EmbedderOptions withPooling(Pooling p) {
        return new EmbedderOptions(backend, p, normalize, overlong, batchSize, matrices);
    }

    public EmbedderOptions withNormalize(boolean n) {
        return new EmbedderOptions(backend, pooling, n, overlong, batchSize, matrices);
    }

    public EmbedderOptions withOverlong(OverlongText o) {
        return new EmbedderOptions(backend, pooling, normalize, o, batchSize, matrices);
    }

    public EmbedderOptions withBatchSize(int b) {
        return new EmbedderOptions(backend, pooling, normalize, overlong, b, matrices);
    }
}
