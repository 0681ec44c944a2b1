// The Poincaré ball: one warp per row. A row's dot products are fp32 warp-shuffle sums (the loop over rows
// depends only on the warp, so all 32 lanes reach every shuffle, also when dim < 32), its coefficients are
// computed in double by the formulas of hyperbolic's Ball32 (same order of operations, same clamps), and the
// result is one linear combination of the operand rows. Each lane reads and writes only the columns
// j = lane (mod 32), so an output that is one of the inputs (same offset and ld) is safe: a lane's writes
// follow its own reads. Index arithmetic that can pass 2^31 (row * ld) is in int64_t.
#include "tl_internal.h"
#include "tensorloom_poincare.h"

#include <initializer_list>

namespace {

constexpr int kThreads = 256;
constexpr int kRowsPerBlock = kThreads / 32;
constexpr double kMinNorm = 1e-15;
constexpr double kTanhLimit = 15;
constexpr double kArtanhLimit = 1 - 1e-5;
// PoincareKernels.EPS is the float 4e-3f, widened to double where Ball32 computes the radius.
constexpr float kEps = 4e-3f;

__host__ __device__ __forceinline__ double dmax(double a, double b) { return a > b ? a : b; }
__host__ __device__ __forceinline__ double dmin(double a, double b) { return a < b ? a : b; }

// Ball32: c, √c and the projection radius (1 - ε)/√c. Built on the host, passed by value.
struct Ball {
    double c;
    double sqrt_c;
    double max_norm;
};

Ball make_ball(float c) {
    Ball b;
    b.c = double(c);
    b.sqrt_c = std::sqrt(b.c);
    b.max_norm = (1 - double(kEps)) / b.sqrt_c;
    return b;
}

__device__ __forceinline__ double projection(const Ball &b, double n2) {
    const double n = sqrt(dmax(n2, kMinNorm * kMinNorm));
    return n > b.max_norm ? b.max_norm / n : 1;
}

__device__ __forceinline__ double norm_of(double n2) { return sqrt(dmax(n2, kMinNorm * kMinNorm)); }

__device__ __forceinline__ double tanh_clamped(double u) { return tanh(dmax(-kTanhLimit, dmin(kTanhLimit, u))); }

__device__ __forceinline__ double artanh_clamped(double z) {
    const double a = dmax(-kArtanhLimit, dmin(kArtanhLimit, z));
    return 0.5 * log((1 + a) / (1 - a));
}

__device__ __forceinline__ double lambda_of(const Ball &b, double x2) { return 2 / dmax(1 - b.c * x2, kMinNorm); }

// x⊕y = (s·x + t·y)/den, projected by k.
struct Mobius {
    double s, t, den, k, z2;
    __device__ double on_x() const { return k * s / den; }
    __device__ double on_y() const { return k * t / den; }
};

__device__ __forceinline__ Mobius mobius(const Ball &b, double x2, double y2, double xy) {
    Mobius m;
    const double c = b.c;
    m.s = 1 + 2 * c * xy + c * y2;
    m.t = 1 - c * x2;
    m.den = dmax(1 + 2 * c * xy + c * c * x2 * y2, kMinNorm);
    m.z2 = (m.s * m.s * x2 + 2 * m.s * m.t * xy + m.t * m.t * y2) / (m.den * m.den);
    m.k = projection(b, m.z2);
    return m;
}

__device__ __forceinline__ double distance_value(const Ball &b, double g, double x2, double y2) {
    const double c = b.c;
    const double a = 1 - 2 * c * g + c * y2;
    const double bb = 1 - c * x2;
    const double num2 = dmax(a * a * x2 + bb * bb * y2 - 2 * a * bb * g, kMinNorm * kMinNorm);
    const double den = dmax(1 - 2 * c * g + c * c * x2 * y2, kMinNorm);
    return 2 * artanh_clamped(b.sqrt_c * sqrt(num2) / den) / b.sqrt_c;
}

// φ(n) = tanh(√c·n)/(√c·n), with its series near 0.
__device__ __forceinline__ double exp_scale(const Ball &b, double n) {
    const double u = b.sqrt_c * n;
    if (u < 1e-4) return 1 - u * u / 3;
    return tanh_clamped(u) / u;
}

// ψ(n) = artanh(√c·n)/(√c·n), with its series near 0.
__device__ __forceinline__ double log_scale(const Ball &b, double n) {
    const double u = b.sqrt_c * n;
    if (u < 1e-4) return 1 + u * u / 3;
    return artanh_clamped(u) / u;
}

// ½⊗'s factor 1/(1 + √(1 - u²)); beyond the artanh clamp tanh(½·artanh(u))/u.
__device__ __forceinline__ double half_scale(const Ball &b, double n) {
    const double u = b.sqrt_c * n;
    if (u > kArtanhLimit) return tanh(0.5 * artanh_clamped(u)) / u;
    return 1 / (1 + sqrt(1 - u * u));
}

// gyr[u,v]w = w + α·u + β·v with κ = -c; returns α = 2A/D and β = 2B/D.
__device__ __forceinline__ void gyration_coefficients(const Ball &b, double uw, double vw, double uv, double u2,
                                                      double v2, double *alpha, double *beta) {
    const double k = -b.c;
    const double k2 = b.c * b.c;
    const double a = -k2 * uw * v2 - k * vw + 2 * k2 * uv * vw;
    const double bb = -k2 * vw * u2 + k * uw;
    const double d = dmax(1 - 2 * k * uv + k2 * u2 * v2, kMinNorm);
    *alpha = 2 * a / d;
    *beta = 2 * bb / d;
}

// ---- row plumbing -----------------------------------------------------------------------------------------

__device__ __forceinline__ int lane_id() { return int(threadIdx.x & 31u); }

// The sums of v[0..K) over the warp's 32 lanes, in every lane: the lanes' values through shared memory, each
// lane adding all 32 of every k in lane order (broadcast reads, and the same sums bit for bit in every lane, so
// that no branch on them diverges). Two warp barriers in place of 5·K shuffles, which the emulation, where each
// exchange is a real barrier, pays for dearly. The second barrier keeps the next call's writes after these reads.
template <int K> __device__ __forceinline__ void warp_sum_many(float (&v)[K]) {
    __shared__ float slots[kRowsPerBlock][K][32];
    const int w = int(threadIdx.x >> 5), lane = lane_id();
    for (int k = 0; k < K; ++k) slots[w][k][lane] = v[k];
    __syncwarp();
    for (int k = 0; k < K; ++k) {
        float s = 0.f;
        for (int l = 0; l < 32; ++l) s += slots[w][k][l];
        v[k] = s;
    }
    __syncwarp();
}

// Σ_j a[j]·b[j] over the row, in every lane of the warp.
__device__ __forceinline__ float row_dot(const float *a, const float *b, int dim) {
    float s = 0.f;
    for (int j = lane_id(); j < dim; j += 32) s = fmaf(a[j], b[j], s);
    float v[1] = {s};
    warp_sum_many<1>(v);
    return v[0];
}

// ⟨a,a⟩, ⟨b,b⟩ and ⟨a,b⟩ in one pass.
__device__ __forceinline__ void row_dots3(const float *a, const float *b, int dim, float *aa, float *bb, float *ab) {
    float saa = 0.f, sbb = 0.f, sab = 0.f;
    for (int j = lane_id(); j < dim; j += 32) {
        const float x = a[j], y = b[j];
        saa = fmaf(x, x, saa);
        sbb = fmaf(y, y, sbb);
        sab = fmaf(x, y, sab);
    }
    float v[3] = {saa, sbb, sab};
    warp_sum_many<3>(v);
    *aa = v[0];
    *bb = v[1];
    *ab = v[2];
}

// out = α·a (+ β·b (+ γ·e)), the coefficients rounded to float as the Java kernels round them.
__device__ __forceinline__ void row_combine(float *out, int dim, double alpha, const float *a, double beta = 0,
                                            const float *b = nullptr, double gamma = 0, const float *e = nullptr) {
    const float fa = float(alpha), fb = float(beta), fg = float(gamma);
    for (int j = lane_id(); j < dim; j += 32) {
        float v = fa * a[j];
        if (b != nullptr) v = fmaf(fb, b[j], v);
        if (e != nullptr) v = fmaf(fg, e[j], v);
        out[j] = v;
    }
}

// The rows this warp takes, in a grid-stride loop.
#define FOR_EACH_ROW(rows)                                                                              \
    for (int64_t row = int64_t(blockIdx.x) * kRowsPerBlock + (threadIdx.x >> 5); row < (rows);            \
         row += int64_t(gridDim.x) * kRowsPerBlock)

// A pair of point rows read as their projections x' = kx·x, y' = ky·y (Ball32's Row).
struct PointPair {
    double x2raw, y2raw, kx, ky, x2, y2, xy;
};

__device__ __forceinline__ PointPair point_pair(const Ball &b, const float *x, const float *y, int dim) {
    float xx, yy, xy;
    row_dots3(x, y, dim, &xx, &yy, &xy);
    PointPair p;
    p.x2raw = xx;
    p.y2raw = yy;
    p.kx = projection(b, p.x2raw);
    p.ky = projection(b, p.y2raw);
    p.x2 = p.kx * p.kx * p.x2raw;
    p.y2 = p.ky * p.ky * p.y2raw;
    p.xy = p.kx * p.ky * double(xy);
    return p;
}

// ---- kernels ------------------------------------------------------------------------------------------------

__global__ void __launch_bounds__(kThreads)
    project_kernel(Ball b, int64_t rows, int dim, const float *x, int64_t ldx, float *out, int64_t ldout) {
    FOR_EACH_ROW(rows) {
        const float *xr = x + row * ldx;
        const double k = projection(b, row_dot(xr, xr, dim));
        row_combine(out + row * ldout, dim, k, xr);
    }
}

__global__ void __launch_bounds__(kThreads)
    mobius_add_kernel(Ball b, int64_t rows, int dim, const float *x, int64_t ldx, const float *y, int64_t ldy,
                      float *out, int64_t ldout) {
    FOR_EACH_ROW(rows) {
        const float *xr = x + row * ldx, *yr = y + row * ldy;
        const PointPair p = point_pair(b, xr, yr, dim);
        const Mobius m = mobius(b, p.x2, p.y2, p.xy);
        row_combine(out + row * ldout, dim, m.on_x() * p.kx, xr, m.on_y() * p.ky, yr);
    }
}

__global__ void __launch_bounds__(kThreads)
    scalar_mul_kernel(Ball b, int64_t rows, int dim, const float *r, const float *x, int64_t ldx, float *out,
                      int64_t ldout) {
    FOR_EACH_ROW(rows) {
        const float *xr = x + row * ldx;
        const double x2raw = row_dot(xr, xr, dim);
        const double kx = projection(b, x2raw);
        const double n = norm_of(kx * kx * x2raw);
        const double t = tanh_clamped(double(r[row]) * artanh_clamped(b.sqrt_c * n));
        const double k = x2raw == 0 ? 0 : projection(b, t * t / b.c) * t / (b.sqrt_c * n) * kx;
        row_combine(out + row * ldout, dim, k, xr);
    }
}

__global__ void __launch_bounds__(kThreads)
    matvec_finish_kernel(Ball b, int64_t rows, int dim, int out_dim, const float *x, int64_t ldx, float *mx,
                         int64_t ldmx) {
    FOR_EACH_ROW(rows) {
        const float *xr = x + row * ldx;
        float *mr = mx + row * ldmx;
        const double x2raw = row_dot(xr, xr, dim);
        const double kx = projection(b, x2raw);
        const double xn = norm_of(kx * kx * x2raw);
        const double mx2 = kx * kx * double(row_dot(mr, mr, out_dim));
        double k = 0;
        if (x2raw != 0 && mx2 != 0) {
            const double mxn = norm_of(mx2);
            const double t = tanh_clamped(mxn / xn * artanh_clamped(b.sqrt_c * xn));
            k = projection(b, t * t / b.c) * t / (b.sqrt_c * mxn) * kx;
        }
        row_combine(mr, out_dim, k, mr);
    }
}

__global__ void __launch_bounds__(kThreads)
    expmap0_kernel(Ball b, int64_t rows, int dim, const float *v, int64_t ldv, float *out, int64_t ldout) {
    FOR_EACH_ROW(rows) {
        const float *vr = v + row * ldv;
        const double n2 = row_dot(vr, vr, dim);
        double k = 1;
        if (n2 != 0) {
            const double phi = exp_scale(b, sqrt(n2));
            k = projection(b, phi * phi * n2) * phi;
        }
        row_combine(out + row * ldout, dim, k, vr);
    }
}

__global__ void __launch_bounds__(kThreads)
    logmap0_kernel(Ball b, int64_t rows, int dim, const float *y, int64_t ldy, float *out, int64_t ldout) {
    FOR_EACH_ROW(rows) {
        const float *yr = y + row * ldy;
        const double y2raw = row_dot(yr, yr, dim);
        const double ky = projection(b, y2raw);
        const double k = y2raw == 0 ? 0 : log_scale(b, sqrt(ky * ky * y2raw)) * ky;
        row_combine(out + row * ldout, dim, k, yr);
    }
}

// exp_x(v) = x' ⊕ u with u = φ·h and h = (λ_x'/2)·v, fused: u = a·v, so ⟨u,u⟩ = a²⟨v,v⟩ and ⟨x,u⟩ = a⟨x,v⟩
// (the Java kernels round h and u to float in between; here they stay scalars).
__global__ void __launch_bounds__(kThreads)
    expmap_kernel(Ball b, int64_t rows, int dim, const float *x, int64_t ldx, const float *v, int64_t ldv,
                  float *out, int64_t ldout) {
    FOR_EACH_ROW(rows) {
        const float *xr = x + row * ldx, *vr = v + row * ldv;
        float xx, vv, xv;
        row_dots3(xr, vr, dim, &xx, &vv, &xv);
        const double x2raw = xx;
        const double kx = projection(b, x2raw);
        const double half_lambda = double(float(lambda_of(b, kx * kx * x2raw) / 2));
        const double h2 = half_lambda * half_lambda * double(vv);
        double phi = 1;
        if (h2 != 0) {
            const double e = exp_scale(b, sqrt(h2));
            phi = double(float(projection(b, e * e * h2) * e));
        }
        const double a = phi * half_lambda;  // u = a·v
        const double u2raw = a * a * double(vv);
        const double ku = projection(b, u2raw);
        const double x2 = kx * kx * x2raw;
        const double u2 = ku * ku * u2raw;
        const double xu = kx * ku * a * double(xv);
        const Mobius m = mobius(b, x2, u2, xu);
        row_combine(out + row * ldout, dim, m.on_x() * kx, xr, m.on_y() * ku * a, vr);
    }
}

__global__ void __launch_bounds__(kThreads)
    logmap_kernel(Ball b, int64_t rows, int dim, const float *x, int64_t ldx, const float *y, int64_t ldy,
                  float *out, int64_t ldout) {
    FOR_EACH_ROW(rows) {
        const float *xr = x + row * ldx, *yr = y + row * ldy;
        const PointPair p = point_pair(b, xr, yr, dim);
        // w = (-x')⊕y'
        const Mobius m = mobius(b, p.x2, p.y2, -p.xy);
        const double wn = norm_of(m.k * m.k * m.z2);
        const double k = 2 / (b.sqrt_c * lambda_of(b, p.x2)) * artanh_clamped(b.sqrt_c * wn) / wn;
        row_combine(out + row * ldout, dim, -k * m.on_x() * p.kx, xr, k * m.on_y() * p.ky, yr);
    }
}

__global__ void __launch_bounds__(kThreads)
    distance_kernel(Ball b, int64_t rows, int dim, const float *x, int64_t ldx, const float *y, int64_t ldy,
                    float *out) {
    FOR_EACH_ROW(rows) {
        const PointPair p = point_pair(b, x + row * ldx, y + row * ldy, dim);
        if (lane_id() == 0) out[row] = float(distance_value(b, p.xy, p.x2, p.y2));
    }
}

__global__ void __launch_bounds__(kThreads)
    distance0_kernel(Ball b, int64_t rows, int dim, const float *x, int64_t ldx, float *out) {
    FOR_EACH_ROW(rows) {
        const float *xr = x + row * ldx;
        const double x2raw = row_dot(xr, xr, dim);
        const double kx = projection(b, x2raw);
        if (lane_id() == 0) out[row] = float(distance_value(b, 0, kx * kx * x2raw, 0));
    }
}

// Per row of a point operand: its projection factor k and projected squared norm k²·||x||².
__global__ void __launch_bounds__(kThreads)
    point_norms_kernel(Ball b, int64_t rows, int dim, const float *x, int64_t ldx, double *scale, double *norm2) {
    FOR_EACH_ROW(rows) {
        const float *xr = x + row * ldx;
        const double x2raw = row_dot(xr, xr, dim);
        const double k = projection(b, x2raw);
        if (lane_id() == 0) {
            scale[row] = k;
            norm2[row] = k * k * x2raw;
        }
    }
}

// One thread per element of g, consecutive threads along a row of g.
__global__ void __launch_bounds__(kThreads)
    gram_to_distance_kernel(Ball b, int64_t x_rows, int64_t y_rows, const double *x_scale, const double *x2,
                            const double *y_scale, const double *y2, float *g, int64_t ldg) {
    const int64_t total = x_rows * y_rows;
    for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
        const int64_t i = e / y_rows;
        const int64_t j = e - i * y_rows;
        float *gij = g + i * ldg + j;
        const double dot = double(*gij) * x_scale[i] * y_scale[j];
        *gij = float(distance_value(b, dot, x2[i], y2[j]));
    }
}

