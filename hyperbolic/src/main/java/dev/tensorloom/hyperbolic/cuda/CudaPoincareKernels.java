package dev.tensorloom.hyperbolic.cuda;

import static dev.tensorloom.bindings.NativeException.check;

import dev.tensorloom.bindings.TensorloomLibrary;
import dev.tensorloom.bindings.TensorloomPoincare;
import dev.tensorloom.hyperbolic.Curvature;
import dev.tensorloom.hyperbolic.PoincareKernels;
import dev.tensorloom.runtime.kernel.Kernels;
import dev.tensorloom.runtime.kernel.Shapes;
import dev.tensorloom.runtime.kernel.cuda.CudaBackend;
import dev.tensorloom.runtime.kernel.cuda.CudaDevice;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The Poincaré-ball kernels of the {@link CudaBackend}: kernels-cuda's tensorloom_poincare.h (through
 * {@link TensorloomPoincare}) on device tensors, queued on the device's one stream. Each row operation is one
 * launch (one warp per row, the coefficients of Ball32 on the device); M⊗x and all-pairs distance are the
 * backend's GEMMs plus one elementwise step, their backward passes two more GEMMs. A backward pass's dL/dc is
 * summed on the device into one float per launch, and those few floats are read back and added here.
 */
public final class CudaPoincareKernels implements PoincareKernels {

    private final CudaBackend backend;
    private final CudaDevice device;
    private final TensorloomLibrary core;
    private final TensorloomPoincare tl;
    private final Kernels dense;

    public CudaPoincareKernels(CudaBackend backend) {
        this.backend = backend;
        this.device = backend.device();
        this.core = device.library();
        this.tl = TensorloomPoincare.of(core);
        this.dense = backend.kernels();
    }

    // ---- plumbing -----------------------------------------------------------------------------------------

    private MemorySegment stream() {
        return device.stream().handle();
    }

    private MemorySegment h(Tensor t, String role) {
        return device.handle(t, role);
    }

    private static float c(float c) {
        Curvature.requirePositive(c);
        return c;
    }

    private static void requireVector(Tensor v, int length, String what) {
        if (v.size() != length || !v.isContiguous()) {
            throw new IllegalArgumentException(what + " " + v + " is not a contiguous vector of " + length + " values");
        }
    }

    private static void sameShapes(Tensor x, Tensor... others) {
        for (Tensor t : others) {
            Shapes.sameShape(x, t);
        }
    }

    /** Device slots for the dL/dc of a few launches, read back and summed at the end. */
    private final class CurvatureGradient {
        final Tensor slots;
        final int count;

        CurvatureGradient(Arena arena, int count) {
            this.slots = backend.allocate(arena, count);
            this.count = count;
        }

        MemorySegment handle() {
            return h(slots, "grad_c");
        }

        long slot(int i) {
            return slots.offset() + i;
        }

        float sum(Arena arena) {
            float[] values = backend.toHost(slots, arena).toArray();
            double s = 0;
            for (int i = 0; i < count; i++) {
                s += values[i];
            }
            return (float) s;
        }
    }

    // ---- forward --------------------------------------------------------------------------------------------

    @Override
    public void project(float c, Tensor x, Tensor out) {
        sameShapes(x, out);
        check(core, tl.tl_poincare_project(stream(), c(c), x.rows(), x.cols(), h(x, "x"), x.offset(), x.leadingDim(),
                h(out, "out"), out.offset(), out.leadingDim()), "tl_poincare_project");
    }

    @Override
    public void mobiusAdd(float c, Tensor x, Tensor y, Tensor out) {
        sameShapes(x, y, out);
        check(core, tl.tl_poincare_mobius_add(stream(), c(c), x.rows(), x.cols(), h(x, "x"), x.offset(),
                x.leadingDim(), h(y, "y"), y.offset(), y.leadingDim(), h(out, "out"), out.offset(), out.leadingDim()),
                "tl_poincare_mobius_add");
    }

