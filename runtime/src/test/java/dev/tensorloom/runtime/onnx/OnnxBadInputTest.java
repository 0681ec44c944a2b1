package dev.tensorloom.runtime.onnx;

import static dev.tensorloom.runtime.onnx.ProtoReaderTest.assertMessage;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.runtime.bert.BertOnnxLoader;
import dev.tensorloom.runtime.bert.BertWeights;
import dev.tensorloom.testkit.OnnxModelWriter;
import dev.tensorloom.testkit.ProtoWriter;
import dev.tensorloom.testkit.TinyBertOnnx;
import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.List;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * Malformed and unsupported files: each must end in an {@link OnnxFormatException} whose message names the
 * file and the offset or the tensor or node at fault, never in another exception, a huge allocation, or a
 * read past the end.
 */
class OnnxBadInputTest {

    /** ir_version, then a graph of one 200-float initializer; the graph's length prefix takes two bytes. */
    private static byte[] oneTensorModel() {
        float[] values = new float[200];
        Arrays.fill(values, 0.75f);
        OnnxModelWriter.Initializer t = OnnxModelWriter.floatTensor("weights", values, 10, 20);
        ProtoWriter graph = new ProtoWriter().message(5, encode(t));
        return new ProtoWriter().varint(1, 7).message(7, graph).toByteArray();
    }

    private static ProtoWriter encode(OnnxModelWriter.Initializer t) {
        ProtoWriter w = new ProtoWriter();
        for (long d : t.dims) {
            w.varint(1, d);
        }
        return w.varint(2, t.dataType).string(8, t.name).bytes(9, t.raw);
    }

    private static OnnxFormatException readFails(byte[] bytes, String source) {
        return assertThrows(OnnxFormatException.class, () -> OnnxModel.read(bytes, source).close());
    }

    @Test
    void truncatedInsideAVarint() {
        byte[] model = oneTensorModel();
        assertEquals((byte) 0x3A, model[2], "graph tag at 2, its length varint at 3..4");
        OnnxFormatException e = readFails(Arrays.copyOf(model, 4), "cut.onnx");
        assertMessage(e, "cut.onnx at byte offset 3", "varint is cut off by the end of the file");
    }

    @Test
    void truncatedInsideALengthDelimitedField() {
        OnnxFormatException e = readFails(Arrays.copyOf(oneTensorModel(), 40), "cut.onnx");
        assertMessage(e, "cut.onnx at byte offset 3", "exceeds the 35 bytes left in the file");
    }

    @Test
    void truncatedInsideRawData() {
        byte[] model = oneTensorModel();
        int rawStart = model.length - 800;
        OnnxFormatException e = readFails(Arrays.copyOf(model, rawStart + 333), "cut.onnx");
        // The outermost length that no longer fits is the one reported.
        assertMessage(e, "cut.onnx at byte offset 3", "exceeds");
    }

    @Test
    void rawDataLongerThanItsTensor() {
        // Consistent outer lengths, but the raw_data length runs past the end of its TensorProto.
        ProtoWriter tensor = new ProtoWriter().varint(1, 4).varint(2, 1).string(8, "t")
                .tag(9, 2).rawBytes(ProtoWriter.varint(100)).rawBytes(new byte[16]);
        byte[] model = new ProtoWriter().message(7, new ProtoWriter().message(5, tensor)).toByteArray();
        OnnxFormatException e = readFails(model, "long-raw.onnx");
        assertMessage(e, "long-raw.onnx at byte offset", "length 100 exceeds the 16 bytes left in the message");
    }

    @Test
    void everyTruncationFailsUnlessItEndsExactlyAfterTheGraph() throws Exception {
        byte[] model = TinyBertOnnx.build(TinyBertOnnx.Spec.small().withSizes(11, 8, 1, 2, 16, 8, 2)).bytes();
        // opset_import, the last field: tag, length 2, then version as a varint field.
        int graphEnd = model.length - 4;
        TreeSet<Integer> loaded = new TreeSet<>();
        for (int cut = 0; cut < model.length; cut++) {
            String source = "cut-at-" + cut + ".onnx";
            try (OnnxModel m = OnnxModel.read(Arrays.copyOf(model, cut), source);
                    BertWeights w = BertOnnxLoader.load(m)) {
                assertEquals(1, w.layers().size());
                loaded.add(cut);
            } catch (OnnxFormatException e) {
                assertTrue(e.getMessage().startsWith(source), e.getMessage());
            }
        }
        assertEquals(List.of(graphEnd), List.copyOf(loaded));
    }