__global__ void __launch_bounds__(kThreads)
    gyration_kernel(Ball b, int64_t rows, int dim, const float *u, int64_t ldu, const float *v, int64_t ldv,
                    const float *w, int64_t ldw, float *out, int64_t ldout) {
    FOR_EACH_ROW(rows) {
        const float *ur = u + row * ldu, *vr = v + row * ldv, *wr = w + row * ldw;
        const PointPair p = point_pair(b, ur, vr, dim);
        const double uw = double(row_dot(ur, wr, dim)) * p.kx;
        const double vw = double(row_dot(vr, wr, dim)) * p.ky;
        double alpha, beta;
        gyration_coefficients(b, uw, vw, p.xy, p.x2, p.y2, &alpha, &beta);
        row_combine(out + row * ldout, dim, 1, wr, alpha * p.kx, ur, beta * p.ky, vr);
    }
}

// P_{x→y}(v) = (λ_x/λ_y)·gyr[y', -x']v.
__global__ void __launch_bounds__(kThreads)
    transport_kernel(Ball b, int64_t rows, int dim, const float *x, int64_t ldx, const float *y, int64_t ldy,
                     const float *v, int64_t ldv, float *out, int64_t ldout) {
    FOR_EACH_ROW(rows) {
        const float *xr = x + row * ldx, *yr = y + row * ldy, *vr = v + row * ldv;
        const PointPair p = point_pair(b, yr, xr, dim);  // p's "x" is y', its "y" is x'
        const double yv = double(row_dot(yr, vr, dim)) * p.kx;
        const double minus_xv = -double(row_dot(xr, vr, dim)) * p.ky;
        double alpha, beta;
        gyration_coefficients(b, yv, minus_xv, -p.xy, p.x2, p.y2, &alpha, &beta);
        const double scale = lambda_of(b, p.y2) / lambda_of(b, p.x2);
        row_combine(out + row * ldout, dim, scale, vr, scale * alpha * p.kx, yr, -scale * beta * p.ky, xr);
    }
}

__global__ void __launch_bounds__(kThreads)
    transport0_kernel(Ball b, int64_t rows, int dim, const float *y, int64_t ldy, const float *v, int64_t ldv,
                      float *out, int64_t ldout) {
    FOR_EACH_ROW(rows) {
        const float *yr = y + row * ldy;
        const double y2raw = row_dot(yr, yr, dim);
        const double ky = projection(b, y2raw);
        row_combine(out + row * ldout, dim, 1 - b.c * ky * ky * y2raw, v + row * ldv);
    }
}

// The midpoint's per-point terms: coefficient[i] = float(α_i·λ_i·k_i) of x_i in the sum, den_term[i] = α_i(λ_i - 1).
__global__ void __launch_bounds__(kThreads)
    midpoint_terms_kernel(Ball b, int64_t rows, int dim, const float *points, int64_t ldp, const float *weights,
                          float *coefficient, double *den_term) {
    FOR_EACH_ROW(rows) {
        const float *pr = points + row * ldp;
        const double x2raw = row_dot(pr, pr, dim);
        const double k = projection(b, x2raw);
        const double lambda = lambda_of(b, k * k * x2raw);
        const double alpha = weights[row];
        if (lane_id() == 0) {
            coefficient[row] = float(alpha * lambda * k);
            den_term[row] = alpha * (lambda - 1);
        }
    }
}

// One block: column j of the sum Σ_i coefficient[i]·x_i in row order (as the Java kernels accumulate it), the
// denominator in double in row order, then ½⊗(sum/den) projected. The block's squared norm goes through
// per-warp partials in shared memory between two barriers that every thread reaches.
__global__ void __launch_bounds__(kThreads)
    midpoint_finish_kernel(Ball b, int64_t rows, int dim, const float *points, int64_t ldp,
                           const float *coefficient, const double *den_term, float *out) {
    __shared__ float partial[kThreads / 32];
    __shared__ double den_shared;
    float local2 = 0.f;
    for (int j = threadIdx.x; j < dim; j += kThreads) {
        float acc = coefficient[0] * points[j];
        for (int64_t i = 1; i < rows; ++i) acc = fmaf(coefficient[i], points[i * ldp + j], acc);
        out[j] = acc;
        local2 = fmaf(acc, acc, local2);
    }
    local2 = tl::warp_sum(local2);
    if ((threadIdx.x & 31u) == 0) partial[threadIdx.x >> 5] = local2;
    if (threadIdx.x == 0) {
        double den = 0;
        for (int64_t i = 0; i < rows; ++i) den += den_term[i];
        if (fabs(den) < kMinNorm) den = den < 0 ? -kMinNorm : kMinNorm;
        den_shared = den;
    }
    __syncthreads();
    float sum2 = 0.f;
    for (int w = 0; w < kThreads / 32; ++w) sum2 += partial[w];
    const double den = den_shared;
    const double t2 = double(sum2) / (den * den);
    const double n = sqrt(t2);
    double k = 0;
    if (n != 0) {
        const double phi = half_scale(b, n);
        k = projection(b, phi * phi * t2) * phi / den;
    }
    const float fk = float(k);
    for (int j = threadIdx.x; j < dim; j += kThreads) out[j] = fk * out[j];
}

// ---- backward passes ----------------------------------------------------------------------------------------
//
// A backward pass's vectors (gradients, intermediate points) all lie in the span of its operand rows, so each
// is kept as its N coefficients over those rows, and a dot product of two of them comes from the rows' Gram
// matrix (fp32 warp sums, as the forward passes' dot products). The Java kernels' row bodies then port line by
// line, intermediate rows such as exp0's result included, and the gradients are written once at the end. A
// row's share of dL/dc goes to a per-row double in scratch, summed by one block afterwards.

template <int N> struct Span {
    double a[N];
};

template <int N> __device__ __forceinline__ Span<N> unit(int i) {
    Span<N> s;
    for (int k = 0; k < N; ++k) s.a[k] = k == i ? 1 : 0;
    return s;
}

template <int N> __device__ __forceinline__ Span<N> zero_span() {
    Span<N> s;
    for (int k = 0; k < N; ++k) s.a[k] = 0;
    return s;
}

// α·p + β·q (+ γ·r): Java's combine.
template <int N>
__device__ __forceinline__ Span<N> lin(double alpha, const Span<N> &p, double beta = 0, const Span<N> *q = nullptr,
                                       double gamma = 0, const Span<N> *r = nullptr) {
    Span<N> s;
    for (int k = 0; k < N; ++k) {
        s.a[k] = alpha * p.a[k];
        if (q != nullptr) s.a[k] += beta * q->a[k];
        if (r != nullptr) s.a[k] += gamma * r->a[k];
    }
    return s;
}

template <int N> struct Gram {
    double g[N][N];
    __device__ double dot(const Span<N> &p, const Span<N> &q) const {
        double s = 0;
        for (int i = 0; i < N; ++i) {
            double t = 0;
            for (int j = 0; j < N; ++j) t += g[i][j] * q.a[j];
            s += p.a[i] * t;
        }
        return s;
    }
    // ||p||², never below zero: with x = y, (-x)⊕y is zero in exact arithmetic, but the quadratic form's
    // rounding (fused multiply-adds on a GPU) can leave a tiny negative residue, whose root is NaN.
    __device__ double norm2(const Span<N> &p) const { return fmax(dot(p, p), 0.0); }
};

// The Gram matrix of the rows, every lane of the warp taking part.
template <int N> __device__ __forceinline__ Gram<N> gram_of(const float *const (&rows)[N], int dim) {
    constexpr int K = N * (N + 1) / 2;
    float part[K];
    for (int k = 0; k < K; ++k) part[k] = 0.f;
    for (int c = lane_id(); c < dim; c += 32) {
        float v[N];
        for (int i = 0; i < N; ++i) v[i] = rows[i][c];
        int k = 0;
        for (int i = 0; i < N; ++i)
            for (int j = i; j < N; ++j, ++k) part[k] = fmaf(v[i], v[j], part[k]);
    }
    warp_sum_many<K>(part);
    Gram<N> gm;
    int k = 0;
    for (int i = 0; i < N; ++i)
        for (int j = i; j < N; ++j, ++k) {
            gm.g[i][j] = part[k];
            gm.g[j][i] = part[k];
        }
    return gm;
}

// outs[m] = Σ_k float(coefficient[m].a[k])·rows[k], every lane reading its columns of all rows before writing any
// (so a gradient may be one of the operands).
template <int N, int M>
__device__ __forceinline__ void write_spans(float *const (&outs)[M], const Span<N> (&coefficient)[M],
                                            const float *const (&rows)[N], int dim) {
    float f[M][N];
    for (int m = 0; m < M; ++m)
        for (int k = 0; k < N; ++k) f[m][k] = float(coefficient[m].a[k]);
    for (int c = lane_id(); c < dim; c += 32) {
        float v[N];
        for (int k = 0; k < N; ++k) v[k] = rows[k][c];
        float r[M];
        for (int m = 0; m < M; ++m) {
            float acc = 0.f;
            for (int k = 0; k < N; ++k) acc = fmaf(f[m][k], v[k], acc);
            r[m] = acc;
        }
        for (int m = 0; m < M; ++m) outs[m][c] = r[m];
    }
}

__device__ __forceinline__ double max_norm_by_c(const Ball &b) { return -b.max_norm / (2 * b.c); }

// Turns grad, a gradient with respect to the projected point k·x, into one with respect to x (the projection's
// Jacobian where x lies beyond the radius); returns the row's share of dL/dc through the radius.
template <int N>
__device__ __forceinline__ double unproject(const Ball &b, const Gram<N> &gm, Span<N> &grad, const Span<N> &x,
                                            double x2) {
    const double k = projection(b, x2);
    if (k == 1) return 0;
    const double gx = gm.dot(grad, x);
    grad = lin(k, grad, -k * gx / x2, &x);
    return gx / sqrt(x2) * max_norm_by_c(b);
}

struct Scale {
    double value, by_n, by_c;
};

__device__ __forceinline__ Scale exp_scale_full(const Ball &b, double n) {
    const double u = b.sqrt_c * n;
    if (u < 1e-4) {
        const double by_u = -2 * u / 3;
        return Scale{1 - u * u / 3, by_u * b.sqrt_c, by_u * n / (2 * b.sqrt_c)};
    }
    const double t = tanh_clamped(u);
    const double dt = u > kTanhLimit ? 0 : 1 - t * t;
    const double by_u = (dt * u - t) / (u * u);
    return Scale{t / u, by_u * b.sqrt_c, by_u * n / (2 * b.sqrt_c)};
}

__device__ __forceinline__ Scale log_scale_full(const Ball &b, double n) {
    const double u = b.sqrt_c * n;
    if (u < 1e-4) {
        const double by_u = 2 * u / 3;
        return Scale{1 + u * u / 3, by_u * b.sqrt_c, by_u * n / (2 * b.sqrt_c)};
    }
    const double a = artanh_clamped(u);
    const double da = u > kArtanhLimit ? 0 : 1 / (1 - u * u);
    const double by_u = (da * u - a) / (u * u);
    return Scale{a / u, by_u * b.sqrt_c, by_u * n / (2 * b.sqrt_c)};
}

__device__ __forceinline__ Scale half_scale_full(const Ball &b, double n) {
    const double u = b.sqrt_c * n;
    double by_u, value;
    if (u > kArtanhLimit) {
        const double t = tanh(0.5 * artanh_clamped(u));
        value = t / u;
        by_u = -t / (u * u);
    } else {
        const double root = sqrt(1 - u * u);
        value = 1 / (1 + root);
        by_u = u / (root * (1 + root) * (1 + root));
    }
    return Scale{value, by_u * b.sqrt_c, by_u * n / (2 * b.sqrt_c)};
}

struct DistanceGrad {
    double value, by_g, by_x2, by_y2, by_c;
};

__device__ __forceinline__ DistanceGrad distance_full(const Ball &bl, double g, double x2, double y2) {
    const double c = bl.c, sqrt_c = bl.sqrt_c;
    const double a = 1 - 2 * c * g + c * y2;
    const double b = 1 - c * x2;
    const double num2 = a * a * x2 + b * b * y2 - 2 * a * b * g;
    const bool num_floored = num2 < kMinNorm * kMinNorm;
    const double num = sqrt(num_floored ? kMinNorm * kMinNorm : num2);
    double den = 1 - 2 * c * g + c * c * x2 * y2;
    const bool den_floored = den < kMinNorm;
    den = den_floored ? kMinNorm : den;
    const double r = num / den;
    const double u = sqrt_c * r;
    const double value = 2 * artanh_clamped(u) / sqrt_c;
    const bool clamped = u > kArtanhLimit;
    const double by_r = clamped ? 0 : 2 / (1 - u * u);
    const double by_c_at_r = clamped ? -artanh_clamped(u) / (c * sqrt_c)
                                     : r / (c * (1 - u * u)) - artanh_clamped(u) / (c * sqrt_c);
    const double num_scale = num_floored ? 0 : 1 / (2 * num * den);
    const double den_scale = den_floored ? 0 : -r / den;
    const double num2_by_g = -4 * c * a * x2 - 2 * b * (a - 2 * c * g);
    const double num2_by_x2 = a * a - 2 * c * b * y2 + 2 * c * a * g;
    const double num2_by_y2 = 2 * c * a * x2 + b * b - 2 * c * b * g;
    const double a_by_c = -2 * g + y2;
    const double b_by_c = -x2;
    const double num2_by_c = 2 * a * x2 * a_by_c + 2 * b * y2 * b_by_c - 2 * g * (a_by_c * b + a * b_by_c);
    const double r_by_g = num2_by_g * num_scale + den_scale * (-2 * c);
    const double r_by_x2 = num2_by_x2 * num_scale + den_scale * (c * c * y2);
    const double r_by_y2 = num2_by_y2 * num_scale + den_scale * (c * c * x2);
    const double r_by_c = num2_by_c * num_scale + den_scale * (-2 * g + 2 * c * x2 * y2);
    return DistanceGrad{value, by_r * r_by_g, by_r * r_by_x2, by_r * r_by_y2, by_r * r_by_c + by_c_at_r};
}

