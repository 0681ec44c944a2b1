// fp32 GEMM (C = A·B and C = A·Bᵀ) and GEMV, row-major.
//
// GEMM: one block computes a BM x BN tile of C with (BM/8)*(BN/8) threads, each owning an 8x8 register
// tile, walking K in steps of BK = 16. A's tile is stored transposed in shared memory (As[k][m]) so that
// both operands of the inner product are read as float4 along the row of shared memory. The shared
// tiles are double-buffered and the next tile is prefetched into registers while the current one is
// multiplied, so a block needs a single __syncthreads per K step (this also keeps the emulation, where a
// barrier is expensive, to K/16 + 1 barriers per block). Each thread's 8x8 tile is split into four 4x4
// quadrants at row/column offsets BM/2 and BN/2: the float4 shared reads of a warp then hit consecutive
// addresses (no bank conflicts) and the C stores of a warp are float4s over contiguous columns.
//
// Edges (sizes that are not multiples of the tile, unaligned leading dimensions or offsets) run the same
// kernel with bounds-checked loads and stores; float4 global loads are used only where ld % 4 == 0 and the
// operand starts 16-byte aligned, scalar loads otherwise.
#include "tl_internal.h"

#include <climits>

namespace {

constexpr int kTM = 8;  // rows of C per thread
constexpr int kTN = 8;  // columns of C per thread
constexpr int kBK = 16;

template <int BM, int BN>
struct Tile {
    static constexpr int threads = (BM / kTM) * (BN / kTN);
};

// B is [K, N] (TRANS_B false) or [N, K] (TRANS_B true). VEC: float4 global loads are allowed (ld % 4 == 0,
// 16-byte aligned operand). CHECKED: the problem may not fill the tiles, so every access is guarded.
// The 256-thread configuration is held to 128 registers so that two blocks share a multiprocessor.
template <int BM, int BN, bool TRANS_B, bool VEC, bool CHECKED>
__global__ void __launch_bounds__(Tile<BM, BN>::threads, Tile<BM, BN>::threads >= 256 ? 2 : 1)
    gemm_kernel(int M, int N, int K, const float *__restrict__ A, int64_t lda, const float *__restrict__ B,
                int64_t ldb, float *__restrict__ C, int64_t ldc, int c_vec) {
    constexpr int THREADS = Tile<BM, BN>::threads;
    constexpr int TX = BN / kTN;
    constexpr int BK = kBK;
    constexpr int K4 = BK / 4;                       // float4s per row of an A (or Bᵀ) tile
    constexpr int A_LOADS = BM * BK / 4 / THREADS;   // float4s each thread loads per A tile
    constexpr int B_LOADS = BN * BK / 4 / THREADS;
    constexpr int N4 = BN / 4;                       // float4s per row of a B tile
    static_assert(BM * BK % (4 * THREADS) == 0 && BN * BK % (4 * THREADS) == 0, "tile not evenly loaded");
    static_assert(THREADS % K4 == 0 && THREADS % N4 == 0, "load mapping needs whole rows per pass");

    // Rows padded by 4 floats: the transposing scalar stores of a warp (4 k-rows x 8 m-columns) then fall
    // into 2 banks' worth of conflicts instead of 4, while every row stays 16-byte aligned for float4 reads.
    constexpr int PAD = 4;
    __shared__ __align__(16) float As[2][BK][BM + PAD];
    __shared__ __align__(16) float Bs[2][BK][BN + PAD];

    const int tid = threadIdx.x;
    const int tx = tid % TX;
    const int ty = tid / TX;
    const int m0 = blockIdx.y * BM;
    const int n0 = blockIdx.x * BN;

    // Per-thread load coordinates: every pass i covers THREADS/K4 more rows, same column.
    const int a_row = tid / K4;
    const int a_col = (tid % K4) * 4;
    constexpr int A_ROW_STEP = THREADS / K4;
    const int b_row = TRANS_B ? tid / K4 : tid / N4;
    const int b_col = TRANS_B ? (tid % K4) * 4 : (tid % N4) * 4;
    constexpr int B_ROW_STEP = TRANS_B ? THREADS / K4 : THREADS / N4;

    float4 ra[A_LOADS];
    float4 rb[B_LOADS];

    // Loads 4 consecutive floats of row `row` (of `rows`) from column `col` (of `cols`), zero outside.
    auto load4 = [&](const float *base, int64_t ld, int row, int rows, int col, int cols) -> float4 {
        if (!CHECKED) return *reinterpret_cast<const float4 *>(base + int64_t(row) * ld + col);
        float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
        if (row >= rows) return v;
        const float *p = base + int64_t(row) * ld + col;
        if (VEC && col + 3 < cols) return *reinterpret_cast<const float4 *>(p);
        if (col + 0 < cols) v.x = p[0];
        if (col + 1 < cols) v.y = p[1];
        if (col + 2 < cols) v.z = p[2];
        if (col + 3 < cols) v.w = p[3];
        return v;
    };

    auto load_tile = [&](int k0) {
#pragma unroll
        for (int i = 0; i < A_LOADS; ++i) ra[i] = load4(A, lda, m0 + a_row + i * A_ROW_STEP, M, k0 + a_col, K);
#pragma unroll
        for (int i = 0; i < B_LOADS; ++i) {
            if (TRANS_B)
                rb[i] = load4(B, ldb, n0 + b_row + i * B_ROW_STEP, N, k0 + b_col, K);
            else
                rb[i] = load4(B, ldb, k0 + b_row + i * B_ROW_STEP, K, n0 + b_col, N);
        }
    };

    auto store_tile = [&](int buf) {
#pragma unroll
        for (int i = 0; i < A_LOADS; ++i) {
            const int r = a_row + i * A_ROW_STEP;
            As[buf][a_col + 0][r] = ra[i].x;
            As[buf][a_col + 1][r] = ra[i].y;
            As[buf][a_col + 2][r] = ra[i].z;
            As[buf][a_col + 3][r] = ra[i].w;
        }
#pragma unroll
        for (int i = 0; i < B_LOADS; ++i) {
            const int r = b_row + i * B_ROW_STEP;
            if (TRANS_B) {
                Bs[buf][b_col + 0][r] = rb[i].x;
                Bs[buf][b_col + 1][r] = rb[i].y;
                Bs[buf][b_col + 2][r] = rb[i].z;
                Bs[buf][b_col + 3][r] = rb[i].w;
            } else {
                *reinterpret_cast<float4 *>(&Bs[buf][r][b_col]) = rb[i];
            }
        }
    };

    float acc[kTM][kTN];
#pragma unroll
    for (int i = 0; i < kTM; ++i)
#pragma unroll
        for (int j = 0; j < kTN; ++j) acc[i][j] = 0.f;

    const int tiles = (K + BK - 1) / BK;
    if (tiles > 0) {
        load_tile(0);
        store_tile(0);
    }
    __syncthreads();

    for (int t = 0; t < tiles; ++t) {
        const int cur = t & 1;
        // Issued before the arithmetic so the global latency hides behind it.
        if (t + 1 < tiles) load_tile((t + 1) * BK);

#pragma unroll
        for (int kk = 0; kk < BK; ++kk) {
            const float4 a_lo = *reinterpret_cast<const float4 *>(&As[cur][kk][ty * 4]);
            const float4 a_hi = *reinterpret_cast<const float4 *>(&As[cur][kk][ty * 4 + BM / 2]);
            const float4 b_lo = *reinterpret_cast<const float4 *>(&Bs[cur][kk][tx * 4]);
            const float4 b_hi = *reinterpret_cast<const float4 *>(&Bs[cur][kk][tx * 4 + BN / 2]);
            const float a[kTM] = {a_lo.x, a_lo.y, a_lo.z, a_lo.w, a_hi.x, a_hi.y, a_hi.z, a_hi.w};
            const float b[kTN] = {b_lo.x, b_lo.y, b_lo.z, b_lo.w, b_hi.x, b_hi.y, b_hi.z, b_hi.w};
#pragma unroll
            for (int i = 0; i < kTM; ++i)
#pragma unroll
                for (int j = 0; j < kTN; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
        }

        // The other buffer was last read in iteration t-1, which ended with a barrier.
        if (t + 1 < tiles) store_tile(cur ^ 1);
        __syncthreads();
    }

#pragma unroll
    for (int i = 0; i < kTM; ++i) {
        const int row = m0 + (i < 4 ? ty * 4 + i : BM / 2 + ty * 4 + (i - 4));
        if (CHECKED && row >= M) continue;
        float *c_row = C + int64_t(row) * ldc;
#pragma unroll
        for (int half = 0; half < 2; ++half) {
            const int col = n0 + half * (BN / 2) + tx * 4;
            const float *v = &acc[i][half * 4];
            if constexpr (!CHECKED) {  // unchecked launches guarantee an aligned C
                *reinterpret_cast<float4 *>(c_row + col) = make_float4(v[0], v[1], v[2], v[3]);
                continue;
            }
            if (c_vec && col + 3 < N) {
                *reinterpret_cast<float4 *>(c_row + col) = make_float4(v[0], v[1], v[2], v[3]);
                continue;
            }
#pragma unroll
            for (int j = 0; j < 4; ++j)
                if (col + j < N) c_row[col + j] = v[j];
        }
    }
}

// y[row] = A[row,:]·x, one warp per row, eight rows per 256-thread block. Rows are independent, so no
// block barrier is needed; the warp reduces with shuffles.
template <bool VEC>
__global__ void __launch_bounds__(256)
    gemv_kernel(int M, int K, const float *__restrict__ A, int64_t lda, const float *__restrict__ x,
                float *__restrict__ y) {
    const int lane = threadIdx.x & 31;
    const int warps_per_block = blockDim.x >> 5;
    // 64-bit row: with M close to 2^31-1, row + stride would overflow an int.
    for (int64_t row = int64_t(blockIdx.x) * warps_per_block + (threadIdx.x >> 5); row < M;
         row += int64_t(gridDim.x) * warps_per_block) {
        const float *a = A + int64_t(row) * lda;
        float s0 = 0.f, s1 = 0.f, s2 = 0.f, s3 = 0.f;
        int tail = 0;
        if (VEC) {
            const float4 *a4 = reinterpret_cast<const float4 *>(a);
            const float4 *x4 = reinterpret_cast<const float4 *>(x);
            const int k4 = K >> 2;
            int i = lane;
            // Four independent 16-byte loads in flight per lane: enough to cover DRAM latency.
            for (; i + 96 < k4; i += 128) {
                const float4 v0 = a4[i], v1 = a4[i + 32], v2 = a4[i + 64], v3 = a4[i + 96];
                const float4 w0 = x4[i], w1 = x4[i + 32], w2 = x4[i + 64], w3 = x4[i + 96];
                s0 = fmaf(v0.x, w0.x, fmaf(v0.y, w0.y, fmaf(v0.z, w0.z, fmaf(v0.w, w0.w, s0))));
                s1 = fmaf(v1.x, w1.x, fmaf(v1.y, w1.y, fmaf(v1.z, w1.z, fmaf(v1.w, w1.w, s1))));
                s2 = fmaf(v2.x, w2.x, fmaf(v2.y, w2.y, fmaf(v2.z, w2.z, fmaf(v2.w, w2.w, s2))));
                s3 = fmaf(v3.x, w3.x, fmaf(v3.y, w3.y, fmaf(v3.z, w3.z, fmaf(v3.w, w3.w, s3))));
            }
            for (; i < k4; i += 32) {
                const float4 v = a4[i], w = x4[i];
                s0 = fmaf(v.x, w.x, fmaf(v.y, w.y, fmaf(v.z, w.z, fmaf(v.w, w.w, s0))));
            }
            tail = k4 << 2;
        }
        for (int64_t i = tail + lane; i < K; i += 32) s1 = fmaf(a[i], x[i], s1);
        float s = (s0 + s1) + (s2 + s3);
        s = tl::warp_sum(s);
        if (lane == 0) y[row] = s;
    }
}

// ---- small M (M <= 16: a batch of one short sentence) ------------------------------------------------------
// The tiled kernel gives such a product N/64 blocks that each walk all of K: for MiniLM's FFN-down at M = 10
// that is 6 blocks on a GPU of 132 multiprocessors, each streaming a 1536-deep column strip of B alone. The
// product is memory-bound (B is read once, and B is most of the traffic), so it is split along K instead: a
// block takes 64 columns and a range of K, stages A's and B's 64-deep chunks in shared memory (loads
// coalesced along B's contiguous dimension whichever its layout) and has 64 columns x 4 k-groups of threads
// accumulate all 16 rows; the 4 groups are summed in shared memory, and the K ranges (enough of them for about
// two blocks per multiprocessor) in a second small kernel over a workspace, in a fixed order, so the result
// does not depend on scheduling.
constexpr int kSmallM = 16;
constexpr int kSmallBN = 64;
constexpr int kSmallBK = 64;
constexpr int kSmallGroups = 4;  // 64 x 4 = 256 threads

// out[split][m][n] = sum over the split's K range of A[m][k]·B[k][n] for the block's 64 columns, where the
// split is blockIdx.y and its range is chunks_per_split chunks of 64.
template <bool TRANS_B>
__global__ void __launch_bounds__(kSmallBN * kSmallGroups)
    small_m_gemm_kernel(int M, int N, int K, int chunks_per_split, const float *__restrict__ A, int64_t lda,
                        const float *__restrict__ B, int64_t ldb, float *__restrict__ out, int64_t ldout,
                        int64_t split_stride) {
    constexpr int THREADS = kSmallBN * kSmallGroups;
    __shared__ float As[kSmallM][kSmallBK];
    __shared__ float Bs[kSmallBK][kSmallBN + 1];  // +1: the transposing stores of TRANS_B hit distinct banks
    __shared__ float partial[kSmallGroups][kSmallM][kSmallBN];
    const int tid = threadIdx.x;
    const int tx = tid % kSmallBN;  // column; a warp is 32 consecutive columns of one k-group
    const int ty = tid / kSmallBN;  // k-group
    const int n0 = blockIdx.x * kSmallBN;
    const int64_t k_begin = int64_t(blockIdx.y) * chunks_per_split * kSmallBK;
    const int64_t k_stop = k_begin + int64_t(chunks_per_split) * kSmallBK;
    const int k_end = int(k_stop < K ? k_stop : K);

    float acc[kSmallM];
#pragma unroll
    for (int m = 0; m < kSmallM; ++m) acc[m] = 0.f;

    for (int k0 = int(k_begin); k0 < k_end; k0 += kSmallBK) {
        for (int e = tid; e < kSmallM * kSmallBK; e += THREADS) {
            const int m = e / kSmallBK, k = e % kSmallBK;
            As[m][k] = m < M && k0 + k < k_end ? A[int64_t(m) * lda + k0 + k] : 0.f;
        }
        for (int e = tid; e < kSmallBK * kSmallBN; e += THREADS) {
            if (TRANS_B) {  // B is [N, K]: consecutive threads along k
                const int n = e / kSmallBK, k = e % kSmallBK;
                Bs[k][n] = n0 + n < N && k0 + k < k_end ? B[int64_t(n0 + n) * ldb + k0 + k] : 0.f;
            } else {  // B is [K, N]: consecutive threads along n
                const int k = e / kSmallBN, n = e % kSmallBN;
                Bs[k][n] = n0 + n < N && k0 + k < k_end ? B[int64_t(k0 + k) * ldb + n0 + n] : 0.f;
            }
        }
        __syncthreads();
#pragma unroll 4
        for (int k = ty; k < kSmallBK; k += kSmallGroups) {
            const float b = Bs[k][tx];
#pragma unroll
            for (int m = 0; m < kSmallM; ++m) acc[m] = fmaf(As[m][k], b, acc[m]);  // As: a broadcast per warp
        }
        __syncthreads();
    }

#pragma unroll
    for (int m = 0; m < kSmallM; ++m) partial[ty][m][tx] = acc[m];
    __syncthreads();
    float *o = out + int64_t(blockIdx.y) * split_stride;
    for (int e = tid; e < M * kSmallBN; e += THREADS) {
        const int m = e / kSmallBN, c = e % kSmallBN;
        float sum = 0.f;
#pragma unroll
        for (int g = 0; g < kSmallGroups; ++g) sum += partial[g][m][c];
        if (n0 + c < N) o[int64_t(m) * ldout + n0 + c] = sum;
    }
}

// The kernel of tl::sum_splits (below, outside this file's anonymous namespace).
__global__ void __launch_bounds__(256)
    sum_splits_kernel(int64_t rows, int64_t cols, int splits, const float *__restrict__ partial,
                      float *__restrict__ out, int64_t ldout) {
    const int64_t total = rows * cols;
    for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
        float sum = 0.f;
        for (int p = 0; p < splits; ++p) sum += partial[p * total + e];
        const int64_t i = e / cols;
        out[i * ldout + (e - i * cols)] = sum;
    }
}

template <bool TRANS_B>
tl_status launch_small_m(const char *fn, tl_stream handle, cudaStream_t stream, int M, int N, int K, const float *A,
                         int64_t lda, const float *B, int64_t ldb, float *C, int64_t ldc) {
    const int64_t n_tiles = (int64_t(N) + kSmallBN - 1) / kSmallBN;
    const int64_t chunks = (int64_t(K) + kSmallBK - 1) / kSmallBK;
    int64_t splits = (2 * int64_t(tl::sm_count()) + n_tiles - 1) / n_tiles;  // about two blocks per SM
    if (splits > chunks) splits = chunks;
    if (splits > 65535) splits = 65535;  // gridDim.y
    if (splits < 1) splits = 1;
    const int64_t per_split = (chunks + splits - 1) / splits;
    splits = (chunks + per_split - 1) / per_split;  // none left empty
    const dim3 block(kSmallBN * kSmallGroups);
    const dim3 grid{unsigned(n_tiles), unsigned(splits)};
    const char *name = TRANS_B ? "small_m_gemm_kernel<transposed B>" : "small_m_gemm_kernel";
    if (splits == 1) {
        TL_LAUNCH(small_m_gemm_kernel<TRANS_B>, grid, block, 0, stream, M, N, K, int(per_split), A, lda, B, ldb, C,
                  ldc, int64_t(0));
        return tl::check_launch(fn, name);
    }
    // The workspace is the stream's scratch, held (locked) until both kernels are queued behind each other.
    void *scratch = nullptr;
    std::unique_lock<std::mutex> lock;
    const int64_t stride = int64_t(M) * N;
    TL_TRY(tl::stream_scratch(fn, handle, uint64_t(splits * stride) * sizeof(float), &scratch, &lock));
    float *workspace = static_cast<float *>(scratch);
    TL_LAUNCH(small_m_gemm_kernel<TRANS_B>, grid, block, 0, stream, M, N, K, int(per_split), A, lda, B, ldb,
              workspace, int64_t(N), stride);
    TL_TRY(tl::check_launch(fn, name));
    return tl::sum_splits(fn, stream, M, N, int(splits), workspace, C, ldc);
}

template <int BM, int BN, bool TRANS_B>
tl_status launch_gemm(const char *fn, cudaStream_t stream, int M, int N, int K, const float *A, int64_t lda,
                      const float *B, int64_t ldb, float *C, int64_t ldc) {
    const bool vec = lda % 4 == 0 && ldb % 4 == 0 && tl::aligned16(A) && tl::aligned16(B);
    const bool c_vec = ldc % 4 == 0 && tl::aligned16(C);
    const bool full = M % BM == 0 && N % BN == 0 && K % kBK == 0 && vec && c_vec;
    // gridDim.y is limited to 65535 on a GPU, so more row tiles than that go in several launches of at most
    // 65535 * BM rows each. Every chunk but the last is a whole number of tiles, so `full` holds per chunk,
    // and advancing A and C by whole rows keeps them 16-byte aligned when vec / c_vec say so.
    constexpr int64_t kMaxRowTiles = 65535;
    const int64_t n_tiles = (int64_t(N) + BN - 1) / BN;  // 64-bit: N + BN - 1 may not fit an int
    dim3 block(Tile<BM, BN>::threads);
    int cv = c_vec ? 1 : 0;
    // Launched through a function pointer: a template-id with commas cannot be a macro argument.
    void (*kernel)(int, int, int, const float *, int64_t, const float *, int64_t, float *, int64_t, int);
    if (full)
        kernel = gemm_kernel<BM, BN, TRANS_B, true, false>;
    else if (vec)
        kernel = gemm_kernel<BM, BN, TRANS_B, true, true>;
    else
        kernel = gemm_kernel<BM, BN, TRANS_B, false, true>;
    for (int64_t r0 = 0; r0 < M; r0 += kMaxRowTiles * BM) {
        const int64_t left = int64_t(M) - r0;
        const int rows = int(left < kMaxRowTiles * BM ? left : kMaxRowTiles * BM);
        dim3 grid(unsigned(n_tiles), unsigned((rows + BM - 1) / BM));
        TL_LAUNCH(kernel, grid, block, 0, stream, rows, N, K, A + r0 * lda, lda, B, ldb, C + r0 * ldc, ldc, cv);
        TL_TRY(tl::check_launch(fn, TRANS_B ? "gemm_kernel<transposed B>" : "gemm_kernel"));
    }
    return TL_OK;
}

tl_status gemm_common(const char *fn, bool trans_b, tl_stream stream, int64_t m, int64_t n, int64_t k, tl_buffer a,
                      uint64_t a_offset, int64_t lda, tl_buffer b, uint64_t b_offset, int64_t ldb, tl_buffer c,
                      uint64_t c_offset, int64_t ldc) {
    using namespace tl;
    cudaStream_t s;
    Buffer ab, bb, cb;
    TL_TRY(get_stream(fn, stream, &s));
    TL_TRY(get_buffer(fn, "A", a, &ab));
    TL_TRY(get_buffer(fn, "B", b, &bb));
    TL_TRY(get_buffer(fn, "C", c, &cb));
    TL_TRY(check_sizes(fn, "m", m, "n", n, "k", k));
    if (m == 0 || n == 0) return TL_OK;
    if (m > kMaxKernelDim || n > kMaxKernelDim || k > kMaxKernelDim)
        return fail(TL_ERROR_INVALID_ARGUMENT, "%s: [m=%lld, n=%lld, k=%lld] exceeds 2^31-1025 in a dimension", fn,
                    (long long)m, (long long)n, (long long)k);
    float *A, *B, *C;
    TL_TRY(check_matrix(fn, "A", "m", "k", "lda", ab, a_offset, m, k, lda, &A));
    if (trans_b)
        TL_TRY(check_matrix(fn, "B", "n", "k", "ldb", bb, b_offset, n, k, ldb, &B));
    else
        TL_TRY(check_matrix(fn, "B", "k", "n", "ldb", bb, b_offset, k, n, ldb, &B));
    TL_TRY(check_matrix(fn, "C", "m", "n", "ldc", cb, c_offset, m, n, ldc, &C));
    // With k == 0 the operands A and B are empty and the product is zero; the kernel writes it.
    if (k == 0) {
        lda = 4;
        ldb = 4;
    }
    const int M = int(m), N = int(n), K = int(k);
    if (M <= kSmallM && K > 0)
        return trans_b ? launch_small_m<true>(fn, stream, s, M, N, K, A, lda, B, ldb, C, ldc)
                       : launch_small_m<false>(fn, stream, s, M, N, K, A, lda, B, ldb, C, ldc);
    // Two 128x128 blocks fit on a multiprocessor at once; when the problem does not give every
    // multiprocessor even one of them, 64x64 tiles (64 threads, same 8x8 per thread) quadruple the blocks.
    const int64_t big_blocks = ((m + 127) / 128) * ((n + 127) / 128);
    const bool small = big_blocks < int64_t(sm_count());
    if (trans_b)
        return small ? launch_gemm<64, 64, true>(fn, s, M, N, K, A, lda, B, ldb, C, ldc)
                     : launch_gemm<128, 128, true>(fn, s, M, N, K, A, lda, B, ldb, C, ldc);
    return small ? launch_gemm<64, 64, false>(fn, s, M, N, K, A, lda, B, ldb, C, ldc)
                 : launch_gemm<128, 128, false>(fn, s, M, N, K, A, lda, B, ldb, C, ldc);
}

}  // namespace

