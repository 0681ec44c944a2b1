package dev.tensorloom.runtime.onnx;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One node of the graph ({@code NodeProto}). An empty input name stands for an optional input left out, as
 * in ONNX itself.
 *
 * @param domain the operator set's domain; empty for the default ONNX domain
 * @param attributes by name, in file order
 * @param offset byte offset of the node's message in the model file
 */
public record OnnxNode(String name, String opType, String domain, List<String> inputs, List<String> outputs,
        Map<String, OnnxAttribute> attributes, long offset) {

    public OnnxNode {
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        attributes = Collections.unmodifiableMap(new LinkedHashMap<>(attributes));
    }

    public Optional<OnnxAttribute> attribute(String attributeName) {
        return Optional.ofNullable(attributes.get(attributeName));
    }

    /** Input {@code i}, or the empty string when the node has fewer inputs. */
    public String input(int i) {
        return i < inputs.size() ? inputs.get(i) : "";
    }

    /** Output {@code i}, or the empty string when the node has fewer outputs. */
    public String output(int i) {
        return i < outputs.size() ? outputs.get(i) : "";
    }

    /** Names the node as error messages do: op type, name, inputs and outputs. */
    @Override
    public String toString() {
        return opType + " '" + name + "' " + inputs + " -> " + outputs;
    }
}
