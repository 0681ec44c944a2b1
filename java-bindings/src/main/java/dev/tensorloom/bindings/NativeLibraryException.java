package dev.tensorloom.bindings;

/**
 * A native library could not be found or loaded. The message says where the loader looked and which
 * system property changes that; {@link NativeLibraryLoader#probe()} turns this into an empty result.
 */
public final class NativeLibraryException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public NativeLibraryException(String message) {
        super(message);
    }

    public NativeLibraryException(String message, Throwable cause) {
        super(message, cause);
    }
}
