package dev.tensorloom.runtime.tokenize;

/**
 * Token ids of a batch of texts, padded to the longest one. Arrays are flat, row-major [batch, seqLength].
 *
 * @param ids token ids, 0 in padding
 * @param typeIds token type (segment) ids, 0 in padding
 * @param mask 1 for a real token, 0 for padding
 * @param lengths real tokens per text
 */
public record TokenBatch(int batch, int seqLength, int[] ids, int[] typeIds, float[] mask, int[] lengths) {

    public TokenBatch {
        int n = Math.multiplyExact(batch, seqLength);
        if (ids.length != n || typeIds.length != n || mask.length != n || lengths.length != batch) {
            throw new IllegalArgumentException("token batch arrays do not match " + batch + " x " + seqLength);
        }
    }

    /** Total positions, padding included. */
    public int tokens() {
        return batch * seqLength;
    }
}
