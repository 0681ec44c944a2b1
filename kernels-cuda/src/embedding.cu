// Embedding look-up, masked mean pooling and row normalisation.
#include "tl_internal.h"

#include <climits>
#include <cstdio>

namespace {

// A block per output row (grid-stride), threads along the columns: a row copy is one coalesced sweep.
__global__ void __launch_bounds__(256)
    gather_rows_kernel(int64_t count, int64_t cols, const float *__restrict__ table, int64_t ldtable,
                       const int32_t *__restrict__ ids, float *__restrict__ out, int64_t ldout) {
    for (int64_t i = blockIdx.x; i < count; i += gridDim.x) {
        const float *src = table + int64_t(ids[i]) * ldtable;
        float *dst = out + i * ldout;
        for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) dst[c] = src[c];
    }
}

constexpr int kPoolWarps = 8;  // token groups per block: 8 warps of 256 threads

// A block per (text, 32 columns). Warp w sums the text's tokens w, w + 8, w + 16, ... over the block's columns
// (a warp reads 32 consecutive columns of one token row, 128 coalesced bytes, two rows at a time), and the 8
// partial sums and token counts meet in shared memory. A thread per column walking every token in order, as
// before, left each text's work to a single row of threads with one load in flight each: 5-10% of copy.
__global__ void __launch_bounds__(kPoolWarps * 32)
    mean_pool_kernel(int64_t batch, int seq, int64_t cols, const float *__restrict__ x, int64_t ldx,
                     const float *__restrict__ mask, float *__restrict__ out, int64_t ldout) {
    __shared__ float sums[kPoolWarps][32];
    __shared__ int counts[kPoolWarps][32];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int64_t c = int64_t(blockIdx.x) * 32 + lane;
    const bool in = c < cols;
    for (int64_t b = blockIdx.y; b < batch; b += gridDim.y) {
        const float *m = mask + b * seq;
        const float *xb = x + b * seq * ldx + c;
        float s0 = 0.f, s1 = 0.f;  // two chains, so that two loads are in flight
        int n = 0;
        int t = warp;
        for (; t + kPoolWarps < seq; t += 2 * kPoolWarps) {
            const bool k0 = m[t] != 0.f, k1 = m[t + kPoolWarps] != 0.f;  // the same for the whole warp
            if (in && k0) s0 += xb[int64_t(t) * ldx];
            if (in && k1) s1 += xb[int64_t(t + kPoolWarps) * ldx];
            n += int(k0) + int(k1);
        }
        if (t < seq && m[t] != 0.f) {
            if (in) s0 += xb[int64_t(t) * ldx];
            ++n;
        }
        sums[warp][lane] = s0 + s1;
        counts[warp][lane] = n;
        __syncthreads();
        if (warp == 0 && in) {
            float sum = 0.f;
            int total = 0;
#pragma unroll
            for (int w = 0; w < kPoolWarps; ++w) {
                sum += sums[w][lane];
                total += counts[w][lane];
            }
            out[b * ldout + c] = total > 0 ? sum / float(total) : 0.f;
        }
        __syncthreads();  // the partials are read before the next text overwrites them
    }
}

__global__ void __launch_bounds__(256)
    l2_normalize_rows_kernel(int64_t rows, int64_t cols, float *__restrict__ x, int64_t ldx) {
    const int lane = threadIdx.x & 31;
    const int64_t warps = int64_t(gridDim.x) * (blockDim.x >> 5);
    for (int64_t r = int64_t(blockIdx.x) * (blockDim.x >> 5) + (threadIdx.x >> 5); r < rows; r += warps) {
        float *xr = x + r * ldx;
        float s = 0.f;
        for (int64_t c = lane; c < cols; c += 32) s = fmaf(xr[c], xr[c], s);
        s = tl::warp_sum(s);
        if (s > 0.f) {
            const float inv = 1.0f / sqrtf(s);
            for (int64_t c = lane; c < cols; c += 32) xr[c] *= inv;
        }
    }
}

}  // namespace

using namespace tl;

