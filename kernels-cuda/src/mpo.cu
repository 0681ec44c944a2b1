// MPO contraction: one core of the direct product per launch, and the permutation that takes a contracted
// MPO out of the interleaved order (the contraction itself is tl_gemm's).
#include "tl_internal.h"
#include "tensorloom_mpo.h"

namespace {

constexpr int kMaxCores = 16;

// One thread per output element in a grid-stride loop (row_blocks' grid, each element a "row"); consecutive
// threads take consecutive t (the q axis) and so read consecutive floats of each input row, and every thread
// of a block reads the same few core entries, which the cache serves.
__global__ void __launch_bounds__(256)
    mpo_step_kernel(int64_t m, int64_t blocks, int r, int s, int q, const float *__restrict__ core,
                    const float *__restrict__ in, int64_t ldin, float *__restrict__ out, int64_t ldout) {
    const int64_t block_size = int64_t(s) * q;
    const int64_t per_row = blocks * block_size;
    const int64_t total = m * per_row;
    for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
        const int64_t i = e / per_row;
        const int64_t within = e - i * per_row;
        const int64_t b = within / block_size;
        const int64_t ct = within - b * block_size;
        const int c = int(ct / q);
        const int t = int(ct - int64_t(c) * q);
        const float *src = in + i * ldin + b * int64_t(r) * q + t;
        float acc = 0.f;
        for (int k = 0; k < r; ++k) acc = fmaf(core[int64_t(k) * s + c], src[int64_t(k) * q], acc);
        out[i * ldout + within] = acc;
    }
}

struct Factors {
    int32_t cores;
    int32_t rows[kMaxCores];
    int32_t cols[kMaxCores];
};

__global__ void __launch_bounds__(256)
    mpo_deinterleave_kernel(Factors f, int64_t rows, int64_t cols, const float *__restrict__ interleaved,
                            float *__restrict__ w, int64_t ldw) {
    const int64_t total = rows * cols;
    for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
        const int64_t i = e / cols;
        const int64_t j = e - i * cols;
        int64_t ri = i, rj = j, position = 0, stride = 1;
        for (int k = f.cores - 1; k >= 0; --k) {
            const int64_t di = ri % f.rows[k];
            const int64_t dj = rj % f.cols[k];
            ri /= f.rows[k];
            rj /= f.cols[k];
            position += (di * f.cols[k] + dj) * stride;
            stride *= int64_t(f.rows[k]) * f.cols[k];
        }
        w[i * ldw + j] = interleaved[position];
    }
}

}  // namespace

using namespace tl;

extern "C" {

TL_API tl_status tl_mpo_step(tl_stream stream, int64_t m, int64_t blocks, int64_t r, int64_t s, int64_t q,
                             tl_buffer core, uint64_t core_offset, tl_buffer in, uint64_t in_offset, int64_t ldin,
                             tl_buffer out, uint64_t out_offset, int64_t ldout) {
    static const char *fn = "tl_mpo_step";
    cudaStream_t st;
    Buffer cb, ib, ob;
    TL_TRY(get_stream(fn, stream, &st));
    TL_TRY(get_buffer(fn, "core", core, &cb));
    TL_TRY(get_buffer(fn, "in", in, &ib));
    TL_TRY(get_buffer(fn, "out", out, &ob));
    TL_TRY(check_sizes(fn, "m", m, "blocks", blocks, "r", r, "s", s));
    TL_TRY(check_sizes(fn, "q", q));
    if (m == 0 || blocks == 0 || s == 0 || q == 0) return TL_OK;
    if (r > kMaxKernelDim || s > kMaxKernelDim || q > kMaxKernelDim || blocks > kMaxKernelDim / s / q ||
        blocks > kMaxKernelDim / q / (r > 0 ? r : 1)) {
        return fail(TL_ERROR_INVALID_ARGUMENT, "%s: blocks %lld of r %lld, s %lld, q %lld exceed the kernel's range",
                    fn, (long long)blocks, (long long)r, (long long)s, (long long)q);
    }
    float *pc = nullptr, *pi = nullptr, *po = nullptr;
    TL_TRY(check_matrix(fn, "out", "m", "blocks*s*q", "ldout", ob, out_offset, m, blocks * s * q, ldout, &po));
    if (r > 0) {
        TL_TRY(check_vector(fn, "core", "r*s", cb, core_offset, r * s, &pc));
        TL_TRY(check_matrix(fn, "in", "m", "blocks*r*q", "ldin", ib, in_offset, m, blocks * r * q, ldin, &pi));
    }
    TL_LAUNCH(mpo_step_kernel, dim3(row_blocks(m * blocks * s * q, 256)), dim3(256), 0, st, m, blocks, int(r), int(s),
              int(q), pc, pi, ldin, po, ldout);
    return check_launch(fn, "mpo_step_kernel");
}

TL_API tl_status tl_mpo_deinterleave(tl_stream stream, int32_t cores, const int32_t *row_factors,
                                     const int32_t *col_factors, tl_buffer interleaved, uint64_t interleaved_offset,
                                     tl_buffer w, uint64_t w_offset, int64_t ldw) {
    static const char *fn = "tl_mpo_deinterleave";
    cudaStream_t st;
    Buffer ib, wb;
    TL_TRY(get_stream(fn, stream, &st));
    TL_TRY(get_buffer(fn, "interleaved", interleaved, &ib));
    TL_TRY(get_buffer(fn, "w", w, &wb));
    if (cores < 1 || cores > kMaxCores) {
        return fail(TL_ERROR_INVALID_ARGUMENT, "%s: cores must be 1 to %d, got %d", fn, kMaxCores, int(cores));
    }
    if (row_factors == nullptr || col_factors == nullptr) {
        return fail(TL_ERROR_INVALID_ARGUMENT, "%s: row_factors and col_factors must not be null", fn);
    }
    Factors f{};
    f.cores = cores;
    int64_t rows = 1, cols = 1;
    for (int k = 0; k < cores; ++k) {
        if (row_factors[k] < 1 || col_factors[k] < 1) {
            return fail(TL_ERROR_INVALID_ARGUMENT, "%s: factor %d is %d x %d; factors must be >= 1", fn, k,
                        int(row_factors[k]), int(col_factors[k]));
        }
        f.rows[k] = row_factors[k];
        f.cols[k] = col_factors[k];
        rows *= row_factors[k];
        cols *= col_factors[k];
        if (rows > kMaxKernelDim || cols > kMaxKernelDim || rows * cols > kMaxKernelDim * int64_t(64)) {
            return fail(TL_ERROR_INVALID_ARGUMENT, "%s: factors multiply past the kernel's range", fn);
        }
    }
    float *pi = nullptr, *pw = nullptr;
    TL_TRY(check_vector(fn, "interleaved", "I*J", ib, interleaved_offset, rows * cols, &pi));
    TL_TRY(check_matrix(fn, "w", "I", "J", "ldw", wb, w_offset, rows, cols, ldw, &pw));
    TL_LAUNCH(mpo_deinterleave_kernel, dim3(row_blocks(rows * cols, 256)), dim3(256), 0, st, f, rows, cols, pi, pw, ldw);
    return check_launch(fn, "mpo_deinterleave_kernel");
}

}  // extern "C"
