package dev.tensorloom.runtime.tokenize;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A model's tokenizer.json run by the Hugging Face tokenizers library (through DJL's binding), so that
 * ids are exactly the ones the model was trained with. Special tokens ([CLS] … [SEP]) are added; the
 * library's own padding and truncation are off, because length policy is decided here, per text.
 * Thread-safe: encoding only reads the tokenizer.
 */
public final class HfTokenizer implements AutoCloseable {

    private static final Map<String, String> OPTIONS = Map.of(
            "addSpecialTokens", "true", "padding", "false", "truncation", "false");

    private final HuggingFaceTokenizer tokenizer;
    private final String source;

    private HfTokenizer(HuggingFaceTokenizer tokenizer, String source) {
        this.tokenizer = tokenizer;
        this.source = source;
    }

    /** Opens a tokenizer.json file; a missing or malformed file fails with its path in the message. */
    public static HfTokenizer open(Path tokenizerJson) throws IOException {
        if (!Files.isRegularFile(tokenizerJson)) {
            throw new IOException("tokenizer file not found: " + tokenizerJson);
        }
        try (InputStream in = Files.newInputStream(tokenizerJson)) {
            return open(in, tokenizerJson.toString());
        }
    }

    /** Reads a tokenizer.json from a stream; {@code source} names it in error messages. */
    public static HfTokenizer open(InputStream tokenizerJson, String source) throws IOException {
        try {
            return new HfTokenizer(HuggingFaceTokenizer.newInstance(tokenizerJson, OPTIONS), source);
        } catch (RuntimeException e) {
            throw new IOException("not a valid Hugging Face tokenizer.json: " + source + " (" + e.getMessage() + ")", e);
        }
    }

    /**
     * Tokenizes every text on its own. Errors name the text's index in {@code texts}.
     *
     * @param maxTokens the most tokens a text may have, special tokens included
     */
    public List<TokenizedText> encodeEach(List<String> texts, int maxTokens, OverlongText overlong) {
        if (texts.isEmpty()) {
            throw new IllegalArgumentException("no texts to encode: the input list is empty");
        }
        if (maxTokens < 2) {
            throw new IllegalArgumentException("maxTokens must leave room for [CLS] and [SEP], got " + maxTokens);
        }
        List<TokenizedText> out = new ArrayList<>(texts.size());
        for (int i = 0; i < texts.size(); i++) {
            String text = texts.get(i);
            if (text == null) {
                throw new IllegalArgumentException("text " + i + " is null");
            }
            Encoding encoding = encodeOne(text, i);
            long[] ids = encoding.getIds();
            long[] types = encoding.getTypeIds();
            if (ids.length > maxTokens) {
                if (overlong == OverlongText.REJECT) {
                    throw new IllegalArgumentException("text " + i + " has " + ids.length
                            + " tokens, more than the model's " + maxTokens + " positions (starts: \""
                            + text.substring(0, Math.min(40, text.length())) + "\")");
                }
                ids = keepHeadAndLast(ids, maxTokens);
                types = keepHeadAndLast(types, maxTokens);
            }
            out.add(new TokenizedText(toInts(ids), toInts(types)));
        }
        return out;
    }

    /** Pads texts to the longest one: ids and type ids 0, mask 0 in padding. */
    public static TokenBatch pad(List<TokenizedText> texts) {
        int batch = texts.size();
        int seq = texts.stream().mapToInt(TokenizedText::length).max().orElse(0);
        int[] ids = new int[batch * seq];
        int[] types = new int[batch * seq];
        float[] mask = new float[batch * seq];
        int[] lengths = new int[batch];
        for (int b = 0; b < batch; b++) {
            TokenizedText text = texts.get(b);
            lengths[b] = text.length();
            System.arraycopy(text.ids(), 0, ids, b * seq, text.length());
            System.arraycopy(text.typeIds(), 0, types, b * seq, text.length());
            Arrays.fill(mask, b * seq, b * seq + text.length(), 1f);
        }
        return new TokenBatch(batch, seq, ids, types, mask, lengths);
    }

    @Override
    public void close() {
        tokenizer.close();
    }

    @Override
    public String toString() {
        return "HfTokenizer[" + source + "]";
    }

    private Encoding encodeOne(String text, int index) {
        try {
            return tokenizer.encode(text);
        } catch (RuntimeException e) {
            throw new UncheckedIOException(new IOException(
                    "tokenizer " + source + " failed on text " + index + ": " + e.getMessage(), e));
        }
    }

    /** Truncation that keeps the closing special token, as HF's longest-first truncation does for one text. */
    private static long[] keepHeadAndLast(long[] tokens, int max) {
        long[] kept = new long[max];
        System.arraycopy(tokens, 0, kept, 0, max - 1);
        kept[max - 1] = tokens[tokens.length - 1];
        return kept;
    }

    private static int[] toInts(long[] values) {
        int[] out = new int[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = Math.toIntExact(values[i]);
        }
        return out;
    }
}