namespace tl {

tl_status sum_splits(const char *fn, cudaStream_t stream, int64_t rows, int64_t cols, int splits,
                     const float *partial, float *out, int64_t ldout) {
    TL_LAUNCH(sum_splits_kernel, dim3(row_blocks(rows * cols, 256)), dim3(256), 0, stream, rows, cols, splits, partial,
              out, ldout);
    return check_launch(fn, "sum_splits_kernel");
}

}  // namespace tl

using namespace tl;

extern "C" {

TL_API tl_status tl_gemm(tl_stream stream, int64_t m, int64_t n, int64_t k, tl_buffer a, uint64_t a_offset,
                         int64_t lda, tl_buffer b, uint64_t b_offset, int64_t ldb, tl_buffer c, uint64_t c_offset,
                         int64_t ldc) {
    return gemm_common("tl_gemm", false, stream, m, n, k, a, a_offset, lda, b, b_offset, ldb, c, c_offset, ldc);
}

TL_API tl_status tl_gemm_transposed_b(tl_stream stream, int64_t m, int64_t n, int64_t k, tl_buffer a,
                                      uint64_t a_offset, int64_t lda, tl_buffer b, uint64_t b_offset, int64_t ldb,
                                      tl_buffer c, uint64_t c_offset, int64_t ldc) {
    return gemm_common("tl_gemm_transposed_b", true, stream, m, n, k, a, a_offset, lda, b, b_offset, ldb, c,
                       c_offset, ldc);
}

TL_API tl_status tl_gemv(tl_stream stream, int64_t m, int64_t k, tl_buffer a, uint64_t a_offset, int64_t lda,
                         tl_buffer x, uint64_t x_offset, tl_buffer y, uint64_t y_offset) {
    static const char *fn = "tl_gemv";
    cudaStream_t s;
    Buffer ab, xb, yb;
    TL_TRY(get_stream(fn, stream, &s));
    TL_TRY(get_buffer(fn, "A", a, &ab));
    TL_TRY(get_buffer(fn, "x", x, &xb));
    TL_TRY(get_buffer(fn, "y", y, &yb));
    TL_TRY(check_sizes(fn, "m", m, "k", k));
    if (m == 0) return TL_OK;
    if (m > kMaxKernelDim || k > kMaxKernelDim)
        return fail(TL_ERROR_INVALID_ARGUMENT, "%s: [m=%lld, k=%lld] exceeds 2^31-1025 in a dimension", fn,
                    (long long)m, (long long)k);
    float *A, *X, *Y;
    TL_TRY(check_matrix(fn, "A", "m", "k", "lda", ab, a_offset, m, k, lda, &A));
    TL_TRY(check_vector(fn, "x", "k", xb, x_offset, k, &X));
    TL_TRY(check_vector(fn, "y", "m", yb, y_offset, m, &Y));
    const int M = int(m), K = int(k);
    const bool vec = k > 0 && lda % 4 == 0 && aligned16(A) && aligned16(X);
    const dim3 blocks(row_blocks(m, 8));
    if (vec)
        TL_LAUNCH(gemv_kernel<true>, blocks, dim3(256), 0, s, M, K, A, lda, X, Y);
    else
        TL_LAUNCH(gemv_kernel<false>, blocks, dim3(256), 0, s, M, K, A, lda, X, Y);
    return check_launch(fn, "gemv_kernel");
}

}  // extern "C"
