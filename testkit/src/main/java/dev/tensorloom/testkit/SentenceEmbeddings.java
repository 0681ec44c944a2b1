package dev.tensorloom.testkit;

/**
 * Sentence embeddings from a BERT encoder's last hidden state, the way sentence-transformers computes them
 * for all-MiniLM-L6-v2: the mean of the token vectors over the attention mask, then L2 normalisation. Sums run in
 * float64 so that the reference adds no rounding of its own beyond the encoder's float32 outputs.
 */
public final class SentenceEmbeddings {

    // sentence-transformers clamps the token count at 1e-9 and the norm at 1e-12 (torch F.normalize).
    private static final double MIN_TOKEN_COUNT = 1e-9;
    private static final double MIN_NORM = 1e-12;

    private SentenceEmbeddings() {
    }

    /**
     * One unit-length embedding per row.
     *
     * @param lastHiddenState [batch][seq][hidden]
     * @param attentionMask   [batch][seq], 1 for real tokens and 0 for padding
     * @return [batch][hidden]
     */
    public static double[][] meanPooledNormalized(float[][][] lastHiddenState, long[][] attentionMask) {
        if (lastHiddenState.length != attentionMask.length) {
            throw new IllegalArgumentException("hidden state batch " + lastHiddenState.length
                    + " differs from mask batch " + attentionMask.length);
        }
        double[][] out = new double[lastHiddenState.length][];
        for (int b = 0; b < out.length; b++) {
            out[b] = meanPooledNormalized(lastHiddenState[b], attentionMask[b]);
        }
        return out;
    }

    /**
     * The embedding of one sentence.
     *
     * @param tokens [seq][hidden]
     * @param mask   [seq]
     */
    public static double[] meanPooledNormalized(float[][] tokens, long[] mask) {
        if (tokens.length != mask.length) {
            throw new IllegalArgumentException("sequence length " + tokens.length + " differs from mask length "
                    + mask.length);
        }
        int hidden = tokens.length == 0 ? 0 : tokens[0].length;
        double[] sum = new double[hidden];
        double count = 0;
        for (int t = 0; t < tokens.length; t++) {
            if (mask[t] == 0) {
                continue;
            }
            for (int h = 0; h < hidden; h++) {
                sum[h] += (double) tokens[t][h] * mask[t];
            }
            count += mask[t];
        }
        count = Math.max(count, MIN_TOKEN_COUNT);
        double squares = 0;
        for (int h = 0; h < hidden; h++) {
            sum[h] /= count;
            squares += sum[h] * sum[h];
        }
        double norm = Math.max(Math.sqrt(squares), MIN_NORM);
        for (int h = 0; h < hidden; h++) {
            sum[h] /= norm;
        }
        return sum;
    }

    /** Cosine similarity; for normalized embeddings this is their dot product. */
    public static double cosine(double[] a, double[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("lengths differ: " + a.length + " vs " + b.length);
        }
        double dot = 0;
        double aa = 0;
        double bb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += a[i] * b[i];
            aa += a[i] * a[i];
            bb += b[i] * b[i];
        }
        return dot / Math.max(Math.sqrt(aa) * Math.sqrt(bb), MIN_NORM);
    }

    /** Euclidean norm, to check that embeddings have unit length. */
    public static double norm(double[] v) {
        double squares = 0;
        for (double x : v) {
            squares += x * x;
        }
        return Math.sqrt(squares);
    }
}