struct GyrationGrad {
    double alpha, beta, by_uw, by_vw, by_uv, by_u2, by_v2, by_c;
};

__device__ __forceinline__ GyrationGrad gyration_full(const Ball &bl, double uw, double vw, double uv, double u2,
                                                      double v2, double su, double sv) {
    const double k = -bl.c;
    const double k2 = bl.c * bl.c;
    const double a = -k2 * uw * v2 - k * vw + 2 * k2 * uv * vw;
    const double b = -k2 * vw * u2 + k * uw;
    double d = 1 - 2 * k * uv + k2 * u2 * v2;
    const bool floored = d < kMinNorm;
    d = floored ? kMinNorm : d;
    const double alpha = 2 * a / d;
    const double beta = 2 * b / d;
    const double f = floored ? 0 : 1;
    const double a_by[6] = {-k2 * v2, -k + 2 * k2 * uv, 2 * k2 * vw, 0, -k2 * uw,
            -2 * k * uw * v2 - vw + 4 * k * uv * vw};
    const double b_by[6] = {k, -k2 * u2, 0, -k2 * vw, 0, -2 * k * vw * u2 + uw};
    const double d_by[6] = {0, 0, -2 * k * f, k2 * v2 * f, k2 * u2 * f, (-2 * uv + 2 * k * u2 * v2) * f};
    double g[6];
    for (int q = 0; q < 6; ++q)
        g[q] = su * (2 * a_by[q] - alpha * d_by[q]) / d + sv * (2 * b_by[q] - beta * d_by[q]) / d;
    return GyrationGrad{alpha, beta, g[0], g[1], g[2], g[3], g[4], -g[5]};
}

// Ball32's Row over spans: two points read as their projections.
struct SpanPair {
    double x2raw, y2raw, kx, ky, x2, y2, xy;
};

template <int N>
__device__ __forceinline__ SpanPair span_pair(const Ball &b, const Gram<N> &gm, const Span<N> &x, const Span<N> &y) {
    SpanPair p;
    p.x2raw = gm.norm2(x);
    p.y2raw = gm.norm2(y);
    p.kx = projection(b, p.x2raw);
    p.ky = projection(b, p.y2raw);
    p.x2 = p.kx * p.kx * p.x2raw;
    p.y2 = p.ky * p.ky * p.y2raw;
    p.xy = p.kx * p.ky * gm.dot(x, y);
    return p;
}

// x⊕y as a span (the forward pass).
template <int N>
__device__ __forceinline__ Span<N> mobius_span(const Ball &b, const Gram<N> &gm, const Span<N> &x, const Span<N> &y) {
    const SpanPair r = span_pair(b, gm, x, y);
    const Mobius m = mobius(b, r.x2, r.y2, r.xy);
    return lin(m.on_x() * r.kx, x, m.on_y() * r.ky, &y);
}

template <int N>
__device__ __forceinline__ double mobius_add_backward_span(const Ball &b, const Gram<N> &gm, const Span<N> &x,
                                                           const Span<N> &y, const Span<N> &g, Span<N> &grad_x,
                                                           Span<N> &grad_y) {
    const SpanPair r = span_pair(b, gm, x, y);
    const double gx = gm.dot(g, x) * r.kx;
    const double gy = gm.dot(g, y) * r.ky;
    const Mobius m = mobius(b, r.x2, r.y2, r.xy);
    const double s = m.s, t = m.t, den = m.den;
    double ag = 1, ax = 0, ay = 0, cc = 0;
    if (m.k < 1) {
        const double gz = (s * gx + t * gy) / den;
        ag = m.k;
        ax = -m.k * gz / m.z2 * s / den;
        ay = -m.k * gz / m.z2 * t / den;
        cc = gz / sqrt(m.z2) * max_norm_by_c(b);
    }
    const double gX = ag * gx + ax * r.x2 + ay * r.xy;
    const double gY = ag * gy + ax * r.xy + ay * r.y2;
    const double p = gX / den;
    const double q = gY / den;
    const double rr = -(s * gX + t * gY) / (den * den);
    const double cv = b.c;
    const double x_on_g = s / den * ag;
    const double x_on_x = s / den * ax - 2 * cv * q + 2 * cv * cv * r.y2 * rr;
    const double x_on_y = s / den * ay + 2 * cv * p + 2 * cv * rr;
    const double y_on_g = t / den * ag;
    const double y_on_x = t / den * ax + 2 * cv * p + 2 * cv * rr;
    const double y_on_y = t / den * ay + 2 * cv * p + 2 * cv * cv * r.x2 * rr;
    grad_x = lin(x_on_g, g, x_on_x * r.kx, &x, x_on_y * r.ky, &y);
    grad_y = lin(y_on_g, g, y_on_x * r.kx, &x, y_on_y * r.ky, &y);
    cc += p * (2 * r.xy + r.y2) - q * r.x2 + rr * (2 * r.xy + 2 * cv * r.x2 * r.y2);
    return cc + unproject(b, gm, grad_x, x, r.x2raw) + unproject(b, gm, grad_y, y, r.y2raw);
}

// exp₀'s factor on v (the forward pass).
__device__ __forceinline__ double expmap0_factor(const Ball &b, double n2) {
    if (n2 == 0) return 1;
    const double phi = exp_scale(b, sqrt(n2));
    return projection(b, phi * phi * n2) * phi;
}

template <int N>
__device__ __forceinline__ double expmap0_backward_span(const Ball &b, const Gram<N> &gm, const Span<N> &v,
                                                        const Span<N> &g, Span<N> &grad_v) {
    const double n2 = gm.norm2(v);
    if (n2 == 0) {
        grad_v = g;
        return 0;
    }
    const double n = sqrt(n2);
    const double gv = gm.dot(g, v);
    const Scale phi = exp_scale_full(b, n);
    if (projection(b, phi.value * phi.value * n2) < 1) {
        const double k = b.max_norm / n;
        grad_v = lin(k, g, -k * gv / n2, &v);
        return gv / n * max_norm_by_c(b);
    }
    grad_v = lin(phi.value, g, phi.by_n * gv / n, &v);
    return gv * phi.by_c;
}

// log₀'s factor on y (the forward pass).
__device__ __forceinline__ double logmap0_factor(const Ball &b, double y2raw) {
    const double ky = projection(b, y2raw);
    return y2raw == 0 ? 0 : log_scale(b, sqrt(ky * ky * y2raw)) * ky;
}

template <int N>
__device__ __forceinline__ double logmap0_backward_span(const Ball &b, const Gram<N> &gm, const Span<N> &y,
                                                        const Span<N> &g, Span<N> &grad_y) {
    const double y2raw = gm.norm2(y);
    if (y2raw == 0) {
        grad_y = g;
        return 0;
    }
    const double ky = projection(b, y2raw);
    const double n = sqrt(ky * ky * y2raw);
    const double gy = gm.dot(g, y) * ky;
    const Scale psi = log_scale_full(b, n);
    grad_y = lin(psi.value, g, psi.by_n * gy / n * ky, &y);
    return gy * psi.by_c + unproject(b, gm, grad_y, y, y2raw);
}

// Row r's share of dL/dc, from lane 0.
__device__ __forceinline__ void put_share(double *dc_rows, int64_t row, double share) {
    if (lane_id() == 0) dc_rows[row] = share;
}

__global__ void __launch_bounds__(kThreads)
    project_backward_kernel(Ball b, int64_t rows, int dim, const float *x, int64_t ldx, const float *g, int64_t ldg,
                            float *gx, int64_t ldgx, double *dc_rows) {
    FOR_EACH_ROW(rows) {
        const float *const base[2] = {g + row * ldg, x + row * ldx};
        const Gram<2> gm = gram_of<2>(base, dim);
        Span<2> grad = unit<2>(0);
        const Span<2> xs = unit<2>(1);
        const double share = unproject(b, gm, grad, xs, gm.g[1][1]);
        float *const outs[1] = {gx + row * ldgx};
        const Span<2> coefficient[1] = {grad};
        write_spans<2, 1>(outs, coefficient, base, dim);
        put_share(dc_rows, row, share);
    }
}

__global__ void __launch_bounds__(kThreads)
    mobius_add_backward_kernel(Ball b, int64_t rows, int dim, const float *x, int64_t ldx, const float *y, int64_t ldy,
                               const float *g, int64_t ldg, float *gx, int64_t ldgx, float *gy, int64_t ldgy,
                               double *dc_rows) {
    FOR_EACH_ROW(rows) {
        const float *const base[3] = {g + row * ldg, x + row * ldx, y + row * ldy};
        const Gram<3> gm = gram_of<3>(base, dim);
        Span<3> grad_x, grad_y;
        const double share = mobius_add_backward_span(b, gm, unit<3>(1), unit<3>(2), unit<3>(0), grad_x, grad_y);
        float *const outs[2] = {gx + row * ldgx, gy + row * ldgy};
        const Span<3> coefficient[2] = {grad_x, grad_y};
        write_spans<3, 2>(outs, coefficient, base, dim);
        put_share(dc_rows, row, share);
    }
}

// r⊗x = exp₀(r·log₀(x)), differentiated as that composition; grad_r gets ⟨dL/dz, log₀(x)⟩.
__global__ void __launch_bounds__(kThreads)
    scalar_mul_backward_kernel(Ball b, int64_t rows, int dim, const float *r, const float *x, int64_t ldx,
                               const float *g, int64_t ldg, float *grad_r, float *gx, int64_t ldgx, double *dc_rows) {
    FOR_EACH_ROW(rows) {
        const float *const base[2] = {g + row * ldg, x + row * ldx};
        const Gram<2> gm = gram_of<2>(base, dim);
        const Span<2> gs = unit<2>(0), xs = unit<2>(1);
        const double ri = r[row];
        const Span<2> log = lin(logmap0_factor(b, gm.g[1][1]), xs);
        const Span<2> z = lin(ri, log);
        Span<2> grad_z, grad_x;
        double share = expmap0_backward_span(b, gm, z, gs, grad_z);
        const double gr = gm.dot(grad_z, log);
        grad_z = lin(ri, grad_z);
        share += logmap0_backward_span(b, gm, xs, grad_z, grad_x);
        float *const outs[1] = {gx + row * ldgx};
        const Span<2> coefficient[1] = {grad_x};
        write_spans<2, 1>(outs, coefficient, base, dim);
        if (lane_id() == 0) grad_r[row] = float(gr);
        put_share(dc_rows, row, share);
    }
}

__global__ void __launch_bounds__(kThreads)
    expmap0_backward_kernel(Ball b, int64_t rows, int dim, const float *v, int64_t ldv, const float *g, int64_t ldg,
                            float *gv, int64_t ldgv, double *dc_rows) {
    FOR_EACH_ROW(rows) {
        const float *const base[2] = {g + row * ldg, v + row * ldv};
        const Gram<2> gm = gram_of<2>(base, dim);
        Span<2> grad;
        const double share = expmap0_backward_span(b, gm, unit<2>(1), unit<2>(0), grad);
        float *const outs[1] = {gv + row * ldgv};
        const Span<2> coefficient[1] = {grad};
        write_spans<2, 1>(outs, coefficient, base, dim);
        put_share(dc_rows, row, share);
    }
}

__global__ void __launch_bounds__(kThreads)
    logmap0_backward_kernel(Ball b, int64_t rows, int dim, const float *y, int64_t ldy, const float *g, int64_t ldg,
                            float *gy, int64_t ldgy, double *dc_rows) {
    FOR_EACH_ROW(rows) {
        const float *const base[2] = {g + row * ldg, y + row * ldy};
        const Gram<2> gm = gram_of<2>(base, dim);
        Span<2> grad;
        const double share = logmap0_backward_span(b, gm, unit<2>(1), unit<2>(0), grad);
        float *const outs[1] = {gy + row * ldgy};
        const Span<2> coefficient[1] = {grad};
        write_spans<2, 1>(outs, coefficient, base, dim);
        put_share(dc_rows, row, share);
    }
}

// exp_x(v) = x ⊕ exp₀(h), h = (λ_x'/2)·v, differentiated as that composition.
__global__ void __launch_bounds__(kThreads)
    expmap_backward_kernel(Ball b, int64_t rows, int dim, const float *x, int64_t ldx, const float *v, int64_t ldv,
                           const float *g, int64_t ldg, float *gx, int64_t ldgx, float *gv, int64_t ldgv,
                           double *dc_rows) {
    FOR_EACH_ROW(rows) {
        const float *const base[3] = {g + row * ldg, x + row * ldx, v + row * ldv};
        const Gram<3> gm = gram_of<3>(base, dim);
        const Span<3> gs = unit<3>(0), xs = unit<3>(1), vs = unit<3>(2);
        const double x2raw = gm.g[1][1];
        const double kx = projection(b, x2raw);
        const double half_lambda = lambda_of(b, kx * kx * x2raw) / 2;
        const Span<3> half = lin(half_lambda, vs);
        const Span<3> u = lin(expmap0_factor(b, gm.norm2(half)), half);
        Span<3> grad_x, grad_u, grad_half;
        double share = mobius_add_backward_span(b, gm, xs, u, gs, grad_x, grad_u);
        share += expmap0_backward_span(b, gm, half, grad_u, grad_half);
        const Span<3> grad_v = lin(half_lambda, grad_half);
        // λ_x/2 = 1/(1 - c||x'||²): d/dx' = (λ²/2)·c·x', d/dc = λ²·||x'||²/4.
        const double lambda = 2 * half_lambda;
        const double ghv = gm.dot(grad_half, vs);
        Span<3> extra = lin(ghv * lambda * lambda / 2 * b.c * kx, xs);
        share += ghv * lambda * lambda * kx * kx * x2raw / 4 + unproject(b, gm, extra, xs, x2raw);
        grad_x = lin(1, grad_x, 1, &extra);
        float *const outs[2] = {gx + row * ldgx, gv + row * ldgv};
        const Span<3> coefficient[2] = {grad_x, grad_v};
        write_spans<3, 2>(outs, coefficient, base, dim);
        put_share(dc_rows, row, share);
    }
}

