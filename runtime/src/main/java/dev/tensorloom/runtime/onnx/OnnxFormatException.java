package dev.tensorloom.runtime.onnx;

import java.io.IOException;

/**
 * An ONNX file that cannot be read or mapped: malformed protobuf, inconsistent tensor data, a feature this
 * reader does not support, or a graph that lacks the structure a loader expects. The message always names
 * the file, and the byte offset where the problem was found when there is one, so a report from a user's
 * model can be reproduced without their file.
 */
public final class OnnxFormatException extends IOException {

    private static final long serialVersionUID = 1L;

    /** Marks an exception that is not tied to one position in the file. */
    public static final long NO_OFFSET = -1;

    private final String source;
    private final long offset;

    /** A problem at byte {@code offset} of {@code source}. */
    public OnnxFormatException(String source, long offset, String message) {
        super(source + " at byte offset " + offset + ": " + message);
        this.source = source;
        this.offset = offset;
    }

    /** A problem with the graph or a tensor of {@code source} as a whole. */
    public OnnxFormatException(String source, String message) {
        super(source + ": " + message);
        this.source = source;
        this.offset = NO_OFFSET;
    }

    /** The file name, or the name given to an in-memory model. */
    public String source() {
        return source;
    }

    /** Byte offset in the file, or {@link #NO_OFFSET}. */
    public long offset() {
        return offset;
    }
}
