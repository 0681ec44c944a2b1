package dev.tensorloom.hyperbolic;

import dev.tensorloom.runtime.kernel.KernelFamily;
import dev.tensorloom.runtime.tensor.Tensor;

/**
 * The Poincaré ball of curvature -c in float32, batched over the rows of [rows, dim] tensors (unit column
 * stride, the row stride read as the leading dimension, as runtime's {@code Kernels} take them). One kernel
 * family with an implementation per backend ({@link #FAMILY}); every implementation is tested against the
 * float64 {@link dev.tensorloom.hyperbolic.reference.PoincareReference}.
 *
 * <p>Stability (REFERENCE.md §3): tanh arguments are held to ±15, artanh arguments to ±(1 - 1e-5) and
 * computed in double, norms and denominators kept at or above 1e-15, zero vectors take an explicit branch,
 * and every point is projected to the radius (1 - {@link #EPS})/√c: point arguments on entry (a point on or
 * outside the boundary is read as the nearest point inside; the backward passes apply that projection's
 * Jacobian) and point results on exit. c must be positive and finite. Rows are read through their float32
 * squared norms and dot products, so a row of norm beyond about 1e19 (whose square overflows) is out of range.
 *
 * <p>Backward passes write dL/d(input) for each input from dL/d(output) (overwriting the gradient tensors)
 * and return dL/dc, which {@link Curvature#rawGradient} chains through a learnable curvature. Distances
 * are written to a contiguous tensor of one value per row (or [rows, cols] for all pairs).
 *
 * <p>Implementations: scalar and vector ({@link RowwisePoincareKernels}, row by row on the host) and cuda
 * ({@code hyperbolic.cuda.CudaPoincareKernels}: {@code include/tensorloom_poincare.h} and {@code src/poincare.cu}
 * through the binding class {@code TensorloomPoincare}, one warp per row on the device).
 */
public interface PoincareKernels {

    /** The implementations of this family, one per backend, loaded by name. */
    KernelFamily<PoincareKernels> FAMILY = new KernelFamily<>(PoincareKernels.class,
            "dev.tensorloom.hyperbolic.ScalarPoincareKernels",
            "dev.tensorloom.hyperbolic.vector.VectorPoincareKernels",
            "dev.tensorloom.hyperbolic.cuda.CudaPoincareKernels");

    /** Distance of the projection radius from the boundary, relative to 1/√c, in float32. */
    float EPS = 4e-3f;
    /** The floor under norms and denominators. */
    double MIN_NORM = 1e-15;
    /** The bound on artanh's argument. */
    double ARTANH_LIMIT = 1 - 1e-5;

    /** Each row of x held inside the ball; out may be x. */
    void project(float c, Tensor x, Tensor out);

    float projectBackward(float c, Tensor x, Tensor gradOut, Tensor gradX);

    /** x⊕y. */
    void mobiusAdd(float c, Tensor x, Tensor y, Tensor out);

    float mobiusAddBackward(float c, Tensor x, Tensor y, Tensor gradOut, Tensor gradX, Tensor gradY);

    /** r[i]⊗x[i], r a contiguous vector of one scalar per row. */
    void scalarMul(float c, Tensor r, Tensor x, Tensor out);

    /** gradR gets one value per row. */
    float scalarMulBackward(float c, Tensor r, Tensor x, Tensor gradOut, Tensor gradR, Tensor gradX);

    /** M⊗x[i] for m [outDim, dim]; out is [rows, outDim]. The product Mx is one GEMM of the dense family. */
    void matVec(float c, Tensor m, Tensor x, Tensor out);

    /** M⊗x = exp₀(M·log₀(x)), differentiated as that composition; gradM is [outDim, dim]. */
    float matVecBackward(float c, Tensor m, Tensor x, Tensor gradOut, Tensor gradM, Tensor gradX);

    /** exp₀(v). */
    void expmap0(float c, Tensor v, Tensor out);

    float expmap0Backward(float c, Tensor v, Tensor gradOut, Tensor gradV);

    /** log₀(y). */
    void logmap0(float c, Tensor y, Tensor out);

    float logmap0Backward(float c, Tensor y, Tensor gradOut, Tensor gradY);

    /** exp_x(v). */
    void expmap(float c, Tensor x, Tensor v, Tensor out);

    float expmapBackward(float c, Tensor x, Tensor v, Tensor gradOut, Tensor gradX, Tensor gradV);

    /** log_x(y). */
    void logmap(float c, Tensor x, Tensor y, Tensor out);

    float logmapBackward(float c, Tensor x, Tensor y, Tensor gradOut, Tensor gradX, Tensor gradY);

    /** d(x[i], y[i]) into out, one per row. */
    void distance(float c, Tensor x, Tensor y, Tensor out);

    float distanceBackward(float c, Tensor x, Tensor y, Tensor gradOut, Tensor gradX, Tensor gradY);

    /** d(0, x[i]) into out, one per row. */
    void distance0(float c, Tensor x, Tensor out);

    float distance0Backward(float c, Tensor x, Tensor gradOut, Tensor gradX);

    /**
     * d(x[i], y[j]) into out [xRows, yRows]: the Gram matrix X·Yᵀ by the dense family's GEMM, then one
     * elementwise step (the closed form of REFERENCE.md §3).
     */
    void allPairsDistance(float c, Tensor x, Tensor y, Tensor out);

    /** The backward pass of {@link #allPairsDistance}: two more GEMMs (dL/dG·Y and its transpose's ·X). */
    float allPairsDistanceBackward(float c, Tensor x, Tensor y, Tensor gradOut, Tensor gradX, Tensor gradY);

    /** gyr[u,v]w. */
    void gyration(float c, Tensor u, Tensor v, Tensor w, Tensor out);

    float gyrationBackward(float c, Tensor u, Tensor v, Tensor w, Tensor gradOut, Tensor gradU, Tensor gradV,
            Tensor gradW);

    /** P_{x→y}(v). */
    void transport(float c, Tensor x, Tensor y, Tensor v, Tensor out);

    float transportBackward(float c, Tensor x, Tensor y, Tensor v, Tensor gradOut, Tensor gradX, Tensor gradY,
            Tensor gradV);

    /** P_{0→y}(v). */
    void transport0(float c, Tensor y, Tensor v, Tensor out);

    float transport0Backward(float c, Tensor y, Tensor v, Tensor gradOut, Tensor gradY, Tensor gradV);

    /** The gyromidpoint of the rows of points with weights (contiguous, one per row), into out [1, dim]. */
    void weightedMidpoint(float c, Tensor points, Tensor weights, Tensor out);

    /** gradOut is [1, dim]; gradWeights gets one value per point. */
    float weightedMidpointBackward(float c, Tensor points, Tensor weights, Tensor gradOut, Tensor gradPoints,
            Tensor gradWeights);
}
