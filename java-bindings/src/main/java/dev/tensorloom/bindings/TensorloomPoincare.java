package dev.tensorloom.bindings;

import java.lang.foreign.AddressLayout;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * kernels-cuda/include/tensorloom_poincare.h, the hyperbolic family's header, bound like
 * {@link TensorloomLibrary}: one downcall handle and one method per function, with the C names and parameter
 * order, returning the raw {@code tl_status}. Its functions live in the same library as the core's, so buffers
 * and streams of {@link TensorloomLibrary} are valid here.
 */
public final class TensorloomPoincare {
    private static final ValueLayout.OfInt STATUS = Downcalls.STATUS;
    private static final ValueLayout.OfLong INT64 = Downcalls.INT64;
    private static final ValueLayout.OfLong UINT64 = Downcalls.UINT64;
    private static final ValueLayout.OfFloat FLOAT = Downcalls.FLOAT;
    private static final AddressLayout HANDLE = Downcalls.HANDLE;
    private static final Linker.Option[] ORDINARY = Downcalls.ORDINARY;

    private final MethodHandle tl_poincare_project;
    private final MethodHandle tl_poincare_mobius_add;
    private final MethodHandle tl_poincare_scalar_mul;
    private final MethodHandle tl_poincare_matvec_finish;
    private final MethodHandle tl_poincare_expmap0;
    private final MethodHandle tl_poincare_logmap0;
    private final MethodHandle tl_poincare_expmap;
    private final MethodHandle tl_poincare_logmap;
    private final MethodHandle tl_poincare_distance;
    private final MethodHandle tl_poincare_distance0;
    private final MethodHandle tl_poincare_gram_to_distance;
    private final MethodHandle tl_poincare_gyration;
    private final MethodHandle tl_poincare_transport;
    private final MethodHandle tl_poincare_transport0;
    private final MethodHandle tl_poincare_weighted_midpoint;
    private final MethodHandle tl_poincare_project_backward;
    private final MethodHandle tl_poincare_mobius_add_backward;
    private final MethodHandle tl_poincare_scalar_mul_backward;
    private final MethodHandle tl_poincare_expmap0_backward;
    private final MethodHandle tl_poincare_logmap0_backward;
    private final MethodHandle tl_poincare_expmap_backward;
    private final MethodHandle tl_poincare_logmap_backward;
    private final MethodHandle tl_poincare_distance_backward;
    private final MethodHandle tl_poincare_distance0_backward;
    private final MethodHandle tl_poincare_gyration_backward;
    private final MethodHandle tl_poincare_transport_backward;
    private final MethodHandle tl_poincare_transport0_backward;
    private final MethodHandle tl_poincare_matvec_weight_gradient;
    private final MethodHandle tl_poincare_gram_distance_backward;
    private final MethodHandle tl_poincare_norm_gradient;
    private final MethodHandle tl_poincare_weighted_midpoint_backward;

