package dev.tensorloom.runtime.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.runtime.onnx.OnnxFormatException;
import dev.tensorloom.runtime.onnx.OnnxModel;
import dev.tensorloom.runtime.tensor.Tensor;
import dev.tensorloom.testkit.OnnxModelWriter.Attribute;
import dev.tensorloom.testkit.OnnxModelWriter;
import dev.tensorloom.testkit.TinyBertOnnx.KeyTranspose;
import dev.tensorloom.testkit.TinyBertOnnx.LayerNormForm;
import dev.tensorloom.testkit.TinyBertOnnx.PositionIds;
import dev.tensorloom.testkit.TinyBertOnnx.Spec;
import dev.tensorloom.testkit.TinyBertOnnx;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The loader on synthetic BERT graphs: every export variant, other sizes, and graphs it must refuse. */
class BertOnnxLoaderTest {

    static Stream<Spec> variants() {
        Spec small = Spec.small();
        return Stream.of(
                small,
                small.with(LayerNormForm.FUSED),
                small.with(KeyTranspose.DOUBLE),
                small.with(PositionIds.RANGE),
                small.with(LayerNormForm.FUSED).with(KeyTranspose.DOUBLE).with(PositionIds.RANGE).withEpsilon(1e-5f),
                small.withSizes(30, 24, 3, 2, 40, 10, 0).withSeed(7),
                small.withSizes(11, 8, 1, 1, 16, 5, 3).withSeed(9));
    }

    @ParameterizedTest
    @MethodSource("variants")
    void mapsEveryWeightToItsRole(Spec spec) throws Exception {
        TinyBertOnnx tiny = TinyBertOnnx.build(spec);
        try (OnnxModel model = OnnxModel.read(tiny.bytes(), "tiny.onnx");
                BertWeights w = BertOnnxLoader.load(model)) {
            assertEquals(configOf(spec), w.config());
            assertParameter(tiny, "embeddings.word_embeddings.weight", w.wordEmbeddings());
            assertParameter(tiny, "embeddings.position_embeddings.weight", w.positionEmbeddings());
            if (spec.typeVocabSize() > 0) {
                assertParameter(tiny, "embeddings.token_type_embeddings.weight", w.tokenTypeEmbeddings());
            } else {
                assertNull(w.tokenTypeEmbeddings());
            }
            assertParameter(tiny, "embeddings.LayerNorm.weight", w.embeddingNormGamma());
            assertParameter(tiny, "embeddings.LayerNorm.bias", w.embeddingNormBeta());
            assertEquals(spec.layers(), w.layers().size());
            for (int i = 0; i < spec.layers(); i++) {
                BertWeights.Layer l = w.layers().get(i);
                String p = "encoder.layer." + i;
                assertLinear(tiny, p + ".attention.self.query", l.query());
                assertLinear(tiny, p + ".attention.self.key", l.key());
                assertLinear(tiny, p + ".attention.self.value", l.value());
                assertLinear(tiny, p + ".attention.output.dense", l.attentionOutput());
                assertParameter(tiny, p + ".attention.output.LayerNorm.weight", l.attentionNormGamma());
                assertParameter(tiny, p + ".attention.output.LayerNorm.bias", l.attentionNormBeta());
                assertLinear(tiny, p + ".intermediate.dense", l.intermediate());
                assertLinear(tiny, p + ".output.dense", l.output());
                assertParameter(tiny, p + ".output.LayerNorm.weight", l.outputNormGamma());
                assertParameter(tiny, p + ".output.LayerNorm.bias", l.outputNormBeta());
            }
        }
    }

    @Test
    void weightsOutliveTheModelAndAreAligned(@TempDir Path dir) throws Exception {
        TinyBertOnnx tiny = TinyBertOnnx.build(Spec.small());
        Path file = tiny.writeTo(dir.resolve("tiny.onnx"));
        try (BertWeights w = BertOnnxLoader.load(file)) {
            // The model's mapping is gone; the copies must not be.
            assertParameter(tiny, "encoder.layer.1.output.dense.weight", w.layers().get(1).output().weight());
            assertEquals(0, w.wordEmbeddings().segment().address() % 64);
            assertEquals(0, w.layers().get(1).key().weight().segment().address() % 64);
        }
    }