// log_x(y) = (2/λ_x)·log₀((-x)⊕y), differentiated as that composition.
__global__ void __launch_bounds__(kThreads)
    logmap_backward_kernel(Ball b, int64_t rows, int dim, const float *x, int64_t ldx, const float *y, int64_t ldy,
                           const float *g, int64_t ldg, float *gx, int64_t ldgx, float *gy, int64_t ldgy,
                           double *dc_rows) {
    FOR_EACH_ROW(rows) {
        const float *const base[3] = {g + row * ldg, x + row * ldx, y + row * ldy};
        const Gram<3> gm = gram_of<3>(base, dim);
        const Span<3> gs = unit<3>(0), xs = unit<3>(1), ys = unit<3>(2);
        const Span<3> neg_x = lin(-1, xs);
        const Span<3> w = mobius_span(b, gm, neg_x, ys);
        const Span<3> log = lin(logmap0_factor(b, gm.norm2(w)), w);
        const double x2raw = gm.g[1][1];
        const double kx = projection(b, x2raw);
        const double x2 = kx * kx * x2raw;
        const double gl = gm.dot(gs, log);
        const Span<3> grad_log = lin(1 - b.c * x2, gs);
        double share = -gl * x2;
        Span<3> grad_w, grad_neg_x, grad_y;
        share += logmap0_backward_span(b, gm, w, grad_log, grad_w);
        share += mobius_add_backward_span(b, gm, neg_x, ys, grad_w, grad_neg_x, grad_y);
        Span<3> grad_x = lin(-2 * b.c * gl * kx, xs);
        share += unproject(b, gm, grad_x, xs, x2raw);
        grad_x = lin(1, grad_x, -1, &grad_neg_x);
        float *const outs[2] = {gx + row * ldgx, gy + row * ldgy};
        const Span<3> coefficient[2] = {grad_x, grad_y};
        write_spans<3, 2>(outs, coefficient, base, dim);
        put_share(dc_rows, row, share);
    }
}

// distance (y != nullptr) and distance to the origin (y == nullptr, gy unused).
__global__ void __launch_bounds__(kThreads)
    distance_backward_kernel(Ball b, int64_t rows, int dim, const float *x, int64_t ldx, const float *y, int64_t ldy,
                             const float *gout, float *gx, int64_t ldgx, float *gy, int64_t ldgy, double *dc_rows) {
    FOR_EACH_ROW(rows) {
        const float *xr = x + row * ldx;
        const float *const base[2] = {xr, y != nullptr ? y + row * ldy : xr};
        const Gram<2> gm = gram_of<2>(base, dim);
        const double go = gout[row];
        const Span<2> xs = unit<2>(0), ys = unit<2>(1);
        if (y != nullptr) {
            const SpanPair r = span_pair(b, gm, xs, ys);
            const DistanceGrad d = distance_full(b, r.xy, r.x2, r.y2);
            Span<2> grad_x = lin(2 * go * d.by_x2 * r.kx, xs, go * d.by_g * r.ky, &ys);
            Span<2> grad_y = lin(go * d.by_g * r.kx, xs, 2 * go * d.by_y2 * r.ky, &ys);
            const double share = go * d.by_c + unproject(b, gm, grad_x, xs, r.x2raw) + unproject(b, gm, grad_y, ys,
                                                         r.y2raw);
            float *const outs[2] = {gx + row * ldgx, gy + row * ldgy};
            const Span<2> coefficient[2] = {grad_x, grad_y};
            write_spans<2, 2>(outs, coefficient, base, dim);
            put_share(dc_rows, row, share);
        } else {
            const double x2raw = gm.g[0][0];
            const double kx = projection(b, x2raw);
            const DistanceGrad d = distance_full(b, 0, kx * kx * x2raw, 0);
            Span<2> grad_x = lin(2 * go * d.by_x2 * kx, xs);
            const double share = go * d.by_c + unproject(b, gm, grad_x, xs, x2raw);
            float *const outs[1] = {gx + row * ldgx};
            const Span<2> coefficient[1] = {grad_x};
            write_spans<2, 1>(outs, coefficient, base, dim);
            put_share(dc_rows, row, share);
        }
    }
}

__global__ void __launch_bounds__(kThreads)
    gyration_backward_kernel(Ball b, int64_t rows, int dim, const float *u, int64_t ldu, const float *v, int64_t ldv,
                             const float *w, int64_t ldw, const float *g, int64_t ldg, float *gu, int64_t ldgu,
                             float *gv, int64_t ldgv, float *gw, int64_t ldgw, double *dc_rows) {
    FOR_EACH_ROW(rows) {
        const float *const base[4] = {g + row * ldg, u + row * ldu, v + row * ldv, w + row * ldw};
        const Gram<4> gm = gram_of<4>(base, dim);
        const Span<4> gs = unit<4>(0), us = unit<4>(1), vs = unit<4>(2), ws = unit<4>(3);
        const SpanPair r = span_pair(b, gm, us, vs);
        const double uw = gm.dot(us, ws) * r.kx;
        const double vw = gm.dot(vs, ws) * r.ky;
        const double su = gm.dot(gs, us) * r.kx;
        const double sv = gm.dot(gs, vs) * r.ky;
        const GyrationGrad gg = gyration_full(b, uw, vw, r.xy, r.x2, r.y2, su, sv);
        const Span<4> grad_w = lin(1, gs, gg.by_uw * r.kx, &us, gg.by_vw * r.ky, &vs);
        Span<4> grad_u = lin(gg.alpha, gs, gg.by_uw, &ws, gg.by_uv * r.ky, &vs);
        grad_u = lin(1, grad_u, 2 * gg.by_u2 * r.kx, &us);
        Span<4> grad_v = lin(gg.beta, gs, gg.by_vw, &ws, gg.by_uv * r.kx, &us);
        grad_v = lin(1, grad_v, 2 * gg.by_v2 * r.ky, &vs);
        const double share = gg.by_c + unproject(b, gm, grad_u, us, r.x2raw) + unproject(b, gm, grad_v, vs, r.y2raw);
        float *const outs[3] = {gu + row * ldgu, gv + row * ldgv, gw + row * ldgw};
        const Span<4> coefficient[3] = {grad_u, grad_v, grad_w};
        write_spans<4, 3>(outs, coefficient, base, dim);
        put_share(dc_rows, row, share);
    }
}

// s·gyr[y', -x']v with s = λ_x/λ_y = (1 - c||y'||²)/(1 - c||x'||²).
__global__ void __launch_bounds__(kThreads)
    transport_backward_kernel(Ball b, int64_t rows, int dim, const float *x, int64_t ldx, const float *y, int64_t ldy,
                              const float *v, int64_t ldv, const float *g, int64_t ldg, float *gx, int64_t ldgx,
                              float *gy, int64_t ldgy, float *gv, int64_t ldgv, double *dc_rows) {
    FOR_EACH_ROW(rows) {
        const float *const base[4] = {g + row * ldg, x + row * ldx, y + row * ldy, v + row * ldv};
        const Gram<4> gm = gram_of<4>(base, dim);
        const Span<4> gs = unit<4>(0), xs = unit<4>(1), ys = unit<4>(2), vs = unit<4>(3);
        const SpanPair r = span_pair(b, gm, ys, xs);  // r's "x" is y', its "y" is x'
        const double yv = gm.dot(ys, vs) * r.kx;
        const double minus_xv = -gm.dot(xs, vs) * r.ky;
        const double gdot_y = gm.dot(gs, ys) * r.kx;
        const double gdot_x = gm.dot(gs, xs) * r.ky;
        const double gdot_v = gm.dot(gs, vs);
        const double one_minus_cx2 = 1 - b.c * r.y2;
        const double one_minus_cy2 = 1 - b.c * r.x2;
        const double s = one_minus_cy2 / one_minus_cx2;
        const GyrationGrad gg = gyration_full(b, yv, minus_xv, -r.xy, r.x2, r.y2, s * gdot_y, -s * gdot_x);
        const double g_gyr = gdot_v + gg.alpha * gdot_y - gg.beta * gdot_x;
        const double s_by_x2 = b.c * one_minus_cy2 / (one_minus_cx2 * one_minus_cx2);
        const double s_by_y2 = -b.c / one_minus_cx2;
        const double s_by_c = (r.y2 - r.x2) / (one_minus_cx2 * one_minus_cx2);
        const Span<4> grad_v = lin(s, gs, gg.by_uw * r.kx, &ys, -gg.by_vw * r.ky, &xs);
        Span<4> grad_y = lin(gg.alpha * s, gs, gg.by_uw, &vs, -gg.by_uv * r.ky, &xs);
        grad_y = lin(1, grad_y, 2 * (gg.by_u2 + g_gyr * s_by_y2) * r.kx, &ys);
        Span<4> grad_x = lin(-gg.beta * s, gs, -gg.by_vw, &vs, -gg.by_uv * r.kx, &ys);
        grad_x = lin(1, grad_x, 2 * (gg.by_v2 + g_gyr * s_by_x2) * r.ky, &xs);
        const double share = gg.by_c + g_gyr * s_by_c + unproject(b, gm, grad_y, ys, r.x2raw) +
                             unproject(b, gm, grad_x, xs, r.y2raw);
        float *const outs[3] = {gx + row * ldgx, gy + row * ldgy, gv + row * ldgv};
        const Span<4> coefficient[3] = {grad_x, grad_y, grad_v};
        write_spans<4, 3>(outs, coefficient, base, dim);
        put_share(dc_rows, row, share);
    }
}

__global__ void __launch_bounds__(kThreads)
    transport0_backward_kernel(Ball b, int64_t rows, int dim, const float *y, int64_t ldy, const float *v, int64_t ldv,
                               const float *g, int64_t ldg, float *gy, int64_t ldgy, float *gv, int64_t ldgv,
                               double *dc_rows) {
    FOR_EACH_ROW(rows) {
        const float *const base[3] = {g + row * ldg, y + row * ldy, v + row * ldv};
        const Gram<3> gm = gram_of<3>(base, dim);
        const Span<3> gs = unit<3>(0), ys = unit<3>(1);
        const double y2raw = gm.g[1][1];
        const double ky = projection(b, y2raw);
        const double gdv = gm.g[0][2];
        const Span<3> grad_v = lin(1 - b.c * ky * ky * y2raw, gs);
        Span<3> grad_y = lin(-2 * b.c * gdv * ky, ys);
        const double share = -gdv * ky * ky * y2raw + unproject(b, gm, grad_y, ys, y2raw);
        float *const outs[2] = {gy + row * ldgy, gv + row * ldgv};
        const Span<3> coefficient[2] = {grad_y, grad_v};
        write_spans<3, 2>(outs, coefficient, base, dim);
        put_share(dc_rows, row, share);
    }
}

__device__ __forceinline__ double warp_sum_double(double v) {
    for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
    return v;
}

// The sum of v over the block, in every thread; every thread of the block must call it. The second barrier
// keeps a later call from overwriting the partials before every thread has read them.
__device__ __forceinline__ float block_sum(float v, float *partial) {
    v = tl::warp_sum(v);
    if ((threadIdx.x & 31u) == 0) partial[threadIdx.x >> 5] = v;
    __syncthreads();
    float s = 0.f;
    for (int w = 0; w < kThreads / 32; ++w) s += partial[w];
    __syncthreads();
    return s;
}

// grad_m[o][j] = Σ_i grad_z[i][o]·log[i][j]: the product with the transposed left operand that the dense
// family's GEMMs do not take. One thread per element of grad_m, consecutive threads along j.
__global__ void __launch_bounds__(kThreads)
    matvec_weight_gradient_kernel(int64_t rows, int64_t out_dim, int64_t dim, const float *grad_z, int64_t ldgz,
                                  const float *log, int64_t ldlog, float *grad_m, int64_t ldgm) {
    const int64_t total = out_dim * dim;
    for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
        const int64_t o = e / dim;
        const int64_t j = e - o * dim;
        float acc = 0.f;
        for (int64_t i = 0; i < rows; ++i) acc = fmaf(grad_z[i * ldgz + o], log[i * ldlog + j], acc);
        grad_m[o * ldgm + j] = acc;
    }
}

// All-pairs distance backward, by columns: y_norm_grad[j] = Σ_i go_ij·∂d_ij/∂||y_j'||². Reads g, the Gram
// matrix, before the row pass overwrites it.
__global__ void __launch_bounds__(kThreads)
    gram_backward_cols_kernel(Ball b, int64_t x_rows, int64_t y_rows, const double *x_scale, const double *x2,
                              const double *y_scale, const double *y2, const float *g, int64_t ldg,
                              const float *grad_out, int64_t ldgo, float *y_norm_grad) {
    FOR_EACH_ROW(y_rows) {
        const int64_t j = row;
        double acc = 0;
        for (int64_t i = lane_id(); i < x_rows; i += 32) {
            const double gij = double(g[i * ldg + j]) * x_scale[i] * y_scale[j];
            const DistanceGrad d = distance_full(b, gij, x2[i], y2[j]);
            acc += double(grad_out[i * ldgo + j]) * d.by_y2;
        }
        acc = warp_sum_double(acc);
        if (lane_id() == 0) y_norm_grad[j] = float(acc);
    }
}

// All-pairs distance backward, by rows: g[i][j] becomes go·∂d/∂g·ky_j (for dL/dX = that·Y), g_t[j][i]
// go·∂d/∂g·kx_i (for dL/dY = that·X); x_norm_grad[i] = Σ_j go·∂d/∂||x_i'||², and row i's share of dL/dc.
__global__ void __launch_bounds__(kThreads)
    gram_backward_rows_kernel(Ball b, int64_t x_rows, int64_t y_rows, const double *x_scale, const double *x2,
                              const double *y_scale, const double *y2, float *g, int64_t ldg, float *g_t,
                              int64_t ldgt, const float *grad_out, int64_t ldgo, float *x_norm_grad,
                              double *dc_rows) {
    FOR_EACH_ROW(x_rows) {
        const int64_t i = row;
        double acc_x = 0, acc_c = 0;
        for (int64_t j = lane_id(); j < y_rows; j += 32) {
            float *gij = g + i * ldg + j;
            const double dot = double(*gij) * x_scale[i] * y_scale[j];
            const DistanceGrad d = distance_full(b, dot, x2[i], y2[j]);
            const double go = grad_out[i * ldgo + j];
            *gij = float(go * d.by_g * y_scale[j]);
            g_t[j * ldgt + i] = float(go * d.by_g * x_scale[i]);
            acc_x += go * d.by_x2;
            acc_c += go * d.by_c;
        }
        acc_x = warp_sum_double(acc_x);
        acc_c = warp_sum_double(acc_c);
        if (lane_id() == 0) {
            x_norm_grad[i] = float(acc_x);
            dc_rows[i] = acc_c;
        }
    }
}

// grad += 2·coefficient·x' (the squared norm's gradient, x' = kx·x), then through x's projection.
__global__ void __launch_bounds__(kThreads)
    norm_gradient_kernel(Ball b, int64_t rows, int dim, const float *x, int64_t ldx, const float *coefficient,
                         float *grad, int64_t ldg, double *dc_rows) {
    FOR_EACH_ROW(rows) {
        const float *const base[2] = {grad + row * ldg, x + row * ldx};
        const Gram<2> gm = gram_of<2>(base, dim);
        const Span<2> xs = unit<2>(1);
        const double x2raw = gm.g[1][1];
        Span<2> gr = lin(1, unit<2>(0), 2 * double(coefficient[row]) * projection(b, x2raw), &xs);
        const double share = unproject(b, gm, gr, xs, x2raw);
        float *const outs[1] = {grad + row * ldg};
        const Span<2> coefficient_out[1] = {gr};
        write_spans<2, 1>(outs, coefficient_out, base, dim);
        put_share(dc_rows, row, share);
    }
}

// The scalars the midpoint's backward pass shares between its kernels.
struct MidpointScalars {
    double den, g_den, dc;
};

