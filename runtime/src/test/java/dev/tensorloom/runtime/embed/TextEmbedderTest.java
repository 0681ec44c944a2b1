package dev.tensorloom.runtime.embed;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.runtime.bert.BertConfig;
import dev.tensorloom.runtime.bert.BertWeights;
import dev.tensorloom.runtime.kernel.BackendProvider;
import dev.tensorloom.runtime.tensor.Tensor;
import dev.tensorloom.runtime.tokenize.HfTokenizer;
import dev.tensorloom.runtime.tokenize.OverlongText;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The user-facing API on the real bundled model: batching, pooling, length policy, threads, bad input. */
class TextEmbedderTest {

    private static final List<String> TEXTS = List.of(
            "A cat sat on the mat.",
            "the 16th president of the United States, who led the Union through the Civil War",
            "x",
            "Rain is water falling in drops from vapor condensed in the atmosphere.",
            "a small domesticated carnivorous mammal with soft fur");

    private static TextEmbedder embedder;

    @BeforeAll
    static void load() throws IOException {
        embedder = TextEmbedder.bundledMiniLm(EmbedderOptions.of(BackendProvider.byName("vector")));
    }

    @AfterAll
    static void close() {
        embedder.close();
    }

    @Test
    void configComesFromTheModelFile() {
        assertEquals(384, embedder.dimension());
        assertEquals(6, embedder.config().layers());
        assertEquals(512, embedder.config().maxPositions());
    }

    /**
     * fp32 parameters of a BERT encoder from its sizes: the embedding tables and their LayerNorm, and per layer
     * four hidden×hidden projections, the feed-forward pair with their biases, four more biases and two
     * LayerNorms. For all-MiniLM-L6-v2 this is 22,565,376: the published 22.7M less the pooler (384² + 384),
     * which the ONNX export does not use.
     */
    private static long parameters(BertConfig c) {
        long h = c.hiddenSize();
        long perLayer = 4 * h * h + 2 * h * c.intermediateSize() + 9 * h + c.intermediateSize();
        return (c.vocabSize() + c.maxPositions() + c.typeVocabSize() + 2) * h + c.layers() * perLayer;
    }

    @Test
    void theVectorBackendHoldsMiniLmOnce() {
        // Packed panels replace the matrices they were packed from, and 384, 1152 and 1536 columns fill
        // whole panels at every vector width: nothing is padding, and only the fused QKV bias is held twice.
        assertEquals(22_565_376L, parameters(embedder.config()));
        long fusedBias = embedder.config().layers() * 3L * embedder.config().hiddenSize();
        assertEquals((parameters(embedder.config()) + fusedBias) * Float.BYTES, embedder.residentWeightBytes());
    }

    @Test
    void aBertBaseSizedEncoderOnTheVectorBackendHoldsItsWeightsOnce() throws IOException {
        // BERT-base's sizes (hidden 768, 12 layers of 12 heads, FFN 3072, its 30,522-word vocabulary, which the
        // bundled tokenizer shares) with seeded random weights: 108,891,648 parameters, the published 109,482,240
        // less the pooler (768² + 768). 768, 2304 and 3072 columns fill whole panels at every vector width, so
        // again only the fused QKV bias is held twice: 1.00025x.
        BertConfig base = new BertConfig(30_522, 768, 12, 12, 3072, 512, 2, 1e-12f);
        assertEquals(108_891_648L, parameters(base));
        HfTokenizer tokenizer = HfTokenizer.open(ModelFiles.bundledMiniLm().tokenizer());
        try (TextEmbedder bert = TextEmbedder.of(randomWeights(base, 12), tokenizer,
                EmbedderOptions.of(BackendProvider.byName("vector")))) {
            long fp32 = parameters(base) * Float.BYTES;
            assertEquals(fp32 + base.layers() * 3L * base.hiddenSize() * Float.BYTES, bert.residentWeightBytes());
            assertTrue(bert.residentWeightBytes() <= 1.15 * fp32, bert.residentWeightBytes() + " bytes");
            // It runs on what it kept: nothing reads the released matrices.
            float[] vector = bert.embed(List.of("A cat sat on the mat."))[0];
            assertEquals(768, vector.length);
            double norm = 0;
            for (float x : vector) {
                norm += (double) x * x;
            }
            assertEquals(1.0, Math.sqrt(norm), 1e-5);
        }
    }

