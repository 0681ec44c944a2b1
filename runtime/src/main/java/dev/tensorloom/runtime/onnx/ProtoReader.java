package dev.tensorloom.runtime.onnx;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * A cursor over one protobuf message in a {@link MemorySegment}, bounded by the message's end. Every
 * length read from the data is checked against the bytes that remain before it is used, so a corrupt or
 * hostile size field ends in an {@link OnnxFormatException}, never in an allocation sized by the file or a
 * read past the end. Positions are absolute offsets in the whole file, which is what error messages report.
 *
 * <p>ONNX's schema is proto2, where unknown fields may be groups; they are skipped as protobuf does, with a
 * bounded nesting depth. A stray end-group tag, wire types 6 and 7, and field number 0 are errors.
 */
final class ProtoReader {

    static final int VARINT = 0;
    static final int FIXED64 = 1;
    static final int LENGTH_DELIMITED = 2;
    static final int START_GROUP = 3;
    static final int END_GROUP = 4;
    static final int FIXED32 = 5;

    /** Deeper group nesting than this is certainly garbage, and recursion must stay far from the stack limit. */
    private static final int MAX_GROUP_DEPTH = 64;

    private static final ValueLayout.OfInt INT_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LONG_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final MemorySegment data;
    private final String source;
    private final boolean wholeFile;
    private final long limit;
    private long position;
    private long tagOffset;

    /** A reader over all of {@code data}, which is named {@code source} in error messages. */
    ProtoReader(MemorySegment data, String source) {
        this(data, source, 0, data.byteSize());
    }

    private ProtoReader(MemorySegment data, String source, long start, long limit) {
        this.data = data;
        this.source = source;
        this.wholeFile = start == 0 && limit == data.byteSize();
        this.position = start;
        this.limit = limit;
    }

    String source() {
        return source;
    }

    /** Absolute offset of the next byte to read. */
    long position() {
        return position;
    }

    boolean hasRemaining() {
        return position < limit;
    }

    static int fieldNumber(int tag) {
        return tag >>> 3;
    }

    static int wireType(int tag) {
        return tag & 7;
    }

    /** Reads a field key; the field number is nonzero and the wire type one protobuf defines. */
    int readTag() throws OnnxFormatException {
        long start = position;
        tagOffset = start;
        long key = readVarint();
        if (key >>> 32 != 0) {
            throw new OnnxFormatException(source, start, "field key " + Long.toUnsignedString(key) + " is out of range");
        }
        int tag = (int) key;
        if (fieldNumber(tag) == 0) {
            throw new OnnxFormatException(source, start, "field number 0 is invalid");
        }
        if (wireType(tag) > FIXED32) {
            throw new OnnxFormatException(source, start,
                    "unknown wire type " + wireType(tag) + " for field " + fieldNumber(tag));
        }
        return tag;
    }

    /** Absolute offset of the last tag read. */
    long tagOffset() {
        return tagOffset;
    }

    /** Fails unless the last tag read has {@code expected} wire type; {@code field} names the field. */
    void requireWireType(int tag, int expected, String field) throws OnnxFormatException {
        if (wireType(tag) != expected) {
            throw new OnnxFormatException(source, tagOffset, field + " has wire type " + wireType(tag)
                    + ", expected " + expected);
        }
    }

