// Padded multi-head scaled-dot-product attention.
#include "tl_internal.h"

#include <climits>
#include <cmath>

namespace {

constexpr int kAttnThreads = 256;
constexpr int kAttnMaxOutputs = 32;                       // outputs per thread held in registers
constexpr int kAttnMaxTile = kAttnThreads * kAttnMaxOutputs;  // queries x head_dim per block
constexpr int kAttnSharedBudget = 48 * 1024;              // dynamic shared memory without opt-in

// One block per (batch, head, tile of `qt` queries). The tile's scores against every key of the sequence
// live in shared memory (qt x seq floats, sized at launch), so the softmax is exact and two-pass; keys and
// then values stream through a shared chunk of `ch` rows (padded to hd+1 floats so that threads reading
// different keys at the same dimension hit different banks). Barriers per block: 2 per key chunk, 2 per
// value chunk and 2 more.
__global__ void __launch_bounds__(kAttnThreads)
    attention_kernel(int seq, int heads, int hd, int qt, int ch, const float *__restrict__ q, int64_t ldq,
                     const float *__restrict__ k, int64_t ldk, const float *__restrict__ v, int64_t ldv,
                     const float *__restrict__ mask, float *__restrict__ out, int64_t ldout, float scale) {
    TL_DYNAMIC_SHARED(float, smem);
    float *qs = smem;             // [qt][hd], pre-scaled
    float *scores = qs + qt * hd;  // [qt][seq]
    float *kv = scores + int64_t(qt) * seq;  // [ch][hd + 1]
    const int kv_stride = hd + 1;

    const int tid = threadIdx.x;
    const int tiles = (seq + qt - 1) / qt;
    const int tile = blockIdx.x % tiles;
    const int bh = blockIdx.x / tiles;
    const int h = bh % heads;
    const int b = bh / heads;
    const int q0 = tile * qt;
    const int nq = tl::imin(qt, seq - q0);
    const int64_t row0 = int64_t(b) * seq;
    const int64_t col0 = int64_t(h) * hd;
    const float *mrow = mask + row0;

    for (int e = tid; e < nq * hd; e += kAttnThreads) {
        const int i = e / hd, d = e - i * hd;
        qs[i * hd + d] = q[(row0 + q0 + i) * ldq + col0 + d] * scale;
    }

    for (int j0 = 0; j0 < seq; j0 += ch) {
        const int nk = tl::imin(ch, seq - j0);
        __syncthreads();  // previous chunk fully consumed (and, the first time, qs written)
        for (int e = tid; e < nk * hd; e += kAttnThreads) {
            const int j = e / hd, d = e - j * hd;
            kv[j * kv_stride + d] = k[(row0 + j0 + j) * ldk + col0 + d];
        }
        __syncthreads();
        for (int p = tid; p < nq * nk; p += kAttnThreads) {
            const int i = p / nk, j = p - i * nk;
            float s = -INFINITY;
            if (mrow[j0 + j] != 0.f) {
                const float *qi = qs + i * hd;
                const float *kj = kv + j * kv_stride;
                s = 0.f;
                for (int d = 0; d < hd; ++d) s = fmaf(qi[d], kj[d], s);
            }
            scores[int64_t(i) * seq + j0 + j] = s;
        }
    }
    __syncthreads();

    // Softmax of each query's row, a warp per row; a row with every key masked becomes zeros, which
    // makes that query's output zero.
    {
        const int lane = tid & 31;
        for (int i = tid >> 5; i < nq; i += kAttnThreads / 32) {
            float *row = scores + int64_t(i) * seq;
            float m = -INFINITY;
            for (int j = lane; j < seq; j += 32) m = fmaxf(m, row[j]);
            m = tl::warp_max(m);
            if (m == -INFINITY) {
                for (int j = lane; j < seq; j += 32) row[j] = 0.f;
                continue;
            }
            float s = 0.f;
            for (int j = lane; j < seq; j += 32) {
                const float e = expf(row[j] - m);
                row[j] = e;
                s += e;
            }
            const float inv = 1.0f / tl::warp_sum(s);
            for (int j = lane; j < seq; j += 32) row[j] *= inv;
        }
    }

    float acc[kAttnMaxOutputs];
#pragma unroll
    for (int r = 0; r < kAttnMaxOutputs; ++r) acc[r] = 0.f;
    const int nout = nq * hd;

    for (int j0 = 0; j0 < seq; j0 += ch) {
        const int nk = tl::imin(ch, seq - j0);
        __syncthreads();  // softmax done / previous value chunk consumed
        for (int e = tid; e < nk * hd; e += kAttnThreads) {
            const int j = e / hd, d = e - j * hd;
            kv[j * kv_stride + d] = v[(row0 + j0 + j) * ldv + col0 + d];
        }
        __syncthreads();
#pragma unroll
        for (int r = 0; r < kAttnMaxOutputs; ++r) {
            const int o = tid + r * kAttnThreads;
            if (o < nout) {
                const int i = o / hd, d = o - i * hd;
                const float *p = scores + int64_t(i) * seq + j0;
                float a = acc[r];
                for (int j = 0; j < nk; ++j) a = fmaf(p[j], kv[j * kv_stride + d], a);
                acc[r] = a;
            }
        }
    }

#pragma unroll
    for (int r = 0; r < kAttnMaxOutputs; ++r) {
        const int o = tid + r * kAttnThreads;
        if (o < nout) {
            const int i = o / hd, d = o - i * hd;
            out[(row0 + q0 + i) * ldout + col0 + d] = acc[r];
        }
    }
}

}  // namespace