    // ---- graphs the loader must refuse, each with a message that names the file and the culprit ----

    @Test
    void refusesAModelWithoutInputIds() {
        assertRefused(w -> w.findNode("/embeddings/word_embeddings/Gather").inputs.set(1, "ids"),
                "input_ids");
    }

    @Test
    void refusesAKeyThatIsNotTransposed() {
        assertRefused(w -> w.findNode("/encoder/layer.1/attention/self/Transpose_2")
                .set(Attribute.ints("perm", 0, 2, 1, 3)), "key heads", "/encoder/layer.1/attention/self/key/MatMul");
    }

    @Test
    void refusesScoresWithQueryAndKeySwapped() {
        assertRefused(w -> {
            OnnxModelWriter.Node scores = w.findNode("/encoder/layer.0/attention/self/MatMul");
            scores.inputs = List.of(scores.inputs.get(1), scores.inputs.get(0));
        }, "query heads", "layer 0");
    }

    @Test
    void refusesAttentionWithoutSoftmax() {
        assertRefused(w -> w.findNode("/encoder/layer.1/attention/self/Softmax").opType = "Sigmoid",
                "Sigmoid '/encoder/layer.1/attention/self/Softmax'");
    }

    @Test
    void refusesAMissingNode() {
        assertRefused(w -> w.removeNode("/encoder/layer.0/attention/output/LayerNorm/Sqrt"),
                "layer 0 attention LayerNorm", "Sqrt");
    }

    @Test
    void refusesTheTanhApproximationOfGelu() {
        assertRefused(w -> w.findNode("/encoder/layer.1/intermediate/intermediate_act_fn/Erf").opType = "Tanh",
                "Tanh '/encoder/layer.1/intermediate/intermediate_act_fn/Erf'");
    }

    @Test
    void acceptsAnotherSpellingOfTheExactGelu() throws Exception {
        // x·(1/√2) instead of x/√2, and 0.5 applied to x before the product.
        TinyBertOnnx tiny = TinyBertOnnx.build(Spec.small());
        OnnxModelWriter w = tiny.writer();
        String act = "/encoder/layer.0/intermediate/intermediate_act_fn";
        w.findNode(act + "/Div").opType = "Mul";
        w.findNode(act + "/Constant").set(Attribute.tensor("value",
                OnnxModelWriter.floatTensor("", new float[] {(float) (1 / Math.sqrt(2))})));
        OnnxModelWriter.Node product = w.findNode(act + "/Mul");
        OnnxModelWriter.Node half = w.findNode(act + "/Mul_1");
        String x = product.inputs.get(0);
        String onePlusErf = product.inputs.get(1);
        half.inputs = List.of(x, half.inputs.get(1));
        half.outputs = List.of(act + "/half_x");
        product.inputs = List.of(act + "/half_x", onePlusErf);
        product.outputs = List.of(act + "/Mul_1_output_0");
        w.nodes().remove(half);
        w.nodes().add(w.nodes().indexOf(product), half);
        try (OnnxModel model = OnnxModel.read(tiny.bytes(), "gelu.onnx"); BertWeights weights = BertOnnxLoader.load(model)) {
            assertEquals(configOf(Spec.small()), weights.config());
        }
    }

    @Test
    void refusesAGeluWiredToAnotherValue() {
        assertRefused(w -> w.findNode("/encoder/layer.0/intermediate/intermediate_act_fn/Mul").inputs.set(0,
                "/encoder/layer.0/attention/output/LayerNorm/Add_1_output_0"), "layer 0",
                "in the activation to read its input or a scalar constant", "/attention/output/LayerNorm/Add_1");
    }

    @Test
    void refusesAGeluWithAWrongConstant() {
        assertRefused(w -> w.findNode("/encoder/layer.1/intermediate/intermediate_act_fn/Constant_2").set(
                Attribute.tensor("value", OnnxModelWriter.floatTensor("", new float[] {0.6f}))),
                "layer 1", "exact GELU", "where GELU is");
    }

