package dev.tensorloom.runtime.onnx;

import java.util.List;
import java.util.Optional;

/**
 * A graph input, output or annotated intermediate value ({@code ValueInfoProto}) of tensor type.
 *
 * @param elementType UNDEFINED when the value is not a tensor or its type is not given
 * @param shape the dimensions, absent when the file does not state a shape
 */
public record OnnxValueInfo(String name, OnnxDataType elementType, Optional<List<Dimension>> shape) {

    public OnnxValueInfo {
        shape = shape.map(List::copyOf);
    }

    /**
     * One dimension: a fixed size, a symbolic name such as {@code batch_size}, or neither (unknown).
     *
     * @param value the size, or -1 when not fixed
     * @param param the symbolic name, or empty
     */
    public record Dimension(long value, String param) {

        public boolean isFixed() {
            return value >= 0;
        }

        @Override
        public String toString() {
            return isFixed() ? Long.toString(value) : param.isEmpty() ? "?" : param;
        }
    }
}
