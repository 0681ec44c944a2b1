package dev.tensorloom.runtime.tokenize;

/** One text's token ids and token type ids, special tokens included, no padding. */
public record TokenizedText(int[] ids, int[] typeIds) {

    public TokenizedText {
        if (ids.length != typeIds.length) {
            throw new IllegalArgumentException(ids.length + " ids but " + typeIds.length + " type ids");
        }
    }

    public int length() {
        return ids.length;
    }
}
