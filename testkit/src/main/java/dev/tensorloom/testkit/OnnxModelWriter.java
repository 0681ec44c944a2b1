package dev.tensorloom.testkit;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Random;

/**
 * Builds ONNX model files in tests: nodes, initializers, Constant nodes, inputs and outputs, written with
 * {@link ProtoWriter} following onnx.proto. Nodes and initializers stay editable until {@link #toBytes()},
 * so a test can build a valid graph and then break one thing about it.
 */
public final class OnnxModelWriter {

    /** ONNX data type codes used here. */
    public static final int FLOAT = 1;
    public static final int INT64 = 7;

    private final long irVersion;
    private final long opset;
    private final List<Node> nodes = new ArrayList<>();
    private final Map<String, Initializer> initializers = new LinkedHashMap<>();
    private final List<ValueInfo> inputs = new ArrayList<>();
    private final List<ValueInfo> outputs = new ArrayList<>();

    public OnnxModelWriter(long irVersion, long opset) {
        this.irVersion = irVersion;
        this.opset = opset;
    }

    public long opset() {
        return opset;
    }

    /** One node; every field may be changed before the model is written. */
    public static final class Node {
        public String opType;
        public String name;
        public String domain = "";
        public List<String> inputs;
        public List<String> outputs;
        public List<Attribute> attributes;

        Node(String opType, String name, List<String> inputs, List<String> outputs, List<Attribute> attributes) {
            this.opType = opType;
            this.name = name;
            this.inputs = new ArrayList<>(inputs);
            this.outputs = new ArrayList<>(outputs);
            this.attributes = new ArrayList<>(attributes);
        }

        /** The first output. */
        public String output() {
            return outputs.getFirst();
        }

        /** Replaces the attribute named like {@code a}, or adds it. */
        public Node set(Attribute a) {
            attributes.removeIf(x -> x.name.equals(a.name));
            attributes.add(a);
            return this;
        }
    }

    /** A node attribute, already encoded. */
    public static final class Attribute {
        final String name;
        final ProtoWriter encoded;

        private Attribute(String name, ProtoWriter encoded) {
            this.name = name;
            this.encoded = encoded;
        }

        public static Attribute ints(String name, long... values) {
            ProtoWriter w = new ProtoWriter().string(1, name);
            for (long v : values) {
                w.varint(8, v);
            }
            return new Attribute(name, w.varint(20, 7));
        }

        public static Attribute integer(String name, long value) {
            return new Attribute(name, new ProtoWriter().string(1, name).varint(3, value).varint(20, 2));
        }

        public static Attribute real(String name, float value) {
            return new Attribute(name, new ProtoWriter().string(1, name).float32(2, value).varint(20, 1));
        }

        public static Attribute string(String name, String value) {
            return new Attribute(name, new ProtoWriter().string(1, name).string(4, value).varint(20, 3));
        }

        public static Attribute tensor(String name, Initializer value) {
            return new Attribute(name, new ProtoWriter().string(1, name).message(5, value.encode()).varint(20, 4));
        }
    }

    /** A tensor: an initializer, or the value of a Constant node. */
    public static final class Initializer {
        public String name;
        public int dataType;
        public long[] dims;
        public byte[] raw;
        /** Write the values as float_data/int64_data instead of raw_data. */
        public boolean typed;
        /** Write the tensor as stored in an external file (data_location=EXTERNAL), with no data of its own. */
        public boolean external;

        Initializer(String name, int dataType, long[] dims, byte[] raw) {
            this.name = name;
            this.dataType = dataType;
            this.dims = dims.clone();
            this.raw = raw;
        }

        ProtoWriter encode() {
            ProtoWriter w = new ProtoWriter();
            for (long d : dims) {
                w.varint(1, d);
            }
            w.varint(2, dataType);
            if (!name.isEmpty()) {
                w.string(8, name);
            }
            if (external) {
                w.message(13, new ProtoWriter().string(1, "location").string(2, name + ".bin"));
                w.varint(14, 1);
            } else if (typed && dataType == FLOAT) {
                w.bytes(4, raw);
            } else if (typed && dataType == INT64) {
                ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
                long[] v = new long[raw.length / 8];
                for (int i = 0; i < v.length; i++) {
                    v[i] = b.getLong();
                }
                w.packedVarints(7, v);
            } else {
                w.bytes(9, raw);
            }
            return w;
        }
    }

    private record ValueInfo(String name, int elementType, Object[] dims) {
    }

