package dev.tensorloom.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.util.HashSet;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class WordNetSentencesTest {

    private static HuggingFaceTokenizer tokenizer;

    @BeforeAll
    static void openTokenizer() {
        tokenizer = BundledMiniLm.tokenizer();
    }

    @AfterAll
    static void closeTokenizer() {
        tokenizer.close();
    }

    @Test
    void threeHundredGlossesAreDistinctCapitalisedSentencesOfVariousLengths() {
        long start = System.nanoTime();
        List<String> glosses = WordNetSentences.glosses(300);
        System.out.printf("WordNetSentences.glosses(300): %d ms (includes loading WordNet if first in this JVM;"
                + " %d sentences available)%n", (System.nanoTime() - start) / 1_000_000, WordNetSentences.available());

        assertEquals(300, glosses.size());
        assertEquals(300, new HashSet<>(glosses).size(), "glosses must be distinct");
        int shortest = Integer.MAX_VALUE;
        int longest = 0;
        for (String g : glosses) {
            assertFalse(g.isBlank());
            assertTrue(Character.isUpperCase(g.charAt(0)) || !Character.isLetter(g.charAt(0)), g);
            assertTrue(g.endsWith(".") || g.endsWith("?") || g.endsWith("!"), g);
            assertFalse(g.contains("; \""), "usage examples must be stripped: " + g);
            int words = g.split(" ").length;
            assertTrue(words >= WordNetSentences.MIN_WORDS, g);
            shortest = Math.min(shortest, words);
            longest = Math.max(longest, words);
        }
        assertTrue(shortest <= 5 && longest >= 25, "lengths should vary, got " + shortest + ".." + longest + " words");
    }

    @Test
    void theListIsTheSameOnEveryRunAndSmallerListsArePrefixes() {
        List<String> first = WordNetSentences.glosses(5);
        // Pinned so that a change of data, seed or cleaning is noticed: benchmarks compare runs on these texts.
        assertEquals(List.of(
                "The status of being acknowledged as a star.",
                "Containing or characterized by error.",
                "Observe or perform with dignity or gravity.",
                "One skilled in caring for young children or the sick (usually under the supervision of a"
                        + " physician).",
                "Being five more than twenty."), first);
        assertEquals(first, WordNetSentences.glosses(1000).subList(0, 5));
    }

    @Test
    void examplesAreStrippedAndShortDefinitionsDropped() {
        assertEquals("Draw air into, and expel out of, the lungs.", WordNetSentences.sentenceOf(
                "draw air into, and expel out of, the lungs; \"I can breathe better when the air is clean\"; "
                        + "\"The patient is respiring\""));
        assertEquals("An entity that has physical existence.",
                WordNetSentences.sentenceOf("an entity that has  physical\texistence"));
        assertNull(WordNetSentences.sentenceOf("not able; \"unable to get to town\""));
        assertNull(WordNetSentences.sentenceOf("\"only an example\""));
    }

    @Test
    void tooManyGlossesIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> WordNetSentences.glosses(WordNetSentences.available() + 1));
        assertThrows(IllegalArgumentException.class, () -> WordNetSentences.glosses(-1));
    }

    @Test
    void shortSentencesHaveAboutTenTokens() {
        assertTokensWithinTolerance(WordNetSentences.ofApproxTokens(200, 10, tokenizer), 10, 200);
    }

    @Test
    void longSentencesHaveAboutHundredTokens() {
        long start = System.nanoTime();
        List<String> sentences = WordNetSentences.ofApproxTokens(100, 100, tokenizer);
        System.out.printf("WordNetSentences.ofApproxTokens(100, 100): %d ms%n", (System.nanoTime() - start) / 1_000_000);
        assertTokensWithinTolerance(sentences, 100, 100);
        assertEquals(sentences, WordNetSentences.ofApproxTokens(100, 100, tokenizer), "must be deterministic");
    }

    @Test
    void tokenLengthsAboveTheTruncationLengthAreRefused() {
        try (HuggingFaceTokenizer truncating = BundledMiniLm.tokenizer(32)) {
            assertThrows(IllegalArgumentException.class, () -> WordNetSentences.ofApproxTokens(1, 64, truncating));
        }
        assertThrows(IllegalArgumentException.class, () -> WordNetSentences.ofApproxTokens(1, 2, tokenizer));
    }

    private static void assertTokensWithinTolerance(List<String> sentences, int target, int count) {
        assertEquals(count, sentences.size());
        assertEquals(count, new HashSet<>(sentences).size(), "sentences must be distinct");
        int[] tokens = sentences.stream().mapToInt(s -> WordNetSentences.tokenCount(s, tokenizer)).toArray();
        for (int i = 0; i < tokens.length; i++) {
            assertTrue(tokens[i] >= target * 0.8 && tokens[i] <= target * 1.2,
                    tokens[i] + " tokens: " + sentences.get(i));
        }
        double mean = IntStream.of(tokens).average().orElseThrow();
        assertTrue(Math.abs(mean - target) <= target * 0.1, "mean token count " + mean + " for target " + target);
    }
}
