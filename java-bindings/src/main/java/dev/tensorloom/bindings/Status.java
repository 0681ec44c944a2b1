package dev.tensorloom.bindings;

/** The C enum {@code tl_status} of tensorloom.h, code for code ({@code HeaderBindingsTest} keeps them equal). */
public enum Status {
    OK(0),
    INVALID_ARGUMENT(1),
    INVALID_HANDLE(2),
    OUT_OF_MEMORY(3),
    LAUNCH_FAILED(4),
    NO_DEVICE(5),
    CUDA(6);

    private final int code;

    Status(int code) {
        this.code = code;
    }

    /** The value a native function returns. */
    public int code() {
        return code;
    }

    /** The name the header gives it, e.g. {@code TL_ERROR_OUT_OF_MEMORY}, as {@code tl_status_name} returns it. */
    public String cName() {
        return this == OK ? "TL_OK" : "TL_ERROR_" + name();
    }

    /** The status with this code, or null when the library returned a code the header does not know. */
    public static Status ofCode(int code) {
        for (Status status : values()) {
            if (status.code == code) {
                return status;
            }
        }
        return null;
    }
}
