// Transformer layers, row by row: elementwise ops, layer norm and softmax, and the two epilogues that fuse them.
#include "tl_internal.h"

#include <cmath>

namespace {

enum class Elementwise { AddBias, Add, Gelu, AddBiasGelu };

__device__ __forceinline__ float gelu(float v) { return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f)); }

template <Elementwise OP>
__device__ __forceinline__ float apply(float x, float y) {
    return OP == Elementwise::Gelu ? gelu(x) : OP == Elementwise::AddBiasGelu ? gelu(x + y) : x + y;
}

template <Elementwise OP>
__device__ __forceinline__ float4 apply(float4 x, float4 y) {
    return make_float4(apply<OP>(x.x, y.x), apply<OP>(x.y, y.y), apply<OP>(x.z, y.z), apply<OP>(x.w, y.w));
}

constexpr int kElementwiseRows = 4;  // rows per thread: its loads are all issued before its first add

// 2-D grid-stride over T = float4 (rows 16-byte aligned, cols a multiple of 4; cols and leading dimensions
// then count float4s) or float: blockIdx.y walks groups of kElementwiseRows rows, x-threads walk columns, so
// there is no 64-bit division per element (which a flat index would need) and consecutive threads touch
// consecutive addresses. Each thread loads its kElementwiseRows elements (of x and of y) before it computes
// any, so up to eight 16-byte loads per thread are in flight instead of one 4-byte load: one load at a time
// leaves an elementwise kernel at about half of copy bandwidth.
template <Elementwise OP, class T>
__global__ void __launch_bounds__(256)
    elementwise_kernel(int64_t rows, int64_t cols, T *__restrict__ x, int64_t ldx, const T *__restrict__ y,
                       int64_t ldy) {
    constexpr int R = kElementwiseRows;
    for (int64_t r0 = int64_t(blockIdx.y) * R; r0 < rows; r0 += int64_t(gridDim.y) * R) {
        const int n = rows - r0 < R ? int(rows - r0) : R;
        for (int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; c < cols; c += int64_t(gridDim.x) * blockDim.x) {
            T xv[R], yv[R];
#pragma unroll
            for (int i = 0; i < R; ++i) {
                if (i < n) {
                    xv[i] = x[(r0 + i) * ldx + c];
                    yv[i] = OP == Elementwise::Gelu ? xv[i] : y[(r0 + i) * ldy + c];  // ldy == 0: the bias
                }
            }
#pragma unroll
            for (int i = 0; i < R; ++i)
                if (i < n) x[(r0 + i) * ldx + c] = apply<OP>(xv[i], yv[i]);
        }
    }
}

// The last two passes of a LayerNorm over row xr, whose lane-partial sum is s, by the row's warp: the variance
// in a second pass over (x - mean), with no cancellation, unlike E[x²] - E[x]², then the normalization.
__device__ __forceinline__ void normalize_row(float *__restrict__ xr, int cols, int lane, float s,
                                              const float *__restrict__ gamma, const float *__restrict__ beta,
                                              float epsilon) {
    const float mean = tl::warp_sum(s) / float(cols);
    float q = 0.f;
    for (int c = lane; c < cols; c += 32) {
        const float d = xr[c] - mean;
        q = fmaf(d, d, q);
    }
    const float rstd = 1.0f / sqrtf(tl::warp_sum(q) / float(cols) + epsilon);
    for (int c = lane; c < cols; c += 32) xr[c] = fmaf((xr[c] - mean) * rstd, gamma[c], beta[c]);
}

// One warp per row: rows are independent, so a block never needs a barrier, and a row of a transformer
// (a few hundred floats) is a handful of coalesced loads per lane that stay in L1 for the later passes.
__global__ void __launch_bounds__(256)
    layer_norm_kernel(int64_t rows, int cols, float *__restrict__ x, int64_t ldx, const float *__restrict__ gamma,
                      const float *__restrict__ beta, float epsilon) {
    const int lane = threadIdx.x & 31;
    const int64_t warps = int64_t(gridDim.x) * (blockDim.x >> 5);
    for (int64_t r = int64_t(blockIdx.x) * (blockDim.x >> 5) + (threadIdx.x >> 5); r < rows; r += warps) {
        float *xr = x + r * ldx;
        float s = 0.f;
        for (int c = lane; c < cols; c += 32) s += xr[c];
        normalize_row(xr, cols, lane, s, gamma, beta, epsilon);
    }
}