    @Override
    public void scalarMul(float c, Tensor r, Tensor x, Tensor out) {
        sameShapes(x, out);
        requireVector(r, x.rows(), "r (one scalar per row)");
        check(core, tl.tl_poincare_scalar_mul(stream(), c(c), x.rows(), x.cols(), h(r, "r"), r.offset(), h(x, "x"),
                x.offset(), x.leadingDim(), h(out, "out"), out.offset(), out.leadingDim()), "tl_poincare_scalar_mul");
    }

    @Override
    public void matVec(float c, Tensor m, Tensor x, Tensor out) {
        c(c);
        dense.matmulTransposedB(x, m, out);
        check(core, tl.tl_poincare_matvec_finish(stream(), c, x.rows(), x.cols(), out.cols(), h(x, "x"), x.offset(),
                x.leadingDim(), h(out, "out"), out.offset(), out.leadingDim()), "tl_poincare_matvec_finish");
    }

    @Override
    public void expmap0(float c, Tensor v, Tensor out) {
        sameShapes(v, out);
        check(core, tl.tl_poincare_expmap0(stream(), c(c), v.rows(), v.cols(), h(v, "v"), v.offset(), v.leadingDim(),
                h(out, "out"), out.offset(), out.leadingDim()), "tl_poincare_expmap0");
    }

    @Override
    public void logmap0(float c, Tensor y, Tensor out) {
        sameShapes(y, out);
        check(core, tl.tl_poincare_logmap0(stream(), c(c), y.rows(), y.cols(), h(y, "y"), y.offset(), y.leadingDim(),
                h(out, "out"), out.offset(), out.leadingDim()), "tl_poincare_logmap0");
    }

    @Override
    public void expmap(float c, Tensor x, Tensor v, Tensor out) {
        sameShapes(x, v, out);
        check(core, tl.tl_poincare_expmap(stream(), c(c), x.rows(), x.cols(), h(x, "x"), x.offset(), x.leadingDim(),
                h(v, "v"), v.offset(), v.leadingDim(), h(out, "out"), out.offset(), out.leadingDim()),
                "tl_poincare_expmap");
    }

    @Override
    public void logmap(float c, Tensor x, Tensor y, Tensor out) {
        sameShapes(x, y, out);
        check(core, tl.tl_poincare_logmap(stream(), c(c), x.rows(), x.cols(), h(x, "x"), x.offset(), x.leadingDim(),
                h(y, "y"), y.offset(), y.leadingDim(), h(out, "out"), out.offset(), out.leadingDim()),
                "tl_poincare_logmap");
    }

    @Override
    public void distance(float c, Tensor x, Tensor y, Tensor out) {
        sameShapes(x, y);
        requireVector(out, x.rows(), "distance output (one per row)");
        check(core, tl.tl_poincare_distance(stream(), c(c), x.rows(), x.cols(), h(x, "x"), x.offset(),
                x.leadingDim(), h(y, "y"), y.offset(), y.leadingDim(), h(out, "out"), out.offset()),
                "tl_poincare_distance");
    }

    @Override
    public void distance0(float c, Tensor x, Tensor out) {
        Shapes.requireMatrix(x, "x");
        requireVector(out, x.rows(), "distance output (one per row)");
        check(core, tl.tl_poincare_distance0(stream(), c(c), x.rows(), x.cols(), h(x, "x"), x.offset(),
                x.leadingDim(), h(out, "out"), out.offset()), "tl_poincare_distance0");
    }

    @Override
    public void allPairsDistance(float c, Tensor x, Tensor y, Tensor out) {
        c(c);
        dense.matmulTransposedB(x, y, out);
        check(core, tl.tl_poincare_gram_to_distance(stream(), c, x.rows(), y.rows(), x.cols(), h(x, "x"), x.offset(),
                x.leadingDim(), h(y, "y"), y.offset(), y.leadingDim(), h(out, "out"), out.offset(), out.leadingDim()),
                "tl_poincare_gram_to_distance");
    }

