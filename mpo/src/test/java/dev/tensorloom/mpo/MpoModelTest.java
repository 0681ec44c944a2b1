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
import dev.tensorloom.runtime.kernel.ScalarBackend;
import dev.tensorloom.testkit.SentenceEmbeddings;
import dev.tensorloom.testkit.TinyBertOnnx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
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
            assertEquals(List.of(1, 4, 4, 1), Arrays.stream(m.bonds()).boxed().toList(), m.name());
        }
        try (TextEmbedder mpo = model.embedder(EmbedderOptions.of(backend))) {
            float[][] got = mpo.embed(TEXTS);
            for (int i = 0; i < TEXTS.size(); i++) {
                double cos = cosine(fp32[i], got[i]);
                assertTrue(cos > 0.9999, TEXTS.get(i) + ": cosine " + cos);
            }
        }
    }

    /**
     * The {@code -Dtensorloom.mpo.*} properties reach the projections of a loaded model's embedder. A one-layer model
     * (hidden 16, intermediate 32) stores each projection as two untruncated cores (4, I/4) × (4, J/4), bond 16. With
     * bandwidth made free and no call cost, the model compares FLOPs over rates alone, so a projection goes direct
     * exactly when the direct rate (dense at 1 GFLOP/s) is at least its ratio ρ of direct to dense multiply-adds,
     * whatever the batch. For two cores the two orders cost m·d·i₂·j₁·(i₁ + j₂) and m·d·i₁·j₂·(i₂ + j₁) multiply-adds
     * against m·I·J dense: ρ is 16/3 for the QKV projection (16×48), 8 for the attention output (16×16) and 6 for
     * the two FFN matrices (16×32, 32×16). What each path then did shows in the embedder's resident bytes: on the
     * scalar backend a dense product keeps W, 4·I·J bytes, and a direct one keeps nothing.
     */
    @Test
    void theCostModelPropertiesPickTheLoadedProjectionsPaths(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("tiny.mpo");
        Path onnx = TinyBertOnnx.build(TinyBertOnnx.Spec.small().withSizes(30522, 16, 1, 2, 32, 16, 2))
                .writeTo(dir.resolve("tiny.onnx"));
        try (BertWeights weights = BertOnnxLoader.load(onnx)) {
            Map<String, MpoFile.Matrix> projections = MpoModel.compress(weights, (name, w) -> MpoFile.Matrix.of(name,
                    TtSvd.decompose(w, MpoShape.of(w.rows(), w.cols(), new int[] {4, w.rows() / 4},
                            new int[] {4, w.cols() / 4}), Truncation.none())));
            MpoModel.write(file, "tiny", weights, projections,
                    Files.readAllBytes(ModelFiles.bundledMiniLm().tokenizer()));
        }
        Map<String, Double> rho = Map.of("layers.0.attention.qkv", 16.0 / 3, "layers.0.attention.output", 8.0,
                "layers.0.intermediate", 6.0, "layers.0.output", 6.0);
        Map<String, Long> denseBytes = Map.of("layers.0.attention.qkv", 4L * 16 * 48,
                "layers.0.attention.output", 4L * 16 * 16, "layers.0.intermediate", 4L * 16 * 32,
                "layers.0.output", 4L * 32 * 16);
        Backend backend = new ScalarBackend();
        MpoModel model = MpoModel.read(file);
        try (TextEmbedder embedder = model.embedder(EmbedderOptions.of(backend))) {
            float[][] reference = embedder.embed(TEXTS);
            System.setProperty(MpoCostModel.DENSE_PROPERTY, "1");
            System.setProperty(MpoCostModel.BANDWIDTH_PROPERTY, "1e6");
            System.setProperty(MpoCostModel.CALL_PROPERTY, "0");
            try {
                for (double directGflops : new double[] {1000, 7, 5.5, 1}) {
                    System.setProperty(MpoCostModel.DIRECT_PROPERTY, Double.toString(directGflops));
                    MpoCostModel configured = MpoCostModel.configured(backend);
                    assertEquals(new MpoCostModel(1e9, directGflops * 1e9, 1e15, 0), configured);
                    long expectedGrowth = 0;
                    for (Map.Entry<String, MpoCostModel.Choice> e : model.choices(configured, 5).entrySet()) {
                        MpoCostModel.Choice c = e.getValue();
                        MpoFile.Matrix m = model.projections().get(e.getKey());
                        assertEquals(List.of(1, 16, 1), Arrays.stream(m.bonds()).boxed().toList(), e.getKey());
                        assertEquals(rho.get(e.getKey()) * 2 * 5 * m.shape().rows() * m.shape().cols(),
                                c.directFlops(), 1e-6, e.getKey());
                        boolean direct = directGflops >= rho.get(e.getKey());
                        assertEquals(direct ? MpoCostModel.Path.DIRECT : MpoCostModel.Path.DENSE, c.path(),
                                e.getKey() + " at " + directGflops + " GFLOP/s direct");
                        expectedGrowth += direct ? 0 : denseBytes.get(e.getKey());
                    }
                    try (TextEmbedder again = MpoModel.read(file).embedder(EmbedderOptions.of(backend))) {
                        long loaded = again.residentWeightBytes();
                        float[][] got = again.embed(TEXTS);
                        assertEquals(expectedGrowth, again.residentWeightBytes() - loaded,
                                "dense W kept at " + directGflops + " GFLOP/s direct");
                        for (int i = 0; i < TEXTS.size(); i++) {
                            assertTrue(cosine(reference[i], got[i]) > 0.99999, TEXTS.get(i));
                        }
                    }
                }
            } finally {
                System.clearProperty(MpoCostModel.DENSE_PROPERTY);
                System.clearProperty(MpoCostModel.DIRECT_PROPERTY);
                System.clearProperty(MpoCostModel.BANDWIDTH_PROPERTY);
                System.clearProperty(MpoCostModel.CALL_PROPERTY);
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
