package dev.tensorloom.runtime.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.testkit.ProtoWriter;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/** The wire-format cursor: values, bounds, and skipping of every wire type. */
class ProtoReaderTest {

    private static ProtoReader reader(byte... bytes) {
        return new ProtoReader(MemorySegment.ofArray(bytes), "test.bin");
    }

    private static byte[] concat(byte[]... parts) {
        ProtoWriter w = new ProtoWriter();
        for (byte[] p : parts) {
            w.rawBytes(p);
        }
        return w.toByteArray();
    }

    @Test
    void readsVarintsOfEveryLength() throws Exception {
        for (long v : new long[] {0, 1, 127, 128, 300, 1L << 35, Long.MAX_VALUE, -1, Long.MIN_VALUE}) {
            ProtoReader r = reader(ProtoWriter.varint(v));
            assertEquals(v, r.readVarint());
            assertFalse(r.hasRemaining());
        }
    }

    @Test
    void readsNegativeInt32AsProtobufWritesIt() throws Exception {
        assertEquals(-5, reader(ProtoWriter.varint(-5)).readInt32());
    }

    @Test
    void refusesVarintsWiderThan64Bits() {
        byte[] eleven = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 1};
        assertMessage(assertThrows(OnnxFormatException.class, () -> reader(eleven).readVarint()),
                "test.bin at byte offset 0", "longer than 64 bits");
        byte[] tenthTooBig = {-1, -1, -1, -1, -1, -1, -1, -1, -1, 2};
        assertThrows(OnnxFormatException.class, () -> reader(tenthTooBig).readVarint());
    }

    @Test
    void reportsAVarintCutOffByTheEnd() {
        OnnxFormatException e = assertThrows(OnnxFormatException.class, () -> {
            ProtoReader r = reader((byte) 0x08, (byte) 0x96);
            r.readTag();
            r.readVarint();
        });
        assertMessage(e, "at byte offset 1", "varint is cut off by the end of the file");
        assertEquals(1, e.offset());
    }

    @Test
    void readsLittleEndianFixedValues() throws Exception {
        ProtoReader r = reader(new ProtoWriter().float32(1, 1.5f).toByteArray());
        assertEquals(ProtoReader.FIXED32, ProtoReader.wireType(r.readTag()));
        assertEquals(1.5f, r.readFloat());
        ProtoReader r64 = reader((byte) 1, (byte) 2, (byte) 0, (byte) 0, (byte) 0, (byte) 0, (byte) 0, (byte) 0);
        assertEquals(0x0201L, r64.readFixed64());
    }

    @Test
    void refusesALengthLargerThanWhatIsLeft() {
        byte[] bytes = concat(new byte[] {0x3A}, ProtoWriter.varint(1_000_000_000L), new byte[] {1, 2, 3});
        OnnxFormatException e = assertThrows(OnnxFormatException.class, () -> {
            ProtoReader r = reader(bytes);
            r.readTag();
            r.readMessage();
        });
        assertMessage(e, "at byte offset 1", "length 1000000000 exceeds the 3 bytes left in the file");
    }

    @Test
    void refusesALengthThatIsNegativeAsSigned() {
        byte[] bytes = concat(new byte[] {0x3A}, ProtoWriter.varint(-2), new byte[] {1});
        OnnxFormatException e = assertThrows(OnnxFormatException.class, () -> {
            ProtoReader r = reader(bytes);
            r.readTag();
            r.readBytes();
        });
        assertMessage(e, "length 18446744073709551614 exceeds");
    }

    @Test
    void keepsAMessageReaderInsideItsMessage() throws Exception {
        // A 2-byte message holding a varint field whose value would continue past the message.
        byte[] bytes = {0x0A, 0x02, 0x08, (byte) 0x80, 0x01};
        ProtoReader r = reader(bytes);
        r.readTag();
        ProtoReader inner = r.readMessage();
        inner.readTag();
        OnnxFormatException e = assertThrows(OnnxFormatException.class, inner::readVarint);
        assertMessage(e, "at byte offset 3", "the message that ends at byte 4");
        assertTrue(r.hasRemaining());
    }

    @Test
    void skipsEveryWireTypeIncludingNestedGroups() throws Exception {
        byte[] bytes = new ProtoWriter()
                .varint(1, 300)
                .fixed32(2, 7)
                .tag(3, ProtoReader.FIXED64).rawBytes(new byte[8])
                .string(4, "skipped")
                .tag(5, ProtoReader.START_GROUP)
                .varint(1, 1)
                .tag(6, ProtoReader.START_GROUP).string(2, "inner").tag(6, ProtoReader.END_GROUP)
                .tag(5, ProtoReader.END_GROUP)
                .varint(9, 42)
                .toByteArray();
        ProtoReader r = reader(bytes);
        for (int i = 0; i < 5; i++) {
            r.skipField(r.readTag());
        }
        assertEquals(9, ProtoReader.fieldNumber(r.readTag()));
        assertEquals(42, r.readVarint());
        assertFalse(r.hasRemaining());
    }

    @Test
    void refusesMalformedGroups() {
        byte[] mismatched = new ProtoWriter().tag(5, ProtoReader.START_GROUP).tag(6, ProtoReader.END_GROUP)
                .toByteArray();
        assertMessage(skipFirst(mismatched), "end-group tag for field 6 closes the group of field 5");
        byte[] unterminated = new ProtoWriter().tag(5, ProtoReader.START_GROUP).varint(1, 1).toByteArray();
        assertMessage(skipFirst(unterminated), "at byte offset 0", "group of field 5 is not closed");
        byte[] stray = new ProtoWriter().tag(5, ProtoReader.END_GROUP).toByteArray();
        assertMessage(skipFirst(stray), "end-group tag for field 5 without a matching start-group tag");
        ProtoWriter deep = new ProtoWriter();
        for (int i = 0; i < 100; i++) {
            deep.tag(5, ProtoReader.START_GROUP);
        }
        assertMessage(skipFirst(deep.toByteArray()), "groups nested deeper than 64");
    }

    @Test
    void refusesUnknownWireTypesAndFieldZero() {
        assertMessage(assertThrows(OnnxFormatException.class, () -> reader((byte) 0x0E).readTag()),
                "at byte offset 0", "unknown wire type 6 for field 1");
        assertMessage(assertThrows(OnnxFormatException.class, () -> reader((byte) 0x0F).readTag()),
                "unknown wire type 7");
        assertMessage(assertThrows(OnnxFormatException.class, () -> reader((byte) 0x02).readTag()),
                "field number 0 is invalid");
        assertMessage(assertThrows(OnnxFormatException.class, () -> reader(ProtoWriter.varint(1L << 40)).readTag()),
                "out of range");
    }

    @Test
    void refusesAKnownFieldWithTheWrongWireType() {
        OnnxFormatException e = assertThrows(OnnxFormatException.class, () -> {
            ProtoReader r = reader(new ProtoWriter().varint(7, 5).toByteArray());
            r.requireWireType(r.readTag(), ProtoReader.LENGTH_DELIMITED, "ModelProto.graph");
        });
        assertMessage(e, "ModelProto.graph has wire type 0, expected 2");
    }

    private static OnnxFormatException skipFirst(byte[] bytes) {
        return assertThrows(OnnxFormatException.class, () -> {
            ProtoReader r = reader(bytes);
            r.skipField(r.readTag());
        });
    }

    static void assertMessage(Exception e, String... parts) {
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), () -> "expected \"" + p + "\" in: " + e.getMessage());
        }
    }
}