    @Override
    public void gyration(float c, Tensor u, Tensor v, Tensor w, Tensor out) {
        sameShapes(u, v, w, out);
        check(core, tl.tl_poincare_gyration(stream(), c(c), u.rows(), u.cols(), h(u, "u"), u.offset(),
                u.leadingDim(), h(v, "v"), v.offset(), v.leadingDim(), h(w, "w"), w.offset(), w.leadingDim(),
                h(out, "out"), out.offset(), out.leadingDim()), "tl_poincare_gyration");
    }

    @Override
    public void transport(float c, Tensor x, Tensor y, Tensor v, Tensor out) {
        sameShapes(x, y, v, out);
        check(core, tl.tl_poincare_transport(stream(), c(c), x.rows(), x.cols(), h(x, "x"), x.offset(),
                x.leadingDim(), h(y, "y"), y.offset(), y.leadingDim(), h(v, "v"), v.offset(), v.leadingDim(),
                h(out, "out"), out.offset(), out.leadingDim()), "tl_poincare_transport");
    }

    @Override
    public void transport0(float c, Tensor y, Tensor v, Tensor out) {
        sameShapes(y, v, out);
        check(core, tl.tl_poincare_transport0(stream(), c(c), y.rows(), y.cols(), h(y, "y"), y.offset(),
                y.leadingDim(), h(v, "v"), v.offset(), v.leadingDim(), h(out, "out"), out.offset(),
                out.leadingDim()), "tl_poincare_transport0");
    }

    @Override
    public void weightedMidpoint(float c, Tensor points, Tensor weights, Tensor out) {
        requireMidpoint(points, weights, out);
        check(core, tl.tl_poincare_weighted_midpoint(stream(), c(c), points.rows(), points.cols(),
                h(points, "points"), points.offset(), points.leadingDim(), h(weights, "weights"), weights.offset(),
                h(out, "out"), out.offset()), "tl_poincare_weighted_midpoint");
    }

    private static void requireMidpoint(Tensor points, Tensor weights, Tensor out) {
        Shapes.requireMatrix(points, "points");
        if (points.rows() == 0) {
            throw new IllegalArgumentException("the weighted midpoint of no points is undefined");
        }
        requireVector(weights, points.rows(), "weights (one per point)");
        Shapes.requireMatrix(out, "midpoint");
        if (out.rows() != 1 || out.cols() != points.cols()) {
            throw new IllegalArgumentException("midpoint " + out + " is not [1, " + points.cols() + "]");
        }
    }

    // ---- backward -------------------------------------------------------------------------------------------

    @Override
    public float projectBackward(float c, Tensor x, Tensor gradOut, Tensor gradX) {
        sameShapes(x, gradOut, gradX);
        try (Arena arena = Arena.ofConfined()) {
            CurvatureGradient dc = new CurvatureGradient(arena, 1);
            check(core, tl.tl_poincare_project_backward(stream(), c(c), x.rows(), x.cols(), h(x, "x"), x.offset(),
                    x.leadingDim(), h(gradOut, "gradOut"), gradOut.offset(), gradOut.leadingDim(), h(gradX, "gradX"),
                    gradX.offset(), gradX.leadingDim(), dc.handle(), dc.slot(0)), "tl_poincare_project_backward");
            return dc.sum(arena);
        }
    }

    @Override
    public float mobiusAddBackward(float c, Tensor x, Tensor y, Tensor gradOut, Tensor gradX, Tensor gradY) {
        sameShapes(x, y, gradOut, gradX, gradY);
        try (Arena arena = Arena.ofConfined()) {
            CurvatureGradient dc = new CurvatureGradient(arena, 1);
            check(core, tl.tl_poincare_mobius_add_backward(stream(), c(c), x.rows(), x.cols(), h(x, "x"), x.offset(),
                    x.leadingDim(), h(y, "y"), y.offset(), y.leadingDim(), h(gradOut, "gradOut"), gradOut.offset(),
                    gradOut.leadingDim(), h(gradX, "gradX"), gradX.offset(), gradX.leadingDim(), h(gradY, "gradY"),
                    gradY.offset(), gradY.leadingDim(), dc.handle(), dc.slot(0)), "tl_poincare_mobius_add_backward");
            return dc.sum(arena);
        }
    }

