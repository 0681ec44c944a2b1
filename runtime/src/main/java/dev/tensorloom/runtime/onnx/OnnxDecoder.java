package dev.tensorloom.runtime.onnx;

import static dev.tensorloom.runtime.onnx.ProtoReader.FIXED32;
import static dev.tensorloom.runtime.onnx.ProtoReader.LENGTH_DELIMITED;
import static dev.tensorloom.runtime.onnx.ProtoReader.VARINT;
import static dev.tensorloom.runtime.onnx.ProtoReader.fieldNumber;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Decodes the messages of onnx.proto that a model's graph is made of, field numbers as in the ONNX IR
 * specification. Fields this reader has no use for (doc strings, metadata, training info, functions,
 * subgraphs) are skipped by wire type. A field it knows but finds with the wrong wire type is an error
 * rather than an unknown field: no writer produces one, and treating it as unknown would hide corruption.
 */
final class OnnxDecoder {

    private OnnxDecoder() {
    }

    /** The parts of a ModelProto, handed to {@link OnnxModel}. */
    record ModelParts(long irVersion, String producerName, String producerVersion, Map<String, Long> opsetImports,
            GraphParts graph) {
    }

    /** The parts of a GraphProto. */
    record GraphParts(String name, List<OnnxNode> nodes, Map<String, OnnxTensor> initializers,
            List<OnnxValueInfo> inputs, List<OnnxValueInfo> outputs, List<OnnxValueInfo> valueInfo) {
    }

    static ModelParts decodeModel(MemorySegment data, String source) throws OnnxFormatException {
        ProtoReader r = new ProtoReader(data, source);
        long irVersion = 0;
        String producerName = "";
        String producerVersion = "";
        Map<String, Long> opsets = new LinkedHashMap<>();
        GraphParts graph = null;
        while (r.hasRemaining()) {
            int tag = r.readTag();
            switch (fieldNumber(tag)) {
                case 1 -> {
                    r.requireWireType(tag, VARINT, "ModelProto.ir_version");
                    irVersion = r.readVarint();
                }
                case 2 -> {
                    r.requireWireType(tag, LENGTH_DELIMITED, "ModelProto.producer_name");
                    producerName = r.readString();
                }
                case 3 -> {
                    r.requireWireType(tag, LENGTH_DELIMITED, "ModelProto.producer_version");
                    producerVersion = r.readString();
                }
                case 7 -> {
                    r.requireWireType(tag, LENGTH_DELIMITED, "ModelProto.graph");
                    long at = r.tagOffset();
                    if (graph != null) {
                        throw new OnnxFormatException(source, at, "model has a second graph field");
                    }
                    graph = decodeGraph(r.readMessage());
                }
                case 8 -> {
                    r.requireWireType(tag, LENGTH_DELIMITED, "ModelProto.opset_import");
                    decodeOpset(r.readMessage(), opsets);
                }
                default -> r.skipField(tag);
            }
        }
        if (graph == null) {
            throw new OnnxFormatException(source, r.position(), "model has no graph");
        }
        return new ModelParts(irVersion, producerName, producerVersion, opsets, graph);
    }

    private static void decodeOpset(ProtoReader r, Map<String, Long> opsets) throws OnnxFormatException {
        String domain = "";
        long version = 0;
        while (r.hasRemaining()) {
            int tag = r.readTag();
            switch (fieldNumber(tag)) {
                case 1 -> {
                    r.requireWireType(tag, LENGTH_DELIMITED, "OperatorSetIdProto.domain");
                    domain = r.readString();
                }
                case 2 -> {
                    r.requireWireType(tag, VARINT, "OperatorSetIdProto.version");
                    version = r.readVarint();
                }
                default -> r.skipField(tag);
            }
        }
        // "ai.onnx" is an alias of the default domain.
        opsets.put(domain.equals("ai.onnx") ? "" : domain, version);
    }

