package dev.tensorloom.runtime.onnx;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * An ONNX model's main graph: its nodes, initializers, inputs and outputs, indexed so that a loader can
 * walk the data flow in both directions ({@link #producer}, {@link #consumers}).
 *
 * <p>A model read from a file maps the file and owns the mapping: initializer data is read in place, and
 * {@link #close()} unmaps it. A model read from memory the caller passes in owns nothing, and its tensors
 * stay readable as long as that memory does.
 */
public final class OnnxModel implements AutoCloseable {

    private final String source;
    private final Arena arena;
    private final long irVersion;
    private final String producerName;
    private final String producerVersion;
    private final Map<String, Long> opsetImports;
    private final String graphName;
    private final List<OnnxNode> nodes;
    private final Map<String, OnnxTensor> initializers;
    private final List<OnnxValueInfo> inputs;
    private final List<OnnxValueInfo> outputs;
    private final List<OnnxValueInfo> valueInfo;
    private final Map<String, OnnxNode> producers = new HashMap<>();
    private final Map<String, List<OnnxNode>> consumers = new HashMap<>();

    private OnnxModel(String source, Arena arena, OnnxDecoder.ModelParts parts) throws OnnxFormatException {
        this.source = source;
        this.arena = arena;
        this.irVersion = parts.irVersion();
        this.producerName = parts.producerName();
        this.producerVersion = parts.producerVersion();
        this.opsetImports = Collections.unmodifiableMap(new LinkedHashMap<>(parts.opsetImports()));
        OnnxDecoder.GraphParts graph = parts.graph();
        this.graphName = graph.name();
        this.nodes = List.copyOf(graph.nodes());
        this.initializers = Collections.unmodifiableMap(new LinkedHashMap<>(graph.initializers()));
        this.inputs = List.copyOf(graph.inputs());
        this.outputs = List.copyOf(graph.outputs());
        this.valueInfo = List.copyOf(graph.valueInfo());
        for (OnnxNode node : nodes) {
            for (String in : node.inputs()) {
                if (in.isEmpty()) {
                    continue;
                }
                List<OnnxNode> list = consumers.computeIfAbsent(in, k -> new ArrayList<>());
                // A node that reads a value twice (Mul(x, x)) is one consumer.
                if (list.isEmpty() || list.getLast() != node) {
                    list.add(node);
                }
            }
            for (String out : node.outputs()) {
                if (out.isEmpty()) {
                    continue;
                }
                OnnxNode previous = producers.putIfAbsent(out, node);
                if (previous != null) {
                    throw new OnnxFormatException(source, node.offset(), "value '" + out + "' is produced by both "
                            + previous + " and " + node);
                }
            }
        }
    }

    /** Maps {@code file} and reads the model; the mapping lives until {@link #close()}. */
    public static OnnxModel read(Path file) throws IOException {
        String source = file.toString();
        Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            MemorySegment data = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
            return new OnnxModel(source, arena, OnnxDecoder.decodeModel(data, source));
        } catch (IOException | RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /**
     * Reads a model from memory the caller owns; {@code sourceName} stands for the file in error messages.
     * The model's tensors read {@code data} in place.
     */
    public static OnnxModel read(MemorySegment data, String sourceName) throws OnnxFormatException {
        return new OnnxModel(sourceName, null, OnnxDecoder.decodeModel(data, sourceName));
    }

    /** Reads a model from a byte array, which the model's tensors read in place. */
    public static OnnxModel read(byte[] data, String sourceName) throws OnnxFormatException {
        return read(MemorySegment.ofArray(data), sourceName);
    }

    /** The file the model was read from, or the name given to an in-memory model. */
    public String source() {
        return source;
    }

    public long irVersion() {
        return irVersion;
    }

    public String producerName() {
        return producerName;
    }

    public String producerVersion() {
        return producerVersion;
    }

    /** Operator set versions by domain; the default ONNX domain is the empty string. */
    public Map<String, Long> opsetImports() {
        return opsetImports;
    }

    /** The version of the default ONNX operator set the model was written against, if it says. */
    public OptionalLong defaultOpsetVersion() {
        Long v = opsetImports.get("");
        return v == null ? OptionalLong.empty() : OptionalLong.of(v);
    }

    public String graphName() {
        return graphName;
    }

    /** The nodes in file order, which ONNX requires to be a topological order. */
    public List<OnnxNode> nodes() {
        return nodes;
    }

    /** Initializers by name, in file order. */
    public Map<String, OnnxTensor> initializers() {
        return initializers;
    }

    public List<OnnxValueInfo> inputs() {
        return inputs;
    }

    public List<OnnxValueInfo> outputs() {
        return outputs;
    }

    /** Type annotations of intermediate values, where the file has them. */
    public List<OnnxValueInfo> valueInfo() {
        return valueInfo;
    }

    public Optional<OnnxTensor> initializer(String name) {
        return Optional.ofNullable(initializers.get(name));
    }

    /** The node whose output is {@code value}; empty for graph inputs, initializers and unknown names. */
    public Optional<OnnxNode> producer(String value) {
        return Optional.ofNullable(producers.get(value));
    }

    /** The nodes that take {@code value} as an input, in file order, once per node. */
    public List<OnnxNode> consumers(String value) {
        List<OnnxNode> list = consumers.get(value);
        return list == null ? List.of() : Collections.unmodifiableList(list);
    }

    /** The graph input named {@code name}, excluding initializers that old files also list as inputs. */
    public Optional<OnnxValueInfo> graphInput(String name) {
        if (initializers.containsKey(name)) {
            return Optional.empty();
        }
        return inputs.stream().filter(v -> v.name().equals(name)).findFirst();
    }

    public boolean isGraphOutput(String name) {
        return outputs.stream().anyMatch(v -> v.name().equals(name));
    }

    /**
     * The tensor behind {@code value} when it is a compile-time constant: an initializer, or the output of
     * a Constant node (its {@code value} tensor or one of the {@code value_float(s)}/{@code value_int(s)}
     * forms). Empty for anything computed.
     */
    public Optional<OnnxTensor> constant(String value) throws OnnxFormatException {
        OnnxTensor init = initializers.get(value);
        if (init != null) {
            return Optional.of(init);
        }
        OnnxNode node = producers.get(value);
        if (node == null || !node.opType().equals("Constant") || !node.domain().isEmpty()) {
            return Optional.empty();
        }
        for (OnnxAttribute a : node.attributes().values()) {
            switch (a.name()) {
                case "value" -> {
                    return Optional.of(a.asTensor());
                }
                case "value_float" -> {
                    return Optional.of(literal(a, OnnxDataType.FLOAT, new long[0], new float[] {a.asFloat()}, null));
                }
                case "value_floats" -> {
                    float[] v = a.asFloats();
                    return Optional.of(literal(a, OnnxDataType.FLOAT, new long[] {v.length}, v, null));
                }
                case "value_int" -> {
                    return Optional.of(literal(a, OnnxDataType.INT64, new long[0], null, new long[] {a.asLong()}));
                }
                case "value_ints" -> {
                    long[] v = a.asLongs();
                    return Optional.of(literal(a, OnnxDataType.INT64, new long[] {v.length}, null, v));
                }
                default -> {
                    // sparse_value and the string forms are constants too, but not numeric tensors.
                }
            }
        }
        return Optional.empty();
    }

    /** Unmaps the file of a model read with {@link #read(Path)}; its tensors' data is unreadable afterwards. */
    @Override
    public void close() {
        if (arena != null) {
            arena.close();
        }
    }

    private OnnxTensor literal(OnnxAttribute a, OnnxDataType type, long[] dims, float[] floats, long[] longs)
            throws OnnxFormatException {
        OnnxTensor.Fields f = new OnnxTensor.Fields();
        f.source = source;
        f.offset = a.offset();
        f.dims = dims;
        f.dataTypeCode = type.code();
        if (floats != null) {
            f.floatData = floats;
        }
        if (longs != null) {
            f.int64Data = longs;
        }
        return OnnxTensor.of(f);
    }
}