    @Override
    public float scalarMulBackward(float c, Tensor r, Tensor x, Tensor gradOut, Tensor gradR, Tensor gradX) {
        sameShapes(x, gradOut, gradX);
        requireVector(r, x.rows(), "r (one scalar per row)");
        requireVector(gradR, x.rows(), "gradient of r (one per row)");
        try (Arena arena = Arena.ofConfined()) {
            CurvatureGradient dc = new CurvatureGradient(arena, 1);
            check(core, tl.tl_poincare_scalar_mul_backward(stream(), c(c), x.rows(), x.cols(), h(r, "r"), r.offset(),
                    h(x, "x"), x.offset(), x.leadingDim(), h(gradOut, "gradOut"), gradOut.offset(),
                    gradOut.leadingDim(), h(gradR, "gradR"), gradR.offset(), h(gradX, "gradX"), gradX.offset(),
                    gradX.leadingDim(), dc.handle(), dc.slot(0)), "tl_poincare_scalar_mul_backward");
            return dc.sum(arena);
        }
    }

    /** M⊗x = exp₀(log₀(x)·Mᵀ), differentiated as that composition with two more products. */
    @Override
    public float matVecBackward(float c, Tensor m, Tensor x, Tensor gradOut, Tensor gradM, Tensor gradX) {
        Shapes.sameShape(m, gradM);
        Shapes.sameShape(x, gradX);
        int rows = x.rows();
        try (Arena arena = Arena.ofConfined()) {
            Tensor log = backend.allocate(arena, rows, x.cols());
            Tensor z = backend.allocate(arena, rows, m.rows());
            Tensor gradZ = backend.allocate(arena, rows, m.rows());
            Tensor gradLog = backend.allocate(arena, rows, x.cols());
            logmap0(c, x, log);
            dense.matmulTransposedB(log, m, z);
            Shapes.sameShape(z, gradOut);
            CurvatureGradient dc = new CurvatureGradient(arena, 2);
            check(core, tl.tl_poincare_expmap0_backward(stream(), c, rows, z.cols(), h(z, "z"), z.offset(),
                    z.leadingDim(), h(gradOut, "gradOut"), gradOut.offset(), gradOut.leadingDim(), h(gradZ, "gradZ"),
                    gradZ.offset(), gradZ.leadingDim(), dc.handle(), dc.slot(0)), "tl_poincare_expmap0_backward");
            check(core, tl.tl_poincare_matvec_weight_gradient(stream(), rows, m.rows(), m.cols(), h(gradZ, "gradZ"),
                    gradZ.offset(), gradZ.leadingDim(), h(log, "log"), log.offset(), log.leadingDim(),
                    h(gradM, "gradM"), gradM.offset(), gradM.leadingDim()), "tl_poincare_matvec_weight_gradient");
            dense.matmul(gradZ, m, gradLog);
            check(core, tl.tl_poincare_logmap0_backward(stream(), c, rows, x.cols(), h(x, "x"), x.offset(),
                    x.leadingDim(), h(gradLog, "gradLog"), gradLog.offset(), gradLog.leadingDim(), h(gradX, "gradX"),
                    gradX.offset(), gradX.leadingDim(), dc.handle(), dc.slot(1)), "tl_poincare_logmap0_backward");
            return dc.sum(arena);
        }
    }

    @Override
    public float expmap0Backward(float c, Tensor v, Tensor gradOut, Tensor gradV) {
        sameShapes(v, gradOut, gradV);
        try (Arena arena = Arena.ofConfined()) {
            CurvatureGradient dc = new CurvatureGradient(arena, 1);
            check(core, tl.tl_poincare_expmap0_backward(stream(), c(c), v.rows(), v.cols(), h(v, "v"), v.offset(),
                    v.leadingDim(), h(gradOut, "gradOut"), gradOut.offset(), gradOut.leadingDim(), h(gradV, "gradV"),
                    gradV.offset(), gradV.leadingDim(), dc.handle(), dc.slot(0)), "tl_poincare_expmap0_backward");
            return dc.sum(arena);
        }
    }

