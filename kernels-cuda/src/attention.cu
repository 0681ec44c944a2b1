// Padded multi-head scaled-dot-product attention, streamed (flash attention).
#include "tl_internal.h"

#include <climits>
#include <cmath>

namespace {

constexpr int kAttnThreads = 128;
constexpr int kAttnMaxOutputs = 16;                           // head dimensions per thread, in registers
constexpr int kAttnMaxHeadDim = 32 * kAttnMaxOutputs;         // a whole warp on one query at most
constexpr int kAttnMaxChunk = 64;                             // keys per shared chunk
constexpr int kAttnSharedBudget = 48 * 1024;                  // dynamic shared memory without opt-in

// The max (sum) of v over the `group` lanes that share a query: xor shuffles below `group` stay inside an
// aligned group of lanes, and every lane of the warp takes part (group is the same for the whole block).
__device__ __forceinline__ float group_max(float v, int group) {
    for (int off = group >> 1; off > 0; off >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, off));
    return v;
}

__device__ __forceinline__ float group_sum(float v, int group) {
    for (int off = group >> 1; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
    return v;
}

// Flash attention: one block per (batch, head, tile of kAttnThreads / group queries). Thread tid works for
// query i = tid / group of the tile, with its lane g = tid % group among the `group` lanes (a power of two,
// inside one warp) that share the query: it scores keys g, g + group, ... of each chunk and owns head
// dimensions g, g + group, ... of the output (at most kAttnMaxOutputs, in registers). Keys and values
// stream through shared memory `ch` rows at a time; each query keeps a running max m and sum l of its
// exponentials and rescales its output by exp(m_old - m_new) when a chunk raises the max (the online
// softmax), so no buffer depends on the sequence length and no [seq, seq] scores exist. A padded key scores
// -inf; a query whose keys are all padding keeps l = 0 and writes zeros.
// Shared memory: the tile's queries, pre-scaled ([qt][hd + 1]), the chunk's keys ([ch][hd + 1]: lanes that
// read different keys at the same dimension hit different banks), its values ([ch][hd]) and the queries'
// probabilities for the chunk ([qt][ch + 1]). Barriers: 2 per chunk (the chunk is free to overwrite, the
// chunk is loaded); the lanes of a query meet in shuffles and, between writing their probabilities and
// reading the whole row, in one __syncwarp (none when a query has a single lane).
__global__ void __launch_bounds__(kAttnThreads)
    flash_attention_kernel(int seq, int heads, int hd, int group, int ch, const float *__restrict__ q, int64_t ldq,
                           const float *__restrict__ k, int64_t ldk, const float *__restrict__ v, int64_t ldv,
                           const float *__restrict__ mask, float *__restrict__ out, int64_t ldout, float scale) {
    TL_DYNAMIC_SHARED(float, smem);
    const int qt = kAttnThreads / group;
    float *qs = smem;                    // [qt][hd + 1]
    float *ks = qs + qt * (hd + 1);      // [ch][hd + 1]
    float *vs = ks + ch * (hd + 1);      // [ch][hd]
    float *ps = vs + ch * hd;            // [qt][ch + 1]

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

    const int i = tid / group, g = tid - i * group;
    const bool active = i < nq;  // the last tile may have fewer queries; idle lanes still join the shuffles
    const float *qi = qs + i * (hd + 1);
    float *pi = ps + i * (ch + 1);

    for (int e = tid; e < nq * hd; e += kAttnThreads) {
        const int r = e / hd, d = e - r * hd;
        qs[r * (hd + 1) + d] = q[(row0 + q0 + r) * ldq + col0 + d] * scale;
    }

    float m = -INFINITY, l = 0.f;
    float acc[kAttnMaxOutputs];
#pragma unroll
    for (int r = 0; r < kAttnMaxOutputs; ++r) acc[r] = 0.f;

    for (int j0 = 0; j0 < seq; j0 += ch) {
        const int nk = tl::imin(ch, seq - j0);
        __syncthreads();  // the previous chunk fully consumed (and, the first time, qs written)
        for (int e = tid; e < nk * hd; e += kAttnThreads) {
            const int j = e / hd, d = e - j * hd;
            ks[j * (hd + 1) + d] = k[(row0 + j0 + j) * ldk + col0 + d];
            vs[j * hd + d] = v[(row0 + j0 + j) * ldv + col0 + d];
        }
        __syncthreads();

        float chunk_max = -INFINITY;
        if (active) {
            for (int j = g; j < nk; j += group) {
                float s = -INFINITY;
                if (mrow[j0 + j] != 0.f) {
                    const float *kj = ks + j * (hd + 1);
                    s = 0.f;
                    for (int d = 0; d < hd; ++d) s = fmaf(qi[d], kj[d], s);
                }
                pi[j] = s;
                chunk_max = fmaxf(chunk_max, s);
            }
        }
        const float m_new = fmaxf(m, group_max(chunk_max, group));
        // While every key so far was padding, m_new is -inf: exponentiate against 0 instead, so that the
        // -inf scores give 0 rather than exp(-inf + inf) = NaN.
        const float base = m_new == -INFINITY ? 0.f : m_new;
        float chunk_sum = 0.f;
        if (active) {
            for (int j = g; j < nk; j += group) {
                const float p = expf(pi[j] - base);
                pi[j] = p;
                chunk_sum += p;
            }
        }
        const float alpha = expf(m - base);  // rescales what the earlier chunks summed to the new max
        l = l * alpha + group_sum(chunk_sum, group);
        m = m_new;
        if (group > 1) __syncwarp();  // the query's whole row of probabilities is in ps
        if (active) {
#pragma unroll
            for (int r = 0; r < kAttnMaxOutputs; ++r) acc[r] *= alpha;
            for (int j = 0; j < nk; ++j) {
                const float p = pi[j];
                const float *vj = vs + j * hd + g;
#pragma unroll
                for (int r = 0; r < kAttnMaxOutputs; ++r)
                    if (g + r * group < hd) acc[r] = fmaf(p, vj[r * group], acc[r]);
            }
        }
    }

    if (active) {
        const float inv = l > 0.f ? 1.0f / l : 0.f;
#pragma unroll
        for (int r = 0; r < kAttnMaxOutputs; ++r) {
            const int d = g + r * group;
            if (d < hd) out[(row0 + q0 + i) * ldout + col0 + d] = acc[r] * inv;
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

    // Lanes per query: the fewest (a power of two) that hold the query's head dimensions in registers.
    const int64_t hd = head_dim;
    if (hd > kAttnMaxHeadDim)
        return fail(TL_ERROR_INVALID_ARGUMENT, "%s: head_dim = %lld exceeds %d", fn, (long long)hd, kAttnMaxHeadDim);
    int64_t group = 1;
    while (group * kAttnMaxOutputs < hd) group *= 2;
    const int64_t qt = kAttnThreads / group;
    // The largest chunk of keys (a multiple of 8, at most kAttnMaxChunk, no longer than the sequence) whose
    // keys, values and probabilities fit beside the query tile; it depends on head_dim only, never on seq.
    const int64_t fixed = qt * (hd + 1) + qt;
    const int64_t per_key = 2 * hd + 1 + qt;
    int64_t ch = (kAttnSharedBudget / 4 - fixed) / per_key;
    if (ch > kAttnMaxChunk) ch = kAttnMaxChunk;
    if (ch > 8) ch &= ~int64_t(7);
    if (ch > seq) ch = seq;
    const int64_t tiles = (seq + qt - 1) / qt;
    int64_t blocks;
    if (__builtin_mul_overflow(batch * heads, tiles, &blocks) || blocks > INT_MAX)
        return fail(TL_ERROR_INVALID_ARGUMENT, "%s: %lld blocks of work exceed the grid", fn,
                    (long long)(batch * heads * tiles));
    const size_t shared = size_t(qt * (hd + 1) + ch * (hd + 1) + ch * hd + qt * (ch + 1)) * sizeof(float);
    const int S = int(seq), H = int(heads), D = int(hd), G = int(group), CH = int(ch);
    const float scale = float(1.0 / std::sqrt(double(hd)));
    TL_LAUNCH(flash_attention_kernel, dim3(unsigned(blocks)), dim3(kAttnThreads), shared, s, S, H, D, G, CH, Q, ldq,
              K, ldk, V, ldv, M, O, ldout, scale);
    return check_launch(fn, "flash_attention_kernel");
}

}  // extern "C"
