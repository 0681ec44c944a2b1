package dev.tensorloom.runtime.bert;

import dev.tensorloom.runtime.tokenize.TokenBatch;

/**
 * Where a batch's real tokens lie among its padded positions, so that everything but attention computes on the real
 * tokens alone (as FasterTransformer's "remove padding" does): texts of 8 to 12 tokens padded to 12 spend a sixth of
 * every product on padding. Real token r (texts in order, positions in order) sits at padded position
 * {@code realPositions[r]}; padded position i reads real token {@code paddedSources[i]}: itself where i is real, and
 * where i is padding the nearest real token of its text before it (the first where none is before: a tokenizer pads
 * after the text, so that is its last), whose copy attention then masks out as a key.
 *
 * <p>A batch packs when it has padding and every text has a real token; otherwise {@link #of} gives null and the
 * encoder computes every position, so a text of padding alone still gets the states its documented "attends to
 * nothing" computes.
 *
 * @param realPositions padded position of each real token, ascending
 * @param paddedSources real token each padded position reads
 */
record TokenPacking(int[] realPositions, int[] paddedSources) {

    /** The packing of {@code batch}, or null where it has no padding or a text without a real token. */
    static TokenPacking of(TokenBatch batch) {
        float[] mask = batch.mask();
        int seq = batch.seqLength();
        int real = 0;
        for (float m : mask) {
            real += m != 0f ? 1 : 0;
        }
        if (real == mask.length) {
            return null;
        }
        int[] realPositions = new int[real];
        int[] paddedSources = new int[mask.length];
        int r = 0;
        for (int b = 0; b < batch.batch(); b++) {
            int first = r;
            for (int t = 0; t < seq; t++) {
                if (mask[b * seq + t] != 0f) {
                    realPositions[r++] = b * seq + t;
                }
            }
            if (r == first) {
                return null;
            }
            // Padding before a text's first real token reads that token; padding after a real token reads it.
            int source = first;
            for (int t = 0; t < seq; t++) {
                int i = b * seq + t;
                if (source + 1 < r && realPositions[source + 1] <= i) {
                    source++;
                }
                paddedSources[i] = source;
            }
        }
        return new TokenPacking(realPositions, paddedSources);
    }

    /** Real tokens: the rows every product but attention computes. */
    int realTokens() {
        return realPositions.length;
    }

    /** The entries of a [batch·seqLength] array at the real tokens, in order. */
    int[] atRealTokens(int[] padded) {
        int[] out = new int[realPositions.length];
        for (int r = 0; r < out.length; r++) {
            out[r] = padded[realPositions[r]];
        }
        return out;
    }
}