    @Test
    void refusesUnscaledScores() {
        assertRefused(w -> {
            OnnxModelWriter.Node div = w.findNode("/encoder/layer.0/attention/self/Div");
            w.findNode("/encoder/layer.0/attention/self/Constant_12").attributes.set(0,
                    Attribute.tensor("value", OnnxModelWriter.floatTensor("", new float[] {1f})));
            div.name = div.name + "_unscaled";
        }, "scaled by 1.0", "expected 1/sqrt(8)");
    }

    @Test
    void refusesPositionIdsThatDoNotStartAtZero() {
        assertRefused(w -> w.findNode("/embeddings/Constant_1").attributes.set(0,
                Attribute.tensor("value", OnnxModelWriter.int64Tensor("", new long[] {1}, 1))),
                "/embeddings/Slice", "start 1");
    }

    @Test
    void refusesLayerNormsWithDifferentEpsilons() {
        assertRefused(w -> w.findNode("/encoder/layer.1/output/LayerNorm/Constant_1").attributes.set(0,
                Attribute.tensor("value", OnnxModelWriter.floatTensor("", new float[] {1e-5f}))),
                "epsilon", "layer 1 output LayerNorm");
    }

    @Test
    void refusesAFourthProjectionOfTheLayerInput() {
        assertRefused(w -> w.node("MatMul", "/extra/MatMul",
                List.of("/encoder/layer.0/output/LayerNorm/Add_1_output_0", "onnx::MatMul_787")),
                "layer 1", "three projections", "/extra/MatMul");
    }

    @Test
    void refusesAWeightOfTheWrongShape() {
        assertRefused(w -> {
            OnnxModelWriter.Node mm = w.findNode("/encoder/layer.1/intermediate/dense/MatMul");
            String weight = mm.inputs.get(1);
            w.floatInitializer(weight, new float[32 * 65], 32, 65);
        }, "layer 1 intermediate weight", "FLOAT[32, 65]", "[32, 64]");
    }

    @Test
    void refusesAGraphThatIsNotBert() throws Exception {
        OnnxModelWriter w = new OnnxModelWriter(6, 11);
        w.input("input_ids", OnnxModelWriter.INT64, "batch", "seq");
        w.floatInitializer("table", new float[12], 3, 4);
        w.node("Gather", "/lookup", List.of("table", "input_ids"));
        try (OnnxModel model = OnnxModel.read(w.toBytes(), "not-bert.onnx")) {
            OnnxFormatException e = assertThrows(OnnxFormatException.class, () -> BertOnnxLoader.load(model));
            assertContains(e.getMessage(), "not-bert.onnx", "position embedding", "/lookup");
        }
    }

    private static void assertRefused(Consumer<OnnxModelWriter> breakIt, String... expectedInMessage) {
        TinyBertOnnx tiny = TinyBertOnnx.build(Spec.small());
        breakIt.accept(tiny.writer());
        OnnxFormatException e = assertThrows(OnnxFormatException.class, () -> {
            try (OnnxModel model = OnnxModel.read(tiny.bytes(), "broken.onnx");
                    BertWeights w = BertOnnxLoader.load(model)) {
                // Loading must fail before the weights exist.
                assertNull(w);
            }
        });
        assertContains(e.getMessage(), "broken.onnx");
        assertContains(e.getMessage(), expectedInMessage);
    }

    static void assertContains(String message, String... parts) {
        for (String p : parts) {
            assertTrue(message.contains(p), () -> "expected \"" + p + "\" in: " + message);
        }
    }

    private static void assertParameter(TinyBertOnnx tiny, String name, Tensor actual) {
        assertArrayEquals(tiny.parameter(name), actual.toArray(), name);
    }

    private static void assertLinear(TinyBertOnnx tiny, String name, BertWeights.Linear actual) {
        assertParameter(tiny, name + ".weight", actual.weight());
        assertParameter(tiny, name + ".bias", actual.bias());
    }

    /** The config a loader should read from a tiny model built to {@code spec}. */
    private static BertConfig configOf(Spec spec) {
        return new BertConfig(spec.vocabSize(), spec.hiddenSize(), spec.layers(), spec.heads(),
                spec.intermediateSize(), spec.maxPositions(), spec.typeVocabSize(), spec.layerNormEpsilon());
    }
}
