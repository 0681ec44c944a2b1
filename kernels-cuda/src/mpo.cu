// MPO contraction: one core of the direct product per launch, and the permutation that takes a contracted
// MPO out of the interleaved order (the contraction itself is tl_gemm's).
#include "tl_internal.h"
#include "tensorloom_mpo.h"

namespace {

constexpr int kMaxCores = 16;

// ---- tl_mpo_step ----------------------------------------------------------------------------------------------
// One step is a single GEMM over a flattened view: C [s, N] = core^T [s, r] · B [r, N], whose N = m*blocks*q
// columns are the (i, b, t) triples, B[k][(i,b,t)] = in[i*ldin + (b*r + k)*q + t] and
// C[c][(i,b,t)] = out[i*ldout + (b*s + c)*q + t]. Two kernels:
//
// mpo_tile_kernel (any q; q > 1 or s > 16): a register-tiled GEMM in the manner of gemm.cu. A block owns a
// BM x BN tile of C (rows c, columns n); each thread of a k-group owns a 4x4 register tile and reads it per
// k as one float4 of core^T and one float4 of B from shared memory (16 FMAs per 8 shared floats, rows padded
// by 4 floats, double-buffered tiles with the next one prefetched into registers, one barrier per step). The
// core^T tile is core's rows as they lie (contiguous in c: coalesced, stored untransposed); B's tile is loaded
// with consecutive threads on consecutive n, which are consecutive t, so loads are coalesced in runs of q
// floats (the whole 64-float row of a tile when q is a multiple of 64, full 32-byte sectors when q = 8). Each thread
// decodes the (i, b, t) of its few load and store columns once. Two tile shapes, picked per launch:
//   64 x 64, one k-group of 256 threads, 16-deep k steps: 32 FMAs per float taken from L2.
//   32 x 32, four k-groups of 64 threads (256 in all) splitting each 64-deep k step, summed in shared memory
//   at the end in a fixed order: 16 FMAs per float from L2, but 4x the blocks for shapes too small for 64 x 64.
// The 64 x 64 tile is used when it gives at least two blocks per multiprocessor. For the benchmark's sweep
// of a 4096 x 4096 matrix (digits 8, bonds 64, X, 64; m = 1; 132 SMs), tiles of 64 x 64 would give
//   (1, 8, 512, 512):     s 512,   N 512, r 8:       64 blocks  -> 32 x 32: 256 blocks (one k step)
//   (8, 512, 8X, 64):     s 8X,    N 512, r 512:     X = 204: 26 x 8 = 208 -> 32 x 32: 51 x 16 = 816 blocks
//   (64, 8X, 512, 8):     s 512,   N 512, r 8X:      64 blocks  -> 32 x 32: 256 blocks, 26 k steps at X = 204
// so every SM has work on every shape (X = 204: 816 blocks, ~6.2 per SM; 256 blocks, ~2 per SM). Both tile
// kernels take 64 registers (ptxas, sm_90), so 4 blocks of 256 threads fit an SM (32 warps); 816 blocks are
// then 1.5 waves. Shared memory per FMA is the same for both shapes (8 floats read per 16 FMAs, half of
// gemm.cu's 8x8 register tiles), which should hold them well under tl_gemm's 41 TFLOP/s but far above one
// thread per output running an r-long dot product through L1. Measured on an H200 (bench_kernels, 2026-11-30, the
// four-core sweep above): 111 us at X = 204 where the one-thread-per-output kernel took 383 (15 TFLOP/s), 38 us at
// X = 20 (was 97). With r also split when the tiles are few (launch_tile), the pair-merged plan takes 34 us at
// 10x and 14 us at 102x, against 19.6 us for the dense fp32 GEMV.
//
// mpo_narrow_kernel (q == 1, s <= 16: the last core of a sweep, (512, 512, 8, 1) in the benchmark): a tile of
// C would be mostly empty there (s = 8 rows) and B's columns are r apart, so instead one warp takes one column
// (i, b), its lanes read consecutive k of in (coalesced), multiply by core rows staged in shared memory (odd
// row stride: conflict-free; all of core at once up to 910 rows for s <= 8, 481 for s <= 16) and keep the s
// sums in registers; a butterfly per c sums the lanes, and lane c stores out[.. + c] (coalesced).
// 512 columns: 64 blocks of 8 warps, each lane streaming 16 floats of in.
constexpr int kTK = 16;    // k per step of one k-group
constexpr int kPad = 4;    // floats of padding per shared row (keeps float4 alignment)
constexpr int kNarrowS = 16;
constexpr int kNarrowFloats = 8192;  // shared floats for staged core rows (32 KiB): 910 rows of s = 8

template <int BM, int BN, int KSPLIT>
struct MpoTile {
    static constexpr int group = (BM / 4) * (BN / 4);  // threads of one k-group
    static constexpr int threads = group * KSPLIT;
    static constexpr int kd = kTK * KSPLIT;  // depth of a staged k step
    static constexpr int tile_floats = 2 * kd * (BM + kPad) + 2 * kd * (BN + kPad);
    static constexpr int reduce_floats = (KSPLIT - 1) * 16 * group;
    static constexpr int smem_floats = tile_floats > reduce_floats ? tile_floats : reduce_floats;
};

template <int BM, int BN, int KSPLIT>
__global__ void __launch_bounds__(MpoTile<BM, BN, KSPLIT>::threads)
    mpo_tile_kernel(int64_t m, int64_t blocks, int r, int s, int q, int k_per_split, const float *__restrict__ core,
                    const float *__restrict__ in, int64_t ldin, float *__restrict__ out, int64_t ldout,
                    int64_t split_stride) {
    using T = MpoTile<BM, BN, KSPLIT>;
    constexpr int THREADS = T::threads;
    constexpr int KD = T::kd;
    constexpr int TX = BN / 4;
    constexpr int A_LOADS = KD * BM / THREADS;  // core floats per thread per step
    constexpr int B_LOADS = KD * BN / THREADS;  // in floats per thread per step
    constexpr int A_ROW_STEP = THREADS / BM;
    constexpr int B_ROW_STEP = THREADS / BN;
    static_assert(KD * BM % THREADS == 0 && KD * BN % THREADS == 0, "tile not evenly loaded");
    static_assert(THREADS % BM == 0 && THREADS % BN == 0, "load mapping needs whole rows per pass");
    constexpr int AS = BM + kPad, BS = BN + kPad;
    // One array carved into the two double-buffered tiles, reused after the last step for the k-groups' sums.
    __shared__ __align__(16) float smem[T::smem_floats];
    float *const As = smem;                    // [2][KD][AS]: As[k][c] = core[k*s + c]
    float *const Bs = smem + 2 * KD * AS;      // [2][KD][BS]: Bs[k][n] = B[k][n]

    const int tid = threadIdx.x;
    const int g = tid / T::group;   // k-group
    const int gt = tid % T::group;  // thread within the group
    const int tx = gt % TX;
    const int ty = gt / TX;
    const int64_t qb = blocks * q;  // columns per row i
    const int64_t N = m * qb;
    const int64_t tiles_c = (s + BM - 1) / BM;
    const int64_t tiles = tiles_c * ((N + BN - 1) / BN);
    const int a_row = tid / BM, a_col = tid % BM;
    const int b_row = tid / BN, b_col = tid % BN;
    // This block's share of the sum over k (all of it unless the launch splits r; see tl_mpo_step).
    const int k_begin = int(blockIdx.y) * k_per_split;
    const int k_end = tl::imin(r, k_begin + k_per_split);
    const int k_tiles = k_end > k_begin ? (k_end - k_begin + KD - 1) / KD : 0;
    out += int64_t(blockIdx.y) * split_stride;

    for (int64_t tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
        const int c0 = int(tile % tiles_c) * BM;
        const int64_t n0 = tile / tiles_c * BN;

        // This thread's load column of B: its offset in `in` (without the k term), or -1 past N.
        int64_t b_off = -1;
        {
            const int64_t n = n0 + b_col;
            if (n < N) {
                const int64_t i = n / qb, rem = n - i * qb, b = rem / q, t = rem - b * q;
                b_off = i * ldin + b * r * int64_t(q) + t;
            }
        }
        const bool a_ok = c0 + a_col < s;

        float ra[A_LOADS], rb[B_LOADS];
        auto load_tile = [&](int k0) {
#pragma unroll
            for (int p = 0; p < A_LOADS; ++p) {
                const int k = k0 + a_row + p * A_ROW_STEP;
                ra[p] = a_ok && k < k_end ? core[int64_t(k) * s + c0 + a_col] : 0.f;
            }
#pragma unroll
            for (int p = 0; p < B_LOADS; ++p) {
                const int k = k0 + b_row + p * B_ROW_STEP;
                rb[p] = b_off >= 0 && k < k_end ? in[b_off + int64_t(k) * q] : 0.f;
            }
        };
        auto store_tile = [&](int buf) {
#pragma unroll
            for (int p = 0; p < A_LOADS; ++p) As[(buf * KD + a_row + p * A_ROW_STEP) * AS + a_col] = ra[p];
#pragma unroll
            for (int p = 0; p < B_LOADS; ++p) Bs[(buf * KD + b_row + p * B_ROW_STEP) * BS + b_col] = rb[p];
        };

        float acc[4][4];
#pragma unroll
        for (int i = 0; i < 4; ++i)
#pragma unroll
            for (int j = 0; j < 4; ++j) acc[i][j] = 0.f;

        if (k_tiles > 0) {
            load_tile(k_begin);
            store_tile(0);
        }
        __syncthreads();
        for (int kt = 0; kt < k_tiles; ++kt) {
            const int cur = kt & 1;
            if (kt + 1 < k_tiles) load_tile(k_begin + (kt + 1) * KD);  // in flight during the arithmetic
            const float *a_base = As + (cur * KD + g * kTK) * AS + ty * 4;
            const float *b_base = Bs + (cur * KD + g * kTK) * BS + tx * 4;
#pragma unroll
            for (int kk = 0; kk < kTK; ++kk) {
                const float4 a4 = *reinterpret_cast<const float4 *>(a_base + kk * AS);
                const float4 b4 = *reinterpret_cast<const float4 *>(b_base + kk * BS);
                const float a[4] = {a4.x, a4.y, a4.z, a4.w};
                const float b[4] = {b4.x, b4.y, b4.z, b4.w};
#pragma unroll
                for (int i = 0; i < 4; ++i)
#pragma unroll
                    for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
            }
            // The other buffer was last read in step kt-1, which ended with a barrier.
            if (kt + 1 < k_tiles) store_tile(cur ^ 1);
            __syncthreads();
        }

        if constexpr (KSPLIT > 1) {
            // The last step ended with a barrier, so the tiles' memory is free: groups 1.. leave their sums
            // there (consecutive threads, consecutive floats) and group 0 adds them in group order.
            if (g > 0) {
#pragma unroll
                for (int i = 0; i < 4; ++i)
#pragma unroll
                    for (int j = 0; j < 4; ++j) smem[((g - 1) * 16 + i * 4 + j) * T::group + gt] = acc[i][j];
            }
            __syncthreads();
            if (g == 0) {
                for (int h = 0; h < KSPLIT - 1; ++h)
#pragma unroll
                    for (int i = 0; i < 4; ++i)
#pragma unroll
                        for (int j = 0; j < 4; ++j) acc[i][j] += smem[(h * 16 + i * 4 + j) * T::group + gt];
            }
        }

        if (g == 0) {
#pragma unroll
            for (int j = 0; j < 4; ++j) {
                const int64_t n = n0 + tx * 4 + j;
                if (n >= N) continue;
                const int64_t i = n / qb, rem = n - i * qb, b = rem / q, t = rem - b * q;
                float *dst = out + i * ldout + b * s * int64_t(q) + t;
#pragma unroll
                for (int ii = 0; ii < 4; ++ii) {
                    const int c = c0 + ty * 4 + ii;
                    if (c < s) dst[int64_t(c) * q] = acc[ii][j];
                }
            }
        }
        if constexpr (KSPLIT > 1) __syncthreads();  // the sums' memory is the next tile's
    }
}

// q == 1 and s <= kNarrowS: out[i*ldout + b*s + c] = sum over k of core[k*s + c] * in[i*ldin + b*r + k], one
// warp per column (i, b) in a grid-stride loop over groups of 8 columns (see above).
__global__ void __launch_bounds__(256)
    mpo_narrow_kernel(int64_t m, int64_t blocks, int r, int s, const float *__restrict__ core,
                      const float *__restrict__ in, int64_t ldin, float *__restrict__ out, int64_t ldout) {
    constexpr int WARPS = 8;
    const int sp = s | 1;  // odd row stride: lanes on consecutive k hit distinct banks
    __shared__ float cs[kNarrowFloats];
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    const int64_t N = m * blocks;
    auto stage = [&](int k0, int rows) {
        for (int e = threadIdx.x; e < rows * s; e += blockDim.x) {
            const int kr = e / s, c = e - kr * s;
            cs[kr * sp + c] = core[int64_t(k0) * s + e];
        }
    };
    // Core rows staged at a time (rows of sp <= 9 or <= 17 floats; a division by sp made ptxas spill).
    const int chunk = s <= 8 ? kNarrowFloats / 9 : kNarrowFloats / 17;
    const bool one_chunk = r <= chunk;
    if (one_chunk) {
        stage(0, r);
        __syncthreads();
    }
    for (int64_t base = int64_t(blockIdx.x) * WARPS; base < N; base += int64_t(gridDim.x) * WARPS) {
        const int64_t n = base + warp;
        const bool valid = n < N;
        int64_t src = 0, dst = 0;  // offsets (in is null when r = 0)
        if (valid) {
            const int64_t i = n / blocks, b = n - i * blocks;
            src = i * ldin + b * r;
            dst = i * ldout + b * s;
        }
        float acc[kNarrowS];
#pragma unroll
        for (int c = 0; c < kNarrowS; ++c) acc[c] = 0.f;
        for (int k0 = 0; k0 < r; k0 += chunk) {
            const int rows = tl::imin(chunk, r - k0);
            if (!one_chunk) {
                __syncthreads();  // every warp is done with the previous chunk
                stage(k0, rows);
                __syncthreads();
            }
            if (valid) {
                for (int kr = lane; kr < rows; kr += 32) {
                    const float x = in[src + k0 + kr];
                    const float *row = cs + kr * sp;
#pragma unroll
                    for (int c = 0; c < kNarrowS; ++c)
                        if (c < s) acc[c] = fmaf(row[c], x, acc[c]);
                }
            }
        }
        if (valid) {  // uniform over the warp
            float mine = 0.f;
#pragma unroll
            for (int c = 0; c < kNarrowS; ++c) {
                if (c < s) {  // uniform over the warp
                    const float v = tl::warp_sum(acc[c]);
                    if (lane == c) mine = v;
                }
            }
            if (lane < s) out[dst + lane] = mine;
        }
    }
}

// The tiled step. A shape with fewer tiles than multiprocessors and a deep r (the second core of a pair-merged
// sweep: 64 columns of 64 outputs over r = 64·X, 4 tiles of 32 x 32) would leave most of the GPU idle while a
// few blocks walk all of r, so r is split into ranges of whole k steps, enough for about two blocks per
// multiprocessor; each range's partial product goes to the stream's scratch and tl::sum_splits adds them.
template <int BM, int BN, int KSPLIT>
tl_status launch_tile(const char *fn, tl_stream handle, cudaStream_t st, int64_t tiles, int64_t m, int64_t blocks,
                      int r, int s, int q, const float *pc, const float *pi, int64_t ldin, float *po, int64_t ldout) {
    constexpr int KD = MpoTile<BM, BN, KSPLIT>::kd;
    const dim3 threads(MpoTile<BM, BN, KSPLIT>::threads);
    const int k_steps = (r + KD - 1) / KD;
    int64_t splits = 1;
    if (tiles < int64_t(tl::sm_count())) splits = (2 * int64_t(tl::sm_count()) + tiles - 1) / tiles;
    if (splits > k_steps) splits = k_steps;
    if (splits > 65535) splits = 65535;  // gridDim.y
    if (splits <= 1) {
        const int k_all = k_steps * KD;  // r rounded up to whole steps (r itself bounds the loads)
        TL_LAUNCH((mpo_tile_kernel<BM, BN, KSPLIT>), dim3(tl::row_blocks(tiles, 1)), threads, 0, st, m, blocks, r, s,
                  q, k_all, pc, pi, ldin, po, ldout, int64_t(0));
        return tl::check_launch(fn, "mpo_tile_kernel");
    }
    const int64_t per_split = (k_steps + splits - 1) / splits;  // k steps per range
    splits = (k_steps + per_split - 1) / per_split;              // none left empty
    // The partial products are dense [m, blocks*s*q] each; the scratch stays locked until both kernels are queued.
    const int64_t row = blocks * int64_t(s) * q;
    void *scratch = nullptr;
    std::unique_lock<std::mutex> lock;
    TL_TRY(tl::stream_scratch(fn, handle, uint64_t(splits * m * row) * sizeof(float), &scratch, &lock));
    float *partial = static_cast<float *>(scratch);
    TL_LAUNCH((mpo_tile_kernel<BM, BN, KSPLIT>), dim3(tl::row_blocks(tiles, 1), unsigned(splits)), threads, 0, st, m,
              blocks, r, s, q, int(per_split * KD), pc, pi, ldin, partial, row, m * row);
    TL_TRY(tl::check_launch(fn, "mpo_tile_kernel"));
    return tl::sum_splits(fn, st, m, row, int(splits), partial, po, ldout);
}

// ---- tl_mpo_core_matrix ---------------------------------------------------------------------------------------
// One thread per element of the matrix [r, s], in its order (coalesced stores, gathered loads: a core is small and
// is permuted once per product).
__global__ void __launch_bounds__(256)
    mpo_core_matrix_kernel(int64_t dl, int64_t ni, int64_t nj, int64_t dr, bool left_in, bool right_in,
                           const float *__restrict__ core, float *__restrict__ matrix) {
    const int64_t rr = right_in ? dr : 1;  // trailing bond digit of a row
    const int64_t sr = right_in ? 1 : dr;  // trailing bond digit of a column
    const int64_t s = (left_in ? 1 : dl) * nj * sr;
    const int64_t total = (left_in ? dl : 1) * ni * rr * s;
    for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += int64_t(gridDim.x) * blockDim.x) {
        const int64_t row = e / s, col = e - row * s;
        const int64_t a = left_in ? row / (ni * rr) : col / (nj * sr);
        const int64_t ii = row / rr % ni;
        const int64_t jj = col / sr % nj;
        const int64_t b = right_in ? row % rr : col % sr;
        matrix[e] = core[((a * ni + ii) * nj + jj) * dr + b];
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
    if (q == 1 && s <= kNarrowS) {
        TL_LAUNCH(mpo_narrow_kernel, dim3(row_blocks(m * blocks, 8)), dim3(256), 0, st, m, blocks, int(r), int(s), pc,
                  pi, ldin, po, ldout);
        return check_launch(fn, "mpo_narrow_kernel");
    }
    const int64_t n = m * blocks * q;
    const int64_t big_tiles = (s + 63) / 64 * ((n + 63) / 64);
    if (big_tiles >= 2 * int64_t(sm_count()))
        return launch_tile<64, 64, 1>(fn, stream, st, big_tiles, m, blocks, int(r), int(s), int(q), pc, pi, ldin, po,
                                      ldout);
    const int64_t small_tiles = (s + 31) / 32 * ((n + 31) / 32);
    return launch_tile<32, 32, 4>(fn, stream, st, small_tiles, m, blocks, int(r), int(s), int(q), pc, pi, ldin, po,
                                  ldout);
}

TL_API tl_status tl_mpo_core_matrix(tl_stream stream, int64_t d_left, int64_t i, int64_t j, int64_t d_right,
                                    int32_t left_in, int32_t right_in, tl_buffer core, uint64_t core_offset,
                                    tl_buffer matrix, uint64_t matrix_offset) {
    static const char *fn = "tl_mpo_core_matrix";
    cudaStream_t st;
    Buffer cb, mb;
    TL_TRY(get_stream(fn, stream, &st));
    TL_TRY(get_buffer(fn, "core", core, &cb));
    TL_TRY(get_buffer(fn, "matrix", matrix, &mb));
    TL_TRY(check_sizes(fn, "d_left", d_left, "i", i, "j", j, "d_right", d_right));
    if (d_left > kMaxKernelDim || i > kMaxKernelDim || j > kMaxKernelDim || d_right > kMaxKernelDim ||
        d_left * i > kMaxKernelDim || j * d_right > kMaxKernelDim || d_left * i * j * d_right > kMaxKernelDim) {
        return fail(TL_ERROR_INVALID_ARGUMENT, "%s: core %lld x %lld x %lld x %lld exceeds the kernel's range", fn,
                    (long long)d_left, (long long)i, (long long)j, (long long)d_right);
    }
    const int64_t total = d_left * i * j * d_right;
    if (total == 0) return TL_OK;
    float *pc = nullptr, *pm = nullptr;
    TL_TRY(check_vector(fn, "core", "d_left*i*j*d_right", cb, core_offset, total, &pc));
    TL_TRY(check_vector(fn, "matrix", "d_left*i*j*d_right", mb, matrix_offset, total, &pm));
    TL_LAUNCH(mpo_core_matrix_kernel, dim3(row_blocks(total, 256)), dim3(256), 0, st, d_left, i, j, d_right,
              left_in != 0, right_in != 0, pc, pm);
    return check_launch(fn, "mpo_core_matrix_kernel");
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