    private static GraphParts decodeGraph(ProtoReader r) throws OnnxFormatException {
        String name = "";
        List<OnnxNode> nodes = new ArrayList<>();
        Map<String, OnnxTensor> initializers = new LinkedHashMap<>();
        List<OnnxValueInfo> inputs = new ArrayList<>();
        List<OnnxValueInfo> outputs = new ArrayList<>();
        List<OnnxValueInfo> valueInfo = new ArrayList<>();
        while (r.hasRemaining()) {
            int tag = r.readTag();
            switch (fieldNumber(tag)) {
                case 1 -> {
                    r.requireWireType(tag, LENGTH_DELIMITED, "GraphProto.node");
                    nodes.add(decodeNode(r.readMessage()));
                }
                case 2 -> {
                    r.requireWireType(tag, LENGTH_DELIMITED, "GraphProto.name");
                    name = r.readString();
                }
                case 5 -> {
                    r.requireWireType(tag, LENGTH_DELIMITED, "GraphProto.initializer");
                    long at = r.tagOffset();
                    OnnxTensor t = decodeTensor(r.readMessage());
                    if (t.name().isEmpty()) {
                        throw new OnnxFormatException(r.source(), at, "initializer has no name");
                    }
                    if (initializers.putIfAbsent(t.name(), t) != null) {
                        throw new OnnxFormatException(r.source(), at, "second initializer named '" + t.name() + "'");
                    }
                }
                case 11 -> {
                    r.requireWireType(tag, LENGTH_DELIMITED, "GraphProto.input");
                    inputs.add(decodeValueInfo(r.readMessage()));
                }
                case 12 -> {
                    r.requireWireType(tag, LENGTH_DELIMITED, "GraphProto.output");
                    outputs.add(decodeValueInfo(r.readMessage()));
                }
                case 13 -> {
                    r.requireWireType(tag, LENGTH_DELIMITED, "GraphProto.value_info");
                    valueInfo.add(decodeValueInfo(r.readMessage()));
                }
                default -> r.skipField(tag);
            }
        }
        return new GraphParts(name, nodes, initializers, inputs, outputs, valueInfo);
    }

    private static OnnxNode decodeNode(ProtoReader r) throws OnnxFormatException {
        long offset = r.position();
        String name = "";
        String opType = "";
        String domain = "";
        List<String> inputs = new ArrayList<>();
        List<String> outputs = new ArrayList<>();
        Map<String, OnnxAttribute> attributes = new LinkedHashMap<>();
        while (r.hasRemaining()) {
            int tag = r.readTag();
            switch (fieldNumber(tag)) {
                case 1 -> {
                    r.requireWireType(tag, LENGTH_DELIMITED, "NodeProto.input");
                    inputs.add(r.readString());
                }
                case 2 -> {
                    r.requireWireType(tag, LENGTH_DELIMITED, "NodeProto.output");
                    outputs.add(r.readString());
                }
                case 3 -> {
                    r.requireWireType(tag, LENGTH_DELIMITED, "NodeProto.name");
                    name = r.readString();
                }
                case 4 -> {
                    r.requireWireType(tag, LENGTH_DELIMITED, "NodeProto.op_type");
                    opType = r.readString();
                }
                case 5 -> {
                    r.requireWireType(tag, LENGTH_DELIMITED, "NodeProto.attribute");
                    long at = r.tagOffset();
                    OnnxAttribute a = decodeAttribute(r.readMessage());
                    if (attributes.putIfAbsent(a.name(), a) != null) {
                        throw new OnnxFormatException(r.source(), at, "node '" + name + "' has a second attribute '"
                                + a.name() + "'");
                    }
                }
                case 7 -> {
                    r.requireWireType(tag, LENGTH_DELIMITED, "NodeProto.domain");
                    domain = r.readString();
                }
                default -> r.skipField(tag);
            }
        }
        if (opType.isEmpty()) {
            throw new OnnxFormatException(r.source(), offset, "node '" + name + "' has no op_type");
        }
        return new OnnxNode(name, opType, domain.equals("ai.onnx") ? "" : domain, inputs, outputs, attributes, offset);
    }