    @Override
    public float logmap0Backward(float c, Tensor y, Tensor gradOut, Tensor gradY) {
        sameShapes(y, gradOut, gradY);
        try (Arena arena = Arena.ofConfined()) {
            CurvatureGradient dc = new CurvatureGradient(arena, 1);
            check(core, tl.tl_poincare_logmap0_backward(stream(), c(c), y.rows(), y.cols(), h(y, "y"), y.offset(),
                    y.leadingDim(), h(gradOut, "gradOut"), gradOut.offset(), gradOut.leadingDim(), h(gradY, "gradY"),
                    gradY.offset(), gradY.leadingDim(), dc.handle(), dc.slot(0)), "tl_poincare_logmap0_backward");
            return dc.sum(arena);
        }
    }

    @Override
    public float expmapBackward(float c, Tensor x, Tensor v, Tensor gradOut, Tensor gradX, Tensor gradV) {
        sameShapes(x, v, gradOut, gradX, gradV);
        try (Arena arena = Arena.ofConfined()) {
            CurvatureGradient dc = new CurvatureGradient(arena, 1);
            check(core, tl.tl_poincare_expmap_backward(stream(), c(c), x.rows(), x.cols(), h(x, "x"), x.offset(),
                    x.leadingDim(), h(v, "v"), v.offset(), v.leadingDim(), h(gradOut, "gradOut"), gradOut.offset(),
                    gradOut.leadingDim(), h(gradX, "gradX"), gradX.offset(), gradX.leadingDim(), h(gradV, "gradV"),
                    gradV.offset(), gradV.leadingDim(), dc.handle(), dc.slot(0)), "tl_poincare_expmap_backward");
            return dc.sum(arena);
        }
    }

    @Override
    public float logmapBackward(float c, Tensor x, Tensor y, Tensor gradOut, Tensor gradX, Tensor gradY) {
        sameShapes(x, y, gradOut, gradX, gradY);
        try (Arena arena = Arena.ofConfined()) {
            CurvatureGradient dc = new CurvatureGradient(arena, 1);
            check(core, tl.tl_poincare_logmap_backward(stream(), c(c), x.rows(), x.cols(), h(x, "x"), x.offset(),
                    x.leadingDim(), h(y, "y"), y.offset(), y.leadingDim(), h(gradOut, "gradOut"), gradOut.offset(),
                    gradOut.leadingDim(), h(gradX, "gradX"), gradX.offset(), gradX.leadingDim(), h(gradY, "gradY"),
                    gradY.offset(), gradY.leadingDim(), dc.handle(), dc.slot(0)), "tl_poincare_logmap_backward");
            return dc.sum(arena);
        }
    }

    @Override
    public float distanceBackward(float c, Tensor x, Tensor y, Tensor gradOut, Tensor gradX, Tensor gradY) {
        sameShapes(x, y, gradX, gradY);
        requireVector(gradOut, x.rows(), "distance gradient (one per row)");
        try (Arena arena = Arena.ofConfined()) {
            CurvatureGradient dc = new CurvatureGradient(arena, 1);
            check(core, tl.tl_poincare_distance_backward(stream(), c(c), x.rows(), x.cols(), h(x, "x"), x.offset(),
                    x.leadingDim(), h(y, "y"), y.offset(), y.leadingDim(), h(gradOut, "gradOut"), gradOut.offset(),
                    h(gradX, "gradX"), gradX.offset(), gradX.leadingDim(), h(gradY, "gradY"), gradY.offset(),
                    gradY.leadingDim(), dc.handle(), dc.slot(0)), "tl_poincare_distance_backward");
            return dc.sum(arena);
        }
    }

    @Override
    public float distance0Backward(float c, Tensor x, Tensor gradOut, Tensor gradX) {
        sameShapes(x, gradX);
        requireVector(gradOut, x.rows(), "distance gradient (one per row)");
        try (Arena arena = Arena.ofConfined()) {
            CurvatureGradient dc = new CurvatureGradient(arena, 1);
            check(core, tl.tl_poincare_distance0_backward(stream(), c(c), x.rows(), x.cols(), h(x, "x"), x.offset(),
                    x.leadingDim(), h(gradOut, "gradOut"), gradOut.offset(), h(gradX, "gradX"), gradX.offset(),
                    gradX.leadingDim(), dc.handle(), dc.slot(0)), "tl_poincare_distance0_backward");
            return dc.sum(arena);
        }
    }