    @Test
    void lengthLargerThanTheFile() {
        byte[] model = new ProtoWriter().varint(1, 7).tag(7, 2).rawBytes(ProtoWriter.varint(Long.MAX_VALUE))
                .rawBytes(new byte[10]).toByteArray();
        OnnxFormatException e = readFails(model, "huge.onnx");
        assertMessage(e, "huge.onnx at byte offset 3", "length 9223372036854775807 exceeds the 10 bytes left");
    }

    @Test
    void dimsWhoseProductOverflows() {
        ProtoWriter tensor = new ProtoWriter().varint(1, 1L << 32).varint(1, 1L << 32).varint(2, 1)
                .string(8, "giant").bytes(9, new byte[4]);
        OnnxFormatException e = readFails(graphOf(tensor), "overflow.onnx");
        assertMessage(e, "overflow.onnx at byte offset", "tensor 'giant'", "[4294967296, 4294967296]",
                "overflows");
    }

    @Test
    void dimsThatDisagreeWithTheDataSize() {
        ProtoWriter raw = new ProtoWriter().varint(1, 3).varint(1, 4).varint(2, 1).string(8, "short")
                .bytes(9, new byte[40]);
        assertMessage(readFails(graphOf(raw), "size.onnx"), "size.onnx at byte offset", "tensor 'short'",
                "40 bytes of raw_data", "dims [3, 4] of FLOAT (1) need 48");
        ProtoWriter typed = new ProtoWriter().varint(1, 2).varint(1, 3).varint(2, 1).string(8, "typed")
                .bytes(4, new byte[20]);
        assertMessage(readFails(graphOf(typed), "size.onnx"), "tensor 'typed'", "5 values in float_data",
                "need 6");
        ProtoWriter none = new ProtoWriter().varint(1, 2).varint(2, 7).string(8, "empty");
        assertMessage(readFails(graphOf(none), "size.onnx"), "tensor 'empty'", "0 values in int64_data");
        ProtoWriter both = new ProtoWriter().varint(1, 1).varint(2, 1).string(8, "both").bytes(9, new byte[4])
                .bytes(4, new byte[4]);
        assertMessage(readFails(graphOf(both), "size.onnx"), "tensor 'both' has both raw_data and typed data");
        ProtoWriter negative = new ProtoWriter().varint(1, -2).varint(2, 1).string(8, "neg");
        assertMessage(readFails(graphOf(negative), "size.onnx"), "tensor 'neg' has negative dimension -2");
    }

    @Test
    void unknownWireType() {
        byte[] topLevel = new ProtoWriter().varint(1, 7).rawBytes((byte) 0x4E).toByteArray();
        assertMessage(readFails(topLevel, "wire.onnx"), "wire.onnx at byte offset 2", "unknown wire type 6 for field 9");
        byte[] nested = graphOf(new ProtoWriter().varint(2, 1).rawBytes((byte) 0x7F));
        assertMessage(readFails(nested, "wire.onnx"), "unknown wire type 7 for field 15");
    }

    @Test
    void knownFieldWithTheWrongWireType() {
        byte[] model = new ProtoWriter().varint(7, 12).toByteArray();
        assertMessage(readFails(model, "wrong.onnx"), "wrong.onnx at byte offset 0",
                "ModelProto.graph has wire type 0, expected 2");
    }

    @Test
    void noGraph() {
        assertMessage(readFails(new ProtoWriter().varint(1, 7).toByteArray(), "empty.onnx"),
                "empty.onnx at byte offset 2", "model has no graph");
        assertMessage(readFails(new byte[0], "empty.onnx"), "model has no graph");
    }

