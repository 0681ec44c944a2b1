package dev.tensorloom.runtime.bert;

import dev.tensorloom.runtime.onnx.OnnxAttribute;
import dev.tensorloom.runtime.onnx.OnnxFormatException;
import dev.tensorloom.runtime.onnx.OnnxModel;
import dev.tensorloom.runtime.onnx.OnnxNode;
import dev.tensorloom.runtime.onnx.OnnxTensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Questions about an ONNX graph's data flow that the BERT matchers ask again and again, each answered
 * with either the thing asked for or an {@link OnnxFormatException} that says what was expected and what
 * the graph has instead.
 */
final class GraphNavigator {

    /** No chain of layout or elementwise ops in a BERT export is longer; a longer one means a cycle. */
    static final int MAX_CHAIN = 32;

    private final OnnxModel model;

    GraphNavigator(OnnxModel model) {
        this.model = model;
    }

    OnnxModel model() {
        return model;
    }

    OnnxFormatException fail(String message) {
        return new OnnxFormatException(model.source(), message);
    }

    Optional<OnnxNode> producer(String value) {
        return model.producer(value);
    }

    /**
     * The nodes that read {@code value}'s elements. Shape and Size only read its dimensions, which exports
     * compute reshape targets from, so they are left out.
     */
    List<OnnxNode> dataConsumers(String value) {
        List<OnnxNode> out = new ArrayList<>();
        for (OnnxNode n : model.consumers(value)) {
            if (!isOp(n, "Shape") && !isOp(n, "Size")) {
                out.add(n);
            }
        }
        return out;
    }

    /** The single node that reads {@code value}'s elements; {@code expected} says what should be there. */
    OnnxNode soleDataConsumer(String value, String expected) throws OnnxFormatException {
        List<OnnxNode> cs = dataConsumers(value);
        if (cs.size() != 1) {
            throw fail("expected " + expected + " to be the only consumer of " + describeValue(value) + ", found "
                    + describeNodes(cs));
        }
        return cs.getFirst();
    }

    /**
     * The single node that reads {@code after}'s first output, which must be an {@code opType} node;
     * {@code what} names it in the error, {@code where} names the place in the model.
     */
    OnnxNode next(OnnxNode after, String opType, String what, String where) throws OnnxFormatException {
        OnnxNode n = soleDataConsumer(after.output(0), what + " (" + where + ")");
        if (!isOp(n, opType)) {
            throw fail(where + ": expected " + what + " after " + after + ", found " + n);
        }
        return n;
    }

    static boolean isOp(OnnxNode node, String opType) {
        return node.opType().equals(opType) && node.domain().isEmpty();
    }

    Optional<OnnxTensor> constant(String value) throws OnnxFormatException {
        return value.isEmpty() ? Optional.empty() : model.constant(value);
    }

    boolean isConstant(String value) throws OnnxFormatException {
        return constant(value).isPresent();
    }

    /** The constant behind {@code value}, which {@code role} says the purpose of. */
    OnnxTensor requireConstant(String value, String role) throws OnnxFormatException {
        return constant(value).orElseThrow(() -> fail("expected " + role + " to be a constant, found "
                + describeValue(value)));
    }

    /** A single-element constant of a floating-point or integer type, read as float. */
    float scalar(String value, String role) throws OnnxFormatException {
        OnnxTensor t = requireConstant(value, role);
        if (t.elementCount() != 1) {
            throw fail("expected " + role + " to be a single number, found " + t);
        }
        return switch (t.dataType()) {
            case FLOAT, DOUBLE, FLOAT16, BFLOAT16 -> t.toFloatArray()[0];
            default -> t.toLongArray()[0];
        };
    }

    /** Whether {@code value} is a constant holding exactly one element. */
    boolean isScalarConstant(String value) throws OnnxFormatException {
        Optional<OnnxTensor> t = constant(value);
        return t.isPresent() && t.get().elementCount() == 1;
    }

    /** The input of a two-input node that is not {@code known}. */
    String otherInput(OnnxNode node, String known) throws OnnxFormatException {
        if (node.inputs().size() != 2) {
            throw fail("expected two inputs on " + node);
        }
        if (node.input(0).equals(known) && !node.input(1).equals(known)) {
            return node.input(1);
        }
        if (node.input(1).equals(known) && !node.input(0).equals(known)) {
            return node.input(0);
        }
        throw fail("expected " + node + " to take '" + known + "' as exactly one of its inputs");
    }

    /** An integer-list attribute, or {@code fallback} when the node does not have it. */
    long[] longs(OnnxNode node, String attribute, long[] fallback) throws OnnxFormatException {
        Optional<OnnxAttribute> a = node.attribute(attribute);
        return a.isPresent() ? a.get().asLongs() : fallback;
    }

    /** An integer attribute, or {@code fallback} when the node does not have it. */
    long integer(OnnxNode node, String attribute, long fallback) throws OnnxFormatException {
        Optional<OnnxAttribute> a = node.attribute(attribute);
        return a.isPresent() ? a.get().asLong() : fallback;
    }

    /** How messages name a value: with the node that produces it, or what else it is. */
    String describeValue(String value) {
        if (value.isEmpty()) {
            return "an absent optional input";
        }
        if (model.initializer(value).isPresent()) {
            return "initializer '" + value + "'";
        }
        Optional<OnnxNode> p = model.producer(value);
        if (p.isPresent()) {
            return "'" + value + "' (output of " + p.get().opType() + " '" + p.get().name() + "')";
        }
        if (model.graphInput(value).isPresent()) {
            return "graph input '" + value + "'";
        }
        return "'" + value + "' (which nothing produces)";
    }

    static String describeNodes(List<OnnxNode> nodes) {
        if (nodes.isEmpty()) {
            return "no consumer";
        }
        return nodes.stream().map(n -> n.opType() + " '" + n.name() + "'").collect(Collectors.joining(", ", "[", "]"));
    }
}