    @Override
    public float allPairsDistanceBackward(float c, Tensor x, Tensor y, Tensor gradOut, Tensor gradX, Tensor gradY) {
        int n = x.rows();
        int m = y.rows();
        Shapes.sameShape(x, gradX);
        Shapes.sameShape(y, gradY);
        if (gradOut.rank() != 2 || gradOut.rows() != n || gradOut.cols() != m || x.cols() != y.cols()) {
            throw new IllegalArgumentException("all-pairs distance gradient " + gradOut + " does not fit x " + x
                    + " and y " + y);
        }
        c(c);
        try (Arena arena = Arena.ofConfined()) {
            // The Gram matrix becomes dL/dG scaled by y's projection; its transpose, scaled by x's, beside it.
            Tensor byG = backend.allocate(arena, n, m);
            Tensor byGT = backend.allocate(arena, m, n);
            Tensor byX2 = backend.allocate(arena, n);
            Tensor byY2 = backend.allocate(arena, m);
            dense.matmulTransposedB(x, y, byG);
            CurvatureGradient dc = new CurvatureGradient(arena, 3);
            check(core, tl.tl_poincare_gram_distance_backward(stream(), c, n, m, x.cols(), h(x, "x"), x.offset(),
                    x.leadingDim(), h(y, "y"), y.offset(), y.leadingDim(), h(gradOut, "gradOut"), gradOut.offset(),
                    gradOut.leadingDim(), h(byG, "g"), byG.offset(), byG.leadingDim(), h(byGT, "g_t"), byGT.offset(),
                    byGT.leadingDim(), h(byX2, "x_norm_grad"), byX2.offset(), h(byY2, "y_norm_grad"), byY2.offset(),
                    dc.handle(), dc.slot(0)), "tl_poincare_gram_distance_backward");
            dense.matmul(byG, y, gradX);
            dense.matmul(byGT, x, gradY);
            check(core, tl.tl_poincare_norm_gradient(stream(), c, n, x.cols(), h(x, "x"), x.offset(), x.leadingDim(),
                    h(byX2, "coefficient"), byX2.offset(), h(gradX, "gradX"), gradX.offset(), gradX.leadingDim(),
                    dc.handle(), dc.slot(1)), "tl_poincare_norm_gradient");
            check(core, tl.tl_poincare_norm_gradient(stream(), c, m, y.cols(), h(y, "y"), y.offset(), y.leadingDim(),
                    h(byY2, "coefficient"), byY2.offset(), h(gradY, "gradY"), gradY.offset(), gradY.leadingDim(),
                    dc.handle(), dc.slot(2)), "tl_poincare_norm_gradient");
            return dc.sum(arena);
        }
    }

    @Override
    public float gyrationBackward(float c, Tensor u, Tensor v, Tensor w, Tensor gradOut, Tensor gradU, Tensor gradV,
            Tensor gradW) {
        sameShapes(u, v, w, gradOut, gradU, gradV, gradW);
        try (Arena arena = Arena.ofConfined()) {
            CurvatureGradient dc = new CurvatureGradient(arena, 1);
            check(core, tl.tl_poincare_gyration_backward(stream(), c(c), u.rows(), u.cols(), h(u, "u"), u.offset(),
                    u.leadingDim(), h(v, "v"), v.offset(), v.leadingDim(), h(w, "w"), w.offset(), w.leadingDim(),
                    h(gradOut, "gradOut"), gradOut.offset(), gradOut.leadingDim(), h(gradU, "gradU"), gradU.offset(),
                    gradU.leadingDim(), h(gradV, "gradV"), gradV.offset(), gradV.leadingDim(), h(gradW, "gradW"),
                    gradW.offset(), gradW.leadingDim(), dc.handle(), dc.slot(0)), "tl_poincare_gyration_backward");
            return dc.sum(arena);
        }
    }