// One block: S = Σ coefficient_i·x_i and the denominator as the forward pass computes them, then dL/dS (into
// grad_s) and dL/d(den) through ½⊗(S/den) or, beyond the radius, the projection onto it.
__global__ void __launch_bounds__(kThreads)
    midpoint_backward_sum_kernel(Ball b, int64_t rows, int dim, const float *points, int64_t ldp,
                                 const float *coefficient, const double *den_term, const float *grad_out, float *s,
                                 float *grad_s, MidpointScalars *scalars) {
    __shared__ float partial[kThreads / 32];
    float local2 = 0.f, local_gs = 0.f;
    for (int j = threadIdx.x; j < dim; j += kThreads) {
        float acc = coefficient[0] * points[j];
        for (int64_t i = 1; i < rows; ++i) acc = fmaf(coefficient[i], points[i * ldp + j], acc);
        s[j] = acc;
        local2 = fmaf(acc, acc, local2);
        local_gs = fmaf(grad_out[j], acc, local_gs);
    }
    const double sum2 = block_sum(local2, partial);
    const double gs = block_sum(local_gs, partial);
    double den = 0;
    for (int64_t i = 0; i < rows; ++i) den += den_term[i];
    if (fabs(den) < kMinNorm) den = den < 0 ? -kMinNorm : kMinNorm;
    const double t2 = sum2 / (den * den);
    const double n = sqrt(t2);
    const double g_t = gs / den;
    double on_g, on_t, dc;
    const Scale phi = half_scale_full(b, n);
    if (projection(b, phi.value * phi.value * t2) < 1) {
        on_g = b.max_norm / n;
        on_t = -b.max_norm / n * g_t / t2;
        dc = g_t / n * max_norm_by_c(b);
    } else {
        on_g = phi.value;
        on_t = phi.by_n * g_t / n;
        dc = g_t * phi.by_c;
    }
    const float fg = float(on_g / den), fs = float(on_t / (den * den));
    float local_gss = 0.f;
    for (int j = threadIdx.x; j < dim; j += kThreads) {
        const float v = fmaf(fs, s[j], fg * grad_out[j]);
        grad_s[j] = v;
        local_gss = fmaf(v, s[j], local_gss);
    }
    const double gss = block_sum(local_gss, partial);
    if (threadIdx.x == 0) *scalars = MidpointScalars{den, -gss / den, dc};
}

// Per point: dL/dx_i through λ_i = 2/(1 - c||x_i'||²) and the sum, dL/dα_i, and the point's share of dL/dc.
__global__ void __launch_bounds__(kThreads)
    midpoint_backward_points_kernel(Ball b, int64_t rows, int dim, const float *points, int64_t ldp,
                                    const float *weights, const float *grad_s, const MidpointScalars *scalars,
                                    float *grad_points, int64_t ldgp, float *grad_weights, double *dc_rows) {
    const double g_den = scalars->g_den;
    FOR_EACH_ROW(rows) {
        const float *const base[2] = {grad_s, points + row * ldp};
        const Gram<2> gm = gram_of<2>(base, dim);
        const Span<2> xs = unit<2>(1);
        const double x2raw = gm.g[1][1];
        const double k = projection(b, x2raw);
        const double x2 = k * k * x2raw;
        const double lambda = lambda_of(b, x2);
        const double alpha = weights[row];
        const double gsx = gm.g[0][1] * k;
        const double common = alpha * (gsx + g_den) * lambda * lambda;
        Span<2> gp = lin(alpha * lambda, unit<2>(0), common * b.c * k, &xs);
        const double share = common * x2 / 2 + unproject(b, gm, gp, xs, x2raw);
        float *const outs[1] = {grad_points + row * ldgp};
        const Span<2> coefficient[1] = {gp};
        write_spans<2, 1>(outs, coefficient, base, dim);
        if (lane_id() == 0) grad_weights[row] = float(lambda * gsx + (lambda - 1) * g_den);
        put_share(dc_rows, row, share);
    }
}

// dL/dc = Σ rows' shares (+ *extra), by one block: strided double sums, a double butterfly per warp, then warp 0.
__global__ void __launch_bounds__(kThreads)
    sum_shares_kernel(int64_t rows, const double *dc_rows, const MidpointScalars *extra, float *grad_c) {
    __shared__ double partial[kThreads / 32];
    double s = 0;
    for (int64_t i = threadIdx.x; i < rows; i += kThreads) s += dc_rows[i];
    s = warp_sum_double(s);
    if ((threadIdx.x & 31u) == 0) partial[threadIdx.x >> 5] = s;
    __syncthreads();
    if (threadIdx.x == 0) {
        double total = extra != nullptr ? extra->dc : 0;
        for (int w = 0; w < kThreads / 32; ++w) total += partial[w];
        *grad_c = float(total);
    }
}

}  // namespace

using namespace tl;

namespace {

tl_status check_curvature(const char *fn, float c) {
    if (!(c > 0) || !std::isfinite(c)) {
        return fail(TL_ERROR_INVALID_ARGUMENT, "%s: the curvature -c needs c > 0 and finite, got c = %g", fn,
                    double(c));
    }
    return TL_OK;
}

tl_status check_dims(const char *fn, int64_t rows, int64_t dim) {
    TL_TRY(check_sizes(fn, "rows", rows, "dim", dim));
    if (rows > kMaxKernelDim || dim > kMaxKernelDim) {
        return fail(TL_ERROR_INVALID_ARGUMENT, "%s: rows %lld or dim %lld exceed the kernel's range", fn,
                    (long long)rows, (long long)dim);
    }
    return TL_OK;
}

// A [rows, cols] operand: its handle, then its extent.
tl_status rows_operand(const char *fn, const char *name, const char *ld_name, tl_buffer handle, uint64_t offset,
                       int64_t rows, int64_t cols, int64_t ld, float **first) {
    Buffer buffer;
    TL_TRY(get_buffer(fn, name, handle, &buffer));
    return check_matrix(fn, name, "rows", "dim", ld_name, buffer, offset, rows, cols, ld, first);
}

tl_status per_row_operand(const char *fn, const char *name, tl_buffer handle, uint64_t offset, int64_t rows,
                          float **first) {
    Buffer buffer;
    TL_TRY(get_buffer(fn, name, handle, &buffer));
    return check_vector(fn, name, "rows", buffer, offset, rows, first);
}

// An entry point's operand: [rows, dim] with its leading dimension, or, where ld_name is null, per-row.
struct Operand {
    const char *name;
    const char *ld_name;
    tl_buffer handle;
    uint64_t offset;
    int64_t ld;
    float **first;
};

tl_status check_operands(const char *fn, int64_t rows, int64_t dim, std::initializer_list<Operand> operands) {
    for (const Operand &o : operands) {
        TL_TRY(o.ld_name != nullptr
                   ? rows_operand(fn, o.name, o.ld_name, o.handle, o.offset, rows, dim, o.ld, o.first)
                   : per_row_operand(fn, o.name, o.handle, o.offset, rows, o.first));
    }
    return TL_OK;
}

// The common start of a row kernel's entry point: stream, curvature, sizes.
tl_status begin(const char *fn, tl_stream stream, float c, int64_t rows, int64_t dim, cudaStream_t *st) {
    TL_TRY(get_stream(fn, stream, st));
    TL_TRY(check_curvature(fn, c));
    return check_dims(fn, rows, dim);
}

dim3 row_grid(int64_t rows) { return dim3(row_blocks(rows, kRowsPerBlock)); }

// The one float dL/dc is written to.
tl_status grad_c_operand(const char *fn, tl_buffer handle, uint64_t offset, float **first) {
    Buffer buffer;
    TL_TRY(get_buffer(fn, "grad_c", handle, &buffer));
    return check_vector(fn, "grad_c", "1", buffer, offset, 1, first);
}

// Runs a backward row kernel, launch(dc_rows), whose rows put their shares of dL/dc in scratch, then sums the
// shares into *grad_c (0 for no rows).
template <class Launch>
tl_status with_shares(const char *fn, tl_stream stream, cudaStream_t st, int64_t rows, float *grad_c,
                      const char *kernel, Launch launch) {
    void *scratch = nullptr;
    std::unique_lock<std::mutex> lock;
    TL_TRY(stream_scratch(fn, stream, uint64_t(rows > 0 ? rows : 1) * sizeof(double), &scratch, &lock));
    double *dc_rows = static_cast<double *>(scratch);
    if (rows > 0) {
        launch(dc_rows);
        TL_TRY(check_launch(fn, kernel));
    }
    TL_LAUNCH(sum_shares_kernel, dim3(1), dim3(kThreads), 0, st, rows, static_cast<const double *>(dc_rows),
              static_cast<const MidpointScalars *>(nullptr), grad_c);
    return check_launch(fn, "sum_shares_kernel");
}

}  // namespace

