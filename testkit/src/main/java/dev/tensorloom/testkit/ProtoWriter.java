package dev.tensorloom.testkit;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Writes protobuf wire format, one field at a time, for building ONNX files in tests. It writes exactly
 * what it is told, malformed input included: {@link #rawBytes} and {@link #tag} put arbitrary bytes and keys
 * into the output.
 */
public final class ProtoWriter {

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    public ProtoWriter tag(int field, int wireType) {
        writeVarint(out, ((long) field << 3) | wireType);
        return this;
    }

    public ProtoWriter varint(int field, long value) {
        tag(field, 0);
        writeVarint(out, value);
        return this;
    }

    public ProtoWriter fixed32(int field, int bits) {
        tag(field, 5);
        for (int i = 0; i < 4; i++) {
            out.write(bits >>> (8 * i));
        }
        return this;
    }

    public ProtoWriter float32(int field, float value) {
        return fixed32(field, Float.floatToRawIntBits(value));
    }

    public ProtoWriter bytes(int field, byte[] value) {
        tag(field, 2);
        writeVarint(out, value.length);
        out.writeBytes(value);
        return this;
    }

    public ProtoWriter string(int field, String value) {
        return bytes(field, value.getBytes(StandardCharsets.UTF_8));
    }

    public ProtoWriter message(int field, ProtoWriter message) {
        return bytes(field, message.toByteArray());
    }

    /** A packed repeated varint field: one length-delimited run. */
    public ProtoWriter packedVarints(int field, long... values) {
        ByteArrayOutputStream run = new ByteArrayOutputStream();
        for (long v : values) {
            writeVarint(run, v);
        }
        return bytes(field, run.toByteArray());
    }

    /** Bytes copied into the output as they are. */
    public ProtoWriter rawBytes(byte... bytes) {
        out.writeBytes(bytes);
        return this;
    }

    public int size() {
        return out.size();
    }

    public byte[] toByteArray() {
        return out.toByteArray();
    }

    /** The varint encoding of {@code value}; negative values take ten bytes, as protobuf writes them. */
    public static byte[] varint(long value) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        writeVarint(b, value);
        return b.toByteArray();
    }

    private static void writeVarint(ByteArrayOutputStream out, long value) {
        long v = value;
        while ((v & ~0x7FL) != 0) {
            out.write((int) ((v & 0x7F) | 0x80));
            v >>>= 7;
        }
        out.write((int) v);
    }
}
