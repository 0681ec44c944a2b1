package dev.tensorloom.runtime.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.runtime.tensor.Tensor;
import dev.tensorloom.testkit.OnnxModelWriter.Attribute;
import dev.tensorloom.testkit.OnnxModelWriter;
import dev.tensorloom.testkit.ProtoWriter;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading well-formed models: graph structure, lookups, attributes, and every tensor storage form. */
class OnnxModelTest {

    /** y = Relu(x·w + b) and z = y·y, with a Constant node and value info. */
    private static OnnxModelWriter smallGraph() {
        OnnxModelWriter w = new OnnxModelWriter(8, 17);
        w.input("x", OnnxModelWriter.FLOAT, "batch", 3L);
        w.floatInitializer("w", new float[] {1, 2, 3, 4, 5, 6}, 3, 2);
        w.floatInitializer("b", new float[] {0.5f, -0.5f}, 2);
        String product = w.node("MatMul", "/mm", List.of("x", "w")).output();
        String sum = w.node("Add", "/add", List.of(product, "b")).output();
        String y = w.node("Relu", "/relu", List.of(sum)).output();
        String shape = w.constantInt64("/shape", new long[] {-1, 2}, 2);
        String r = w.node("Reshape", "/reshape", List.of(y, shape)).output();
        w.node("Mul", "/square", List.of(r, r), List.of("z"), Attribute.string("note", "same input twice"));
        w.output("z", OnnxModelWriter.FLOAT, "batch", 2L);
        return w;
    }

    @Test
    void readsTheGraphAndIndexesItsDataFlow() throws Exception {
        try (OnnxModel m = OnnxModel.read(smallGraph().toBytes(), "small.onnx")) {
            assertEquals("small.onnx", m.source());
            assertEquals(8, m.irVersion());
            assertEquals(17, m.defaultOpsetVersion().orElseThrow());
            assertEquals(6, m.nodes().size());
            assertEquals(List.of("w", "b"), List.copyOf(m.initializers().keySet()));
            OnnxValueInfo x = m.graphInput("x").orElseThrow();
            assertEquals(OnnxDataType.FLOAT, x.elementType());
            assertEquals("[batch, 3]", x.shape().orElseThrow().toString());
            assertEquals(3, x.shape().orElseThrow().get(1).value());
            assertTrue(m.isGraphOutput("z"));

            OnnxNode add = m.producer("/add_output_0").orElseThrow();
            assertEquals("Add", add.opType());
            assertEquals(List.of("/mm_output_0", "b"), add.inputs());
            assertEquals(List.of(add), m.consumers("/mm_output_0"));
            assertEquals(1, m.consumers("/reshape_output_0").size(), "Mul(r, r) is one consumer");
            assertTrue(m.producer("x").isEmpty());
            assertTrue(m.consumers("z").isEmpty());
            assertEquals("", add.input(5));

            assertArrayEquals(new long[] {-1, 2}, m.constant("/shape_output_0").orElseThrow().toLongArray());
            assertArrayEquals(new float[] {0.5f, -0.5f}, m.constant("b").orElseThrow().toFloatArray());
            assertTrue(m.constant("/add_output_0").isEmpty());
            assertEquals("same input twice", m.producer("z").orElseThrow().attribute("note").orElseThrow().asString());
        }
    }

    @Test
    void readsConstantsInEveryForm() throws Exception {
        OnnxModelWriter w = new OnnxModelWriter(8, 17);
        w.node("Constant", "/f", List.of(), Attribute.real("value_float", 2.5f));
        w.node("Constant", "/i", List.of(), Attribute.integer("value_int", -3));
        w.node("Constant", "/is", List.of(), Attribute.ints("value_ints", 4, 5, 6));
        try (OnnxModel m = OnnxModel.read(w.toBytes(), "constants.onnx")) {
            assertArrayEquals(new float[] {2.5f}, m.constant("/f_output_0").orElseThrow().toFloatArray());
            OnnxTensor i = m.constant("/i_output_0").orElseThrow();
            assertEquals(0, i.rank());
            assertArrayEquals(new long[] {-3}, i.toLongArray());
            assertArrayEquals(new long[] {4, 5, 6}, m.constant("/is_output_0").orElseThrow().toLongArray());
        }
    }

    @Test
    void checksAttributeTypes() throws Exception {
        OnnxModelWriter w = new OnnxModelWriter(8, 17);
        w.node("Softmax", "/softmax", List.of("x"), Attribute.integer("axis", -1), Attribute.ints("perm", 1, 0),
                Attribute.real("alpha", 0.25f));
        try (OnnxModel m = OnnxModel.read(w.toBytes(), "attrs.onnx")) {
            OnnxNode n = m.nodes().getFirst();
            assertEquals(-1, n.attribute("axis").orElseThrow().asLong());
            assertArrayEquals(new long[] {1, 0}, n.attribute("perm").orElseThrow().asLongs());
            assertEquals(0.25f, n.attribute("alpha").orElseThrow().asFloat());
            OnnxFormatException e = assertThrows(OnnxFormatException.class,
                    () -> n.attribute("perm").orElseThrow().asLong());
            ProtoReaderTest.assertMessage(e, "attrs.onnx at byte offset", "attribute 'perm' is INTS, expected INT");
        }
    }