extern "C" {

TL_API tl_status tl_poincare_project(tl_stream stream, float c, int64_t rows, int64_t dim, tl_buffer x,
                                     uint64_t x_offset, int64_t ldx, tl_buffer out, uint64_t out_offset,
                                     int64_t ldout) {
    static const char *fn = "tl_poincare_project";
    cudaStream_t st;
    float *px, *po;
    TL_TRY(begin(fn, stream, c, rows, dim, &st));
    TL_TRY(rows_operand(fn, "x", "ldx", x, x_offset, rows, dim, ldx, &px));
    TL_TRY(rows_operand(fn, "out", "ldout", out, out_offset, rows, dim, ldout, &po));
    if (rows == 0) return TL_OK;
    TL_LAUNCH(project_kernel, row_grid(rows), dim3(kThreads), 0, st, make_ball(c), rows, int(dim), px, ldx, po, ldout);
    return check_launch(fn, "project_kernel");
}

TL_API tl_status tl_poincare_mobius_add(tl_stream stream, float c, int64_t rows, int64_t dim, tl_buffer x,
                                        uint64_t x_offset, int64_t ldx, tl_buffer y, uint64_t y_offset, int64_t ldy,
                                        tl_buffer out, uint64_t out_offset, int64_t ldout) {
    static const char *fn = "tl_poincare_mobius_add";
    cudaStream_t st;
    float *px, *py, *po;
    TL_TRY(begin(fn, stream, c, rows, dim, &st));
    TL_TRY(rows_operand(fn, "x", "ldx", x, x_offset, rows, dim, ldx, &px));
    TL_TRY(rows_operand(fn, "y", "ldy", y, y_offset, rows, dim, ldy, &py));
    TL_TRY(rows_operand(fn, "out", "ldout", out, out_offset, rows, dim, ldout, &po));
    if (rows == 0) return TL_OK;
    TL_LAUNCH(mobius_add_kernel, row_grid(rows), dim3(kThreads), 0, st, make_ball(c), rows, int(dim), px, ldx, py, ldy,
              po, ldout);
    return check_launch(fn, "mobius_add_kernel");
}

TL_API tl_status tl_poincare_scalar_mul(tl_stream stream, float c, int64_t rows, int64_t dim, tl_buffer r,
                                        uint64_t r_offset, tl_buffer x, uint64_t x_offset, int64_t ldx,
                                        tl_buffer out, uint64_t out_offset, int64_t ldout) {
    static const char *fn = "tl_poincare_scalar_mul";
    cudaStream_t st;
    float *pr, *px, *po;
    TL_TRY(begin(fn, stream, c, rows, dim, &st));
    TL_TRY(per_row_operand(fn, "r", r, r_offset, rows, &pr));
    TL_TRY(rows_operand(fn, "x", "ldx", x, x_offset, rows, dim, ldx, &px));
    TL_TRY(rows_operand(fn, "out", "ldout", out, out_offset, rows, dim, ldout, &po));
    if (rows == 0) return TL_OK;
    TL_LAUNCH(scalar_mul_kernel, row_grid(rows), dim3(kThreads), 0, st, make_ball(c), rows, int(dim), pr, px, ldx, po,
              ldout);
    return check_launch(fn, "scalar_mul_kernel");
}

TL_API tl_status tl_poincare_matvec_finish(tl_stream stream, float c, int64_t rows, int64_t dim, int64_t out_dim,
                                           tl_buffer x, uint64_t x_offset, int64_t ldx, tl_buffer mx,
                                           uint64_t mx_offset, int64_t ldmx) {
    static const char *fn = "tl_poincare_matvec_finish";
    cudaStream_t st;
    float *px, *pm;
    TL_TRY(begin(fn, stream, c, rows, dim, &st));
    TL_TRY(check_dims(fn, rows, out_dim));
    TL_TRY(rows_operand(fn, "x", "ldx", x, x_offset, rows, dim, ldx, &px));
    Buffer mb;
    TL_TRY(get_buffer(fn, "mx", mx, &mb));
    TL_TRY(check_matrix(fn, "mx", "rows", "out_dim", "ldmx", mb, mx_offset, rows, out_dim, ldmx, &pm));
    if (rows == 0) return TL_OK;
    TL_LAUNCH(matvec_finish_kernel, row_grid(rows), dim3(kThreads), 0, st, make_ball(c), rows, int(dim), int(out_dim),
              px, ldx, pm, ldmx);
    return check_launch(fn, "matvec_finish_kernel");
}

TL_API tl_status tl_poincare_expmap0(tl_stream stream, float c, int64_t rows, int64_t dim, tl_buffer v,
                                     uint64_t v_offset, int64_t ldv, tl_buffer out, uint64_t out_offset,
                                     int64_t ldout) {
    static const char *fn = "tl_poincare_expmap0";
    cudaStream_t st;
    float *pv, *po;
    TL_TRY(begin(fn, stream, c, rows, dim, &st));
    TL_TRY(rows_operand(fn, "v", "ldv", v, v_offset, rows, dim, ldv, &pv));
    TL_TRY(rows_operand(fn, "out", "ldout", out, out_offset, rows, dim, ldout, &po));
    if (rows == 0) return TL_OK;
    TL_LAUNCH(expmap0_kernel, row_grid(rows), dim3(kThreads), 0, st, make_ball(c), rows, int(dim), pv, ldv, po, ldout);
    return check_launch(fn, "expmap0_kernel");
}

TL_API tl_status tl_poincare_logmap0(tl_stream stream, float c, int64_t rows, int64_t dim, tl_buffer y,
                                     uint64_t y_offset, int64_t ldy, tl_buffer out, uint64_t out_offset,
                                     int64_t ldout) {
    static const char *fn = "tl_poincare_logmap0";
    cudaStream_t st;
    float *py, *po;
    TL_TRY(begin(fn, stream, c, rows, dim, &st));
    TL_TRY(rows_operand(fn, "y", "ldy", y, y_offset, rows, dim, ldy, &py));
    TL_TRY(rows_operand(fn, "out", "ldout", out, out_offset, rows, dim, ldout, &po));
    if (rows == 0) return TL_OK;
    TL_LAUNCH(logmap0_kernel, row_grid(rows), dim3(kThreads), 0, st, make_ball(c), rows, int(dim), py, ldy, po, ldout);
    return check_launch(fn, "logmap0_kernel");
}

TL_API tl_status tl_poincare_expmap(tl_stream stream, float c, int64_t rows, int64_t dim, tl_buffer x,
                                    uint64_t x_offset, int64_t ldx, tl_buffer v, uint64_t v_offset, int64_t ldv,
                                    tl_buffer out, uint64_t out_offset, int64_t ldout) {
    static const char *fn = "tl_poincare_expmap";
    cudaStream_t st;
    float *px, *pv, *po;
    TL_TRY(begin(fn, stream, c, rows, dim, &st));
    TL_TRY(rows_operand(fn, "x", "ldx", x, x_offset, rows, dim, ldx, &px));
    TL_TRY(rows_operand(fn, "v", "ldv", v, v_offset, rows, dim, ldv, &pv));
    TL_TRY(rows_operand(fn, "out", "ldout", out, out_offset, rows, dim, ldout, &po));
    if (rows == 0) return TL_OK;
    TL_LAUNCH(expmap_kernel, row_grid(rows), dim3(kThreads), 0, st, make_ball(c), rows, int(dim), px, ldx, pv, ldv, po,
              ldout);
    return check_launch(fn, "expmap_kernel");
}

TL_API tl_status tl_poincare_logmap(tl_stream stream, float c, int64_t rows, int64_t dim, tl_buffer x,
                                    uint64_t x_offset, int64_t ldx, tl_buffer y, uint64_t y_offset, int64_t ldy,
                                    tl_buffer out, uint64_t out_offset, int64_t ldout) {
    static const char *fn = "tl_poincare_logmap";
    cudaStream_t st;
    float *px, *py, *po;
    TL_TRY(begin(fn, stream, c, rows, dim, &st));
    TL_TRY(rows_operand(fn, "x", "ldx", x, x_offset, rows, dim, ldx, &px));
    TL_TRY(rows_operand(fn, "y", "ldy", y, y_offset, rows, dim, ldy, &py));
    TL_TRY(rows_operand(fn, "out", "ldout", out, out_offset, rows, dim, ldout, &po));
    if (rows == 0) return TL_OK;
    TL_LAUNCH(logmap_kernel, row_grid(rows), dim3(kThreads), 0, st, make_ball(c), rows, int(dim), px, ldx, py, ldy, po,
              ldout);
    return check_launch(fn, "logmap_kernel");
}

TL_API tl_status tl_poincare_distance(tl_stream stream, float c, int64_t rows, int64_t dim, tl_buffer x,
                                      uint64_t x_offset, int64_t ldx, tl_buffer y, uint64_t y_offset, int64_t ldy,
                                      tl_buffer out, uint64_t out_offset) {
    static const char *fn = "tl_poincare_distance";
    cudaStream_t st;
    float *px, *py, *po;
    TL_TRY(begin(fn, stream, c, rows, dim, &st));
    TL_TRY(rows_operand(fn, "x", "ldx", x, x_offset, rows, dim, ldx, &px));
    TL_TRY(rows_operand(fn, "y", "ldy", y, y_offset, rows, dim, ldy, &py));
    TL_TRY(per_row_operand(fn, "out", out, out_offset, rows, &po));
    if (rows == 0) return TL_OK;
    TL_LAUNCH(distance_kernel, row_grid(rows), dim3(kThreads), 0, st, make_ball(c), rows, int(dim), px, ldx, py, ldy,
              po);
    return check_launch(fn, "distance_kernel");
}

TL_API tl_status tl_poincare_distance0(tl_stream stream, float c, int64_t rows, int64_t dim, tl_buffer x,
                                       uint64_t x_offset, int64_t ldx, tl_buffer out, uint64_t out_offset) {
    static const char *fn = "tl_poincare_distance0";
    cudaStream_t st;
    float *px, *po;
    TL_TRY(begin(fn, stream, c, rows, dim, &st));
    TL_TRY(rows_operand(fn, "x", "ldx", x, x_offset, rows, dim, ldx, &px));
    TL_TRY(per_row_operand(fn, "out", out, out_offset, rows, &po));
    if (rows == 0) return TL_OK;
    TL_LAUNCH(distance0_kernel, row_grid(rows), dim3(kThreads), 0, st, make_ball(c), rows, int(dim), px, ldx, po);
    return check_launch(fn, "distance0_kernel");
}

TL_API tl_status tl_poincare_gram_to_distance(tl_stream stream, float c, int64_t x_rows, int64_t y_rows, int64_t dim,
                                              tl_buffer x, uint64_t x_offset, int64_t ldx, tl_buffer y,
                                              uint64_t y_offset, int64_t ldy, tl_buffer g, uint64_t g_offset,
                                              int64_t ldg) {
    static const char *fn = "tl_poincare_gram_to_distance";
    cudaStream_t st;
    float *px, *py, *pg;
    TL_TRY(begin(fn, stream, c, x_rows, dim, &st));
    TL_TRY(check_dims(fn, y_rows, dim));
    TL_TRY(rows_operand(fn, "x", "ldx", x, x_offset, x_rows, dim, ldx, &px));
    TL_TRY(rows_operand(fn, "y", "ldy", y, y_offset, y_rows, dim, ldy, &py));
    Buffer gb;
    TL_TRY(get_buffer(fn, "g", g, &gb));
    TL_TRY(check_matrix(fn, "g", "x_rows", "y_rows", "ldg", gb, g_offset, x_rows, y_rows, ldg, &pg));
    if (x_rows == 0 || y_rows == 0) return TL_OK;
    // Scratch: scale and squared norm of every x row, then of every y row, in double.
    void *scratch = nullptr;
    std::unique_lock<std::mutex> lock;
    TL_TRY(stream_scratch(fn, stream, uint64_t(2 * (x_rows + y_rows)) * sizeof(double), &scratch, &lock));
    double *x_scale = static_cast<double *>(scratch);
    double *x2 = x_scale + x_rows;
    double *y_scale = x2 + x_rows;
    double *y2 = y_scale + y_rows;
    const Ball b = make_ball(c);
    TL_LAUNCH(point_norms_kernel, row_grid(x_rows), dim3(kThreads), 0, st, b, x_rows, int(dim), px, ldx, x_scale, x2);
    TL_TRY(check_launch(fn, "point_norms_kernel"));
    TL_LAUNCH(point_norms_kernel, row_grid(y_rows), dim3(kThreads), 0, st, b, y_rows, int(dim), py, ldy, y_scale, y2);
    TL_TRY(check_launch(fn, "point_norms_kernel"));
    TL_LAUNCH(gram_to_distance_kernel, dim3(row_blocks(x_rows * y_rows, kThreads)), dim3(kThreads), 0, st, b, x_rows,
              y_rows, x_scale, x2, y_scale, y2, pg, ldg);
    return check_launch(fn, "gram_to_distance_kernel");
}

TL_API tl_status tl_poincare_gyration(tl_stream stream, float c, int64_t rows, int64_t dim, tl_buffer u,
                                      uint64_t u_offset, int64_t ldu, tl_buffer v, uint64_t v_offset, int64_t ldv,
                                      tl_buffer w, uint64_t w_offset, int64_t ldw, tl_buffer out,
                                      uint64_t out_offset, int64_t ldout) {
    static const char *fn = "tl_poincare_gyration";
    cudaStream_t st;
    float *pu, *pv, *pw, *po;
    TL_TRY(begin(fn, stream, c, rows, dim, &st));
    TL_TRY(rows_operand(fn, "u", "ldu", u, u_offset, rows, dim, ldu, &pu));
    TL_TRY(rows_operand(fn, "v", "ldv", v, v_offset, rows, dim, ldv, &pv));
    TL_TRY(rows_operand(fn, "w", "ldw", w, w_offset, rows, dim, ldw, &pw));
    TL_TRY(rows_operand(fn, "out", "ldout", out, out_offset, rows, dim, ldout, &po));
    if (rows == 0) return TL_OK;
    TL_LAUNCH(gyration_kernel, row_grid(rows), dim3(kThreads), 0, st, make_ball(c), rows, int(dim), pu, ldu, pv, ldv,
              pw, ldw, po, ldout);
    return check_launch(fn, "gyration_kernel");
}

TL_API tl_status tl_poincare_transport(tl_stream stream, float c, int64_t rows, int64_t dim, tl_buffer x,
                                       uint64_t x_offset, int64_t ldx, tl_buffer y, uint64_t y_offset, int64_t ldy,
                                       tl_buffer v, uint64_t v_offset, int64_t ldv, tl_buffer out,
                                       uint64_t out_offset, int64_t ldout) {
    static const char *fn = "tl_poincare_transport";
    cudaStream_t st;
    float *px, *py, *pv, *po;
    TL_TRY(begin(fn, stream, c, rows, dim, &st));
    TL_TRY(rows_operand(fn, "x", "ldx", x, x_offset, rows, dim, ldx, &px));
    TL_TRY(rows_operand(fn, "y", "ldy", y, y_offset, rows, dim, ldy, &py));
    TL_TRY(rows_operand(fn, "v", "ldv", v, v_offset, rows, dim, ldv, &pv));
    TL_TRY(rows_operand(fn, "out", "ldout", out, out_offset, rows, dim, ldout, &po));
    if (rows == 0) return TL_OK;
    TL_LAUNCH(transport_kernel, row_grid(rows), dim3(kThreads), 0, st, make_ball(c), rows, int(dim), px, ldx, py, ldy,
              pv, ldv, po, ldout);
    return check_launch(fn, "transport_kernel");
}

TL_API tl_status tl_poincare_transport0(tl_stream stream, float c, int64_t rows, int64_t dim, tl_buffer y,
                                        uint64_t y_offset, int64_t ldy, tl_buffer v, uint64_t v_offset, int64_t ldv,
                                        tl_buffer out, uint64_t out_offset, int64_t ldout) {
    static const char *fn = "tl_poincare_transport0";
    cudaStream_t st;
    float *py, *pv, *po;
    TL_TRY(begin(fn, stream, c, rows, dim, &st));
    TL_TRY(rows_operand(fn, "y", "ldy", y, y_offset, rows, dim, ldy, &py));
    TL_TRY(rows_operand(fn, "v", "ldv", v, v_offset, rows, dim, ldv, &pv));
    TL_TRY(rows_operand(fn, "out", "ldout", out, out_offset, rows, dim, ldout, &po));
    if (rows == 0) return TL_OK;
    TL_LAUNCH(transport0_kernel, row_grid(rows), dim3(kThreads), 0, st, make_ball(c), rows, int(dim), py, ldy, pv, ldv,
              po, ldout);
    return check_launch(fn, "transport0_kernel");
}

TL_API tl_status tl_poincare_weighted_midpoint(tl_stream stream, float c, int64_t rows, int64_t dim, tl_buffer points,
                                               uint64_t points_offset, int64_t ldp, tl_buffer weights,
                                               uint64_t weights_offset, tl_buffer out, uint64_t out_offset) {
    static const char *fn = "tl_poincare_weighted_midpoint";
    cudaStream_t st;
    float *pp, *pw, *po;
    TL_TRY(begin(fn, stream, c, rows, dim, &st));
    if (rows == 0) return fail(TL_ERROR_INVALID_ARGUMENT, "%s: the weighted midpoint of no points is undefined", fn);
    TL_TRY(rows_operand(fn, "points", "ldp", points, points_offset, rows, dim, ldp, &pp));
    TL_TRY(per_row_operand(fn, "weights", weights, weights_offset, rows, &pw));
    Buffer ob;
    TL_TRY(get_buffer(fn, "out", out, &ob));
    TL_TRY(check_vector(fn, "out", "dim", ob, out_offset, dim, &po));
    if (dim == 0) return TL_OK;
    // Scratch: one double denominator term, then one float coefficient, per point.
    void *scratch = nullptr;
    std::unique_lock<std::mutex> lock;
    TL_TRY(stream_scratch(fn, stream, uint64_t(rows) * (sizeof(double) + sizeof(float)), &scratch, &lock));
    double *den_term = static_cast<double *>(scratch);
    float *coefficient = reinterpret_cast<float *>(den_term + rows);
    const Ball b = make_ball(c);
    TL_LAUNCH(midpoint_terms_kernel, row_grid(rows), dim3(kThreads), 0, st, b, rows, int(dim), pp, ldp, pw, coefficient,
              den_term);
    TL_TRY(check_launch(fn, "midpoint_terms_kernel"));
    TL_LAUNCH(midpoint_finish_kernel, dim3(1), dim3(kThreads), 0, st, b, rows, int(dim), pp, ldp, coefficient, den_term,
              po);
    return check_launch(fn, "midpoint_finish_kernel");
}

TL_API tl_status tl_poincare_project_backward(tl_stream stream, float c, int64_t rows, int64_t dim, tl_buffer x,
                                              uint64_t x_offset, int64_t ldx, tl_buffer grad_out,
                                              uint64_t grad_out_offset, int64_t ldgo, tl_buffer grad_x,
                                              uint64_t grad_x_offset, int64_t ldgx, tl_buffer grad_c,
                                              uint64_t grad_c_offset) {
    static const char *fn = "tl_poincare_project_backward";
    cudaStream_t st;
    float *p_x, *p_grad_out, *p_grad_x, *p_grad_c;
    TL_TRY(begin(fn, stream, c, rows, dim, &st));
    TL_TRY(check_operands(fn, rows, dim,
                          {{"x", "ldx", x, x_offset, ldx, &p_x},
                           {"grad_out", "ldgo", grad_out, grad_out_offset, ldgo, &p_grad_out},
                           {"grad_x", "ldgx", grad_x, grad_x_offset, ldgx, &p_grad_x}}));
    TL_TRY(grad_c_operand(fn, grad_c, grad_c_offset, &p_grad_c));
    const Ball b = make_ball(c);
    return with_shares(fn, stream, st, rows, p_grad_c, "project_backward_kernel", [&](double *dc) {
        TL_LAUNCH(project_backward_kernel, row_grid(rows), dim3(kThreads), 0, st, b, rows, int(dim), p_x, ldx,
                  p_grad_out, ldgo, p_grad_x, ldgx, dc);
    });
}

TL_API tl_status tl_poincare_mobius_add_backward(tl_stream stream, float c, int64_t rows, int64_t dim, tl_buffer x,
                                                 uint64_t x_offset, int64_t ldx, tl_buffer y, uint64_t y_offset,
                                                 int64_t ldy, tl_buffer grad_out, uint64_t grad_out_offset,
                                                 int64_t ldgo, tl_buffer grad_x, uint64_t grad_x_offset, int64_t ldgx,
                                                 tl_buffer grad_y, uint64_t grad_y_offset, int64_t ldgy,
                                                 tl_buffer grad_c, uint64_t grad_c_offset) {
    static const char *fn = "tl_poincare_mobius_add_backward";
    cudaStream_t st;
    float *p_x, *p_y, *p_grad_out, *p_grad_x, *p_grad_y, *p_grad_c;
    TL_TRY(begin(fn, stream, c, rows, dim, &st));
    TL_TRY(check_operands(fn, rows, dim,
                          {{"x", "ldx", x, x_offset, ldx, &p_x},
                           {"y", "ldy", y, y_offset, ldy, &p_y},
                           {"grad_out", "ldgo", grad_out, grad_out_offset, ldgo, &p_grad_out},
                           {"grad_x", "ldgx", grad_x, grad_x_offset, ldgx, &p_grad_x},
                           {"grad_y", "ldgy", grad_y, grad_y_offset, ldgy, &p_grad_y}}));
    TL_TRY(grad_c_operand(fn, grad_c, grad_c_offset, &p_grad_c));
    const Ball b = make_ball(c);
    return with_shares(fn, stream, st, rows, p_grad_c, "mobius_add_backward_kernel", [&](double *dc) {
        TL_LAUNCH(mobius_add_backward_kernel, row_grid(rows), dim3(kThreads), 0, st, b, rows, int(dim), p_x, ldx, p_y,
                  ldy, p_grad_out, ldgo, p_grad_x, ldgx, p_grad_y, ldgy, dc);
    });
}

TL_API tl_status tl_poincare_scalar_mul_backward(tl_stream stream, float c, int64_t rows, int64_t dim, tl_buffer r,
                                                 uint64_t r_offset, tl_buffer x, uint64_t x_offset, int64_t ldx,
                                                 tl_buffer grad_out, uint64_t grad_out_offset, int64_t ldgo,
                                                 tl_buffer grad_r, uint64_t grad_r_offset, tl_buffer grad_x,
                                                 uint64_t grad_x_offset, int64_t ldgx, tl_buffer grad_c,
                                                 uint64_t grad_c_offset) {
    static const char *fn = "tl_poincare_scalar_mul_backward";
    cudaStream_t st;
    float *p_r, *p_x, *p_grad_out, *p_grad_r, *p_grad_x, *p_grad_c;
    TL_TRY(begin(fn, stream, c, rows, dim, &st));
    TL_TRY(check_operands(fn, rows, dim,
                          {{"r", nullptr, r, r_offset, 0, &p_r},
                           {"x", "ldx", x, x_offset, ldx, &p_x},
                           {"grad_out", "ldgo", grad_out, grad_out_offset, ldgo, &p_grad_out},
                           {"grad_r", nullptr, grad_r, grad_r_offset, 0, &p_grad_r},
                           {"grad_x", "ldgx", grad_x, grad_x_offset, ldgx, &p_grad_x}}));
    TL_TRY(grad_c_operand(fn, grad_c, grad_c_offset, &p_grad_c));
    const Ball b = make_ball(c);
    return with_shares(fn, stream, st, rows, p_grad_c, "scalar_mul_backward_kernel", [&](double *dc) {
        TL_LAUNCH(scalar_mul_backward_kernel, row_grid(rows), dim3(kThreads), 0, st, b, rows, int(dim), p_r, p_x, ldx,
                  p_grad_out, ldgo, p_grad_r, p_grad_x, ldgx, dc);
    });
}

TL_API tl_status tl_poincare_expmap0_backward(tl_stream stream, float c, int64_t rows, int64_t dim, tl_buffer v,
                                              uint64_t v_offset, int64_t ldv, tl_buffer grad_out,
                                              uint64_t grad_out_offset, int64_t ldgo, tl_buffer grad_v,
                                              uint64_t grad_v_offset, int64_t ldgv, tl_buffer grad_c,
                                              uint64_t grad_c_offset) {
    static const char *fn = "tl_poincare_expmap0_backward";
    cudaStream_t st;
    float *p_v, *p_grad_out, *p_grad_v, *p_grad_c;
    TL_TRY(begin(fn, stream, c, rows, dim, &st));
    TL_TRY(check_operands(fn, rows, dim,
                          {{"v", "ldv", v, v_offset, ldv, &p_v},
                           {"grad_out", "ldgo", grad_out, grad_out_offset, ldgo, &p_grad_out},
                           {"grad_v", "ldgv", grad_v, grad_v_offset, ldgv, &p_grad_v}}));
    TL_TRY(grad_c_operand(fn, grad_c, grad_c_offset, &p_grad_c));
    const Ball b = make_ball(c);
    return with_shares(fn, stream, st, rows, p_grad_c, "expmap0_backward_kernel", [&](double *dc) {
        TL_LAUNCH(expmap0_backward_kernel, row_grid(rows), dim3(kThreads), 0, st, b, rows, int(dim), p_v, ldv,
                  p_grad_out, ldgo, p_grad_v, ldgv, dc);
    });
}

TL_API tl_status tl_poincare_logmap0_backward(tl_stream stream, float c, int64_t rows, int64_t dim, tl_buffer y,
                                              uint64_t y_offset, int64_t ldy, tl_buffer grad_out,
                                              uint64_t grad_out_offset, int64_t ldgo, tl_buffer grad_y,
                                              uint64_t grad_y_offset, int64_t ldgy, tl_buffer grad_c,
                                              uint64_t grad_c_offset) {
    static const char *fn = "tl_poincare_logmap0_backward";
    cudaStream_t st;
    float *p_y, *p_grad_out, *p_grad_y, *p_grad_c;
    TL_TRY(begin(fn, stream, c, rows, dim, &st));
    TL_TRY(check_operands(fn, rows, dim,
                          {{"y", "ldy", y, y_offset, ldy, &p_y},
                           {"grad_out", "ldgo", grad_out, grad_out_offset, ldgo, &p_grad_out},
                           {"grad_y", "ldgy", grad_y, grad_y_offset, ldgy, &p_grad_y}}));
    TL_TRY(grad_c_operand(fn, grad_c, grad_c_offset, &p_grad_c));
    const Ball b = make_ball(c);
    return with_shares(fn, stream, st, rows, p_grad_c, "logmap0_backward_kernel", [&](double *dc) {
        TL_LAUNCH(logmap0_backward_kernel, row_grid(rows), dim3(kThreads), 0, st, b, rows, int(dim), p_y, ldy,
                  p_grad_out, ldgo, p_grad_y, ldgy, dc);
    });
}

TL_API tl_status tl_poincare_expmap_backward(tl_stream stream, float c, int64_t rows, int64_t dim, tl_buffer x,
                                             uint64_t x_offset, int64_t ldx, tl_buffer v, uint64_t v_offset,
                                             int64_t ldv, tl_buffer grad_out, uint64_t grad_out_offset, int64_t ldgo,
                                             tl_buffer grad_x, uint64_t grad_x_offset, int64_t ldgx, tl_buffer grad_v,
                                             uint64_t grad_v_offset, int64_t ldgv, tl_buffer grad_c,
                                             uint64_t grad_c_offset) {
    static const char *fn = "tl_poincare_expmap_backward";
    cudaStream_t st;
    float *p_x, *p_v, *p_grad_out, *p_grad_x, *p_grad_v, *p_grad_c;
    TL_TRY(begin(fn, stream, c, rows, dim, &st));
    TL_TRY(check_operands(fn, rows, dim,
                          {{"x", "ldx", x, x_offset, ldx, &p_x},
                           {"v", "ldv", v, v_offset, ldv, &p_v},
                           {"grad_out", "ldgo", grad_out, grad_out_offset, ldgo, &p_grad_out},
                           {"grad_x", "ldgx", grad_x, grad_x_offset, ldgx, &p_grad_x},
                           {"grad_v", "ldgv", grad_v, grad_v_offset, ldgv, &p_grad_v}}));
    TL_TRY(grad_c_operand(fn, grad_c, grad_c_offset, &p_grad_c));
    const Ball b = make_ball(c);
    return with_shares(fn, stream, st, rows, p_grad_c, "expmap_backward_kernel", [&](double *dc) {
        TL_LAUNCH(expmap_backward_kernel, row_grid(rows), dim3(kThreads), 0, st, b, rows, int(dim), p_x, ldx, p_v,
                  ldv, p_grad_out, ldgo, p_grad_x, ldgx, p_grad_v, ldgv, dc);
    });
}

TL_API tl_status tl_poincare_logmap_backward(tl_stream stream, float c, int64_t rows, int64_t dim, tl_buffer x,
                                             uint64_t x_offset, int64_t ldx, tl_buffer y, uint64_t y_offset,
                                             int64_t ldy, tl_buffer grad_out, uint64_t grad_out_offset, int64_t ldgo,
                                             tl_buffer grad_x, uint64_t grad_x_offset, int64_t ldgx, tl_buffer grad_y,
                                             uint64_t grad_y_offset, int64_t ldgy, tl_buffer grad_c,
                                             uint64_t grad_c_offset) {
    static const char *fn = "tl_poincare_logmap_backward";
    cudaStream_t st;
    float *p_x, *p_y, *p_grad_out, *p_grad_x, *p_grad_y, *p_grad_c;
    TL_TRY(begin(fn, stream, c, rows, dim, &st));
    TL_TRY(check_operands(fn, rows, dim,
                          {{"x", "ldx", x, x_offset, ldx, &p_x},
                           {"y", "ldy", y, y_offset, ldy, &p_y},
                           {"grad_out", "ldgo", grad_out, grad_out_offset, ldgo, &p_grad_out},
                           {"grad_x", "ldgx", grad_x, grad_x_offset, ldgx, &p_grad_x},
                           {"grad_y", "ldgy", grad_y, grad_y_offset, ldgy, &p_grad_y}}));
    TL_TRY(grad_c_operand(fn, grad_c, grad_c_offset, &p_grad_c));
    const Ball b = make_ball(c);
    return with_shares(fn, stream, st, rows, p_grad_c, "logmap_backward_kernel", [&](double *dc) {
        TL_LAUNCH(logmap_backward_kernel, row_grid(rows), dim3(kThreads), 0, st, b, rows, int(dim), p_x, ldx, p_y,
                  ldy, p_grad_out, ldgo, p_grad_x, ldgx, p_grad_y, ldgy, dc);
    });
}

TL_API tl_status tl_poincare_distance_backward(tl_stream stream, float c, int64_t rows, int64_t dim, tl_buffer x,
                                               uint64_t x_offset, int64_t ldx, tl_buffer y, uint64_t y_offset,
                                               int64_t ldy, tl_buffer grad_out, uint64_t grad_out_offset,
                                               tl_buffer grad_x, uint64_t grad_x_offset, int64_t ldgx,
                                               tl_buffer grad_y, uint64_t grad_y_offset, int64_t ldgy,
                                               tl_buffer grad_c, uint64_t grad_c_offset) {
    static const char *fn = "tl_poincare_distance_backward";
    cudaStream_t st;
    float *p_x, *p_y, *p_grad_out, *p_grad_x, *p_grad_y, *p_grad_c;
    TL_TRY(begin(fn, stream, c, rows, dim, &st));
    TL_TRY(check_operands(fn, rows, dim,
                          {{"x", "ldx", x, x_offset, ldx, &p_x},
                           {"y", "ldy", y, y_offset, ldy, &p_y},
                           {"grad_out", nullptr, grad_out, grad_out_offset, 0, &p_grad_out},
                           {"grad_x", "ldgx", grad_x, grad_x_offset, ldgx, &p_grad_x},
                           {"grad_y", "ldgy", grad_y, grad_y_offset, ldgy, &p_grad_y}}));
    TL_TRY(grad_c_operand(fn, grad_c, grad_c_offset, &p_grad_c));
    const Ball b = make_ball(c);
    return with_shares(fn, stream, st, rows, p_grad_c, "distance_backward_kernel", [&](double *dc) {
        TL_LAUNCH(distance_backward_kernel, row_grid(rows), dim3(kThreads), 0, st, b, rows, int(dim), p_x, ldx, p_y,
                  ldy, p_grad_out, p_grad_x, ldgx, p_grad_y, ldgy, dc);
    });
}

TL_API tl_status tl_poincare_distance0_backward(tl_stream stream, float c, int64_t rows, int64_t dim, tl_buffer x,
                                                uint64_t x_offset, int64_t ldx, tl_buffer grad_out,
                                                uint64_t grad_out_offset, tl_buffer grad_x, uint64_t grad_x_offset,
                                                int64_t ldgx, tl_buffer grad_c, uint64_t grad_c_offset) {
    static const char *fn = "tl_poincare_distance0_backward";
    cudaStream_t st;
    float *p_x, *p_grad_out, *p_grad_x, *p_grad_c;
    TL_TRY(begin(fn, stream, c, rows, dim, &st));
    TL_TRY(check_operands(fn, rows, dim,
                          {{"x", "ldx", x, x_offset, ldx, &p_x},
                           {"grad_out", nullptr, grad_out, grad_out_offset, 0, &p_grad_out},
                           {"grad_x", "ldgx", grad_x, grad_x_offset, ldgx, &p_grad_x}}));
    TL_TRY(grad_c_operand(fn, grad_c, grad_c_offset, &p_grad_c));
    const Ball b = make_ball(c);
    return with_shares(fn, stream, st, rows, p_grad_c, "distance_backward_kernel", [&](double *dc) {
        TL_LAUNCH(distance_backward_kernel, row_grid(rows), dim3(kThreads), 0, st, b, rows, int(dim), p_x, ldx,
                  static_cast<const float *>(nullptr), int64_t(0), p_grad_out, p_grad_x, ldgx,
                  static_cast<float *>(nullptr), int64_t(0), dc);
    });
}

TL_API tl_status tl_poincare_gyration_backward(tl_stream stream, float c, int64_t rows, int64_t dim, tl_buffer u,
                                               uint64_t u_offset, int64_t ldu, tl_buffer v, uint64_t v_offset,
                                               int64_t ldv, tl_buffer w, uint64_t w_offset, int64_t ldw,
                                               tl_buffer grad_out, uint64_t grad_out_offset, int64_t ldgo,
                                               tl_buffer grad_u, uint64_t grad_u_offset, int64_t ldgu,
                                               tl_buffer grad_v, uint64_t grad_v_offset, int64_t ldgv,
                                               tl_buffer grad_w, uint64_t grad_w_offset, int64_t ldgw,
                                               tl_buffer grad_c, uint64_t grad_c_offset) {
    static const char *fn = "tl_poincare_gyration_backward";
    cudaStream_t st;
    float *p_u, *p_v, *p_w, *p_grad_out, *p_grad_u, *p_grad_v, *p_grad_w, *p_grad_c;
    TL_TRY(begin(fn, stream, c, rows, dim, &st));
    TL_TRY(check_operands(fn, rows, dim,
                          {{"u", "ldu", u, u_offset, ldu, &p_u},
                           {"v", "ldv", v, v_offset, ldv, &p_v},
                           {"w", "ldw", w, w_offset, ldw, &p_w},
                           {"grad_out", "ldgo", grad_out, grad_out_offset, ldgo, &p_grad_out},
                           {"grad_u", "ldgu", grad_u, grad_u_offset, ldgu, &p_grad_u},
                           {"grad_v", "ldgv", grad_v, grad_v_offset, ldgv, &p_grad_v},
                           {"grad_w", "ldgw", grad_w, grad_w_offset, ldgw, &p_grad_w}}));
    TL_TRY(grad_c_operand(fn, grad_c, grad_c_offset, &p_grad_c));
    const Ball b = make_ball(c);
    return with_shares(fn, stream, st, rows, p_grad_c, "gyration_backward_kernel", [&](double *dc) {
        TL_LAUNCH(gyration_backward_kernel, row_grid(rows), dim3(kThreads), 0, st, b, rows, int(dim), p_u, ldu, p_v,
                  ldv, p_w, ldw, p_grad_out, ldgo, p_grad_u, ldgu, p_grad_v, ldgv, p_grad_w, ldgw, dc);
    });
}

TL_API tl_status tl_poincare_transport_backward(tl_stream stream, float c, int64_t rows, int64_t dim, tl_buffer x,
                                                uint64_t x_offset, int64_t ldx, tl_buffer y, uint64_t y_offset,
                                                int64_t ldy, tl_buffer v, uint64_t v_offset, int64_t ldv,
                                                tl_buffer grad_out, uint64_t grad_out_offset, int64_t ldgo,
                                                tl_buffer grad_x, uint64_t grad_x_offset, int64_t ldgx,
                                                tl_buffer grad_y, uint64_t grad_y_offset, int64_t ldgy,
                                                tl_buffer grad_v, uint64_t grad_v_offset, int64_t ldgv,
                                                tl_buffer grad_c, uint64_t grad_c_offset) {
    static const char *fn = "tl_poincare_transport_backward";
    cudaStream_t st;
    float *p_x, *p_y, *p_v, *p_grad_out, *p_grad_x, *p_grad_y, *p_grad_v, *p_grad_c;
    TL_TRY(begin(fn, stream, c, rows, dim, &st));
    TL_TRY(check_operands(fn, rows, dim,
                          {{"x", "ldx", x, x_offset, ldx, &p_x},
                           {"y", "ldy", y, y_offset, ldy, &p_y},
                           {"v", "ldv", v, v_offset, ldv, &p_v},
                           {"grad_out", "ldgo", grad_out, grad_out_offset, ldgo, &p_grad_out},
                           {"grad_x", "ldgx", grad_x, grad_x_offset, ldgx, &p_grad_x},
                           {"grad_y", "ldgy", grad_y, grad_y_offset, ldgy, &p_grad_y},
                           {"grad_v", "ldgv", grad_v, grad_v_offset, ldgv, &p_grad_v}}));
    TL_TRY(grad_c_operand(fn, grad_c, grad_c_offset, &p_grad_c));
    const Ball b = make_ball(c);
    return with_shares(fn, stream, st, rows, p_grad_c, "transport_backward_kernel", [&](double *dc) {
        TL_LAUNCH(transport_backward_kernel, row_grid(rows), dim3(kThreads), 0, st, b, rows, int(dim), p_x, ldx, p_y,
                  ldy, p_v, ldv, p_grad_out, ldgo, p_grad_x, ldgx, p_grad_y, ldgy, p_grad_v, ldgv, dc);
    });
}

TL_API tl_status tl_poincare_transport0_backward(tl_stream stream, float c, int64_t rows, int64_t dim, tl_buffer y,
                                                 uint64_t y_offset, int64_t ldy, tl_buffer v, uint64_t v_offset,
                                                 int64_t ldv, tl_buffer grad_out, uint64_t grad_out_offset,
                                                 int64_t ldgo, tl_buffer grad_y, uint64_t grad_y_offset, int64_t ldgy,
                                                 tl_buffer grad_v, uint64_t grad_v_offset, int64_t ldgv,
                                                 tl_buffer grad_c, uint64_t grad_c_offset) {
    static const char *fn = "tl_poincare_transport0_backward";
    cudaStream_t st;
    float *p_y, *p_v, *p_grad_out, *p_grad_y, *p_grad_v, *p_grad_c;
    TL_TRY(begin(fn, stream, c, rows, dim, &st));
    TL_TRY(check_operands(fn, rows, dim,
                          {{"y", "ldy", y, y_offset, ldy, &p_y},
                           {"v", "ldv", v, v_offset, ldv, &p_v},
                           {"grad_out", "ldgo", grad_out, grad_out_offset, ldgo, &p_grad_out},
                           {"grad_y", "ldgy", grad_y, grad_y_offset, ldgy, &p_grad_y},
                           {"grad_v", "ldgv", grad_v, grad_v_offset, ldgv, &p_grad_v}}));
    TL_TRY(grad_c_operand(fn, grad_c, grad_c_offset, &p_grad_c));
    const Ball b = make_ball(c);
    return with_shares(fn, stream, st, rows, p_grad_c, "transport0_backward_kernel", [&](double *dc) {
        TL_LAUNCH(transport0_backward_kernel, row_grid(rows), dim3(kThreads), 0, st, b, rows, int(dim), p_y, ldy, p_v,
                  ldv, p_grad_out, ldgo, p_grad_y, ldgy, p_grad_v, ldgv, dc);
    });
}
TL_API tl_status tl_poincare_matvec_weight_gradient(tl_stream stream, int64_t rows, int64_t out_dim, int64_t dim,
                                                    tl_buffer grad_z, uint64_t grad_z_offset, int64_t ldgz,
                                                    tl_buffer log, uint64_t log_offset, int64_t ldlog,
                                                    tl_buffer grad_m, uint64_t grad_m_offset, int64_t ldgm) {
    static const char *fn = "tl_poincare_matvec_weight_gradient";
    cudaStream_t st;
    TL_TRY(get_stream(fn, stream, &st));
    TL_TRY(check_dims(fn, rows, dim));
    TL_TRY(check_dims(fn, rows, out_dim));
    Buffer zb, lb, mb;
    TL_TRY(get_buffer(fn, "grad_z", grad_z, &zb));
    TL_TRY(get_buffer(fn, "log", log, &lb));
    TL_TRY(get_buffer(fn, "grad_m", grad_m, &mb));
    float *pz = nullptr, *pl = nullptr, *pm = nullptr;
    TL_TRY(check_matrix(fn, "grad_z", "rows", "out_dim", "ldgz", zb, grad_z_offset, rows, out_dim, ldgz, &pz));
    TL_TRY(check_matrix(fn, "log", "rows", "dim", "ldlog", lb, log_offset, rows, dim, ldlog, &pl));
    TL_TRY(check_matrix(fn, "grad_m", "out_dim", "dim", "ldgm", mb, grad_m_offset, out_dim, dim, ldgm, &pm));
    if (out_dim == 0 || dim == 0) return TL_OK;
    TL_LAUNCH(matvec_weight_gradient_kernel, dim3(row_blocks(out_dim * dim, kThreads)), dim3(kThreads), 0, st, rows,
              out_dim, dim, pz, ldgz, pl, ldlog, pm, ldgm);
    return check_launch(fn, "matvec_weight_gradient_kernel");
}

TL_API tl_status tl_poincare_gram_distance_backward(tl_stream stream, float c, int64_t x_rows, int64_t y_rows,
                                                    int64_t dim, tl_buffer x, uint64_t x_offset, int64_t ldx,
                                                    tl_buffer y, uint64_t y_offset, int64_t ldy, tl_buffer grad_out,
                                                    uint64_t grad_out_offset, int64_t ldgo, tl_buffer g,
                                                    uint64_t g_offset, int64_t ldg, tl_buffer g_t,
                                                    uint64_t g_t_offset, int64_t ldgt, tl_buffer x_norm_grad,
                                                    uint64_t x_norm_grad_offset, tl_buffer y_norm_grad,
                                                    uint64_t y_norm_grad_offset, tl_buffer grad_c,
                                                    uint64_t grad_c_offset) {
    static const char *fn = "tl_poincare_gram_distance_backward";
    cudaStream_t st;
    TL_TRY(begin(fn, stream, c, x_rows, dim, &st));
    TL_TRY(check_dims(fn, y_rows, dim));
    float *px, *py, *pgo, *pg, *pgt, *pxn, *pyn, *pc;
    TL_TRY(rows_operand(fn, "x", "ldx", x, x_offset, x_rows, dim, ldx, &px));
    TL_TRY(rows_operand(fn, "y", "ldy", y, y_offset, y_rows, dim, ldy, &py));
    Buffer gob, gb, gtb, xb, yb;
    TL_TRY(get_buffer(fn, "grad_out", grad_out, &gob));
    TL_TRY(get_buffer(fn, "g", g, &gb));
    TL_TRY(get_buffer(fn, "g_t", g_t, &gtb));
    TL_TRY(get_buffer(fn, "x_norm_grad", x_norm_grad, &xb));
    TL_TRY(get_buffer(fn, "y_norm_grad", y_norm_grad, &yb));
    TL_TRY(check_matrix(fn, "grad_out", "x_rows", "y_rows", "ldgo", gob, grad_out_offset, x_rows, y_rows, ldgo, &pgo));
    TL_TRY(check_matrix(fn, "g", "x_rows", "y_rows", "ldg", gb, g_offset, x_rows, y_rows, ldg, &pg));
    TL_TRY(check_matrix(fn, "g_t", "y_rows", "x_rows", "ldgt", gtb, g_t_offset, y_rows, x_rows, ldgt, &pgt));
    TL_TRY(check_vector(fn, "x_norm_grad", "x_rows", xb, x_norm_grad_offset, x_rows, &pxn));
    TL_TRY(check_vector(fn, "y_norm_grad", "y_rows", yb, y_norm_grad_offset, y_rows, &pyn));
    TL_TRY(grad_c_operand(fn, grad_c, grad_c_offset, &pc));
    // Scratch: scale and squared norm of every x row, then of every y row, then x's shares of dL/dc.
    void *scratch = nullptr;
    std::unique_lock<std::mutex> lock;
    TL_TRY(stream_scratch(fn, stream, uint64_t(3 * x_rows + 2 * y_rows + 1) * sizeof(double), &scratch, &lock));
    double *x_scale = static_cast<double *>(scratch);
    double *x2 = x_scale + x_rows;
    double *y_scale = x2 + x_rows;
    double *y2 = y_scale + y_rows;
    double *dc_rows = y2 + y_rows;
    const Ball b = make_ball(c);
    if (x_rows > 0 && y_rows > 0) {
        TL_LAUNCH(point_norms_kernel, row_grid(x_rows), dim3(kThreads), 0, st, b, x_rows, int(dim), px, ldx, x_scale,
                  x2);
        TL_TRY(check_launch(fn, "point_norms_kernel"));
        TL_LAUNCH(point_norms_kernel, row_grid(y_rows), dim3(kThreads), 0, st, b, y_rows, int(dim), py, ldy, y_scale,
                  y2);
        TL_TRY(check_launch(fn, "point_norms_kernel"));
        TL_LAUNCH(gram_backward_cols_kernel, row_grid(y_rows), dim3(kThreads), 0, st, b, x_rows, y_rows,
                  static_cast<const double *>(x_scale), static_cast<const double *>(x2),
                  static_cast<const double *>(y_scale), static_cast<const double *>(y2),
                  static_cast<const float *>(pg), ldg, static_cast<const float *>(pgo), ldgo, pyn);
        TL_TRY(check_launch(fn, "gram_backward_cols_kernel"));
        TL_LAUNCH(gram_backward_rows_kernel, row_grid(x_rows), dim3(kThreads), 0, st, b, x_rows, y_rows,
                  static_cast<const double *>(x_scale), static_cast<const double *>(x2),
                  static_cast<const double *>(y_scale), static_cast<const double *>(y2), pg, ldg, pgt, ldgt,
                  static_cast<const float *>(pgo), ldgo, pxn, dc_rows);
        TL_TRY(check_launch(fn, "gram_backward_rows_kernel"));
    }
    const int64_t shares = x_rows > 0 && y_rows > 0 ? x_rows : 0;
    TL_LAUNCH(sum_shares_kernel, dim3(1), dim3(kThreads), 0, st, shares, static_cast<const double *>(dc_rows),
              static_cast<const MidpointScalars *>(nullptr), pc);
    return check_launch(fn, "sum_shares_kernel");
}

TL_API tl_status tl_poincare_norm_gradient(tl_stream stream, float c, int64_t rows, int64_t dim, tl_buffer x,
                                           uint64_t x_offset, int64_t ldx, tl_buffer coefficient,
                                           uint64_t coefficient_offset, tl_buffer grad, uint64_t grad_offset,
                                           int64_t ldg, tl_buffer grad_c, uint64_t grad_c_offset) {
    static const char *fn = "tl_poincare_norm_gradient";
    cudaStream_t st;
    TL_TRY(begin(fn, stream, c, rows, dim, &st));
    float *px, *pk, *pg, *pc;
    TL_TRY(rows_operand(fn, "x", "ldx", x, x_offset, rows, dim, ldx, &px));
    TL_TRY(per_row_operand(fn, "coefficient", coefficient, coefficient_offset, rows, &pk));
    TL_TRY(rows_operand(fn, "grad", "ldg", grad, grad_offset, rows, dim, ldg, &pg));
    TL_TRY(grad_c_operand(fn, grad_c, grad_c_offset, &pc));
    const Ball b = make_ball(c);
    return with_shares(fn, stream, st, rows, pc, "norm_gradient_kernel", [&](double *dc) {
        TL_LAUNCH(norm_gradient_kernel, row_grid(rows), dim3(kThreads), 0, st, b, rows, int(dim), px, ldx, pk, pg, ldg,
                  dc);
    });
}

TL_API tl_status tl_poincare_weighted_midpoint_backward(tl_stream stream, float c, int64_t rows, int64_t dim,
                                                        tl_buffer points, uint64_t points_offset, int64_t ldp,
                                                        tl_buffer weights, uint64_t weights_offset,
                                                        tl_buffer grad_out, uint64_t grad_out_offset,
                                                        tl_buffer grad_points, uint64_t grad_points_offset,
                                                        int64_t ldgp, tl_buffer grad_weights,
                                                        uint64_t grad_weights_offset, tl_buffer grad_c,
                                                        uint64_t grad_c_offset) {
    static const char *fn = "tl_poincare_weighted_midpoint_backward";
    cudaStream_t st;
    TL_TRY(begin(fn, stream, c, rows, dim, &st));
    if (rows == 0) return fail(TL_ERROR_INVALID_ARGUMENT, "%s: the weighted midpoint of no points is undefined", fn);
    float *pp, *pw, *pgo, *pgp, *pgw, *pc;
    TL_TRY(rows_operand(fn, "points", "ldp", points, points_offset, rows, dim, ldp, &pp));
    TL_TRY(per_row_operand(fn, "weights", weights, weights_offset, rows, &pw));
    Buffer gob;
    TL_TRY(get_buffer(fn, "grad_out", grad_out, &gob));
    TL_TRY(check_vector(fn, "grad_out", "dim", gob, grad_out_offset, dim, &pgo));
    TL_TRY(rows_operand(fn, "grad_points", "ldgp", grad_points, grad_points_offset, rows, dim, ldgp, &pgp));
    TL_TRY(per_row_operand(fn, "grad_weights", grad_weights, grad_weights_offset, rows, &pgw));
    TL_TRY(grad_c_operand(fn, grad_c, grad_c_offset, &pc));
    // Scratch, 8-byte pieces first: the scalars, den_term and dc shares per point, then the floats: one
    // coefficient per point, S and dL/dS.
    void *scratch = nullptr;
    std::unique_lock<std::mutex> lock;
    const uint64_t bytes = sizeof(MidpointScalars) + uint64_t(rows) * (2 * sizeof(double) + sizeof(float)) +
                           uint64_t(2 * dim) * sizeof(float);
    TL_TRY(stream_scratch(fn, stream, bytes, &scratch, &lock));
    MidpointScalars *scalars = static_cast<MidpointScalars *>(scratch);
    double *den_term = reinterpret_cast<double *>(scalars + 1);
    double *dc_rows = den_term + rows;
    float *coefficient = reinterpret_cast<float *>(dc_rows + rows);
    float *s = coefficient + rows;
    float *grad_s = s + dim;
    const Ball b = make_ball(c);
    TL_LAUNCH(midpoint_terms_kernel, row_grid(rows), dim3(kThreads), 0, st, b, rows, int(dim), pp, ldp, pw, coefficient,
              den_term);
    TL_TRY(check_launch(fn, "midpoint_terms_kernel"));
    TL_LAUNCH(midpoint_backward_sum_kernel, dim3(1), dim3(kThreads), 0, st, b, rows, int(dim), pp, ldp,
              static_cast<const float *>(coefficient), static_cast<const double *>(den_term), pgo, s, grad_s, scalars);
    TL_TRY(check_launch(fn, "midpoint_backward_sum_kernel"));
    TL_LAUNCH(midpoint_backward_points_kernel, row_grid(rows), dim3(kThreads), 0, st, b, rows, int(dim), pp, ldp, pw,
              static_cast<const float *>(grad_s), static_cast<const MidpointScalars *>(scalars), pgp, ldgp, pgw,
              dc_rows);
    TL_TRY(check_launch(fn, "midpoint_backward_points_kernel"));
    TL_LAUNCH(sum_shares_kernel, dim3(1), dim3(kThreads), 0, st, rows, static_cast<const double *>(dc_rows),
              static_cast<const MidpointScalars *>(scalars), pc);
    return check_launch(fn, "sum_shares_kernel");
}

}  // extern "C"