    /** Binds every function of the header in {@code symbols}; {@code name} is for messages only. */
    TensorloomPoincare(SymbolLookup symbols, String name) {
        tl_poincare_project = bind(symbols, name, "tl_poincare_project", FunctionDescriptor.of(STATUS, HANDLE, FLOAT,
                INT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64, INT64));
        tl_poincare_mobius_add = bind(symbols, name, "tl_poincare_mobius_add", FunctionDescriptor.of(STATUS, HANDLE,
                FLOAT, INT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64, INT64));
        tl_poincare_scalar_mul = bind(symbols, name, "tl_poincare_scalar_mul", FunctionDescriptor.of(STATUS, HANDLE,
                FLOAT, INT64, INT64, HANDLE, UINT64, HANDLE, UINT64, INT64, HANDLE, UINT64, INT64));
        tl_poincare_matvec_finish = bind(symbols, name, "tl_poincare_matvec_finish", FunctionDescriptor.of(STATUS,
                HANDLE, FLOAT, INT64, INT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64, INT64));
        tl_poincare_expmap0 = bind(symbols, name, "tl_poincare_expmap0", FunctionDescriptor.of(STATUS, HANDLE, FLOAT,
                INT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64, INT64));
        tl_poincare_logmap0 = bind(symbols, name, "tl_poincare_logmap0", FunctionDescriptor.of(STATUS, HANDLE, FLOAT,
                INT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64, INT64));
        tl_poincare_expmap = bind(symbols, name, "tl_poincare_expmap", FunctionDescriptor.of(STATUS, HANDLE, FLOAT,
                INT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64, INT64));
        tl_poincare_logmap = bind(symbols, name, "tl_poincare_logmap", FunctionDescriptor.of(STATUS, HANDLE, FLOAT,
                INT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64, INT64));
        tl_poincare_distance = bind(symbols, name, "tl_poincare_distance", FunctionDescriptor.of(STATUS, HANDLE,
                FLOAT, INT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64));
        tl_poincare_distance0 = bind(symbols, name, "tl_poincare_distance0", FunctionDescriptor.of(STATUS, HANDLE,
                FLOAT, INT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64));
        tl_poincare_gram_to_distance = bind(symbols, name, "tl_poincare_gram_to_distance",
                FunctionDescriptor.of(STATUS, HANDLE, FLOAT, INT64, INT64, INT64, HANDLE, UINT64, INT64, HANDLE,
                UINT64, INT64, HANDLE, UINT64, INT64));
        tl_poincare_gyration = bind(symbols, name, "tl_poincare_gyration", FunctionDescriptor.of(STATUS, HANDLE,
                FLOAT, INT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64, INT64, HANDLE,
                UINT64, INT64));
        tl_poincare_transport = bind(symbols, name, "tl_poincare_transport", FunctionDescriptor.of(STATUS, HANDLE,
                FLOAT, INT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64, INT64, HANDLE,
                UINT64, INT64));
        tl_poincare_transport0 = bind(symbols, name, "tl_poincare_transport0", FunctionDescriptor.of(STATUS, HANDLE,
                FLOAT, INT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64, INT64));
        tl_poincare_weighted_midpoint = bind(symbols, name, "tl_poincare_weighted_midpoint",
                FunctionDescriptor.of(STATUS, HANDLE, FLOAT, INT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64,
                HANDLE, UINT64));
        tl_poincare_project_backward = bind(symbols, name, "tl_poincare_project_backward",
                FunctionDescriptor.of(STATUS, HANDLE, FLOAT, INT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64,
                INT64, HANDLE, UINT64, INT64, HANDLE, UINT64));
        tl_poincare_mobius_add_backward = bind(symbols, name, "tl_poincare_mobius_add_backward",
                FunctionDescriptor.of(STATUS, HANDLE, FLOAT, INT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64,
                INT64, HANDLE, UINT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64));
        tl_poincare_scalar_mul_backward = bind(symbols, name, "tl_poincare_scalar_mul_backward",
                FunctionDescriptor.of(STATUS, HANDLE, FLOAT, INT64, INT64, HANDLE, UINT64, HANDLE, UINT64, INT64,
                HANDLE, UINT64, INT64, HANDLE, UINT64, HANDLE, UINT64, INT64, HANDLE, UINT64));
        tl_poincare_expmap0_backward = bind(symbols, name, "tl_poincare_expmap0_backward",
                FunctionDescriptor.of(STATUS, HANDLE, FLOAT, INT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64,
                INT64, HANDLE, UINT64, INT64, HANDLE, UINT64));
        tl_poincare_logmap0_backward = bind(symbols, name, "tl_poincare_logmap0_backward",
                FunctionDescriptor.of(STATUS, HANDLE, FLOAT, INT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64,
                INT64, HANDLE, UINT64, INT64, HANDLE, UINT64));
        tl_poincare_expmap_backward = bind(symbols, name, "tl_poincare_expmap_backward", FunctionDescriptor.of(STATUS,
                HANDLE, FLOAT, INT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64, INT64,
                HANDLE, UINT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64));
        tl_poincare_logmap_backward = bind(symbols, name, "tl_poincare_logmap_backward", FunctionDescriptor.of(STATUS,
                HANDLE, FLOAT, INT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64, INT64,
                HANDLE, UINT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64));
        tl_poincare_distance_backward = bind(symbols, name, "tl_poincare_distance_backward",
                FunctionDescriptor.of(STATUS, HANDLE, FLOAT, INT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64,
                INT64, HANDLE, UINT64, HANDLE, UINT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64));
        tl_poincare_distance0_backward = bind(symbols, name, "tl_poincare_distance0_backward",
                FunctionDescriptor.of(STATUS, HANDLE, FLOAT, INT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64,
                HANDLE, UINT64, INT64, HANDLE, UINT64));
        tl_poincare_gyration_backward = bind(symbols, name, "tl_poincare_gyration_backward",
                FunctionDescriptor.of(STATUS, HANDLE, FLOAT, INT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64,
                INT64, HANDLE, UINT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64, INT64,
                HANDLE, UINT64, INT64, HANDLE, UINT64));
        tl_poincare_transport_backward = bind(symbols, name, "tl_poincare_transport_backward",
                FunctionDescriptor.of(STATUS, HANDLE, FLOAT, INT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64,
                INT64, HANDLE, UINT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64, INT64,
                HANDLE, UINT64, INT64, HANDLE, UINT64));
        tl_poincare_transport0_backward = bind(symbols, name, "tl_poincare_transport0_backward",
                FunctionDescriptor.of(STATUS, HANDLE, FLOAT, INT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64,
                INT64, HANDLE, UINT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64));
        tl_poincare_matvec_weight_gradient = bind(symbols, name, "tl_poincare_matvec_weight_gradient",
                FunctionDescriptor.of(STATUS, HANDLE, INT64, INT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64,
                INT64, HANDLE, UINT64, INT64));
        tl_poincare_gram_distance_backward = bind(symbols, name, "tl_poincare_gram_distance_backward",
                FunctionDescriptor.of(STATUS, HANDLE, FLOAT, INT64, INT64, INT64, HANDLE, UINT64, INT64, HANDLE,
                UINT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64,
                HANDLE, UINT64, HANDLE, UINT64));
        tl_poincare_norm_gradient = bind(symbols, name, "tl_poincare_norm_gradient", FunctionDescriptor.of(STATUS,
                HANDLE, FLOAT, INT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64, HANDLE, UINT64, INT64, HANDLE,
                UINT64));
        tl_poincare_weighted_midpoint_backward = bind(symbols, name, "tl_poincare_weighted_midpoint_backward",
                FunctionDescriptor.of(STATUS, HANDLE, FLOAT, INT64, INT64, HANDLE, UINT64, INT64, HANDLE, UINT64,
                HANDLE, UINT64, HANDLE, UINT64, INT64, HANDLE, UINT64, HANDLE, UINT64));
    }

