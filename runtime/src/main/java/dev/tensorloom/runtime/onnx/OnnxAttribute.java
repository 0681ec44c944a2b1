package dev.tensorloom.runtime.onnx;

/**
 * One attribute of a node ({@code AttributeProto}). The typed accessors fail with an
 * {@link OnnxFormatException} naming the attribute when it holds another type, so a loader can read what it
 * expects and report what it found.
 */
public final class OnnxAttribute {

    /** {@code AttributeProto.AttributeType}. */
    public enum Type {
        UNDEFINED(0), FLOAT(1), INT(2), STRING(3), TENSOR(4), GRAPH(5), FLOATS(6), INTS(7), STRINGS(8), TENSORS(9),
        GRAPHS(10), SPARSE_TENSOR(11), SPARSE_TENSORS(12), TYPE_PROTO(13), TYPE_PROTOS(14),
        /** A code outside this list. */
        UNRECOGNIZED(-1);

        private final int code;

        Type(int code) {
            this.code = code;
        }

        public int code() {
            return code;
        }

        static Type of(int code) {
            for (Type t : values()) {
                if (t.code == code) {
                    return t;
                }
            }
            return UNRECOGNIZED;
        }
    }

    private final String source;
    private final long offset;
    private final String name;
    private final Type type;
    private final float floatValue;
    private final long intValue;
    private final String stringValue;
    private final OnnxTensor tensorValue;
    private final float[] floats;
    private final long[] ints;

    OnnxAttribute(String source, long offset, String name, Type type, float floatValue, long intValue,
            String stringValue, OnnxTensor tensorValue, float[] floats, long[] ints) {
        this.source = source;
        this.offset = offset;
        this.name = name;
        this.type = type;
        this.floatValue = floatValue;
        this.intValue = intValue;
        this.stringValue = stringValue;
        this.tensorValue = tensorValue;
        this.floats = floats;
        this.ints = ints;
    }

    public String name() {
        return name;
    }

    /** The declared type, or for files that omit it (IR version 1), the one implied by the field present. */
    public Type type() {
        return type;
    }

    /** Byte offset of this attribute's message in the model file. */
    public long offset() {
        return offset;
    }

    public float asFloat() throws OnnxFormatException {
        require(Type.FLOAT);
        return floatValue;
    }

    public long asLong() throws OnnxFormatException {
        require(Type.INT);
        return intValue;
    }

    public String asString() throws OnnxFormatException {
        require(Type.STRING);
        return stringValue;
    }

    public OnnxTensor asTensor() throws OnnxFormatException {
        require(Type.TENSOR);
        return tensorValue;
    }

    public float[] asFloats() throws OnnxFormatException {
        require(Type.FLOATS);
        return floats.clone();
    }

    public long[] asLongs() throws OnnxFormatException {
        require(Type.INTS);
        return ints.clone();
    }

    @Override
    public String toString() {
        return "attribute '" + name + "' (" + type + ")";
    }

    private void require(Type expected) throws OnnxFormatException {
        if (type != expected) {
            throw new OnnxFormatException(source, offset, "attribute '" + name + "' is " + type + ", expected " + expected);
        }
    }
}
