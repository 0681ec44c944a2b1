package dev.tensorloom.quant;

import java.io.IOException;

/**
 * A quantized model file ({@link QuantizedModelFile}) that cannot be read: truncated, damaged, of another version,
 * or inconsistent. The message names the file and the byte offset where reading stopped. The only exception the
 * reader lets out for bad bytes.
 */
public final class QuantizedModelFormatException extends IOException {

    public QuantizedModelFormatException(String source, long offset, String problem) {
        super(source + ": at byte " + offset + ": " + problem);
    }

    public QuantizedModelFormatException(String source, long offset, String problem, Throwable cause) {
        super(source + ": at byte " + offset + ": " + problem, cause);
    }
}