    private static OnnxAttribute decodeAttribute(ProtoReader r) throws OnnxFormatException {
        long offset = r.position();
        String name = "";
        int typeCode = 0;
        Float f = null;
        Long i = null;
        String s = null;
        OnnxTensor t = null;
        RepeatedNumbers floats = new RepeatedNumbers(RepeatedNumbers.Encoding.FIXED32);
        RepeatedNumbers ints = new RepeatedNumbers(RepeatedNumbers.Encoding.VARINT);
        while (r.hasRemaining()) {
            int tag = r.readTag();
            switch (fieldNumber(tag)) {
                case 1 -> {
                    r.requireWireType(tag, LENGTH_DELIMITED, "AttributeProto.name");
                    name = r.readString();
                }
                case 2 -> {
                    r.requireWireType(tag, FIXED32, "AttributeProto.f");
                    f = r.readFloat();
                }
                case 3 -> {
                    r.requireWireType(tag, VARINT, "AttributeProto.i");
                    i = r.readVarint();
                }
                case 4 -> {
                    r.requireWireType(tag, LENGTH_DELIMITED, "AttributeProto.s");
                    s = r.readString();
                }
                case 5 -> {
                    r.requireWireType(tag, LENGTH_DELIMITED, "AttributeProto.t");
                    t = decodeTensor(r.readMessage());
                }
                case 7 -> floats.read(r, tag, "AttributeProto.floats");
                case 8 -> ints.read(r, tag, "AttributeProto.ints");
                case 20 -> {
                    r.requireWireType(tag, VARINT, "AttributeProto.type");
                    typeCode = r.readInt32();
                }
                default -> r.skipField(tag);
            }
        }
        OnnxAttribute.Type type = OnnxAttribute.Type.of(typeCode);
        if (type == OnnxAttribute.Type.UNDEFINED) {
            // IR version 1 files leave the type out; the field that is present says it.
            type = t != null ? OnnxAttribute.Type.TENSOR
                    : ints.size() > 0 ? OnnxAttribute.Type.INTS
                    : floats.size() > 0 ? OnnxAttribute.Type.FLOATS
                    : s != null ? OnnxAttribute.Type.STRING
                    : i != null ? OnnxAttribute.Type.INT
                    : f != null ? OnnxAttribute.Type.FLOAT
                    : OnnxAttribute.Type.UNDEFINED;
        }
        if (type == OnnxAttribute.Type.TENSOR && t == null) {
            throw new OnnxFormatException(r.source(), offset, "attribute '" + name + "' is a TENSOR but holds none");
        }
        return new OnnxAttribute(r.source(), offset, name, type, f == null ? 0 : f, i == null ? 0 : i,
                s == null ? "" : s, t, floats.toFloatArray(), ints.toLongArray());
    }

    static OnnxTensor decodeTensor(ProtoReader r) throws OnnxFormatException {
        OnnxTensor.Fields f = new OnnxTensor.Fields();
        f.source = r.source();
        f.offset = r.position();
        RepeatedNumbers dims = new RepeatedNumbers(RepeatedNumbers.Encoding.VARINT);
        RepeatedNumbers floatData = new RepeatedNumbers(RepeatedNumbers.Encoding.FIXED32);
        RepeatedNumbers int32Data = new RepeatedNumbers(RepeatedNumbers.Encoding.VARINT);
        RepeatedNumbers int64Data = new RepeatedNumbers(RepeatedNumbers.Encoding.VARINT);
        RepeatedNumbers doubleData = new RepeatedNumbers(RepeatedNumbers.Encoding.FIXED64);
        RepeatedNumbers uint64Data = new RepeatedNumbers(RepeatedNumbers.Encoding.VARINT);
        long dataLocation = 0;
        boolean externalEntries = false;
        while (r.hasRemaining()) {
            int tag = r.readTag();
            switch (fieldNumber(tag)) {
                case 1 -> dims.read(r, tag, "TensorProto.dims");
                case 2 -> {
                    r.requireWireType(tag, VARINT, "TensorProto.data_type");
                    f.dataTypeCode = r.readInt32();
                }
                case 3 -> {
                    r.requireWireType(tag, LENGTH_DELIMITED, "TensorProto.segment");
                    throw new OnnxFormatException(r.source(), r.tagOffset(),
                            "tensor is split into segments (TensorProto.segment), which this reader does not support");
                }
                case 4 -> floatData.read(r, tag, "TensorProto.float_data");
                case 5 -> int32Data.read(r, tag, "TensorProto.int32_data");
                case 7 -> int64Data.read(r, tag, "TensorProto.int64_data");
                case 8 -> {
                    r.requireWireType(tag, LENGTH_DELIMITED, "TensorProto.name");
                    f.name = r.readString();
                }
                case 9 -> {
                    r.requireWireType(tag, LENGTH_DELIMITED, "TensorProto.raw_data");
                    f.rawData = r.readBytes();
                }
                case 10 -> doubleData.read(r, tag, "TensorProto.double_data");
                case 11 -> uint64Data.read(r, tag, "TensorProto.uint64_data");
                case 13 -> {
                    r.requireWireType(tag, LENGTH_DELIMITED, "TensorProto.external_data");
                    r.skipField(tag);
                    externalEntries = true;
                }
                case 14 -> {
                    r.requireWireType(tag, VARINT, "TensorProto.data_location");
                    dataLocation = r.readVarint();
                }
                default -> r.skipField(tag);
            }
        }
        f.dims = dims.toLongArray();
        f.floatData = floatData.toFloatArray();
        f.int32Data = int32Data.toIntArray();
        f.int64Data = int64Data.toLongArray();
        f.doubleData = doubleData.toDoubleArray();
        f.uint64Data = uint64Data.toLongArray();
        // data_location 1 is EXTERNAL; the entries name the file, offset and length beside the model.
        f.externalData = dataLocation == 1 || externalEntries;
        return OnnxTensor.of(f);
    }