__global__ void __launch_bounds__(256)
    softmax_rows_kernel(int64_t rows, int cols, float *__restrict__ x, int64_t ldx) {
    const int lane = threadIdx.x & 31;
    const int64_t warps = int64_t(gridDim.x) * (blockDim.x >> 5);
    for (int64_t r = int64_t(blockIdx.x) * (blockDim.x >> 5) + (threadIdx.x >> 5); r < rows; r += warps) {
        float *xr = x + r * ldx;
        float m = -INFINITY;
        for (int c = lane; c < cols; c += 32) m = fmaxf(m, xr[c]);
        m = tl::warp_max(m);
        if (m == -INFINITY) {  // nothing to attend to: all zeros rather than 0/0
            for (int c = lane; c < cols; c += 32) xr[c] = 0.f;
            continue;
        }
        float s = 0.f;
        for (int c = lane; c < cols; c += 32) s += expf(xr[c] - m);
        const float inv = 1.0f / tl::warp_sum(s);
        for (int c = lane; c < cols; c += 32) xr[c] = expf(xr[c] - m) * inv;
    }
}

// x = layerNorm((x + bias) + residual), one warp per row as in layer_norm_kernel: the first pass sums the row
// as it writes x + bias + residual back (the oracle's order of additions), the second takes the variance
// around that mean and the third normalizes, both rereading the row the first pass left in L1. One launch
// and one read of x, bias and residual, where tl_add_bias, tl_add and tl_layer_norm read and write x three
// times. No barriers: a warp's lanes only meet in the shuffles of warp_sum.
__global__ void __launch_bounds__(256)
    bias_residual_layer_norm_kernel(int64_t rows, int cols, float *__restrict__ x, int64_t ldx,
                                    const float *__restrict__ bias, const float *__restrict__ residual, int64_t ldr,
                                    const float *__restrict__ gamma, const float *__restrict__ beta, float epsilon) {
    const int lane = threadIdx.x & 31;
    const int64_t warps = int64_t(gridDim.x) * (blockDim.x >> 5);
    for (int64_t r = int64_t(blockIdx.x) * (blockDim.x >> 5) + (threadIdx.x >> 5); r < rows; r += warps) {
        float *xr = x + r * ldx;
        const float *rr = residual + r * ldr;
        float s = 0.f;
        for (int c = lane; c < cols; c += 32) {
            const float v = (xr[c] + bias[c]) + rr[c];
            xr[c] = v;
            s += v;
        }
        normalize_row(xr, cols, lane, s, gamma, beta, epsilon);
    }
}

// Common prologue of the row-wise layer functions.
tl_status rows_prologue(const char *fn, tl_stream stream, int64_t rows, int64_t cols, tl_buffer x, uint64_t x_offset,
                        int64_t ldx, cudaStream_t *s, float **px, bool *empty) {
    using namespace tl;
    Buffer xb;
    TL_TRY(get_stream(fn, stream, s));
    TL_TRY(get_buffer(fn, "x", x, &xb));
    TL_TRY(check_sizes(fn, "rows", rows, "cols", cols));
    *empty = rows == 0 || cols == 0;
    if (*empty) return TL_OK;
    return check_matrix(fn, "x", "rows", "cols", "ldx", xb, x_offset, rows, cols, ldx, px);
}

// Common prologue of the LayerNorm functions: rows_prologue, then epsilon, the width and gamma and beta.
tl_status layer_norm_prologue(const char *fn, tl_stream stream, int64_t rows, int64_t cols, tl_buffer x,
                              uint64_t x_offset, int64_t ldx, tl_buffer gamma, uint64_t gamma_offset, tl_buffer beta,
                              uint64_t beta_offset, float epsilon, cudaStream_t *s, float **px, float **pg,
                              float **pe, bool *empty) {
    using namespace tl;
    Buffer gb, bb;
    TL_TRY(get_buffer(fn, "gamma", gamma, &gb));
    TL_TRY(get_buffer(fn, "beta", beta, &bb));
    TL_TRY(rows_prologue(fn, stream, rows, cols, x, x_offset, ldx, s, px, empty));
    if (!(epsilon >= 0.f) || std::isinf(epsilon))
        return fail(TL_ERROR_INVALID_ARGUMENT, "%s: epsilon = %g is not a finite non-negative number", fn,
                    double(epsilon));
    if (*empty) return TL_OK;
    if (cols > kMaxKernelDim) return fail(TL_ERROR_INVALID_ARGUMENT, "%s: cols = %lld exceeds 2^31-1025", fn, (long long)cols);
    TL_TRY(check_vector(fn, "gamma", "cols", gb, gamma_offset, cols, pg));
    return check_vector(fn, "beta", "cols", bb, beta_offset, cols, pe);
}