    @Test
    void infersTheTypeOfAttributesWrittenWithoutOne() throws Exception {
        // IR version 1 files have no AttributeProto.type.
        byte[] attribute = new ProtoWriter().string(1, "axes").varint(8, 1).varint(8, 2).toByteArray();
        byte[] node = new ProtoWriter().string(1, "x").string(2, "y").string(4, "Unsqueeze").bytes(5, attribute)
                .toByteArray();
        byte[] model = new ProtoWriter().varint(1, 1).message(7, new ProtoWriter().bytes(1, node)).toByteArray();
        try (OnnxModel m = OnnxModel.read(model, "ir1.onnx")) {
            OnnxAttribute axes = m.nodes().getFirst().attribute("axes").orElseThrow();
            assertEquals(OnnxAttribute.Type.INTS, axes.type());
            assertArrayEquals(new long[] {1, 2}, axes.asLongs());
        }
    }

    @Test
    void readsTensorsStoredRawOrTypedPackedOrNot() throws Exception {
        float[] values = {1.5f, -2f, 3.25f, 0f, 7f, -8.5f};
        OnnxModelWriter w = new OnnxModelWriter(8, 17);
        w.floatInitializer("raw", values, 2, 3);
        w.floatInitializer("typed", values, 2, 3);
        w.initializer("typed").typed = true;
        w.int64Initializer("longs", new long[] {-1, 1L << 40, 3}, 3);
        w.initializer("longs").typed = true;
        // float_data unpacked (one fixed32 per value) and dims packed, which writers may also produce.
        ProtoWriter unpacked = new ProtoWriter().packedVarints(1, 3, 2).varint(2, 1).string(8, "unpacked");
        for (float v : values) {
            unpacked.float32(4, v);
        }
        byte[] bytes = appendToGraph(w.toBytes(), new ProtoWriter().message(5, unpacked));
        try (OnnxModel m = OnnxModel.read(bytes, "storage.onnx")) {
            assertArrayEquals(values, m.initializer("raw").orElseThrow().toFloatArray());
            assertArrayEquals(values, m.initializer("typed").orElseThrow().toFloatArray());
            OnnxTensor t = m.initializer("unpacked").orElseThrow();
            assertArrayEquals(new long[] {3, 2}, t.dims());
            assertArrayEquals(values, t.toFloatArray());
            assertArrayEquals(new long[] {-1, 1L << 40, 3}, m.initializer("longs").orElseThrow().toLongArray());
        }
    }

