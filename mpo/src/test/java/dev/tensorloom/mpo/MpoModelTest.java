package dev.tensorloom.mpo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.runtime.bert.BertConfig;
import dev.tensorloom.runtime.bert.BertOnnxLoader;
import dev.tensorloom.runtime.bert.BertWeights;
import dev.tensorloom.runtime.embed.EmbedderOptions;
import dev.tensorloom.runtime.embed.ModelFiles;
import dev.tensorloom.runtime.embed.TextEmbedder;
import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.BackendProvider;
import dev.tensorloom.testkit.SentenceEmbeddings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The MPO model file end to end: the bundled MiniLM with every projection an untruncated MPO, written, read back
 * and embedding text, against the fp32 encoder on the ONNX file; and the problems a file that is no whole model
 * raises.
 */
class MpoModelTest {

    private static final List<String> TEXTS = List.of("A cat sat on the mat.", "Dogs bark at the postman.",
            "The stock market fell sharply on Monday.", "Photosynthesis turns light into chemical energy.");

    /**
     * Three cores with every bond whole reproduce each W up to the fp32 rounding of its cores (relative 1e-6,
     * TtSvdTest); the outer factors are 2 × 2, so the whole bonds are 4 and the TT-SVD is quick (the most even
     * factors make it SVDs of 100s × 1000s, a minute for the model on a loaded machine). Through six layers the sentence embeddings stay within 1e-4 of the fp32 encoder's in cosine, far
     * tighter than a truncated MPO (MpoEncoderTest shows bonds of 16 move the hidden states by more than 1e-2).
     */
    @Test
    void anUntruncatedMiniLmWrittenAndReadBackEmbedsAsTheFp32Encoder(@TempDir Path dir) throws Exception {
        Backend backend = BackendProvider.byName("vector");
        ModelFiles files = ModelFiles.bundledMiniLm();
        Path file = dir.resolve("minilm.mpo");
        long denseParameters = 0;

        try (BertWeights weights = BertOnnxLoader.load(files.onnx())) {
            Map<String, MpoFile.Matrix> projections = MpoModel.compress(weights, (name, w) -> MpoFile.Matrix.of(name,
                    TtSvd.decompose(w, threeCores(w.rows(), w.cols()), Truncation.none())));
            assertEquals(MpoModel.projectionNames(6), List.copyOf(projections.keySet()));
            for (MpoFile.Matrix m : projections.values()) {
                denseParameters += (long) m.shape().rows() * m.shape().cols();
            }
            MpoModel.write(file, "test", weights, projections, Files.readAllBytes(files.tokenizer()));
        }
        float[][] fp32;
        try (TextEmbedder reference = TextEmbedder.bundledMiniLm(EmbedderOptions.of(backend))) {
            fp32 = reference.embed(TEXTS);
        }
        MpoModel model = MpoModel.read(file);
        assertEquals("test", model.metadata());
        assertTrue(model.projectionParameters() > denseParameters, "whole bonds hold more than the dense matrices");
        for (MpoFile.Matrix m : model.projections().values()) {
            assertEquals(List.of(1, 4, 4, 1), java.util.Arrays.stream(m.bonds()).boxed().toList(), m.name());
        }
        try (TextEmbedder mpo = model.embedder(EmbedderOptions.of(backend))) {
            float[][] got = mpo.embed(TEXTS);
            for (int i = 0; i < TEXTS.size(); i++) {
                double cos = cosine(fp32[i], got[i]);
                assertTrue(cos > 0.9999, TEXTS.get(i) + ": cosine " + cos);
            }
        }
    }

    @Test
    void aFileThatIsNoWholeModelSaysWhatItLacks(@TempDir Path dir) throws Exception {
        Path matricesOnly = dir.resolve("matrices.mpo");
        MpoFile.write(matricesOnly, "m", List.of());
        MpoFormatException e = assertThrows(MpoFormatException.class, () -> MpoModel.read(matricesOnly));
        assertTrue(e.getMessage().contains("holds MPO matrices only, not a model"), e.getMessage());

        Path empty = dir.resolve("empty.mpo");
        MpoFile.write(empty, "m", new MpoFile.Model(new BertConfig(30, 8, 1, 2, 16, 12, 0,
                1e-12f), new byte[0]), List.of());
        e = assertThrows(MpoFormatException.class, () -> MpoModel.read(empty));
        assertTrue(e.getMessage().endsWith("no tensor embeddings.word"), e.getMessage());
    }

    /** (2, rows/4, 2) × (2, cols/4, 2). */
    private static MpoShape threeCores(int rows, int cols) {
        return MpoShape.of(rows, cols, new int[] {2, rows / 4, 2}, new int[] {2, cols / 4, 2});
    }

    private static double cosine(float[] a, float[] b) {
        return SentenceEmbeddings.cosine(IntStream.range(0, a.length).mapToDouble(i -> a[i]).toArray(),
                IntStream.range(0, b.length).mapToDouble(i -> b[i]).toArray());
    }
}
