package dev.tensorloom.runtime.onnx;

import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * One ONNX {@code TensorProto}: an initializer or the value of a Constant node. Its dims and data size are
 * checked against each other when the model is read; its values are converted only on request, because
 * raw data is a view of the model file and copying 90 MB of weights nobody asked for would be waste.
 *
 * <p>Raw data lives as long as the {@link OnnxModel} it came from: after the model is closed, reading it
 * fails with {@link IllegalStateException}.
 */
public final class OnnxTensor {

    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64_LE =
            ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32_NATIVE = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /** Java arrays cannot be longer than this on every JVM. */
    private static final long MAX_ARRAY_LENGTH = Integer.MAX_VALUE - 8;

    private final String source;
    private final long offset;
    private final String name;
    private final long[] dims;
    private final long elementCount;
    private final int dataTypeCode;
    private final OnnxDataType dataType;
    private final MemorySegment rawData;
    private final float[] floatData;
    private final int[] int32Data;
    private final long[] int64Data;
    private final double[] doubleData;
    private final long[] uint64Data;
    private final boolean externalData;

    private OnnxTensor(Fields f, long elementCount) {
        this.source = f.source;
        this.offset = f.offset;
        this.name = f.name;
        this.dims = f.dims;
        this.elementCount = elementCount;
        this.dataTypeCode = f.dataTypeCode;
        this.dataType = OnnxDataType.of(f.dataTypeCode);
        this.rawData = f.rawData;
        this.floatData = f.floatData;
        this.int32Data = f.int32Data;
        this.int64Data = f.int64Data;
        this.doubleData = f.doubleData;
        this.uint64Data = f.uint64Data;
        this.externalData = f.externalData;
    }

    /** The decoded fields of a TensorProto, before their consistency is checked. */
    static final class Fields {
        String source;
        long offset;
        String name = "";
        long[] dims = new long[0];
        int dataTypeCode;
        MemorySegment rawData;
        float[] floatData = new float[0];
        int[] int32Data = new int[0];
        long[] int64Data = new long[0];
        double[] doubleData = new double[0];
        long[] uint64Data = new long[0];
        boolean externalData;
    }

    /**
     * A tensor from decoded fields, after checking that the dims are valid, that their product does not
     * overflow, and that the data holds exactly product(dims) elements of the data type.
     */
    static OnnxTensor of(Fields f) throws OnnxFormatException {
        String what = describe(f.name);
        long count = 1;
        for (long d : f.dims) {
            if (d < 0) {
                throw new OnnxFormatException(f.source, f.offset, what + " has negative dimension " + d
                        + " in dims " + Arrays.toString(f.dims));
            }
            try {
                count = Math.multiplyExact(count, d);
            } catch (ArithmeticException e) {
                throw new OnnxFormatException(f.source, f.offset, what + " has dims " + Arrays.toString(f.dims)
                        + " whose product overflows a 64-bit count");
            }
        }
        OnnxTensor t = new OnnxTensor(f, count);
        if (!t.externalData) {
            t.checkDataSize();
        }
        return t;
    }

    /** The tensor's name; empty for the value of a Constant node. */
    public String name() {
        return name;
    }

    public long[] dims() {
        return dims.clone();
    }

    public int rank() {
        return dims.length;
    }

    /** Product of the dims. */
    public long elementCount() {
        return elementCount;
    }

    public OnnxDataType dataType() {
        return dataType;
    }

    /** The data type code as written in the file, meaningful also when {@link #dataType()} is UNRECOGNIZED. */
    public int dataTypeCode() {
        return dataTypeCode;
    }

    /** True when the values are stored in a file beside the model, which this reader does not follow. */
    public boolean hasExternalData() {
        return externalData;
    }

    /** Byte offset of this tensor's message in the model file. */
    public long offset() {
        return offset;
    }