    /** The header's functions in the library {@code library} was loaded from. */
    public static TensorloomPoincare of(TensorloomLibrary library) {
        return new TensorloomPoincare(library.symbols(), library.fileName());
    }

    private static MethodHandle bind(SymbolLookup symbols, String library, String function,
                                     FunctionDescriptor descriptor) {
        return Downcalls.bind(symbols, library, "tensorloom_poincare.h", function, descriptor, ORDINARY);
    }

    public int tl_poincare_project(MemorySegment stream, float c, long rows, long dim, MemorySegment x, long xOffset,
            long ldx, MemorySegment out, long outOffset, long ldout) {
        try {
            return (int) tl_poincare_project.invokeExact(stream, c, rows, dim, x, xOffset, ldx, out, outOffset, ldout);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_poincare_mobius_add(MemorySegment stream, float c, long rows, long dim, MemorySegment x,
            long xOffset, long ldx, MemorySegment y, long yOffset, long ldy, MemorySegment out, long outOffset,
            long ldout) {
        try {
            return (int) tl_poincare_mobius_add.invokeExact(stream, c, rows, dim, x, xOffset, ldx, y, yOffset, ldy,
                    out, outOffset, ldout);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_poincare_scalar_mul(MemorySegment stream, float c, long rows, long dim, MemorySegment r,
            long rOffset, MemorySegment x, long xOffset, long ldx, MemorySegment out, long outOffset, long ldout) {
        try {
            return (int) tl_poincare_scalar_mul.invokeExact(stream, c, rows, dim, r, rOffset, x, xOffset, ldx, out,
                    outOffset, ldout);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_poincare_matvec_finish(MemorySegment stream, float c, long rows, long dim, long outDim,
            MemorySegment x, long xOffset, long ldx, MemorySegment mx, long mxOffset, long ldmx) {
        try {
            return (int) tl_poincare_matvec_finish.invokeExact(stream, c, rows, dim, outDim, x, xOffset, ldx, mx,
                    mxOffset, ldmx);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_poincare_expmap0(MemorySegment stream, float c, long rows, long dim, MemorySegment v, long vOffset,
            long ldv, MemorySegment out, long outOffset, long ldout) {
        try {
            return (int) tl_poincare_expmap0.invokeExact(stream, c, rows, dim, v, vOffset, ldv, out, outOffset, ldout);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_poincare_logmap0(MemorySegment stream, float c, long rows, long dim, MemorySegment y, long yOffset,
            long ldy, MemorySegment out, long outOffset, long ldout) {
        try {
            return (int) tl_poincare_logmap0.invokeExact(stream, c, rows, dim, y, yOffset, ldy, out, outOffset, ldout);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_poincare_expmap(MemorySegment stream, float c, long rows, long dim, MemorySegment x, long xOffset,
            long ldx, MemorySegment v, long vOffset, long ldv, MemorySegment out, long outOffset, long ldout) {
        try {
            return (int) tl_poincare_expmap.invokeExact(stream, c, rows, dim, x, xOffset, ldx, v, vOffset, ldv, out,
                    outOffset, ldout);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_poincare_logmap(MemorySegment stream, float c, long rows, long dim, MemorySegment x, long xOffset,
            long ldx, MemorySegment y, long yOffset, long ldy, MemorySegment out, long outOffset, long ldout) {
        try {
            return (int) tl_poincare_logmap.invokeExact(stream, c, rows, dim, x, xOffset, ldx, y, yOffset, ldy, out,
                    outOffset, ldout);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_poincare_distance(MemorySegment stream, float c, long rows, long dim, MemorySegment x, long xOffset,
            long ldx, MemorySegment y, long yOffset, long ldy, MemorySegment out, long outOffset) {
        try {
            return (int) tl_poincare_distance.invokeExact(stream, c, rows, dim, x, xOffset, ldx, y, yOffset, ldy, out,
                    outOffset);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_poincare_distance0(MemorySegment stream, float c, long rows, long dim, MemorySegment x,
            long xOffset, long ldx, MemorySegment out, long outOffset) {
        try {
            return (int) tl_poincare_distance0.invokeExact(stream, c, rows, dim, x, xOffset, ldx, out, outOffset);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_poincare_gram_to_distance(MemorySegment stream, float c, long xRows, long yRows, long dim,
            MemorySegment x, long xOffset, long ldx, MemorySegment y, long yOffset, long ldy, MemorySegment g,
            long gOffset, long ldg) {
        try {
            return (int) tl_poincare_gram_to_distance.invokeExact(stream, c, xRows, yRows, dim, x, xOffset, ldx, y,
                    yOffset, ldy, g, gOffset, ldg);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_poincare_gyration(MemorySegment stream, float c, long rows, long dim, MemorySegment u, long uOffset,
            long ldu, MemorySegment v, long vOffset, long ldv, MemorySegment w, long wOffset, long ldw,
            MemorySegment out, long outOffset, long ldout) {
        try {
            return (int) tl_poincare_gyration.invokeExact(stream, c, rows, dim, u, uOffset, ldu, v, vOffset, ldv, w,
                    wOffset, ldw, out, outOffset, ldout);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_poincare_transport(MemorySegment stream, float c, long rows, long dim, MemorySegment x,
            long xOffset, long ldx, MemorySegment y, long yOffset, long ldy, MemorySegment v, long vOffset, long ldv,
            MemorySegment out, long outOffset, long ldout) {
        try {
            return (int) tl_poincare_transport.invokeExact(stream, c, rows, dim, x, xOffset, ldx, y, yOffset, ldy, v,
                    vOffset, ldv, out, outOffset, ldout);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_poincare_transport0(MemorySegment stream, float c, long rows, long dim, MemorySegment y,
            long yOffset, long ldy, MemorySegment v, long vOffset, long ldv, MemorySegment out, long outOffset,
            long ldout) {
        try {
            return (int) tl_poincare_transport0.invokeExact(stream, c, rows, dim, y, yOffset, ldy, v, vOffset, ldv,
                    out, outOffset, ldout);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_poincare_weighted_midpoint(MemorySegment stream, float c, long rows, long dim, MemorySegment points,
            long pointsOffset, long ldp, MemorySegment weights, long weightsOffset, MemorySegment out, long outOffset) {
        try {
            return (int) tl_poincare_weighted_midpoint.invokeExact(stream, c, rows, dim, points, pointsOffset, ldp,
                    weights, weightsOffset, out, outOffset);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_poincare_project_backward(MemorySegment stream, float c, long rows, long dim, MemorySegment x,
            long xOffset, long ldx, MemorySegment gradOut, long gradOutOffset, long ldgo, MemorySegment gradX,
            long gradXOffset, long ldgx, MemorySegment gradC, long gradCOffset) {
        try {
            return (int) tl_poincare_project_backward.invokeExact(stream, c, rows, dim, x, xOffset, ldx, gradOut,
                    gradOutOffset, ldgo, gradX, gradXOffset, ldgx, gradC, gradCOffset);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_poincare_mobius_add_backward(MemorySegment stream, float c, long rows, long dim, MemorySegment x,
            long xOffset, long ldx, MemorySegment y, long yOffset, long ldy, MemorySegment gradOut,
            long gradOutOffset, long ldgo, MemorySegment gradX, long gradXOffset, long ldgx, MemorySegment gradY,
            long gradYOffset, long ldgy, MemorySegment gradC, long gradCOffset) {
        try {
            return (int) tl_poincare_mobius_add_backward.invokeExact(stream, c, rows, dim, x, xOffset, ldx, y,
                    yOffset, ldy, gradOut, gradOutOffset, ldgo, gradX, gradXOffset, ldgx, gradY, gradYOffset, ldgy,
                    gradC, gradCOffset);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_poincare_scalar_mul_backward(MemorySegment stream, float c, long rows, long dim, MemorySegment r,
            long rOffset, MemorySegment x, long xOffset, long ldx, MemorySegment gradOut, long gradOutOffset,
            long ldgo, MemorySegment gradR, long gradROffset, MemorySegment gradX, long gradXOffset, long ldgx,
            MemorySegment gradC, long gradCOffset) {
        try {
            return (int) tl_poincare_scalar_mul_backward.invokeExact(stream, c, rows, dim, r, rOffset, x, xOffset,
                    ldx, gradOut, gradOutOffset, ldgo, gradR, gradROffset, gradX, gradXOffset, ldgx, gradC,
                    gradCOffset);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_poincare_expmap0_backward(MemorySegment stream, float c, long rows, long dim, MemorySegment v,
            long vOffset, long ldv, MemorySegment gradOut, long gradOutOffset, long ldgo, MemorySegment gradV,
            long gradVOffset, long ldgv, MemorySegment gradC, long gradCOffset) {
        try {
            return (int) tl_poincare_expmap0_backward.invokeExact(stream, c, rows, dim, v, vOffset, ldv, gradOut,
                    gradOutOffset, ldgo, gradV, gradVOffset, ldgv, gradC, gradCOffset);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_poincare_logmap0_backward(MemorySegment stream, float c, long rows, long dim, MemorySegment y,
            long yOffset, long ldy, MemorySegment gradOut, long gradOutOffset, long ldgo, MemorySegment gradY,
            long gradYOffset, long ldgy, MemorySegment gradC, long gradCOffset) {
        try {
            return (int) tl_poincare_logmap0_backward.invokeExact(stream, c, rows, dim, y, yOffset, ldy, gradOut,
                    gradOutOffset, ldgo, gradY, gradYOffset, ldgy, gradC, gradCOffset);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_poincare_expmap_backward(MemorySegment stream, float c, long rows, long dim, MemorySegment x,
            long xOffset, long ldx, MemorySegment v, long vOffset, long ldv, MemorySegment gradOut,
            long gradOutOffset, long ldgo, MemorySegment gradX, long gradXOffset, long ldgx, MemorySegment gradV,
            long gradVOffset, long ldgv, MemorySegment gradC, long gradCOffset) {
        try {
            return (int) tl_poincare_expmap_backward.invokeExact(stream, c, rows, dim, x, xOffset, ldx, v, vOffset,
                    ldv, gradOut, gradOutOffset, ldgo, gradX, gradXOffset, ldgx, gradV, gradVOffset, ldgv, gradC,
                    gradCOffset);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_poincare_logmap_backward(MemorySegment stream, float c, long rows, long dim, MemorySegment x,
            long xOffset, long ldx, MemorySegment y, long yOffset, long ldy, MemorySegment gradOut,
            long gradOutOffset, long ldgo, MemorySegment gradX, long gradXOffset, long ldgx, MemorySegment gradY,
            long gradYOffset, long ldgy, MemorySegment gradC, long gradCOffset) {
        try {
            return (int) tl_poincare_logmap_backward.invokeExact(stream, c, rows, dim, x, xOffset, ldx, y, yOffset,
                    ldy, gradOut, gradOutOffset, ldgo, gradX, gradXOffset, ldgx, gradY, gradYOffset, ldgy, gradC,
                    gradCOffset);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_poincare_distance_backward(MemorySegment stream, float c, long rows, long dim, MemorySegment x,
            long xOffset, long ldx, MemorySegment y, long yOffset, long ldy, MemorySegment gradOut,
            long gradOutOffset, MemorySegment gradX, long gradXOffset, long ldgx, MemorySegment gradY,
            long gradYOffset, long ldgy, MemorySegment gradC, long gradCOffset) {
        try {
            return (int) tl_poincare_distance_backward.invokeExact(stream, c, rows, dim, x, xOffset, ldx, y, yOffset,
                    ldy, gradOut, gradOutOffset, gradX, gradXOffset, ldgx, gradY, gradYOffset, ldgy, gradC,
                    gradCOffset);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_poincare_distance0_backward(MemorySegment stream, float c, long rows, long dim, MemorySegment x,
            long xOffset, long ldx, MemorySegment gradOut, long gradOutOffset, MemorySegment gradX, long gradXOffset,
            long ldgx, MemorySegment gradC, long gradCOffset) {
        try {
            return (int) tl_poincare_distance0_backward.invokeExact(stream, c, rows, dim, x, xOffset, ldx, gradOut,
                    gradOutOffset, gradX, gradXOffset, ldgx, gradC, gradCOffset);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_poincare_gyration_backward(MemorySegment stream, float c, long rows, long dim, MemorySegment u,
            long uOffset, long ldu, MemorySegment v, long vOffset, long ldv, MemorySegment w, long wOffset, long ldw,
            MemorySegment gradOut, long gradOutOffset, long ldgo, MemorySegment gradU, long gradUOffset, long ldgu,
            MemorySegment gradV, long gradVOffset, long ldgv, MemorySegment gradW, long gradWOffset, long ldgw,
            MemorySegment gradC, long gradCOffset) {
        try {
            return (int) tl_poincare_gyration_backward.invokeExact(stream, c, rows, dim, u, uOffset, ldu, v, vOffset,
                    ldv, w, wOffset, ldw, gradOut, gradOutOffset, ldgo, gradU, gradUOffset, ldgu, gradV, gradVOffset,
                    ldgv, gradW, gradWOffset, ldgw, gradC, gradCOffset);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_poincare_transport_backward(MemorySegment stream, float c, long rows, long dim, MemorySegment x,
            long xOffset, long ldx, MemorySegment y, long yOffset, long ldy, MemorySegment v, long vOffset, long ldv,
            MemorySegment gradOut, long gradOutOffset, long ldgo, MemorySegment gradX, long gradXOffset, long ldgx,
            MemorySegment gradY, long gradYOffset, long ldgy, MemorySegment gradV, long gradVOffset, long ldgv,
            MemorySegment gradC, long gradCOffset) {
        try {
            return (int) tl_poincare_transport_backward.invokeExact(stream, c, rows, dim, x, xOffset, ldx, y, yOffset,
                    ldy, v, vOffset, ldv, gradOut, gradOutOffset, ldgo, gradX, gradXOffset, ldgx, gradY, gradYOffset,
                    ldgy, gradV, gradVOffset, ldgv, gradC, gradCOffset);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_poincare_transport0_backward(MemorySegment stream, float c, long rows, long dim, MemorySegment y,
            long yOffset, long ldy, MemorySegment v, long vOffset, long ldv, MemorySegment gradOut,
            long gradOutOffset, long ldgo, MemorySegment gradY, long gradYOffset, long ldgy, MemorySegment gradV,
            long gradVOffset, long ldgv, MemorySegment gradC, long gradCOffset) {
        try {
            return (int) tl_poincare_transport0_backward.invokeExact(stream, c, rows, dim, y, yOffset, ldy, v,
                    vOffset, ldv, gradOut, gradOutOffset, ldgo, gradY, gradYOffset, ldgy, gradV, gradVOffset, ldgv,
                    gradC, gradCOffset);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_poincare_matvec_weight_gradient(MemorySegment stream, long rows, long outDim, long dim,
            MemorySegment gradZ, long gradZOffset, long ldgz, MemorySegment log, long logOffset, long ldlog,
            MemorySegment gradM, long gradMOffset, long ldgm) {
        try {
            return (int) tl_poincare_matvec_weight_gradient.invokeExact(stream, rows, outDim, dim, gradZ, gradZOffset,
                    ldgz, log, logOffset, ldlog, gradM, gradMOffset, ldgm);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_poincare_gram_distance_backward(MemorySegment stream, float c, long xRows, long yRows, long dim,
            MemorySegment x, long xOffset, long ldx, MemorySegment y, long yOffset, long ldy, MemorySegment gradOut,
            long gradOutOffset, long ldgo, MemorySegment g, long gOffset, long ldg, MemorySegment gT, long gTOffset,
            long ldgt, MemorySegment xNormGrad, long xNormGradOffset, MemorySegment yNormGrad, long yNormGradOffset,
            MemorySegment gradC, long gradCOffset) {
        try {
            return (int) tl_poincare_gram_distance_backward.invokeExact(stream, c, xRows, yRows, dim, x, xOffset, ldx,
                    y, yOffset, ldy, gradOut, gradOutOffset, ldgo, g, gOffset, ldg, gT, gTOffset, ldgt, xNormGrad,
                    xNormGradOffset, yNormGrad, yNormGradOffset, gradC, gradCOffset);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_poincare_norm_gradient(MemorySegment stream, float c, long rows, long dim, MemorySegment x,
            long xOffset, long ldx, MemorySegment coefficient, long coefficientOffset, MemorySegment grad,
            long gradOffset, long ldg, MemorySegment gradC, long gradCOffset) {
        try {
            return (int) tl_poincare_norm_gradient.invokeExact(stream, c, rows, dim, x, xOffset, ldx, coefficient,
                    coefficientOffset, grad, gradOffset, ldg, gradC, gradCOffset);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }

    public int tl_poincare_weighted_midpoint_backward(MemorySegment stream, float c, long rows, long dim,
            MemorySegment points, long pointsOffset, long ldp, MemorySegment weights, long weightsOffset,
            MemorySegment gradOut, long gradOutOffset, MemorySegment gradPoints, long gradPointsOffset, long ldgp,
            MemorySegment gradWeights, long gradWeightsOffset, MemorySegment gradC, long gradCOffset) {
        try {
            return (int) tl_poincare_weighted_midpoint_backward.invokeExact(stream, c, rows, dim, points,
                    pointsOffset, ldp, weights, weightsOffset, gradOut, gradOutOffset, gradPoints, gradPointsOffset,
                    ldgp, gradWeights, gradWeightsOffset, gradC, gradCOffset);
        } catch (Throwable t) {
            throw Downcalls.unchecked(t);
        }
    }
}
