package dev.tensorloom.testkit;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.util.List;

/**
 * A batch of tokenized sentences as BERT takes them: three [batch][seq] arrays, right-padded with 0 to the
 * longest sentence of the batch (0 is [PAD] for BERT vocabularies, and a masked position for attention).
 *
 * <p>Arrays are shared, not copied; the record's equals compares array identity.
 *
 * @param inputIds     token ids, [CLS] first and [SEP] last in each row when the tokenizer adds special tokens
 * @param attentionMask 1 for a real token, 0 for padding
 * @param tokenTypeIds segment ids, all 0 for single sentences
 */
public record TokenizedBatch(long[][] inputIds, long[][] attentionMask, long[][] tokenTypeIds) {

    public TokenizedBatch {
        int seq = inputIds.length == 0 ? 0 : inputIds[0].length;
        checkShape("attentionMask", attentionMask, inputIds.length, seq);
        checkShape("tokenTypeIds", tokenTypeIds, inputIds.length, seq);
        checkShape("inputIds", inputIds, inputIds.length, seq);
    }

    /**
     * Tokenizes the sentences and pads them to the longest one. Truncation is the tokenizer's (see
     * {@link BundledMiniLm#tokenizerOptions(int)}); padding is done here, so the tokenizer may pad or not: columns
     * that are padding in every row are dropped, so a tokenizer that pads to a fixed length gives the same batch.
     */
    public static TokenizedBatch encode(HuggingFaceTokenizer tokenizer, List<String> sentences) {
        Encoding[] encodings = tokenizer.batchEncode(sentences);
        int seq = 0;
        for (Encoding e : encodings) {
            seq = Math.max(seq, realLength(e.getAttentionMask()));
        }
        int batch = encodings.length;
        long[][] ids = new long[batch][seq];
        long[][] mask = new long[batch][seq];
        long[][] types = new long[batch][seq];
        for (int b = 0; b < batch; b++) {
            int n = realLength(encodings[b].getAttentionMask());
            System.arraycopy(encodings[b].getIds(), 0, ids[b], 0, n);
            System.arraycopy(encodings[b].getAttentionMask(), 0, mask[b], 0, n);
            System.arraycopy(encodings[b].getTypeIds(), 0, types[b], 0, n);
        }
        return new TokenizedBatch(ids, mask, types);
    }

    public int batchSize() {
        return inputIds.length;
    }

    /** Padded length shared by every row. */
    public int sequenceLength() {
        return inputIds.length == 0 ? 0 : inputIds[0].length;
    }

    /** Number of real (unpadded) tokens in row {@code b}. */
    public int length(int b) {
        return realLength(attentionMask[b]);
    }

    // Right padding is assumed, as BERT tokenizers do it: the real tokens are the leading run of ones.
    private static int realLength(long[] mask) {
        int n = 0;
        while (n < mask.length && mask[n] != 0) {
            n++;
        }
        return n;
    }

    private static void checkShape(String name, long[][] array, int batch, int seq) {
        if (array.length != batch) {
            throw new IllegalArgumentException(name + " has " + array.length + " rows, expected " + batch);
        }
        for (int b = 0; b < batch; b++) {
            if (array[b].length != seq) {
                throw new IllegalArgumentException(name + "[" + b + "] has length " + array[b].length
                        + ", expected " + seq + " (rows must be padded to one length)");
            }
        }
    }
}