template <Elementwise OP>
tl_status launch_elementwise(const char *fn, cudaStream_t s, int64_t rows, int64_t cols, float *x, int64_t ldx,
                             const float *y, int64_t ldy) {
    // float4 when every row of x and y starts 16-byte aligned and the columns come in whole float4s.
    const bool vec = cols % 4 == 0 && ldx % 4 == 0 && ldy % 4 == 0 && tl::aligned16(x) && tl::aligned16(y);
    const int64_t width = vec ? cols / 4 : cols;
    int64_t gx = (width + 255) / 256;
    const int64_t cap = int64_t(tl::sm_count()) * 8;
    if (gx > cap) gx = cap;
    int64_t gy = cap / gx;
    const int64_t row_groups = (rows + kElementwiseRows - 1) / kElementwiseRows;
    if (gy > row_groups) gy = row_groups;
    if (gy > 65535) gy = 65535;
    if (gy < 1) gy = 1;
    const dim3 grid = dim3(unsigned(gx), unsigned(gy));
    // Launched through function pointers: a template-id with commas cannot be a macro argument.
    if (vec) {
        void (*kernel)(int64_t, int64_t, float4 *, int64_t, const float4 *, int64_t) = elementwise_kernel<OP, float4>;
        TL_LAUNCH(kernel, grid, dim3(256), 0, s, rows, width, reinterpret_cast<float4 *>(x), ldx / 4,
                  reinterpret_cast<const float4 *>(y), ldy / 4);
    } else {
        void (*kernel)(int64_t, int64_t, float *, int64_t, const float *, int64_t) = elementwise_kernel<OP, float>;
        TL_LAUNCH(kernel, grid, dim3(256), 0, s, rows, width, x, ldx, y, ldy);
    }
    return tl::check_launch(fn, "elementwise_kernel");
}

// x = OP(x, bias) for every row: tl_add_bias and tl_add_bias_gelu.
template <Elementwise OP>
tl_status add_bias(const char *fn, tl_stream stream, int64_t rows, int64_t cols, tl_buffer x, uint64_t x_offset,
                   int64_t ldx, tl_buffer bias, uint64_t bias_offset) {
    using namespace tl;
    cudaStream_t s;
    float *px = nullptr;
    bool empty;
    Buffer bb;
    TL_TRY(get_buffer(fn, "bias", bias, &bb));
    TL_TRY(rows_prologue(fn, stream, rows, cols, x, x_offset, ldx, &s, &px, &empty));
    if (empty) return TL_OK;
    float *pb;
    TL_TRY(check_vector(fn, "bias", "cols", bb, bias_offset, cols, &pb));
    Buffer xb;
    TL_TRY(get_buffer(fn, "x", x, &xb));
    TL_TRY(check_no_partial_overlap(fn, "x", xb, x_offset, ldx, "bias", bb, bias_offset, 0, rows, cols));
    return launch_elementwise<OP>(fn, s, rows, cols, px, ldx, pb, 0);
}

}  // namespace

using namespace tl;

