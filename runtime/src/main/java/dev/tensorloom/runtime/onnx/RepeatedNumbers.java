package dev.tensorloom.runtime.onnx;

import java.util.Arrays;

/**
 * The values of one repeated numeric protobuf field, which a writer may emit packed (one length-delimited
 * run) or unpacked (one tag per value), or as several runs of either; all are accepted and concatenated,
 * as protobuf requires. Values are kept as 64-bit patterns and converted to the field's type at the end.
 */
final class RepeatedNumbers {

    /** How each value of the field is encoded on the wire. */
    enum Encoding {
        VARINT(ProtoReader.VARINT),
        FIXED32(ProtoReader.FIXED32),
        FIXED64(ProtoReader.FIXED64);

        final int wireType;

        Encoding(int wireType) {
            this.wireType = wireType;
        }
    }

    private final Encoding encoding;
    private long[] values = new long[8];
    private int size;

    RepeatedNumbers(Encoding encoding) {
        this.encoding = encoding;
    }

    /** Reads the value (or packed run of values) of the field whose tag {@code r} just read. */
    void read(ProtoReader r, int tag, String field) throws OnnxFormatException {
        int wire = ProtoReader.wireType(tag);
        if (wire == encoding.wireType) {
            add(readOne(r), r);
        } else if (wire == ProtoReader.LENGTH_DELIMITED) {
            // A fixed-width run whose length is not a multiple of the width fails in readOne at its tail.
            ProtoReader run = r.readMessage();
            while (run.hasRemaining()) {
                add(readOne(run), run);
            }
        } else {
            r.requireWireType(tag, encoding.wireType, field);
        }
    }

    int size() {
        return size;
    }

    long[] toLongArray() {
        return Arrays.copyOf(values, size);
    }

    int[] toIntArray() {
        int[] out = new int[size];
        for (int i = 0; i < size; i++) {
            out[i] = (int) values[i];
        }
        return out;
    }

    float[] toFloatArray() {
        float[] out = new float[size];
        for (int i = 0; i < size; i++) {
            out[i] = Float.intBitsToFloat((int) values[i]);
        }
        return out;
    }

    double[] toDoubleArray() {
        double[] out = new double[size];
        for (int i = 0; i < size; i++) {
            out[i] = Double.longBitsToDouble(values[i]);
        }
        return out;
    }

    private long readOne(ProtoReader r) throws OnnxFormatException {
        return switch (encoding) {
            case VARINT -> r.readVarint();
            case FIXED32 -> r.readFixed32();
            case FIXED64 -> r.readFixed64();
        };
    }

    private void add(long v, ProtoReader r) throws OnnxFormatException {
        if (size == values.length) {
            if (size >= Integer.MAX_VALUE / 2) {
                throw new OnnxFormatException(r.source(), r.position(), "repeated field has too many values");
            }
            values = Arrays.copyOf(values, size * 2);
        }
        values[size++] = v;
    }
}