    /** A BERT encoder of {@code c}'s sizes: weights uniform in ±0.05, LayerNorms the identity, seeded. */
    private static BertWeights randomWeights(BertConfig c, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        Arena arena = Arena.ofShared();
        Arena matrices = Arena.ofShared();
        int h = c.hiddenSize();
        List<BertWeights.Layer> layers = new ArrayList<>();
        for (int i = 0; i < c.layers(); i++) {
            layers.add(new BertWeights.Layer(linear(arena, matrices, random, h, h), linear(arena, matrices, random, h, h),
                    linear(arena, matrices, random, h, h), linear(arena, matrices, random, h, h), ones(arena, h),
                    Tensor.allocate(arena, h), linear(arena, matrices, random, h, c.intermediateSize()),
                    linear(arena, matrices, random, c.intermediateSize(), h), ones(arena, h), Tensor.allocate(arena, h)));
        }
        return new BertWeights(c, arena, matrices, random(arena, random, c.vocabSize(), h),
                random(arena, random, c.maxPositions(), h), random(arena, random, c.typeVocabSize(), h), ones(arena, h),
                Tensor.allocate(arena, h), layers);
    }

    private static BertWeights.Linear linear(Arena arena, Arena matrices, SplittableRandom random, int in, int out) {
        return new BertWeights.Linear(random(matrices, random, in, out), random(arena, random, out));
    }