using namespace tl;

extern "C" {

TL_API tl_status tl_attention(tl_stream stream, int64_t batch, int64_t seq, int64_t heads, int64_t head_dim,
                              tl_buffer q, uint64_t q_offset, int64_t ldq, tl_buffer k, uint64_t k_offset, int64_t ldk,
                              tl_buffer v, uint64_t v_offset, int64_t ldv, tl_buffer mask, uint64_t mask_offset,
                              tl_buffer out, uint64_t out_offset, int64_t ldout) {
    static const char *fn = "tl_attention";
    cudaStream_t s;
    Buffer qb, kb, vb, mb, ob;
    TL_TRY(get_stream(fn, stream, &s));
    TL_TRY(get_buffer(fn, "q", q, &qb));
    TL_TRY(get_buffer(fn, "k", k, &kb));
    TL_TRY(get_buffer(fn, "v", v, &vb));
    TL_TRY(get_buffer(fn, "mask", mask, &mb));
    TL_TRY(get_buffer(fn, "out", out, &ob));
    TL_TRY(check_sizes(fn, "batch", batch, "seq", seq, "heads", heads, "head_dim", head_dim));
    if (batch == 0 || seq == 0 || heads == 0 || head_dim == 0) return TL_OK;
    int64_t rows, width;
    if (__builtin_mul_overflow(batch, seq, &rows) || __builtin_mul_overflow(heads, head_dim, &width) ||
        seq > INT_MAX || heads > INT_MAX)
        return fail(TL_ERROR_INVALID_ARGUMENT, "%s: [batch=%lld, seq=%lld, heads=%lld, head_dim=%lld] overflows", fn,
                    (long long)batch, (long long)seq, (long long)heads, (long long)head_dim);
    float *Q, *K, *V, *M, *O;
    TL_TRY(check_matrix(fn, "q", "batch*seq", "heads*head_dim", "ldq", qb, q_offset, rows, width, ldq, &Q));
    TL_TRY(check_matrix(fn, "k", "batch*seq", "heads*head_dim", "ldk", kb, k_offset, rows, width, ldk, &K));
    TL_TRY(check_matrix(fn, "v", "batch*seq", "heads*head_dim", "ldv", vb, v_offset, rows, width, ldv, &V));
    TL_TRY(check_vector(fn, "mask", "batch*seq", mb, mask_offset, rows, &M));
    TL_TRY(check_matrix(fn, "out", "batch*seq", "heads*head_dim", "ldout", ob, out_offset, rows, width, ldout, &O));

    // Key/value chunk of at most 16 KiB; the rest of the budget holds the query tile and its scores.
    const int64_t hd = head_dim;
    int64_t ch = (4096 / (hd + 1)) & ~int64_t(7);
    if (ch > 64) ch = 64;
    if (ch < 8) ch = 8;
    if (ch > seq) ch = seq;
    const int64_t budget = kAttnSharedBudget / 4 - ch * (hd + 1);
    int64_t qt = budget > 0 ? budget / (hd + seq) : 0;
    if (qt > 32) qt = 32;
    if (qt > kAttnMaxTile / hd) qt = kAttnMaxTile / hd;
    if (qt > seq) qt = seq;
    if (qt < 1)
        return fail(TL_ERROR_INVALID_ARGUMENT,
                    "%s: seq = %lld with head_dim = %lld needs more than %d bytes of shared memory per block", fn,
                    (long long)seq, (long long)hd, kAttnSharedBudget);
    const int64_t tiles = (seq + qt - 1) / qt;
    int64_t blocks;
    if (__builtin_mul_overflow(batch * heads, tiles, &blocks) || blocks > INT_MAX)
        return fail(TL_ERROR_INVALID_ARGUMENT, "%s: %lld blocks of work exceed the grid", fn,
                    (long long)(batch * heads * tiles));
    const size_t shared = size_t(qt * hd + qt * seq + ch * (hd + 1)) * sizeof(float);
    const int S = int(seq), H = int(heads), D = int(hd), QT = int(qt), CH = int(ch);
    const float scale = float(1.0 / std::sqrt(double(hd)));
    TL_LAUNCH(attention_kernel, dim3(unsigned(blocks)), dim3(kAttnThreads), shared, s, S, H, D, QT, CH, Q, ldq, K,
              ldk, V, ldv, M, O, ldout, scale);
    return check_launch(fn, "attention_kernel");
}

}  // extern "C"