extern "C" {

TL_API tl_status tl_add_bias(tl_stream stream, int64_t rows, int64_t cols, tl_buffer x, uint64_t x_offset,
                             int64_t ldx, tl_buffer bias, uint64_t bias_offset) {
    return add_bias<Elementwise::AddBias>("tl_add_bias", stream, rows, cols, x, x_offset, ldx, bias, bias_offset);
}

TL_API tl_status tl_add(tl_stream stream, int64_t rows, int64_t cols, tl_buffer x, uint64_t x_offset, int64_t ldx,
                        tl_buffer y, uint64_t y_offset, int64_t ldy) {
    static const char *fn = "tl_add";
    cudaStream_t s;
    float *px = nullptr;
    bool empty;
    Buffer yb;
    TL_TRY(get_buffer(fn, "y", y, &yb));
    TL_TRY(rows_prologue(fn, stream, rows, cols, x, x_offset, ldx, &s, &px, &empty));
    if (empty) return TL_OK;
    float *py;
    TL_TRY(check_matrix(fn, "y", "rows", "cols", "ldy", yb, y_offset, rows, cols, ldy, &py));
    Buffer xb;
    TL_TRY(get_buffer(fn, "x", x, &xb));
    TL_TRY(check_no_partial_overlap(fn, "x", xb, x_offset, ldx, "y", yb, y_offset, ldy, rows, cols));
    return launch_elementwise<Elementwise::Add>(fn, s, rows, cols, px, ldx, py, ldy);
}

TL_API tl_status tl_gelu(tl_stream stream, int64_t rows, int64_t cols, tl_buffer x, uint64_t x_offset, int64_t ldx) {
    static const char *fn = "tl_gelu";
    cudaStream_t s;
    float *px = nullptr;
    bool empty;
    TL_TRY(rows_prologue(fn, stream, rows, cols, x, x_offset, ldx, &s, &px, &empty));
    if (empty) return TL_OK;
    return launch_elementwise<Elementwise::Gelu>(fn, s, rows, cols, px, ldx, px, 0);
}

TL_API tl_status tl_add_bias_gelu(tl_stream stream, int64_t rows, int64_t cols, tl_buffer x, uint64_t x_offset,
                                  int64_t ldx, tl_buffer bias, uint64_t bias_offset) {
    return add_bias<Elementwise::AddBiasGelu>("tl_add_bias_gelu", stream, rows, cols, x, x_offset, ldx, bias,
                                              bias_offset);
}

TL_API tl_status tl_add_bias_residual_layer_norm(tl_stream stream, int64_t rows, int64_t cols, tl_buffer x,
                                                 uint64_t x_offset, int64_t ldx, tl_buffer bias, uint64_t bias_offset,
                                                 tl_buffer residual, uint64_t residual_offset, int64_t ldr,
                                                 tl_buffer gamma, uint64_t gamma_offset, tl_buffer beta,
                                                 uint64_t beta_offset, float epsilon) {
    static const char *fn = "tl_add_bias_residual_layer_norm";
    cudaStream_t s;
    float *px = nullptr, *pg, *pe;
    bool empty;
    Buffer xb, bb, rb;
    TL_TRY(get_buffer(fn, "bias", bias, &bb));
    TL_TRY(get_buffer(fn, "residual", residual, &rb));
    TL_TRY(layer_norm_prologue(fn, stream, rows, cols, x, x_offset, ldx, gamma, gamma_offset, beta, beta_offset,
                               epsilon, &s, &px, &pg, &pe, &empty));
    if (empty) return TL_OK;
    float *pb, *pr;
    TL_TRY(check_vector(fn, "bias", "cols", bb, bias_offset, cols, &pb));
    TL_TRY(check_matrix(fn, "residual", "rows", "cols", "ldr", rb, residual_offset, rows, cols, ldr, &pr));
    TL_TRY(get_buffer(fn, "x", x, &xb));
    TL_TRY(check_no_partial_overlap(fn, "x", xb, x_offset, ldx, "bias", bb, bias_offset, 0, rows, cols));
    TL_TRY(check_no_partial_overlap(fn, "x", xb, x_offset, ldx, "residual", rb, residual_offset, ldr, rows, cols));
    const int c = int(cols);
    TL_LAUNCH(bias_residual_layer_norm_kernel, dim3(row_blocks(rows, 8)), dim3(256), 0, s, rows, c, px, ldx, pb, pr,
              ldr, pg, pe, epsilon);
    return check_launch(fn, "bias_residual_layer_norm_kernel");
}

TL_API tl_status tl_layer_norm(tl_stream stream, int64_t rows, int64_t cols, tl_buffer x, uint64_t x_offset,
                               int64_t ldx, tl_buffer gamma, uint64_t gamma_offset, tl_buffer beta,
                               uint64_t beta_offset, float epsilon) {
    static const char *fn = "tl_layer_norm";
    cudaStream_t s;
    float *px = nullptr, *g, *be;
    bool empty;
    TL_TRY(layer_norm_prologue(fn, stream, rows, cols, x, x_offset, ldx, gamma, gamma_offset, beta, beta_offset,
                               epsilon, &s, &px, &g, &be, &empty));
    if (empty) return TL_OK;
    const int c = int(cols);
    TL_LAUNCH(layer_norm_kernel, dim3(row_blocks(rows, 8)), dim3(256), 0, s, rows, c, px, ldx, g, be, epsilon);
    return check_launch(fn, "layer_norm_kernel");
}

TL_API tl_status tl_softmax_rows(tl_stream stream, int64_t rows, int64_t cols, tl_buffer x, uint64_t x_offset,
                                 int64_t ldx) {
    static const char *fn = "tl_softmax_rows";
    cudaStream_t s;
    float *px = nullptr;
    bool empty;
    TL_TRY(rows_prologue(fn, stream, rows, cols, x, x_offset, ldx, &s, &px, &empty));
    if (empty) return TL_OK;
    if (cols > kMaxKernelDim) return fail(TL_ERROR_INVALID_ARGUMENT, "%s: cols = %lld exceeds 2^31-1025", fn, (long long)cols);
    const int c = int(cols);
    TL_LAUNCH(softmax_rows_kernel, dim3(row_blocks(rows, 8)), dim3(256), 0, s, rows, c, px, ldx);
    return check_launch(fn, "softmax_rows_kernel");
}

}  // extern "C"