    long readVarint() throws OnnxFormatException {
        long start = position;
        long result = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (position >= limit) {
                throw new OnnxFormatException(source, start, "varint is cut off by the end of " + enclosure());
            }
            byte b = data.get(ValueLayout.JAVA_BYTE, position++);
            // The tenth byte holds only bit 63; anything more means a value wider than 64 bits.
            if (shift == 63 && (b & 0xFE) != 0) {
                throw new OnnxFormatException(source, start, "varint is longer than 64 bits");
            }
            result |= (long) (b & 0x7F) << shift;
            if (b >= 0) {
                return result;
            }
        }
        throw new IllegalStateException("unreachable: a tenth varint byte always terminates or fails");
    }

    /** An int32 field: protobuf writes negative values sign-extended to 64 bits, so truncation is exact. */
    int readInt32() throws OnnxFormatException {
        return (int) readVarint();
    }

    int readFixed32() throws OnnxFormatException {
        require(4, "fixed32 value");
        int v = data.get(INT_LE, position);
        position += 4;
        return v;
    }

    long readFixed64() throws OnnxFormatException {
        require(8, "fixed64 value");
        long v = data.get(LONG_LE, position);
        position += 8;
        return v;
    }

    float readFloat() throws OnnxFormatException {
        return Float.intBitsToFloat(readFixed32());
    }

    /** Reads a length prefix and returns a reader over exactly that many following bytes, which it skips. */
    ProtoReader readMessage() throws OnnxFormatException {
        long length = readLength();
        ProtoReader sub = new ProtoReader(data, source, position, position + length);
        position += length;
        return sub;
    }

    /** Reads a length-delimited field as a view of the underlying memory (no copy). */
    MemorySegment readBytes() throws OnnxFormatException {
        long length = readLength();
        MemorySegment bytes = data.asSlice(position, length);
        position += length;
        return bytes;
    }

    String readString() throws OnnxFormatException {
        long start = position;
        MemorySegment bytes = readBytes();
        if (bytes.byteSize() > Integer.MAX_VALUE - 8) {
            throw new OnnxFormatException(source, start, "string of " + bytes.byteSize() + " bytes is too long");
        }
        return new String(bytes.toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
    }

    /** Skips the value of the field whose tag was read last, one this reader's caller does not know. */
    void skipField(int tag) throws OnnxFormatException {
        skipField(tag, tagOffset, 0);
    }

    private void skipField(int tag, long tagOffset, int depth) throws OnnxFormatException {
        switch (wireType(tag)) {
            case VARINT -> readVarint();
            case FIXED64 -> skip(8, "fixed64 value");
            case LENGTH_DELIMITED -> {
                // Not "position += readLength()": that would add to the position from before the length.
                long length = readLength();
                position += length;
            }
            case FIXED32 -> skip(4, "fixed32 value");
            case START_GROUP -> skipGroup(fieldNumber(tag), tagOffset, depth + 1);
            case END_GROUP -> throw new OnnxFormatException(source, tagOffset,
                    "end-group tag for field " + fieldNumber(tag) + " without a matching start-group tag");
            default -> throw new OnnxFormatException(source, tagOffset, "unknown wire type " + wireType(tag));
        }
    }

    private void skipGroup(int field, long groupOffset, int depth) throws OnnxFormatException {
        if (depth > MAX_GROUP_DEPTH) {
            throw new OnnxFormatException(source, groupOffset, "groups nested deeper than " + MAX_GROUP_DEPTH);
        }
        while (hasRemaining()) {
            int tag = readTag();
            long innerTagOffset = tagOffset;
            if (wireType(tag) == END_GROUP) {
                if (fieldNumber(tag) != field) {
                    throw new OnnxFormatException(source, innerTagOffset, "end-group tag for field "
                            + fieldNumber(tag) + " closes the group of field " + field);
                }
                return;
            }
            skipField(tag, innerTagOffset, depth);
        }
        throw new OnnxFormatException(source, groupOffset,
                "group of field " + field + " is not closed before the end of " + enclosure());
    }

    private long readLength() throws OnnxFormatException {
        long start = position;
        long length = readVarint();
        if (length < 0 || length > limit - position) {
            throw new OnnxFormatException(source, start, "length " + Long.toUnsignedString(length)
                    + " exceeds the " + (limit - position) + " bytes left in " + enclosure());
        }
        return length;
    }

    private void skip(long bytes, String what) throws OnnxFormatException {
        require(bytes, what);
        position += bytes;
    }

    private void require(long bytes, String what) throws OnnxFormatException {
        if (limit - position < bytes) {
            throw new OnnxFormatException(source, position, what + " needs " + bytes + " bytes, "
                    + (limit - position) + " are left in " + enclosure());
        }
    }

    private String enclosure() {
        return wholeFile ? "the file" : "the message that ends at byte " + limit;
    }
}
