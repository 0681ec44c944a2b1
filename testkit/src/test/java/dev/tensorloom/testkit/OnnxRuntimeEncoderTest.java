package dev.tensorloom.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnxruntime.OrtException;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class OnnxRuntimeEncoderTest {

    // WordNet 3.1 definitions, as WordNetSentences cleans them: dog (n), wolf (n), bank (n, the institution).
    private static final String DOG = "A member of the genus Canis (probably descended from the common wolf) that has"
            + " been domesticated by man since prehistoric times; occurs in many breeds.";
    private static final String WOLF = "Any of various predatory carnivorous canine mammals of North America and"
            + " Eurasia that usually hunt in packs.";
    private static final String BANK = "A financial institution that accepts deposits and channels the money into"
            + " lending activities.";

    private static OnnxRuntimeEncoder ort;
    private static HuggingFaceTokenizer tokenizer;

    @BeforeAll
    static void open() throws OrtException {
        long start = System.nanoTime();
        byte[] model = BundledMiniLm.modelBytes();
        long read = System.nanoTime();
        ort = OnnxRuntimeEncoder.open(model, 2);
        long opened = System.nanoTime();
        tokenizer = BundledMiniLm.tokenizer();
        long tokenizerReady = System.nanoTime();
        System.out.printf("MiniLM: read model %d ms, ORT session (2 threads, ALL_OPT) %d ms, tokenizer %d ms%n",
                (read - start) / 1_000_000, (opened - read) / 1_000_000, (tokenizerReady - opened) / 1_000_000);
    }

    @AfterAll
    static void close() throws OrtException {
        tokenizer.close();
        ort.close();
    }

    @Test
    void detectsMiniLmInputsAndOutput() {
        assertEquals(List.of("input_ids", "attention_mask", "token_type_ids"), ort.inputNames());
        assertTrue(ort.takesAttentionMask());
        assertTrue(ort.takesTokenTypeIds());
        assertEquals("last_hidden_state", ort.outputName());
        assertEquals(BundledMiniLm.HIDDEN_SIZE, ort.hiddenSize());
        assertEquals(2, ort.intraOpThreads());
    }

    @Test
    void tokenizerRecipeGivesBertIds() {
        Encoding e = tokenizer.encode("Hello world.");
        assertArrayEquals(new long[] {101, 7592, 2088, 1012, 102}, e.getIds());
        assertArrayEquals(new long[] {1, 1, 1, 1, 1}, e.getAttentionMask());
        assertArrayEquals(new long[] {0, 0, 0, 0, 0}, e.getTypeIds());

        Encoding truncated = tokenizer.encode("word ".repeat(400));
        assertEquals(BundledMiniLm.MAX_LENGTH, truncated.getIds().length);
        assertEquals(102, truncated.getIds()[BundledMiniLm.MAX_LENGTH - 1], "[SEP] survives truncation");
    }

    @Test
    void batchIsPaddedToItsLongestSentence() throws OrtException {
        List<String> glosses = WordNetSentences.glosses(4);
        TokenizedBatch batch = TokenizedBatch.encode(tokenizer, glosses);
        int longest = 0;
        for (int b = 0; b < batch.batchSize(); b++) {
            longest = Math.max(longest, batch.length(b));
            assertEquals(WordNetSentences.tokenCount(glosses.get(b), tokenizer), batch.length(b));
        }
        assertEquals(longest, batch.sequenceLength());

        float[][][] hidden = ort.lastHiddenState(glosses, tokenizer);
        assertEquals(4, hidden.length);
        assertEquals(longest, hidden[0].length);
        assertEquals(BundledMiniLm.HIDDEN_SIZE, hidden[0][0].length);
    }

    @Test
    void embeddingsHaveUnitNormAndRelatedGlossesAreCloser() throws OrtException {
        double[][] e = ort.sentenceEmbeddings(List.of(DOG, WOLF, BANK), tokenizer);
        for (double[] v : e) {
            assertEquals(BundledMiniLm.HIDDEN_SIZE, v.length);
            assertEquals(1.0, SentenceEmbeddings.norm(v), 1e-12);
        }
        double dogWolf = SentenceEmbeddings.cosine(e[0], e[1]);
        double dogBank = SentenceEmbeddings.cosine(e[0], e[2]);
        double wolfBank = SentenceEmbeddings.cosine(e[1], e[2]);
        System.out.printf("cosine dog/wolf %.4f, dog/bank %.4f, wolf/bank %.4f%n", dogWolf, dogBank, wolfBank);
        assertTrue(dogWolf > dogBank + 0.2, "dog/wolf " + dogWolf + " vs dog/bank " + dogBank);
        assertTrue(dogWolf > wolfBank + 0.2, "dog/wolf " + dogWolf + " vs wolf/bank " + wolfBank);
    }

    @Test
    void paddingDoesNotChangeTheEmbedding() throws OrtException {
        // Alone, BANK has no padding; next to a longer gloss it is padded, and the mask must hide that.
        double[] alone = ort.sentenceEmbeddings(List.of(BANK), tokenizer)[0];
        double[] padded = ort.sentenceEmbeddings(List.of(BANK, DOG + " " + WOLF), tokenizer)[0];
        assertArrayEquals(alone, padded, 1e-5);
    }

    @Test
    void raggedRowsAreRejected() {
        long[][] ids = {{101, 7592, 102}, {101, 102}};
        long[][] mask = {{1, 1, 1}, {1, 1}};
        assertThrows(IllegalArgumentException.class, () -> ort.lastHiddenState(ids, mask, null));
    }
}