extern "C" {

TL_API tl_status tl_gather_rows(tl_stream stream, int64_t count, int64_t cols, tl_buffer table, uint64_t table_offset,
                                int64_t ldtable, int64_t table_rows, const int32_t *ids, tl_buffer out,
                                uint64_t out_offset, int64_t ldout) {
    static const char *fn = "tl_gather_rows";
    cudaStream_t s;
    Buffer tb, ob;
    TL_TRY(get_stream(fn, stream, &s));
    TL_TRY(get_buffer(fn, "table", table, &tb));
    TL_TRY(get_buffer(fn, "out", out, &ob));
    TL_TRY(check_sizes(fn, "count", count, "cols", cols, "table_rows", table_rows));
    if (count == 0 || cols == 0) return TL_OK;
    if (!ids) return fail(TL_ERROR_INVALID_ARGUMENT, "%s: ids is null", fn);
    float *T, *O;
    TL_TRY(check_matrix(fn, "table", "table_rows", "cols", "ldtable", tb, table_offset, table_rows, cols, ldtable, &T));
    TL_TRY(check_matrix(fn, "out", "count", "cols", "ldout", ob, out_offset, count, cols, ldout, &O));
    for (int64_t i = 0; i < count; ++i)
        if (ids[i] < 0 || ids[i] >= table_rows)
            return fail(TL_ERROR_INVALID_ARGUMENT, "%s: ids[%lld] = %d is not in [0, table_rows=%lld)", fn,
                        (long long)i, ids[i], (long long)table_rows);
    uint64_t id_bytes = uint64_t(count) * sizeof(int32_t);
    void *scratch = nullptr;
    std::unique_lock<std::mutex> lock;
    // Through the stream's host staging: a cudaMemcpyAsync straight from `ids` would leave the caller's
    // array in use after return if it were pinned or managed (and pageable memory is only "might be
    // synchronous"); the scratch is not overwritten before earlier kernels on this stream read it, as the
    // copy is queued behind them.
    TL_TRY(stream_upload(fn, stream, ids, id_bytes, &scratch, &lock));
    const int32_t *I = static_cast<const int32_t *>(scratch);
    TL_LAUNCH(gather_rows_kernel, dim3(row_blocks(count, 1)), dim3(256), 0, s, count, cols, T, ldtable, I, O, ldout);
    return check_launch(fn, "gather_rows_kernel");
}

TL_API tl_status tl_mean_pool(tl_stream stream, int64_t batch, int64_t seq, int64_t cols, tl_buffer x,
                              uint64_t x_offset, int64_t ldx, tl_buffer mask, uint64_t mask_offset, tl_buffer out,
                              uint64_t out_offset, int64_t ldout) {
    static const char *fn = "tl_mean_pool";
    cudaStream_t s;
    Buffer xb, mb, ob;
    TL_TRY(get_stream(fn, stream, &s));
    TL_TRY(get_buffer(fn, "x", x, &xb));
    TL_TRY(get_buffer(fn, "mask", mask, &mb));
    TL_TRY(get_buffer(fn, "out", out, &ob));
    TL_TRY(check_sizes(fn, "batch", batch, "seq", seq, "cols", cols));
    if (batch == 0 || cols == 0) return TL_OK;
    int64_t rows;
    if (__builtin_mul_overflow(batch, seq, &rows) || seq > INT_MAX)
        return fail(TL_ERROR_INVALID_ARGUMENT, "%s: batch = %lld times seq = %lld overflows", fn, (long long)batch,
                    (long long)seq);
    float *X, *M, *O;
    TL_TRY(check_matrix(fn, "x", "batch*seq", "cols", "ldx", xb, x_offset, rows, cols, ldx, &X));
    TL_TRY(check_vector(fn, "mask", "batch*seq", mb, mask_offset, rows, &M));
    TL_TRY(check_matrix(fn, "out", "batch", "cols", "ldout", ob, out_offset, batch, cols, ldout, &O));
    // Every 32 columns get a block per text, up to about 16 blocks per multiprocessor; texts beyond that
    // are walked by the blocks' grid-stride loop.
    const int64_t gx = (cols + 31) / 32;
    if (gx > INT_MAX) return fail(TL_ERROR_INVALID_ARGUMENT, "%s: cols = %lld is too many", fn, (long long)cols);
    int64_t gy = int64_t(sm_count()) * 16 / gx;
    if (gy > batch) gy = batch;
    if (gy > 65535) gy = 65535;
    if (gy < 1) gy = 1;
    const int S = int(seq);
    TL_LAUNCH(mean_pool_kernel, dim3(unsigned(gx), unsigned(gy)), dim3(kPoolWarps * 32), 0, s, batch, S, cols, X, ldx,
              M, O, ldout);
    return check_launch(fn, "mean_pool_kernel");
}

TL_API tl_status tl_l2_normalize_rows(tl_stream stream, int64_t rows, int64_t cols, tl_buffer x, uint64_t x_offset,
                                      int64_t ldx) {
    static const char *fn = "tl_l2_normalize_rows";
    cudaStream_t s;
    Buffer xb;
    TL_TRY(get_stream(fn, stream, &s));
    TL_TRY(get_buffer(fn, "x", x, &xb));
    TL_TRY(check_sizes(fn, "rows", rows, "cols", cols));
    if (rows == 0 || cols == 0) return TL_OK;
    float *X;
    TL_TRY(check_matrix(fn, "x", "rows", "cols", "ldx", xb, x_offset, rows, cols, ldx, &X));
    TL_LAUNCH(l2_normalize_rows_kernel, dim3(row_blocks(rows, 8)), dim3(256), 0, s, rows, cols, X, ldx);
    return check_launch(fn, "l2_normalize_rows_kernel");
}

}  // extern "C"
