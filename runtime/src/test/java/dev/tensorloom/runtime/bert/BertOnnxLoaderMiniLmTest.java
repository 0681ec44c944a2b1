package dev.tensorloom.runtime.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.runtime.embed.ModelFiles;
import dev.tensorloom.runtime.onnx.OnnxModel;
import dev.tensorloom.runtime.onnx.OnnxNode;
import dev.tensorloom.runtime.onnx.OnnxTensor;
import dev.tensorloom.runtime.tensor.Tensor;
import dev.tensorloom.testkit.BundledMiniLm;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The loader on the real all-MiniLM-L6-v2 export. The export's node names say what each anonymous
 * {@code onnx::MatMul_NNN} weight is; the loader never reads them, so they serve here as the independent
 * answer its graph walk must agree with.
 */
class BertOnnxLoaderMiniLmTest {

    private static OnnxModel model;
    private static BertWeights weights;

    @BeforeAll
    static void load() throws Exception {
        model = OnnxModel.read(ModelFiles.bundledMiniLm().onnx());
        long start = System.nanoTime();
        weights = BertOnnxLoader.load(model);
        System.out.printf("MiniLM: loaded %d layers in %.0f ms%n", weights.layers().size(),
                (System.nanoTime() - start) / 1e6);
    }

    @AfterAll
    static void close() {
        weights.close();
        model.close();
    }

    @Test
    void readsEverySizeFromTheModel() {
        assertEquals(new BertConfig(30522, 384, 6, 12, 1536, 512, 2, 1e-12f), weights.config());
        assertEquals(32, weights.config().headDim());
    }

    @Test
    void everyWeightEqualsTheInitializerTheExportNamedForIt() throws Exception {
        assertSame("embeddings.word_embeddings.weight", weights.wordEmbeddings());
        assertSame("embeddings.position_embeddings.weight", weights.positionEmbeddings());
        assertSame("embeddings.token_type_embeddings.weight", weights.tokenTypeEmbeddings());
        assertSame("embeddings.LayerNorm.weight", weights.embeddingNormGamma());
        assertSame("embeddings.LayerNorm.bias", weights.embeddingNormBeta());
        for (int i = 0; i < 6; i++) {
            BertWeights.Layer l = weights.layers().get(i);
            String node = "/encoder/layer." + i;
            String init = "encoder.layer." + i;
            assertLinear(l.query(), node + "/attention/self/query/MatMul", init + ".attention.self.query.bias");
            assertLinear(l.key(), node + "/attention/self/key/MatMul", init + ".attention.self.key.bias");
            assertLinear(l.value(), node + "/attention/self/value/MatMul", init + ".attention.self.value.bias");
            assertLinear(l.attentionOutput(), node + "/attention/output/dense/MatMul",
                    init + ".attention.output.dense.bias");
            assertSame(init + ".attention.output.LayerNorm.weight", l.attentionNormGamma());
            assertSame(init + ".attention.output.LayerNorm.bias", l.attentionNormBeta());
            assertLinear(l.intermediate(), node + "/intermediate/dense/MatMul", init + ".intermediate.dense.bias");
            assertLinear(l.output(), node + "/output/dense/MatMul", init + ".output.dense.bias");
            assertSame(init + ".output.LayerNorm.weight", l.outputNormGamma());
            assertSame(init + ".output.LayerNorm.bias", l.outputNormBeta());
        }
    }

    @Test
    void spotValuesOfTheFirstQueryWeight() {
        // Read from the file independently (Python, raw little-endian floats of onnx::MatMul_787).
        Tensor q = weights.layers().getFirst().query().weight();
        assertEquals(-0.14861962f, q.get(0, 0));
        assertEquals(0.035969656f, q.get(0, 1));
    }

    @Test
    void theExportIsTheShapeTheLoaderWasWrittenFor() throws Exception {
        // Documents the graph this loader handles: decomposed LayerNorm at opset 11, key transposed at once,
        // position ids sliced from a constant buffer.
        assertEquals(11, model.defaultOpsetVersion().orElseThrow());
        assertEquals(637, model.nodes().size());
        assertEquals(102, model.initializers().size());
        assertTrue(model.nodes().stream().noneMatch(n -> n.opType().equals("LayerNormalization")));
        OnnxNode slice = model.producer("/embeddings/Slice_output_0").orElseThrow();
        assertEquals("embeddings.position_ids", slice.input(0));
        OnnxNode keyTranspose = model.producer("/encoder/layer.0/attention/self/Transpose_2_output_0").orElseThrow();
        assertArrayEquals(new long[] {0, 2, 3, 1}, keyTranspose.attribute("perm").orElseThrow().asLongs());
        assertEquals(List.of("input_ids", "attention_mask", "token_type_ids"),
                model.inputs().stream().map(v -> v.name()).toList());
    }

    @Test
    void readsTheSameModelFromMemory() throws Exception {
        try (OnnxModel fromBytes = OnnxModel.read(BundledMiniLm.modelBytes(), BundledMiniLm.MODEL_RESOURCE)) {
            assertEquals(model.nodes().stream().map(OnnxNode::toString).toList(),
                    fromBytes.nodes().stream().map(OnnxNode::toString).toList());
            assertEquals(model.initializers().keySet(), fromBytes.initializers().keySet());
            assertArrayEquals(model.initializer("onnx::MatMul_864").orElseThrow().toFloatArray(),
                    fromBytes.initializer("onnx::MatMul_864").orElseThrow().toFloatArray());
        }
    }

    private static void assertLinear(BertWeights.Linear actual, String matMulNode, String bias) throws Exception {
        OnnxNode matMul = model.nodes().stream().filter(n -> n.name().equals(matMulNode)).findFirst().orElseThrow();
        assertTrue(matMul.input(1).startsWith("onnx::MatMul_"), matMul.toString());
        assertSame(matMul.input(1), actual.weight());
        assertSame(bias, actual.bias());
    }

    private static void assertSame(String initializer, Tensor actual) throws Exception {
        OnnxTensor expected = model.initializer(initializer).orElseThrow();
        assertArrayEquals(expected.toFloatArray(), actual.toArray(), initializer);
    }
}
