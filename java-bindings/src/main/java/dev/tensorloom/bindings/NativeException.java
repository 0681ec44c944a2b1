package dev.tensorloom.bindings;

/**
 * A tensorloom native call returned a status other than {@code TL_OK}. Carries the call, the status and
 * the library's own message from {@code tl_last_error()}, which names the CUDA error when there is one
 * (e.g. {@code cudaErrorMemoryAllocation}) and the values that were wrong.
 */
public final class NativeException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String call;
    private final Status status;
    private final String nativeMessage;

    public NativeException(String call, Status status, String nativeMessage) {
        super(call + " failed with " + status.cName() + ": "
                + (nativeMessage.isEmpty() ? "(tl_last_error gave no message)" : nativeMessage));
        this.call = call;
        this.status = status;
        this.nativeMessage = nativeMessage;
    }

    /**
     * Returns when {@code status} is {@code TL_OK}; otherwise throws a NativeException for {@code call}
     * with the message of {@code tl_last_error()}. Call it on the thread that made the call, right after it:
     * the message is per thread and lasts until that thread's next call into the library. The library is a
     * parameter because each loaded library (cuda, emu) keeps its own last error.
     */
    public static void check(TensorloomLibrary library, int status, String call) {
        if (status == Status.OK.code()) {
            return;
        }
        String message = CString.read(library.tl_last_error());
        Status known = Status.ofCode(status);
        if (known == null) {
            throw new IllegalStateException(call + " returned " + status + ", which is no tl_status of"
                    + " tensorloom.h (a library built from another header?): " + message);
        }
        throw new NativeException(call, known, message);
    }

    /** The C function that failed, e.g. {@code tl_gemm}. */
    public String call() {
        return call;
    }

    public Status status() {
        return status;
    }

    /** {@code tl_last_error()} as it was right after the failing call. */
    public String nativeMessage() {
        return nativeMessage;
    }
}