    /** A node whose single output is named {@code name + "_output_0"}, as PyTorch names them. */
    public Node node(String opType, String name, List<String> inputs, Attribute... attributes) {
        Node n = new Node(opType, name, inputs, List.of(name + "_output_0"), List.of(attributes));
        nodes.add(n);
        return n;
    }

    /** A node with the outputs given. */
    public Node node(String opType, String name, List<String> inputs, List<String> outputs, Attribute... attributes) {
        Node n = new Node(opType, name, inputs, outputs, List.of(attributes));
        nodes.add(n);
        return n;
    }

    public String floatInitializer(String name, float[] values, long... dims) {
        initializers.put(name, floatTensor(name, values, dims));
        return name;
    }

    public String int64Initializer(String name, long[] values, long... dims) {
        initializers.put(name, int64Tensor(name, values, dims));
        return name;
    }

    /** A Constant node holding an INT64 tensor; returns its output. */
    public String constantInt64(String name, long[] values, long... dims) {
        return node("Constant", name, List.of(), Attribute.tensor("value", int64Tensor("", values, dims))).output();
    }

    /** A Constant node holding a FLOAT scalar; returns its output. */
    public String constantFloat(String name, float value) {
        return node("Constant", name, List.of(), Attribute.tensor("value", floatTensor("", new float[] {value})))
                .output();
    }

    public static Initializer floatTensor(String name, float[] values, long... dims) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return new Initializer(name, FLOAT, dims, b.array());
    }

    public static Initializer int64Tensor(String name, long[] values, long... dims) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            b.putLong(v);
        }
        return new Initializer(name, INT64, dims, b.array());
    }

    /** A graph input; each dim is a Long (fixed) or a String (symbolic). */
    public void input(String name, int elementType, Object... dims) {
        inputs.add(new ValueInfo(name, elementType, dims));
    }

    public void output(String name, int elementType, Object... dims) {
        outputs.add(new ValueInfo(name, elementType, dims));
    }

    public Node findNode(String name) {
        return nodes.stream().filter(n -> n.name.equals(name)).findFirst()
                .orElseThrow(() -> new NoSuchElementException("no node " + name));
    }

    public void removeNode(String name) {
        nodes.remove(findNode(name));
    }

    public List<Node> nodes() {
        return nodes;
    }

    public Initializer initializer(String name) {
        Initializer i = initializers.get(name);
        if (i == null) {
            throw new NoSuchElementException("no initializer " + name);
        }
        return i;
    }

    /** Reorders the initializers, which a loader must not depend on. */
    public void shuffleInitializers(Random random) {
        List<Map.Entry<String, Initializer>> entries = new ArrayList<>(initializers.entrySet());
        Collections.shuffle(entries, random);
        initializers.clear();
        entries.forEach(e -> initializers.put(e.getKey(), e.getValue()));
    }

    /** The model: ir_version, producer, graph, then opset_import, in the order PyTorch writes them. */
    public byte[] toBytes() {
        ProtoWriter graph = new ProtoWriter();
        for (Node n : nodes) {
            ProtoWriter w = new ProtoWriter();
            n.inputs.forEach(in -> w.string(1, in));
            n.outputs.forEach(out -> w.string(2, out));
            w.string(3, n.name).string(4, n.opType);
            n.attributes.forEach(a -> w.message(5, a.encoded));
            if (!n.domain.isEmpty()) {
                w.string(7, n.domain);
            }
            graph.message(1, w);
        }
        graph.string(2, "tensorloom_test");
        initializers.values().forEach(i -> graph.message(5, i.encode()));
        inputs.forEach(v -> graph.message(11, valueInfo(v)));
        outputs.forEach(v -> graph.message(12, valueInfo(v)));
        return new ProtoWriter()
                .varint(1, irVersion)
                .string(2, "tensorloom-test")
                .message(7, graph)
                .message(8, new ProtoWriter().varint(2, opset))
                .toByteArray();
    }

    private static ProtoWriter valueInfo(ValueInfo v) {
        ProtoWriter shape = new ProtoWriter();
        for (Object d : v.dims) {
            shape.message(1, d instanceof Number n ? new ProtoWriter().varint(1, n.longValue())
                    : new ProtoWriter().string(2, d.toString()));
        }
        ProtoWriter tensorType = new ProtoWriter().varint(1, v.elementType).message(2, shape);
        return new ProtoWriter().string(1, v.name).message(2, new ProtoWriter().message(1, tensorType));
    }

    @Override
    public String toString() {
        return "OnnxModelWriter[" + nodes.size() + " nodes, initializers " + Arrays.toString(
                initializers.keySet().toArray()) + "]";
    }
}
