package dev.tensorloom.runtime.onnx;

/**
 * The element types of ONNX's {@code TensorProto.DataType}, with their width in bits. A code this reader
 * does not know reads as {@link #UNRECOGNIZED}, so that a model with an exotic tensor still loads as long
 * as nobody asks for that tensor's values.
 */
public enum OnnxDataType {
    UNDEFINED(0, 0),
    FLOAT(1, 32),
    UINT8(2, 8),
    INT8(3, 8),
    UINT16(4, 16),
    INT16(5, 16),
    INT32(6, 32),
    INT64(7, 64),
    /** Variable length: has no fixed width. */
    STRING(8, 0),
    BOOL(9, 8),
    FLOAT16(10, 16),
    DOUBLE(11, 64),
    UINT32(12, 32),
    UINT64(13, 64),
    COMPLEX64(14, 64),
    COMPLEX128(15, 128),
    BFLOAT16(16, 16),
    FLOAT8E4M3FN(17, 8),
    FLOAT8E4M3FNUZ(18, 8),
    FLOAT8E5M2(19, 8),
    FLOAT8E5M2FNUZ(20, 8),
    UINT4(21, 4),
    INT4(22, 4),
    FLOAT4E2M1(23, 4),
    /** A code outside this list. */
    UNRECOGNIZED(-1, 0);

    private static final OnnxDataType[] BY_CODE = new OnnxDataType[24];

    static {
        for (OnnxDataType t : values()) {
            if (t.code >= 0) {
                BY_CODE[t.code] = t;
            }
        }
    }

    private final int code;
    private final int bits;

    OnnxDataType(int code, int bits) {
        this.code = code;
        this.bits = bits;
    }

    /** The type with ONNX code {@code code}, or {@link #UNRECOGNIZED}. */
    public static OnnxDataType of(int code) {
        return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : UNRECOGNIZED;
    }

    /** The ONNX code, -1 for {@link #UNRECOGNIZED}. */
    public int code() {
        return code;
    }

    /** Width of one element in bits; 0 where there is no fixed width. */
    public int bits() {
        return bits;
    }

    /** True when every element takes the same number of bits, so a tensor's byte size follows from its dims. */
    public boolean hasFixedWidth() {
        return bits > 0;
    }
}
