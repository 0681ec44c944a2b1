package dev.tensorloom.mpo;

import java.io.IOException;

/**
 * A malformed, truncated or corrupted MPO file ({@link MpoFile}): the one exception its reader raises for bad
 * input. The message names the file (or the source name given for bytes) and the byte offset of the problem.
 */
public final class MpoFormatException extends IOException {

    private static final long serialVersionUID = 1L;

    private final String source;
    private final long offset;

    public MpoFormatException(String source, long offset, String message) {
        super(source + " at byte offset " + offset + ": " + message);
        this.source = source;
        this.offset = offset;
    }

    public String source() {
        return source;
    }

    /** Where in the file the problem was found. */
    public long offset() {
        return offset;
    }
}