    @Test
    void graphWithAValueProducedTwice() throws Exception {
        OnnxModelWriter w = new OnnxModelWriter(8, 17);
        w.node("Relu", "/a", List.of("x"), List.of("y"));
        w.node("Relu", "/b", List.of("x"), List.of("y"));
        assertMessage(readFails(w.toBytes(), "twice.onnx"), "value 'y' is produced by both", "'/a'", "'/b'");
        OnnxModelWriter dup = new OnnxModelWriter(8, 17);
        dup.floatInitializer("w", new float[] {1}, 1);
        // OnnxModelWriter keeps initializers by name, so the second one is appended to its output.
        byte[] twice = OnnxModelTest.appendToGraph(dup.toBytes(),
                new ProtoWriter().message(5, encode(OnnxModelWriter.floatTensor("w", new float[] {2}, 1))));
        assertMessage(readFails(twice, "twice.onnx"), "second initializer named 'w'");
    }

    @Test
    void externalDataIsReadableAsStructureButNotAsValues() throws Exception {
        OnnxModelWriter w = new OnnxModelWriter(8, 17);
        w.floatInitializer("outside", new float[6], 2, 3);
        w.initializer("outside").external = true;
        try (OnnxModel m = OnnxModel.read(w.toBytes(), "external.onnx"); Arena arena = Arena.ofConfined()) {
            OnnxTensor t = m.initializer("outside").orElseThrow();
            assertTrue(t.hasExternalData());
            assertEquals(6, t.elementCount());
            for (var read : List.<ThrowingRead>of(t::toFloatArray, t::toLongArray, () -> t.toTensor(arena))) {
                OnnxFormatException e = assertThrows(OnnxFormatException.class, read::run);
                assertMessage(e, "external.onnx at byte offset", "tensor 'outside'", "external file");
            }
        }
    }

    @Test
    void externalDataInABertModel() throws Exception {
        TinyBertOnnx tiny = TinyBertOnnx.build(TinyBertOnnx.Spec.small());
        tiny.writer().initializer("encoder.layer.1.attention.self.value.bias").external = true;
        try (OnnxModel m = OnnxModel.read(tiny.bytes(), "external-bert.onnx")) {
            OnnxFormatException e = assertThrows(OnnxFormatException.class, () -> BertOnnxLoader.load(m));
            assertMessage(e, "external-bert.onnx", "tensor 'encoder.layer.1.attention.self.value.bias'",
                    "external file");
        }
    }

    @Test
    void dataTypesUnsupportedForTheUseAskedOfThem() throws Exception {
        byte[] model = OnnxModelTest.withTensors(new OnnxModelWriter(8, 17).toBytes(),
                OnnxModelTest.tensor("ids", 7, new long[] {2}, new byte[16]),
                OnnxModelTest.tensor("values", 1, new long[] {1}, new byte[4]),
                OnnxModelTest.tensor("future", 99, new long[] {3}, new byte[5]),
                OnnxModelTest.tensor("nibbles", 22, new long[] {3}, new byte[2]));
        try (OnnxModel m = OnnxModel.read(model, "types.onnx")) {
            assertMessage(assertThrows(OnnxFormatException.class,
                    () -> m.initializer("ids").orElseThrow().toFloatArray()),
                    "types.onnx at byte offset", "tensor 'ids' has data type INT64 (7), which cannot be read as float");
            assertMessage(assertThrows(OnnxFormatException.class,
                    () -> m.initializer("values").orElseThrow().toLongArray()),
                    "tensor 'values' has data type FLOAT (1), which cannot be read as integers");
            OnnxTensor future = m.initializer("future").orElseThrow();
            assertEquals(OnnxDataType.UNRECOGNIZED, future.dataType());
            assertMessage(assertThrows(OnnxFormatException.class, future::toFloatArray), "data type code 99");
            assertMessage(assertThrows(OnnxFormatException.class,
                    () -> m.initializer("nibbles").orElseThrow().toFloatArray()), "INT4 (22)");
        }
    }

    @Test
    void aWrongSizedSubByteTensorIsCaughtToo() {
        byte[] model = graphOf(new ProtoWriter().varint(1, 3).varint(2, 22).string(8, "nibbles").bytes(9,
                new byte[3]));
        assertMessage(readFails(model, "int4.onnx"), "3 bytes of raw_data", "INT4 (22) need 2");
    }

    private static byte[] graphOf(ProtoWriter tensor) {
        return new ProtoWriter().varint(1, 8).message(7, new ProtoWriter().message(5, tensor)).toByteArray();
    }

    @FunctionalInterface
    private interface ThrowingRead {
        Object run() throws Exception;
    }
}
