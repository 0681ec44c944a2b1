package dev.tensorloom.bindings;

/** A cuBLAS call returned a status other than CUBLAS_STATUS_SUCCESS. */
public final class CublasException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String call;
    private final int status;

    public CublasException(String call, int status) {
        super(call + " failed with " + Cublas.statusName(status) + " (" + status + ")");
        this.call = call;
        this.status = status;
    }

    public String call() {
        return call;
    }

    /** The raw cublasStatus_t. */
    public int status() {
        return status;
    }

    /** E.g. CUBLAS_STATUS_NOT_INITIALIZED. */
    public String statusName() {
        return Cublas.statusName(status);
    }
}