    private static Tensor random(Arena arena, SplittableRandom random, long... shape) {
        Tensor t = Tensor.allocate(arena, shape);
        MemorySegment segment = t.segment();
        for (long i = 0; i < t.size(); i++) {
            segment.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (random.nextDouble() - 0.5) * 0.1f);
        }
        return t;
    }

    private static Tensor ones(Arena arena, int n) {
        Tensor t = Tensor.allocate(arena, n);
        t.segment().elements(ValueLayout.JAVA_FLOAT).forEach(e -> e.set(ValueLayout.JAVA_FLOAT, 0, 1f));
        return t;
    }

    @Test
    void theScalarBackendKeepsTheMatricesItMultipliesAndTheFusedQkv() throws IOException {
        // The oracle multiplies the fp32 matrices as they are: they stay, and so does the fused QKV copy.
        try (TextEmbedder scalar = TextEmbedder.bundledMiniLm(EmbedderOptions.of(BackendProvider.byName("scalar")))) {
            long h = scalar.config().hiddenSize();
            long fusedQkv = scalar.config().layers() * 3 * (h * h + h);
            assertEquals((parameters(scalar.config()) + fusedQkv) * Float.BYTES, scalar.residentWeightBytes());
            assertTrue(scalar.residentWeightBytes() <= 1.15 * parameters(scalar.config()) * Float.BYTES);
        }
    }

    @Test
    void paddedBatchEqualsOneByOne() {
        float[][] batched = embedder.embed(TEXTS);
        for (int i = 0; i < TEXTS.size(); i++) {
            float[] alone = embedder.embed(List.of(TEXTS.get(i)))[0];
            assertArrayEquals(alone, batched[i], 2e-6f, "text " + i);
        }
        float[][][] statesBatched = embedder.lastHiddenStates(TEXTS);
        for (int i = 0; i < TEXTS.size(); i++) {
            float[][] alone = embedder.lastHiddenStates(List.of(TEXTS.get(i)))[0];
            assertEquals(alone.length, statesBatched[i].length);
            for (int t = 0; t < alone.length; t++) {
                assertArrayEquals(alone[t], statesBatched[i][t], 2e-5f, "text " + i + " token " + t);
            }
        }
    }

    @Test
    void meanPoolingIsTheMeanOfTheTokenStatesAndUnitLength() {
        float[][][] states = embedder.lastHiddenStates(TEXTS);
        float[][] vectors = embedder.embed(TEXTS);
        for (int i = 0; i < TEXTS.size(); i++) {
            double[] mean = new double[384];
            for (float[] token : states[i]) {
                for (int j = 0; j < 384; j++) {
                    mean[j] += token[j] / (double) states[i].length;
                }
            }
            double norm = Math.sqrt(java.util.Arrays.stream(mean).map(v -> v * v).sum());
            double unit = 0;
            for (int j = 0; j < 384; j++) {
                assertEquals(mean[j] / norm, vectors[i][j], 1e-5, "text " + i + " dim " + j);
                unit += vectors[i][j] * vectors[i][j];
            }
            assertEquals(1.0, unit, 1e-5);
        }
    }

    @Test
    void clsPoolingTakesTheFirstTokenState() throws IOException {
        EmbedderOptions cls = embedder.options().withPooling(Pooling.CLS).withNormalize(false);
        try (TextEmbedder clsEmbedder = TextEmbedder.bundledMiniLm(cls)) {
            float[][] vectors = clsEmbedder.embed(TEXTS);
            float[][][] states = embedder.lastHiddenStates(TEXTS);
            for (int i = 0; i < TEXTS.size(); i++) {
                assertArrayEquals(states[i][0], vectors[i], 1e-5f, "text " + i);
            }
        }
    }

    @Test
    void similarSentencesAreCloserThanUnrelatedOnes() {
        float[][] v = embedder.embed(List.of("A cat sat on the mat.", "A kitten rested on a rug.",
                "Interest rates rose sharply last quarter."));
        assertTrue(dot(v[0], v[1]) > dot(v[0], v[2]) + 0.2, "cat/kitten should beat cat/interest rates");
    }

    @Test
    void overlongTextIsTruncatedByDefaultAndRejectedOnRequest() throws IOException {
        String longText = "word ".repeat(700);
        float[][][] states = embedder.lastHiddenStates(List.of(longText));
        assertEquals(512, states[0].length, "truncated to the model's positions");
        float[][] truncated = embedder.embed(List.of(longText));
        assertEquals(384, truncated[0].length);

        try (TextEmbedder strict = TextEmbedder.bundledMiniLm(embedder.options().withOverlong(OverlongText.REJECT))) {
            var e = assertThrows(IllegalArgumentException.class, () -> strict.embed(List.of("fine", longText)));
            assertTrue(e.getMessage().contains("text 1") && e.getMessage().contains("702 tokens")
                    && e.getMessage().contains("512"), e.getMessage());
        }
    }

    @Test
    void emptyOrNullInputIsRejectedWithAClearMessage() {
        var empty = assertThrows(IllegalArgumentException.class, () -> embedder.embed(List.of()));
        assertTrue(empty.getMessage().contains("empty"), empty.getMessage());
        List<String> withNull = new ArrayList<>(List.of("ok"));
        withNull.add(null);
        var nul = assertThrows(IllegalArgumentException.class, () -> embedder.embed(withNull));
        assertTrue(nul.getMessage().contains("text 1 is null"), nul.getMessage());
    }

    @Test
    void manyThreadsShareOneModel() throws Exception {
        float[][] expected = embedder.embed(TEXTS);
        ExecutorService pool = Executors.newFixedThreadPool(6);
        try {
            List<Future<float[][]>> results = new ArrayList<>();
            for (int i = 0; i < 24; i++) {
                results.add(pool.submit(() -> embedder.embed(TEXTS)));
            }
            for (Future<float[][]> f : results) {
                float[][] got = f.get();
                for (int i = 0; i < expected.length; i++) {
                    // Not bit-equal: code that C2 has not compiled yet takes the Vector API's Java fallback
                    // for exp, which rounds differently from the intrinsic. A race would be far off.
                    assertArrayEquals(expected[i], got[i], 1e-6f);
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void missingOrBrokenTokenizerNamesTheFile(@TempDir Path dir) throws IOException {
        Path onnx = ModelFiles.bundledMiniLm().onnx();
        Path folder = Files.createDirectory(dir.resolve("model"));
        Files.createSymbolicLink(folder.resolve("model.onnx"), onnx);
        var missing = assertThrows(IOException.class, () -> TextEmbedder.load(folder, embedder.options()));
        assertTrue(missing.getMessage().contains("tokenizer.json"), missing.getMessage());

        Files.writeString(folder.resolve("tokenizer.json"), "{ this is not a tokenizer");
        var broken = assertThrows(IOException.class, () -> TextEmbedder.load(folder, embedder.options()));
        assertTrue(broken.getMessage().contains(folder.resolve("tokenizer.json").toString()), broken.getMessage());
    }

    @Test
    void missingModelNamesThePath(@TempDir Path dir) {
        var e = assertThrows(IOException.class, () -> TextEmbedder.load(dir.resolve("nope.onnx"), embedder.options()));
        assertTrue(e.getMessage().contains("nope.onnx"), e.getMessage());
    }

    private static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }
}
