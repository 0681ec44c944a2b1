package dev.tensorloom.quant;

import java.util.Objects;

/**
 * How one weight matrix is stored: kept in fp32, rounded to a {@link GroupFormat} by RTN or by GPTQ, or written in
 * one of ggml's block types.
 *
 * @param method how the codes are found
 * @param format the group format (RTN and GPTQ), else null
 * @param ggmlType the ggml block type (GGML), else null
 */
public record MatrixRecipe(Method method, GroupFormat format, GgmlType ggmlType) {

    /** How a matrix's stored form is found. */
    public enum Method {
        /** Kept as it is. */
        FP32,
        /** Round to nearest ({@link Rtn}). */
        RTN,
        /** GPTQ against the calibration Hessian ({@link Gptq}). */
        GPTQ,
        /** ggml's own quantizer ({@link GgmlQuantizer}). */
        GGML
    }

    public MatrixRecipe {
        Objects.requireNonNull(method, "method");
        boolean grouped = method == Method.RTN || method == Method.GPTQ;
        if (grouped != (format != null) || (method == Method.GGML) != (ggmlType != null)) {
            throw new IllegalArgumentException(method + " takes " + (grouped ? "a group format" : method == Method.GGML
                    ? "a ggml type" : "neither a format nor a ggml type") + ", got " + format + " and " + ggmlType);
        }
    }

    public static MatrixRecipe fp32() {
        return new MatrixRecipe(Method.FP32, null, null);
    }

    public static MatrixRecipe rtn(GroupFormat format) {
        return new MatrixRecipe(Method.RTN, format, null);
    }

    public static MatrixRecipe gptq(GroupFormat format) {
        return new MatrixRecipe(Method.GPTQ, format, null);
    }

    public static MatrixRecipe ggml(GgmlType type) {
        return new MatrixRecipe(Method.GGML, null, type);
    }

    /** This recipe with the method (RTN or GPTQ) kept and another group format. */
    public MatrixRecipe withFormat(GroupFormat other) {
        return new MatrixRecipe(method, other, null);
    }

    /** Bytes a k×n matrix takes in this form, scales and zero points included. */
    public long bytes(int k, int n) {
        return switch (method) {
            case FP32 -> 4L * k * n;
            case RTN, GPTQ -> format.bytes(k, n);
            case GGML -> (long) ggmlType.rowBytes(k) * n;
        };
    }

    /** Whether quantizing by this recipe needs calibration activations. */
    public boolean needsCalibration() {
        return method == Method.GPTQ;
    }

    @Override
    public String toString() {
        return switch (method) {
            case FP32 -> "fp32";
            case RTN, GPTQ -> method.name() + " " + format;
            case GGML -> ggmlType.name();
        };
    }
}