    @Test
    void convertsNarrowAndWideTypes() throws Exception {
        OnnxModelWriter w = new OnnxModelWriter(8, 17);
        try (OnnxModel m = OnnxModel.read(withTensors(w.toBytes(),
                tensor("f16", 10, new long[] {2}, shorts(Float.floatToFloat16(1.5f), Float.floatToFloat16(-0.25f))),
                tensor("bf16", 16, new long[] {2}, shorts((short) (Float.floatToIntBits(2f) >>> 16),
                        (short) (Float.floatToIntBits(-3f) >>> 16))),
                tensor("f64", 11, new long[] {1}, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN)
                        .putDouble(0.125).array()),
                tensor("u8", 2, new long[] {2}, new byte[] {(byte) 200, 7}),
                tensor("i8", 3, new long[] {2}, new byte[] {(byte) 200, 7}),
                tensor("bool", 9, new long[] {3}, new byte[] {0, 1, 2}),
                tensor("i32", 6, new long[] {1}, ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(-9)
                        .array())), "types.onnx")) {
            assertArrayEquals(new float[] {1.5f, -0.25f}, m.initializer("f16").orElseThrow().toFloatArray());
            assertArrayEquals(new float[] {2f, -3f}, m.initializer("bf16").orElseThrow().toFloatArray());
            assertArrayEquals(new float[] {0.125f}, m.initializer("f64").orElseThrow().toFloatArray());
            assertArrayEquals(new long[] {200, 7}, m.initializer("u8").orElseThrow().toLongArray());
            assertArrayEquals(new long[] {-56, 7}, m.initializer("i8").orElseThrow().toLongArray());
            assertArrayEquals(new long[] {0, 1, 1}, m.initializer("bool").orElseThrow().toLongArray());
            assertArrayEquals(new long[] {-9}, m.initializer("i32").orElseThrow().toLongArray());
            assertEquals(OnnxDataType.BFLOAT16, m.initializer("bf16").orElseThrow().dataType());
        }
    }

    @Test
    void copiesIntoAlignedTensors() throws Exception {
        try (OnnxModel m = OnnxModel.read(smallGraph().toBytes(), "small.onnx"); Arena arena = Arena.ofConfined()) {
            OnnxTensor w = m.initializer("w").orElseThrow();
            Tensor t = w.toTensor(arena);
            assertArrayEquals(new long[] {3, 2}, t.shape());
            assertArrayEquals(w.toFloatArray(), t.toArray());
            assertEquals(0, t.segment().address() % 64);
        }
    }

    @Test
    void refusesWeightsThatAreNotFinite() throws Exception {
        OnnxModelWriter writer = smallGraph();
        writer.floatInitializer("poisoned", new float[] {1f, Float.NaN, 3f}, 3);
        try (OnnxModel m = OnnxModel.read(writer.toBytes(), "nan.onnx"); Arena arena = Arena.ofConfined()) {
            var e = assertThrows(OnnxFormatException.class, () -> m.initializer("poisoned").orElseThrow().toTensor(arena));
            assertTrue(e.getMessage().contains("nan.onnx") && e.getMessage().contains("'poisoned'")
                    && e.getMessage().contains("NaN at element 1"), e.getMessage());
        }
    }

    @Test
    void skipsFieldsItDoesNotUse() throws Exception {
        ProtoWriter extras = new ProtoWriter()
                .string(10, "graph doc string")
                .tag(99, 3).varint(1, 5).tag(99, 4)
                .fixed32(98, 1)
                .message(15, new ProtoWriter().string(1, "sparse initializer, ignored"));
        byte[] bytes = appendToGraph(smallGraph().toBytes(), extras);
        byte[] withModelExtras = new ProtoWriter().rawBytes(bytes).string(6, "model doc").varint(5, 3)
                .message(14, new ProtoWriter().string(1, "key").string(2, "value")).toByteArray();
        try (OnnxModel m = OnnxModel.read(withModelExtras, "extras.onnx")) {
            assertEquals(6, m.nodes().size());
        }
    }

    @Test
    void mapsFilesAndUnmapsThemOnClose(@TempDir Path dir) throws Exception {
        Path file = Files.write(dir.resolve("small.onnx"), smallGraph().toBytes());
        OnnxTensor w;
        try (OnnxModel m = OnnxModel.read(file)) {
            assertEquals(file.toString(), m.source());
            w = m.initializer("w").orElseThrow();
            assertEquals(6f, w.toFloatArray()[5]);
        }
        assertThrows(IllegalStateException.class, w::toFloatArray);
        assertFalse(w.hasExternalData());
    }

    @Test
    void aWeightCopiedOutOfTheMappedFileLeavesNoFilePagesInTheProcess(@TempDir Path dir) throws Exception {
        // 32 MiB of weights. Were the copy to leave the pages it read mapped, the process's file-backed resident
        // memory would grow by that much until the model closed: a loaded model resident twice.
        int n = 8 << 20;
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = i % 1000 * 1e-3f;
        }
        OnnxModelWriter writer = smallGraph();
        writer.floatInitializer("big", values, 4096, n / 4096);
        Path file = Files.write(dir.resolve("big.onnx"), writer.toBytes());
        values = null;
        try (OnnxModel m = OnnxModel.read(file); Arena arena = Arena.ofShared()) {
            OnnxTensor big = m.initializer("big").orElseThrow();
            long before = residentFileKib();
            Tensor t = big.toTensor(arena);
            long grown = residentFileKib() - before;
            assertTrue(grown < 4096, grown + " KiB of the file stayed resident after the copy");
            assertEquals(999 * 1e-3f, t.get(0, 999));
            assertEquals((n - 1) % 1000 * 1e-3f, t.get(4095, n / 4096 - 1));
        }
    }

    /** RssFile of /proc/self/status: this process's resident pages that belong to mapped files. */
    private static long residentFileKib() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("RssFile:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IllegalStateException("/proc/self/status has no RssFile line");
    }

    /** The model with {@code extra} appended inside its graph message. */
    static byte[] appendToGraph(byte[] model, ProtoWriter extra) throws Exception {
        ProtoReader r = new ProtoReader(java.lang.foreign.MemorySegment.ofArray(model), "rewrite");
        ProtoWriter out = new ProtoWriter();
        while (r.hasRemaining()) {
            long start = r.position();
            int tag = r.readTag();
            if (ProtoReader.fieldNumber(tag) == 7) {
                byte[] graph = r.readBytes().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
                out.bytes(7, new ProtoWriter().rawBytes(graph).rawBytes(extra.toByteArray()).toByteArray());
            } else {
                r.skipField(tag);
                out.rawBytes(java.util.Arrays.copyOfRange(model, (int) start, (int) r.position()));
            }
        }
        return out.toByteArray();
    }

    static byte[] withTensors(byte[] model, ProtoWriter... tensors) throws Exception {
        ProtoWriter extra = new ProtoWriter();
        for (ProtoWriter t : tensors) {
            extra.message(5, t);
        }
        return appendToGraph(model, extra);
    }

    static ProtoWriter tensor(String name, int dataType, long[] dims, byte[] raw) {
        ProtoWriter t = new ProtoWriter();
        for (long d : dims) {
            t.varint(1, d);
        }
        return t.varint(2, dataType).string(8, name).bytes(9, raw);
    }

    private static byte[] shorts(short... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (short v : values) {
            b.putShort(v);
        }
        return b.array();
    }
}