    /** The values as floats; FLOAT, FLOAT16, BFLOAT16 and DOUBLE tensors can be read this way. */
    public float[] toFloatArray() throws OnnxFormatException {
        requireReadable("as float");
        int n = arrayLength();
        float[] out = new float[n];
        switch (dataType) {
            case FLOAT -> {
                if (rawData != null) {
                    MemorySegment.copy(rawData, F32_LE, 0, out, 0, n);
                } else {
                    System.arraycopy(floatData, 0, out, 0, n);
                }
            }
            case DOUBLE -> {
                for (int i = 0; i < n; i++) {
                    out[i] = (float) (rawData != null ? rawData.getAtIndex(F64_LE, i) : doubleData[i]);
                }
            }
            case FLOAT16 -> {
                for (int i = 0; i < n; i++) {
                    out[i] = Float.float16ToFloat(rawData != null ? rawData.getAtIndex(I16_LE, i) : (short) int32Data[i]);
                }
            }
            case BFLOAT16 -> {
                for (int i = 0; i < n; i++) {
                    int bits = rawData != null ? rawData.getAtIndex(I16_LE, i) : int32Data[i];
                    out[i] = Float.intBitsToFloat((bits & 0xFFFF) << 16);
                }
            }
            default -> throw unsupported("as float", "FLOAT, FLOAT16, BFLOAT16 or DOUBLE");
        }
        return out;
    }