    private static OnnxValueInfo decodeValueInfo(ProtoReader r) throws OnnxFormatException {
        String name = "";
        OnnxDataType elementType = OnnxDataType.UNDEFINED;
        Optional<List<OnnxValueInfo.Dimension>> shape = Optional.empty();
        while (r.hasRemaining()) {
            int tag = r.readTag();
            switch (fieldNumber(tag)) {
                case 1 -> {
                    r.requireWireType(tag, LENGTH_DELIMITED, "ValueInfoProto.name");
                    name = r.readString();
                }
                case 2 -> {
                    r.requireWireType(tag, LENGTH_DELIMITED, "ValueInfoProto.type");
                    ProtoReader type = r.readMessage();
                    while (type.hasRemaining()) {
                        int typeTag = type.readTag();
                        if (fieldNumber(typeTag) == 1) {
                            type.requireWireType(typeTag, LENGTH_DELIMITED, "TypeProto.tensor_type");
                            ProtoReader tensorType = type.readMessage();
                            while (tensorType.hasRemaining()) {
                                int tt = tensorType.readTag();
                                switch (fieldNumber(tt)) {
                                    case 1 -> {
                                        tensorType.requireWireType(tt, VARINT, "TypeProto.Tensor.elem_type");
                                        elementType = OnnxDataType.of(tensorType.readInt32());
                                    }
                                    case 2 -> {
                                        tensorType.requireWireType(tt, LENGTH_DELIMITED, "TypeProto.Tensor.shape");
                                        shape = Optional.of(decodeShape(tensorType.readMessage()));
                                    }
                                    default -> tensorType.skipField(tt);
                                }
                            }
                        } else {
                            type.skipField(typeTag);
                        }
                    }
                }
                default -> r.skipField(tag);
            }
        }
        return new OnnxValueInfo(name, elementType, shape);
    }

    private static List<OnnxValueInfo.Dimension> decodeShape(ProtoReader r) throws OnnxFormatException {
        List<OnnxValueInfo.Dimension> dims = new ArrayList<>();
        while (r.hasRemaining()) {
            int tag = r.readTag();
            if (fieldNumber(tag) != 1) {
                r.skipField(tag);
                continue;
            }
            r.requireWireType(tag, LENGTH_DELIMITED, "TensorShapeProto.dim");
            ProtoReader dim = r.readMessage();
            long value = -1;
            String param = "";
            while (dim.hasRemaining()) {
                int dt = dim.readTag();
                switch (fieldNumber(dt)) {
                    case 1 -> {
                        dim.requireWireType(dt, VARINT, "TensorShapeProto.Dimension.dim_value");
                        value = dim.readVarint();
                    }
                    case 2 -> {
                        dim.requireWireType(dt, LENGTH_DELIMITED, "TensorShapeProto.Dimension.dim_param");
                        param = dim.readString();
                    }
                    default -> dim.skipField(dt);
                }
            }
            dims.add(new OnnxValueInfo.Dimension(value, param));
        }
        return dims;
    }
}