    @Override
    public float transportBackward(float c, Tensor x, Tensor y, Tensor v, Tensor gradOut, Tensor gradX, Tensor gradY,
            Tensor gradV) {
        sameShapes(x, y, v, gradOut, gradX, gradY, gradV);
        try (Arena arena = Arena.ofConfined()) {
            CurvatureGradient dc = new CurvatureGradient(arena, 1);
            check(core, tl.tl_poincare_transport_backward(stream(), c(c), x.rows(), x.cols(), h(x, "x"), x.offset(),
                    x.leadingDim(), h(y, "y"), y.offset(), y.leadingDim(), h(v, "v"), v.offset(), v.leadingDim(),
                    h(gradOut, "gradOut"), gradOut.offset(), gradOut.leadingDim(), h(gradX, "gradX"), gradX.offset(),
                    gradX.leadingDim(), h(gradY, "gradY"), gradY.offset(), gradY.leadingDim(), h(gradV, "gradV"),
                    gradV.offset(), gradV.leadingDim(), dc.handle(), dc.slot(0)), "tl_poincare_transport_backward");
            return dc.sum(arena);
        }
    }

    @Override
    public float transport0Backward(float c, Tensor y, Tensor v, Tensor gradOut, Tensor gradY, Tensor gradV) {
        sameShapes(y, v, gradOut, gradY, gradV);
        try (Arena arena = Arena.ofConfined()) {
            CurvatureGradient dc = new CurvatureGradient(arena, 1);
            check(core, tl.tl_poincare_transport0_backward(stream(), c(c), y.rows(), y.cols(), h(y, "y"), y.offset(),
                    y.leadingDim(), h(v, "v"), v.offset(), v.leadingDim(), h(gradOut, "gradOut"), gradOut.offset(),
                    gradOut.leadingDim(), h(gradY, "gradY"), gradY.offset(), gradY.leadingDim(), h(gradV, "gradV"),
                    gradV.offset(), gradV.leadingDim(), dc.handle(), dc.slot(0)), "tl_poincare_transport0_backward");
            return dc.sum(arena);
        }
    }

    @Override
    public float weightedMidpointBackward(float c, Tensor points, Tensor weights, Tensor gradOut, Tensor gradPoints,
            Tensor gradWeights) {
        Shapes.sameShape(points, gradPoints);
        requireVector(gradWeights, points.rows(), "gradient of the weights (one per point)");
        Shapes.requireMatrix(gradOut, "midpoint gradient");
        requireMidpoint(points, weights, gradOut);
        try (Arena arena = Arena.ofConfined()) {
            // The sum Σ α_i λ_i x_i must not vanish (the midpoint is 0 exactly when it does): the forward pass,
            // once, to say so rather than return NaN gradients.
            Tensor mid = backend.allocate(arena, 1, points.cols());
            weightedMidpoint(c, points, weights, mid);
            if (isZero(backend.toHost(mid, arena))) {
                throw new IllegalArgumentException(
                        "the midpoint's backward pass needs a sum Σ α_i λ_i x_i that is not 0");
            }
            CurvatureGradient dc = new CurvatureGradient(arena, 1);
            check(core, tl.tl_poincare_weighted_midpoint_backward(stream(), c, points.rows(), points.cols(),
                    h(points, "points"), points.offset(), points.leadingDim(), h(weights, "weights"), weights.offset(),
                    h(gradOut, "gradOut"), gradOut.offset(), h(gradPoints, "gradPoints"), gradPoints.offset(),
                    gradPoints.leadingDim(), h(gradWeights, "gradWeights"), gradWeights.offset(), dc.handle(),
                    dc.slot(0)), "tl_poincare_weighted_midpoint_backward");
            return dc.sum(arena);
        }
    }

    private static boolean isZero(Tensor t) {
        for (float f : t.toArray()) {
            if (f != 0) {
                return false;
            }
        }
        return true;
    }
}