    /** The values as longs; integer and BOOL tensors can be read this way. */
    public long[] toLongArray() throws OnnxFormatException {
        requireReadable("as integers");
        switch (dataType) {
            case INT64, INT32, INT16, INT8, UINT8, UINT16, BOOL, UINT32, UINT64 -> {
            }
            default -> throw unsupported("as integers", "an integer type or BOOL");
        }
        int n = arrayLength();
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            out[i] = switch (dataType) {
                case INT64 -> rawData != null ? rawData.getAtIndex(I64_LE, i) : int64Data[i];
                case INT32 -> rawData != null ? rawData.getAtIndex(I32_LE, i) : int32Data[i];
                case INT16 -> rawData != null ? rawData.getAtIndex(I16_LE, i) : (short) int32Data[i];
                case INT8 -> rawData != null ? rawData.get(ValueLayout.JAVA_BYTE, i) : (byte) int32Data[i];
                case UINT8 -> (rawData != null ? rawData.get(ValueLayout.JAVA_BYTE, i) : int32Data[i]) & 0xFFL;
                case UINT16 -> (rawData != null ? rawData.getAtIndex(I16_LE, i) : int32Data[i]) & 0xFFFFL;
                case BOOL -> (rawData != null ? rawData.get(ValueLayout.JAVA_BYTE, i) : int32Data[i]) != 0 ? 1 : 0;
                case UINT32 -> rawData != null ? rawData.getAtIndex(I32_LE, i) & 0xFFFFFFFFL : uint64Data[i];
                case UINT64 -> {
                    long v = rawData != null ? rawData.getAtIndex(I64_LE, i) : uint64Data[i];
                    if (v < 0) {
                        throw new OnnxFormatException(source, offset, describe(name) + " holds UINT64 value "
                                + Long.toUnsignedString(v) + ", which does not fit in a signed 64-bit integer");
                    }
                    yield v;
                }
                default -> throw new IllegalStateException("unreachable: type checked above");
            };
        }
        return out;
    }

    /**
     * A new contiguous fp32 {@link Tensor} in {@code arena}, 64-byte aligned, of this tensor's dims and
     * holding a copy of its values (converted as by {@link #toFloatArray()}).
     */
    public Tensor toTensor(Arena arena) throws OnnxFormatException {
        requireReadable("as float");
        Tensor t;
        if (dataType == OnnxDataType.FLOAT && rawData != null) {
            // The bulk path: large weight matrices go from the mapped file to the arena in one copy. The copy
            // faults the file's pages into this process; unloading them at once (madvise DONTNEED: they stay in
            // the page cache, a later read maps them again) keeps a model from being resident twice, as file
            // pages and as its copy, until the whole file is closed.
            t = Tensor.allocate(arena, dims);
            MemorySegment.copy(rawData, F32_LE, 0, t.segment(), F32_NATIVE, 0, elementCount);
            if (rawData.isMapped()) {
                rawData.unload();
            }
        } else {
            t = Tensor.of(arena, toFloatArray(), dims);
        }
        long bad = t.firstNonFinite();
        if (bad >= 0) {
            throw new OnnxFormatException(source, offset, describe(name) + " holds " + t.segment().getAtIndex(
                    F32_NATIVE, bad) + " at element " + bad + "; weights must be finite");
        }
        return t;
    }

    @Override
    public String toString() {
        return describe(name) + " " + dataType + Arrays.toString(dims);
    }

    private static String describe(String name) {
        return name.isEmpty() ? "unnamed tensor" : "tensor '" + name + "'";
    }

    private void requireReadable(String use) throws OnnxFormatException {
        if (externalData) {
            throw new OnnxFormatException(source, offset, describe(name) + " keeps its data in an external file,"
                    + " which this reader does not support; cannot read it " + use);
        }
    }

    private int arrayLength() throws OnnxFormatException {
        if (elementCount > MAX_ARRAY_LENGTH) {
            throw new OnnxFormatException(source, offset, describe(name) + " has " + elementCount
                    + " elements, too many for a Java array");
        }
        return (int) elementCount;
    }

    private OnnxFormatException unsupported(String use, String supported) {
        return new OnnxFormatException(source, offset, describe(name) + " has data type " + typeName()
                + ", which cannot be read " + use + " (needs " + supported + ")");
    }

    private String typeName() {
        return dataType == OnnxDataType.UNRECOGNIZED ? "code " + dataTypeCode : dataType + " (" + dataTypeCode + ")";
    }

    private void checkDataSize() throws OnnxFormatException {
        boolean anyTyped = floatData.length + int32Data.length + int64Data.length + doubleData.length
                + uint64Data.length > 0;
        if (rawData != null) {
            if (anyTyped) {
                throw new OnnxFormatException(source, offset, describe(name) + " has both raw_data and typed data");
            }
            if (dataType.hasFixedWidth()) {
                long expected;
                try {
                    expected = Math.ceilDiv(Math.multiplyExact(elementCount, (long) dataType.bits()), 8L);
                } catch (ArithmeticException e) {
                    expected = -1;
                }
                if (expected != rawData.byteSize()) {
                    throw new OnnxFormatException(source, offset, describe(name) + " has " + rawData.byteSize()
                            + " bytes of raw_data, but dims " + Arrays.toString(dims) + " of " + typeName() + " need "
                            + (expected < 0 ? "more than 2^63" : String.valueOf(expected)));
                }
            }
            return;
        }
        TypedField field = TypedField.of(dataType);
        if (field == null) {
            return;
        }
        long stored = field.length(this);
        if (field.otherLengths(this) != 0) {
            throw new OnnxFormatException(source, offset, describe(name) + " of " + typeName()
                    + " has values in a typed field other than " + field.protoName);
        }
        long valuesPerElement = dataType == OnnxDataType.COMPLEX64 || dataType == OnnxDataType.COMPLEX128 ? 2 : 1;
        if (elementCount > Long.MAX_VALUE / 2 || stored != elementCount * valuesPerElement) {
            throw new OnnxFormatException(source, offset, describe(name) + " has " + stored + " values in "
                    + field.protoName + ", but dims " + Arrays.toString(dims) + " of " + typeName() + " need "
                    + (elementCount > Long.MAX_VALUE / 2 ? "more than 2^62" : elementCount * valuesPerElement));
        }
    }

    /** Which repeated field of TensorProto holds the values of each type when raw_data is not used. */
    private enum TypedField {
        FLOAT_DATA("float_data"),
        INT32_DATA("int32_data"),
        INT64_DATA("int64_data"),
        DOUBLE_DATA("double_data"),
        UINT64_DATA("uint64_data");

        final String protoName;

        TypedField(String protoName) {
            this.protoName = protoName;
        }

        /** The field for {@code type}, or null where this reader does not check typed storage. */
        static TypedField of(OnnxDataType type) {
            return switch (type) {
                case FLOAT, COMPLEX64 -> FLOAT_DATA;
                case INT32, INT16, INT8, UINT16, UINT8, BOOL, FLOAT16, BFLOAT16, FLOAT8E4M3FN, FLOAT8E4M3FNUZ,
                        FLOAT8E5M2, FLOAT8E5M2FNUZ -> INT32_DATA;
                case INT64 -> INT64_DATA;
                case DOUBLE, COMPLEX128 -> DOUBLE_DATA;
                case UINT32, UINT64 -> UINT64_DATA;
                default -> null;
            };
        }

        long length(OnnxTensor t) {
            return switch (this) {
                case FLOAT_DATA -> t.floatData.length;
                case INT32_DATA -> t.int32Data.length;
                case INT64_DATA -> t.int64Data.length;
                case DOUBLE_DATA -> t.doubleData.length;
                case UINT64_DATA -> t.uint64Data.length;
            };
        }

        long otherLengths(OnnxTensor t) {
            long all = (long) t.floatData.length + t.int32Data.length + t.int64Data.length + t.doubleData.length
                    + t.uint64Data.length;
            return all - length(t);
        }
    }
}
