// Dequantizing matrix products: y = x·b and c = a·b with b [k, n] in a packed low-bit form (the quant module's
// group formats or ggml's blocks), read in place. Every format is read in "slices" of 16 consecutive weights of
// one output channel: 16 consecutive bytes of each bit plane (one 16-byte load), or a quarter of a ggml block,
// so one decoder per format serves the GEMV and the GEMM. A slice never straddles a group or a ggml sub-block, so
// it has one scale. Each weight comes out exactly as the format's definition (and the Java oracle) computes it.
#include "tl_internal.h"
#include "tensorloom_quant.h"

namespace {

constexpr int kSlice = 16;  // weights per slice

// fp16 bits to float, exactly (subnormals, infinities and NaN included): the emulation has no half type, and a
// scale is read once per slice, so the few integer operations cost nothing next to the 16 weights.
__device__ __forceinline__ float half_to_float(uint32_t h) {
    const uint32_t sign = (h & 0x8000u) << 16;
    const uint32_t exponent = (h >> 10) & 0x1Fu;
    const uint32_t mantissa = h & 0x3FFu;
    if (exponent == 0x1Fu) return __uint_as_float(sign | 0x7F800000u | (mantissa << 13));
    if (exponent != 0) return __uint_as_float(sign | ((exponent + 112u) << 23) | (mantissa << 13));
    const float subnormal = float(mantissa) * 0x1p-24f;  // exact: mantissa < 2^10
    return sign ? -subnormal : subnormal;
}

// Four codes in the byte lanes of `word`, minus `zero`, as floats: 2^23 + u has u in its low mantissa bits, so
// OR-ing a byte into 0x4B000000 and subtracting 2^23 + zero is the exact u - zero without an integer-to-float
// conversion (a quarter-rate instruction on sm_80/sm_90).
__device__ __forceinline__ void bytes_minus(uint32_t word, float zero, float *out) {
    const float bias = 8388608.f + zero;
#pragma unroll
    for (int b = 0; b < 4; ++b) out[b] = __uint_as_float(0x4B000000u | ((word >> (8 * b)) & 0xFFu)) - bias;
}

// 16 bytes at a 16-byte boundary as four little-endian words.
__device__ __forceinline__ void load16_aligned(const unsigned char *p, uint32_t w[4]) {
    const int4 v = *reinterpret_cast<const int4 *>(p);
    w[0] = uint32_t(v.x);
    w[1] = uint32_t(v.y);
    w[2] = uint32_t(v.z);
    w[3] = uint32_t(v.w);
}

// 16 bytes at a 2-byte boundary (ggml's 18-, 34- and 210-byte blocks put their bytes there) as four words.
__device__ __forceinline__ void load16_halves(const unsigned char *p, uint32_t w[4]) {
    const uint16_t *h = reinterpret_cast<const uint16_t *>(p);
#pragma unroll
    for (int i = 0; i < 4; ++i) w[i] = uint32_t(h[2 * i]) | (uint32_t(h[2 * i + 1]) << 16);
}

__device__ __forceinline__ float half_at(const unsigned char *p) {
    return half_to_float(*reinterpret_cast<const uint16_t *>(p));
}

// ---- the decoders: slice s (weights 16s .. 16s+15) of output channel j into w[16] ------------------------------

// The group formats (layout in tensorloom_quant.h): in a plane of width W, slice s is the 16 bytes of unit
// s / (8/W) shifted right by W·(s mod 8/W); three bits are a 2-bit plane (low bits) and a 1-bit plane.
template <int BITS>
struct GroupSlices {
    const unsigned char *codes;
    const uint16_t *scales;
    const unsigned char *zeros;  // null when symmetric
    int64_t row_bytes;
    int64_t groups;
    int64_t group_size;  // k itself for one group per channel
    int64_t plane1;      // byte offset of the 1-bit plane within a row (3 bits only)

    __device__ __forceinline__ void slice(int64_t j, int64_t s, float *w) const {
        constexpr int kWidth0 = BITS == 3 ? 2 : BITS;
        constexpr int kPer0 = 8 / kWidth0;  // slices per unit of plane 0
        constexpr uint32_t kMask0 = ((1u << kWidth0) - 1u) * 0x01010101u;
        const unsigned char *row = codes + j * row_bytes;
        uint32_t q[4];
        load16_aligned(row + (s / kPer0) * 16, q);
        const int shift0 = kWidth0 * int(s % kPer0);
#pragma unroll
        for (int i = 0; i < 4; ++i) q[i] = (q[i] >> shift0) & kMask0;
        if constexpr (BITS == 3) {
            uint32_t h[4];
            load16_aligned(row + plane1 + (s / 8) * 16, h);
            const int shift1 = int(s % 8);
#pragma unroll
            for (int i = 0; i < 4; ++i) q[i] |= ((h[i] >> shift1) & 0x01010101u) << 2;
        }
        const int64_t at = j * groups + (s * kSlice) / group_size;
        const float scale = half_to_float(scales[at]);
        const float zero = zeros != nullptr ? float(zeros[at]) : float(1 << (BITS - 1));
#pragma unroll
        for (int i = 0; i < 4; ++i) bytes_minus(q[i], zero, w + 4 * i);
#pragma unroll
        for (int i = 0; i < kSlice; ++i) w[i] *= scale;  // s·(u - z): exact, as the definition
    }
};

// Rows of n blocks back to back; row_bytes = k / block size · block bytes.
struct GgmlRows {
    const unsigned char *blocks;
    int64_t row_bytes;
};

// Q4_0 (18 bytes: f16 d, 16 bytes of nibbles): slice 2b+h is block b's low (h = 0) or high nibbles; w = d·(q - 8).
struct Q4_0Slices : GgmlRows {
    __device__ __forceinline__ void slice(int64_t j, int64_t s, float *w) const {
        const unsigned char *block = blocks + j * row_bytes + (s / 2) * 18;
        uint32_t q[4];
        load16_halves(block + 2, q);
        const int shift = 4 * int(s % 2);
        const float d = half_at(block);
#pragma unroll
        for (int i = 0; i < 4; ++i) bytes_minus((q[i] >> shift) & 0x0F0F0F0Fu, 8.f, w + 4 * i);
#pragma unroll
        for (int i = 0; i < kSlice; ++i) w[i] *= d;
    }
};

// Q8_0 (34 bytes: f16 d, 32 int8): w = d·q; flipping the sign bit makes q + 128 an unsigned byte.
struct Q8_0Slices : GgmlRows {
    __device__ __forceinline__ void slice(int64_t j, int64_t s, float *w) const {
        const unsigned char *block = blocks + j * row_bytes + (s / 2) * 34;
        uint32_t q[4];
        load16_halves(block + 2 + 16 * (s % 2), q);
        const float d = half_at(block);
#pragma unroll
        for (int i = 0; i < 4; ++i) bytes_minus(q[i] ^ 0x80808080u, 128.f, w + 4 * i);
#pragma unroll
        for (int i = 0; i < kSlice; ++i) w[i] *= d;
    }
};

// Q4_K (144 bytes: f16 d, f16 dmin, 12 bytes of 6-bit scales and mins, 128 bytes of nibbles): each 64 weights
// are 32 bytes, low nibbles then high, with sub-block scales 2p and 2p+1; w = d·sc·q - dmin·m (ggml's order).
struct Q4_KSlices : GgmlRows {
    __device__ __forceinline__ void slice(int64_t j, int64_t s, float *w) const {
        const unsigned char *block = blocks + j * row_bytes + (s / 16) * 144;
        const int sub = int(s % 16), pair = sub / 4, high = (sub % 4) / 2;
        const int is = 2 * pair + high;
        const unsigned char *sc = block + 4;
        // ggml's get_scale_min_k4
        const int scale = is < 4 ? sc[is] & 63 : (sc[is + 4] & 0xF) | ((sc[is - 4] >> 6) << 4);
        const int min = is < 4 ? sc[is + 4] & 63 : (sc[is + 4] >> 4) | ((sc[is] >> 6) << 4);
        const float d1 = half_at(block) * float(scale);
        const float m1 = half_at(block + 2) * float(min);
        uint32_t q[4];
        load16_aligned(block + 16 + pair * 32 + 16 * (sub % 2), q);
#pragma unroll
        for (int i = 0; i < 4; ++i) bytes_minus((q[i] >> (4 * high)) & 0x0F0F0F0Fu, 0.f, w + 4 * i);
        // d1·q is exact (11 + 6 + 4 bits), so a fused multiply-add rounds as ggml's multiply-then-subtract does.
#pragma unroll
        for (int i = 0; i < kSlice; ++i) w[i] = d1 * w[i] - m1;
    }
};

// Q6_K (210 bytes: 128 bytes of low nibbles, 64 of high bit pairs, 16 int8 scales, f16 d): each half of 128
// weights is four quarters of 32; quarter t takes the low (t < 2) or high nibbles of ql[32·(t mod 2) ..], bits
// 2t of qh, and scales is + 2t; w = (d·sc)·(q - 32) in ggml's order.
struct Q6_KSlices : GgmlRows {
    __device__ __forceinline__ void slice(int64_t j, int64_t s, float *w) const {
        const unsigned char *block = blocks + j * row_bytes + (s / 16) * 210;
        const int sub = int(s % 16), half = sub / 8, quarter = (sub % 8) / 2, is = sub % 2;
        uint32_t lo[4], hi[4];
        load16_halves(block + half * 64 + (quarter % 2) * 32 + 16 * is, lo);
        load16_halves(block + 128 + half * 32 + 16 * is, hi);
        const float dsc = half_at(block + 208) * float(static_cast<signed char>(block[192 + half * 8 + is + 2 * quarter]));
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            const uint32_t q = ((lo[i] >> (4 * (quarter / 2))) & 0x0F0F0F0Fu) | (((hi[i] >> (2 * quarter)) & 0x03030303u) << 4);
            bytes_minus(q, 32.f, w + 4 * i);
        }
#pragma unroll
        for (int i = 0; i < kSlice; ++i) w[i] = dsc * w[i];
    }
};

// ---- GEMV: batch 1 ------------------------------------------------------------------------------------------

constexpr int kGemvThreads = 128;
constexpr int kGemvRows = 4;

// The warp's sums of four values, in 6 shuffles instead of 20: the xor-16 step leaves rows 0, 1 in the lower
// half-warp and rows 2, 3 in the upper one, the xor-8 step one row per quarter, and three more steps add the
// rest. Lane 8r holds row r's total (any lane with lane >> 3 == r does).
__device__ __forceinline__ float warp_sum4(const float *v, int lane) {
    const bool upper = (lane & 16) != 0;
    float a = upper ? v[2] : v[0];
    float b = upper ? v[3] : v[1];
    a += __shfl_xor_sync(0xffffffffu, upper ? v[0] : v[2], 16);
    b += __shfl_xor_sync(0xffffffffu, upper ? v[1] : v[3], 16);
    const bool second = (lane & 8) != 0;
    float keep = second ? b : a;
    keep += __shfl_xor_sync(0xffffffffu, second ? a : b, 8);
#pragma unroll
    for (int off = 4; off > 0; off >>= 1) keep += __shfl_xor_sync(0xffffffffu, keep, off);
    return keep;
}

// x[p .. p+15] (zeros past k), with four float4 loads when x is 16-byte aligned and the slice is whole.
__device__ __forceinline__ void load_x(const float *__restrict__ x, int64_t p, int64_t k, bool vector, float *v) {
    if (vector && p + kSlice <= k) {
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            const float4 f = *reinterpret_cast<const float4 *>(x + p + 4 * i);
            v[4 * i] = f.x;
            v[4 * i + 1] = f.y;
            v[4 * i + 2] = f.z;
            v[4 * i + 3] = f.w;
        }
    } else {
#pragma unroll
        for (int i = 0; i < kSlice; ++i) v[i] = p + i < k ? x[p + i] : 0.f;
    }
}

// A block of 4 warps per group of 4 output channels (grid-stride over groups), its 128 threads splitting k by
// slices: each thread loads a slice of x once and multiplies it with the 4 channels' slices, so x is read from
// cache once per 4 channels, and a small n still gives many blocks. Lanes take consecutive slices, so a warp's
// code loads are consecutive 16-byte pieces of one row (lanes sharing a unit are served by one transaction).
// Partial sums: 6 shuffles per warp (warp_sum4), then 4 threads add the warps' sums. Every lane of every warp
// reaches the shuffles (a lane without slices adds zeros), and both barriers are reached by the whole block
// (the group loop's bounds are the same for all its threads).
template <class B>
__global__ void __launch_bounds__(kGemvThreads)
    qgemv_kernel(B b, int64_t n, int64_t k, const float *__restrict__ x, bool x_vector, float *__restrict__ y) {
    __shared__ float partial[kGemvThreads / 32][kGemvRows];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int64_t slices = (k + kSlice - 1) / kSlice;
    for (int64_t j0 = int64_t(blockIdx.x) * kGemvRows; j0 < n; j0 += int64_t(gridDim.x) * kGemvRows) {
        float acc[kGemvRows] = {0.f, 0.f, 0.f, 0.f};
        for (int64_t s = threadIdx.x; s < slices; s += kGemvThreads) {
            float xv[kSlice];
            load_x(x, s * kSlice, k, x_vector, xv);
#pragma unroll
            for (int r = 0; r < kGemvRows; ++r) {
                if (j0 + r >= n) break;
                float w[kSlice];
                b.slice(j0 + r, s, w);
#pragma unroll
                for (int i = 0; i < kSlice; ++i) acc[r] = fmaf(xv[i], w[i], acc[r]);
            }
        }
        const float total = warp_sum4(acc, lane);
        if ((lane & 7) == 0) partial[warp][lane >> 3] = total;
        __syncthreads();
        if (threadIdx.x < kGemvRows && j0 + threadIdx.x < n) {
            float sum = 0.f;
#pragma unroll
            for (int w = 0; w < kGemvThreads / 32; ++w) sum += partial[w][threadIdx.x];
            y[j0 + threadIdx.x] = sum;
        }
        __syncthreads();  // partial is rewritten for the next group
    }
}

// ---- GEMM: batch > 1 ----------------------------------------------------------------------------------------

constexpr int kTileN = 64;
constexpr int kTileK = 64;
constexpr int kGemmThreads = 256;

// A block computes a [BM, 64] tile of c, 64 input channels at a time: a's [BM, 64] piece and b's dequantized
// [64, 64] piece (one slice per thread) in shared memory, at most 33 KB, then 16×16 threads each compute TM×4
// outputs from it. b is dequantized once per block and never whole. As rows are padded to 65 floats so that its
// writes (consecutive columns) and reads (two rows per warp) hit distinct banks; Bs is written by 32 consecutive
// channels per warp (one row) and read as float4s. BM is 16 for small batches (decoding several sequences),
// 64 otherwise. m tiles are walked grid-stride in y (gridDim.y is at most 65535).
template <class B, int BM>
__global__ void __launch_bounds__(kGemmThreads)
    qgemm_kernel(B b, int64_t m, int64_t n, int64_t k, const float *__restrict__ a, int64_t lda,
                 float *__restrict__ c, int64_t ldc) {
    constexpr int TM = BM / 16;
    __shared__ float As[BM][kTileK + 1];
    __shared__ __align__(16) float Bs[kTileK][kTileN];
    const int t = threadIdx.x, tx = t % 16, ty = t / 16;
    const int64_t n0 = int64_t(blockIdx.x) * kTileN;
    const int64_t slices = (k + kSlice - 1) / kSlice;
    const int64_t tiles_m = (m + BM - 1) / BM;
    for (int64_t tile = blockIdx.y; tile < tiles_m; tile += gridDim.y) {
        const int64_t m0 = tile * BM;
        float acc[TM][4];
#pragma unroll
        for (int r = 0; r < TM; ++r) acc[r][0] = acc[r][1] = acc[r][2] = acc[r][3] = 0.f;
        for (int64_t k0 = 0; k0 < k; k0 += kTileK) {
            for (int e = t; e < BM * kTileK; e += kGemmThreads) {
                const int row = e / kTileK, col = e % kTileK;
                const int64_t i = m0 + row, p = k0 + col;
                As[row][col] = i < m && p < k ? a[i * lda + p] : 0.f;
            }
            {
                const int jj = t % kTileN, part = t / kTileN;
                const int64_t j = n0 + jj, s = k0 / kSlice + part;
                float w[kSlice];
                if (j < n && s < slices) {
                    b.slice(j, s, w);
#pragma unroll
                    for (int i = 0; i < kSlice; ++i)
                        if (s * kSlice + i >= k) w[i] = 0.f;  // the padding of a per-channel k
                } else {
#pragma unroll
                    for (int i = 0; i < kSlice; ++i) w[i] = 0.f;
                }
#pragma unroll
                for (int i = 0; i < kSlice; ++i) Bs[part * kSlice + i][jj] = w[i];
            }
            __syncthreads();
#pragma unroll 8
            for (int kk = 0; kk < kTileK; ++kk) {
                const float4 bv = *reinterpret_cast<const float4 *>(&Bs[kk][tx * 4]);
#pragma unroll
                for (int r = 0; r < TM; ++r) {
                    const float av = As[ty * TM + r][kk];
                    acc[r][0] = fmaf(av, bv.x, acc[r][0]);
                    acc[r][1] = fmaf(av, bv.y, acc[r][1]);
                    acc[r][2] = fmaf(av, bv.z, acc[r][2]);
                    acc[r][3] = fmaf(av, bv.w, acc[r][3]);
                }
            }
            __syncthreads();
        }
#pragma unroll
        for (int r = 0; r < TM; ++r) {
            const int64_t i = m0 + ty * TM + r;
            if (i >= m) break;
#pragma unroll
            for (int q = 0; q < 4; ++q) {
                const int64_t j = n0 + tx * 4 + q;
                if (j < n) c[i * ldc + j] = acc[r][q];
            }
        }
    }
}

// ---- host side ----------------------------------------------------------------------------------------------

template <class B>
tl_status launch_gemv(const char *fn, cudaStream_t st, const B &b, int64_t n, int64_t k, const float *x, float *y) {
    TL_LAUNCH(qgemv_kernel<B>, dim3(tl::row_blocks(n, kGemvRows)), dim3(kGemvThreads), 0, st, b, n, k, x,
              tl::aligned16(x), y);
    return tl::check_launch(fn, "qgemv_kernel");
}

template <class B>
tl_status launch_gemm(const char *fn, cudaStream_t st, const B &b, int64_t m, int64_t n, int64_t k, const float *a,
                      int64_t lda, float *c, int64_t ldc) {
    const unsigned tiles_n = unsigned((n + kTileN - 1) / kTileN);
    if (m <= 16) {
        TL_LAUNCH((qgemm_kernel<B, 16>), dim3(tiles_n, 1), dim3(kGemmThreads), 0, st, b, m, n, k, a, lda, c, ldc);
    } else {
        const int64_t tiles_m = (m + 63) / 64;
        const unsigned grid_y = unsigned(tiles_m < 65535 ? tiles_m : 65535);
        TL_LAUNCH((qgemm_kernel<B, 64>), dim3(tiles_n, grid_y), dim3(kGemmThreads), 0, st, b, m, n, k, a, lda, c,
                  ldc);
    }
    return tl::check_launch(fn, "qgemm_kernel");
}

// Runs `run` with the decoder of the group format `bits` over the checked operands.
struct GroupOperands {
    const unsigned char *codes;
    const uint16_t *scales;
    const unsigned char *zeros;
    int64_t row_bytes, groups, group_size, plane1;
};

template <class Run>
tl_status with_group_slices(int32_t bits, const GroupOperands &o, Run run) {
    switch (bits) {
    case 2: return run(GroupSlices<2>{o.codes, o.scales, o.zeros, o.row_bytes, o.groups, o.group_size, o.plane1});
    case 3: return run(GroupSlices<3>{o.codes, o.scales, o.zeros, o.row_bytes, o.groups, o.group_size, o.plane1});
    case 4: return run(GroupSlices<4>{o.codes, o.scales, o.zeros, o.row_bytes, o.groups, o.group_size, o.plane1});
    default: return run(GroupSlices<8>{o.codes, o.scales, o.zeros, o.row_bytes, o.groups, o.group_size, o.plane1});
    }
}

int64_t plane_bytes(int64_t k, int width) { return (k * width + 127) / 128 * 16; }

// Checks a group format's description and its weight operands for [k, n]; fills o.
tl_status check_group(const char *fn, int64_t n, int64_t k, int32_t bits, int32_t group_size, int32_t asymmetric,
                      tl_buffer codes, uint64_t codes_offset, tl_buffer scales, uint64_t scales_offset,
                      tl_buffer zeros, uint64_t zeros_offset, GroupOperands *o) {
    using namespace tl;
    if (bits != 2 && bits != 3 && bits != 4 && bits != 8)
        return fail(TL_ERROR_INVALID_ARGUMENT, "%s: bits must be 2, 3, 4 or 8, got %d", fn, int(bits));
    if (group_size != 0 && group_size != 32 && group_size != 64 && group_size != 128)
        return fail(TL_ERROR_INVALID_ARGUMENT, "%s: group_size must be 32, 64, 128 or 0 (per channel), got %d", fn,
                    int(group_size));
    if (asymmetric != 0 && asymmetric != 1)
        return fail(TL_ERROR_INVALID_ARGUMENT, "%s: asymmetric must be 0 or 1, got %d", fn, int(asymmetric));
    if (k < 1) return fail(TL_ERROR_INVALID_ARGUMENT, "%s: k must be positive, got %lld", fn, (long long)k);
    if (group_size != 0 && k % group_size != 0)
        return fail(TL_ERROR_INVALID_ARGUMENT, "%s: k = %lld is not a multiple of the group size %d", fn,
                    (long long)k, int(group_size));
    if (codes_offset % 16 != 0)
        return fail(TL_ERROR_INVALID_ARGUMENT, "%s: codes_offset %llu does not start on a 16-byte boundary", fn,
                    (unsigned long long)codes_offset);
    Buffer cb, sb, zb;
    TL_TRY(get_buffer(fn, "codes", codes, &cb));
    TL_TRY(get_buffer(fn, "scales", scales, &sb));
    if (asymmetric) TL_TRY(get_buffer(fn, "zeros", zeros, &zb));
    o->group_size = group_size == 0 ? k : group_size;
    o->groups = k / o->group_size;
    o->plane1 = plane_bytes(k, bits == 3 ? 2 : bits);
    o->row_bytes = o->plane1 + (bits == 3 ? plane_bytes(k, 1) : 0);
    void *pc = nullptr, *ps = nullptr, *pz = nullptr;
    TL_TRY(check_matrix(fn, "codes", "n", "row_bytes", "row_bytes", cb, codes_offset, n, o->row_bytes, o->row_bytes,
                        kInt8, &pc));
    TL_TRY(check_matrix(fn, "scales", "n", "groups", "groups", sb, scales_offset, n, o->groups, o->groups, kFloat16,
                        &ps));
    if (asymmetric)
        TL_TRY(check_matrix(fn, "zeros", "n", "groups", "groups", zb, zeros_offset, n, o->groups, o->groups, kInt8,
                            &pz));
    o->codes = static_cast<const unsigned char *>(pc);
    o->scales = static_cast<const uint16_t *>(ps);
    o->zeros = static_cast<const unsigned char *>(pz);
    return TL_OK;
}

// ggml's block geometry for `type`; refuses other types and a k that is not whole blocks.
tl_status check_ggml(const char *fn, int64_t n, int64_t k, int32_t type, tl_buffer blocks, uint64_t blocks_offset,
                     GgmlRows *rows) {
    using namespace tl;
    int block_size = 0, block_bytes = 0;
    const char *name = "";
    switch (type) {
    case TL_GGML_Q4_0: block_size = 32, block_bytes = 18, name = "Q4_0"; break;
    case TL_GGML_Q8_0: block_size = 32, block_bytes = 34, name = "Q8_0"; break;
    case TL_GGML_Q4_K: block_size = 256, block_bytes = 144, name = "Q4_K"; break;
    case TL_GGML_Q6_K: block_size = 256, block_bytes = 210, name = "Q6_K"; break;
    default:
        return fail(TL_ERROR_INVALID_ARGUMENT, "%s: type %d is not one of Q4_0 (%d), Q8_0 (%d), Q4_K (%d), Q6_K (%d)",
                    fn, int(type), TL_GGML_Q4_0, TL_GGML_Q8_0, TL_GGML_Q4_K, TL_GGML_Q6_K);
    }
    if (k < 1 || k % block_size != 0)
        return fail(TL_ERROR_INVALID_ARGUMENT, "%s: k = %lld is not a positive multiple of %s's block size %d", fn,
                    (long long)k, name, block_size);
    if (blocks_offset % 16 != 0)
        return fail(TL_ERROR_INVALID_ARGUMENT, "%s: blocks_offset %llu does not start on a 16-byte boundary", fn,
                    (unsigned long long)blocks_offset);
    Buffer bb;
    TL_TRY(get_buffer(fn, "blocks", blocks, &bb));
    rows->row_bytes = k / block_size * block_bytes;
    void *pb = nullptr;
    TL_TRY(check_matrix(fn, "blocks", "n", "row_bytes", "row_bytes", bb, blocks_offset, n, rows->row_bytes,
                        rows->row_bytes, kInt8, &pb));
    rows->blocks = static_cast<const unsigned char *>(pb);
    return TL_OK;
}

template <class Run>
tl_status with_ggml_slices(int32_t type, const GgmlRows &rows, Run run) {
    switch (type) {
    case TL_GGML_Q4_0: return run(Q4_0Slices{rows});
    case TL_GGML_Q8_0: return run(Q8_0Slices{rows});
    case TL_GGML_Q4_K: return run(Q4_KSlices{rows});
    default: return run(Q6_KSlices{rows});
    }
}

// Every entry point starts here: the stream, then sizes that are neither negative nor past the kernels' range.
tl_status begin(const char *fn, tl_stream stream, int64_t m, int64_t n, int64_t k, cudaStream_t *st) {
    TL_TRY(tl::get_stream(fn, stream, st));
    TL_TRY(tl::check_sizes(fn, "m", m, "n", n, "k", k));
    if (m > tl::kMaxKernelDim || n > tl::kMaxKernelDim || k > tl::kMaxKernelDim)
        return tl::fail(TL_ERROR_INVALID_ARGUMENT, "%s: m %lld, n %lld, k %lld exceed the kernel's range", fn,
                        (long long)m, (long long)n, (long long)k);
    return TL_OK;
}

// The GEMV's fp32 operands: x [k] and y [n], contiguous.
tl_status vectors(const char *fn, int64_t n, int64_t k, tl_buffer x, uint64_t x_offset, tl_buffer y,
                  uint64_t y_offset, float **px, float **py) {
    tl::Buffer xb, yb;
    TL_TRY(tl::get_buffer(fn, "x", x, &xb));
    TL_TRY(tl::get_buffer(fn, "y", y, &yb));
    TL_TRY(tl::check_vector(fn, "x", "k", xb, x_offset, k, px));
    return tl::check_vector(fn, "y", "n", yb, y_offset, n, py);
}

// The GEMM's fp32 operands: a [m, k] and c [m, n].
tl_status matrices(const char *fn, int64_t m, int64_t n, int64_t k, tl_buffer a, uint64_t a_offset, int64_t lda,
                   tl_buffer c, uint64_t c_offset, int64_t ldc, float **pa, float **pc) {
    tl::Buffer ab, cb;
    TL_TRY(tl::get_buffer(fn, "a", a, &ab));
    TL_TRY(tl::get_buffer(fn, "c", c, &cb));
    TL_TRY(tl::check_matrix(fn, "a", "m", "k", "lda", ab, a_offset, m, k, lda, pa));
    return tl::check_matrix(fn, "c", "m", "n", "ldc", cb, c_offset, m, n, ldc, pc);
}

}  // namespace

extern "C" {

TL_API tl_status tl_qgemv_group(tl_stream stream, int64_t n, int64_t k, int32_t bits, int32_t group_size,
                                int32_t asymmetric, tl_buffer x, uint64_t x_offset,
                                tl_buffer codes, uint64_t codes_offset, tl_buffer scales, uint64_t scales_offset,
                                tl_buffer zeros, uint64_t zeros_offset, tl_buffer y, uint64_t y_offset) {
    static const char *fn = "tl_qgemv_group";
    cudaStream_t st;
    GroupOperands o;
    float *px = nullptr, *py = nullptr;
    TL_TRY(begin(fn, stream, 1, n, k, &st));
    TL_TRY(check_group(fn, n, k, bits, group_size, asymmetric, codes, codes_offset, scales, scales_offset, zeros,
                       zeros_offset, &o));
    TL_TRY(vectors(fn, n, k, x, x_offset, y, y_offset, &px, &py));
    if (n == 0) return TL_OK;
    return with_group_slices(bits, o, [&](const auto &b) { return launch_gemv(fn, st, b, n, k, px, py); });
}

TL_API tl_status tl_qgemm_group(tl_stream stream, int64_t m, int64_t n, int64_t k, int32_t bits, int32_t group_size,
                                int32_t asymmetric, tl_buffer a, uint64_t a_offset, int64_t lda,
                                tl_buffer codes, uint64_t codes_offset, tl_buffer scales, uint64_t scales_offset,
                                tl_buffer zeros, uint64_t zeros_offset, tl_buffer c, uint64_t c_offset, int64_t ldc) {
    static const char *fn = "tl_qgemm_group";
    cudaStream_t st;
    GroupOperands o;
    float *pa = nullptr, *pc = nullptr;
    TL_TRY(begin(fn, stream, m, n, k, &st));
    TL_TRY(check_group(fn, n, k, bits, group_size, asymmetric, codes, codes_offset, scales, scales_offset, zeros,
                       zeros_offset, &o));
    TL_TRY(matrices(fn, m, n, k, a, a_offset, lda, c, c_offset, ldc, &pa, &pc));
    if (m == 0 || n == 0) return TL_OK;
    return with_group_slices(bits, o, [&](const auto &b) { return launch_gemm(fn, st, b, m, n, k, pa, lda, pc, ldc); });
}

TL_API tl_status tl_qgemv_ggml(tl_stream stream, int64_t n, int64_t k, int32_t type, tl_buffer x, uint64_t x_offset,
                               tl_buffer blocks, uint64_t blocks_offset, tl_buffer y, uint64_t y_offset) {
    static const char *fn = "tl_qgemv_ggml";
    cudaStream_t st;
    GgmlRows rows;
    float *px = nullptr, *py = nullptr;
    TL_TRY(begin(fn, stream, 1, n, k, &st));
    TL_TRY(check_ggml(fn, n, k, type, blocks, blocks_offset, &rows));
    TL_TRY(vectors(fn, n, k, x, x_offset, y, y_offset, &px, &py));
    if (n == 0) return TL_OK;
    return with_ggml_slices(type, rows, [&](const auto &b) { return launch_gemv(fn, st, b, n, k, px, py); });
}

TL_API tl_status tl_qgemm_ggml(tl_stream stream, int64_t m, int64_t n, int64_t k, int32_t type,
                               tl_buffer a, uint64_t a_offset, int64_t lda, tl_buffer blocks, uint64_t blocks_offset,
                               tl_buffer c, uint64_t c_offset, int64_t ldc) {
    static const char *fn = "tl_qgemm_ggml";
    cudaStream_t st;
    GgmlRows rows;
    float *pa = nullptr, *pc = nullptr;
    TL_TRY(begin(fn, stream, m, n, k, &st));
    TL_TRY(check_ggml(fn, n, k, type, blocks, blocks_offset, &rows));
    TL_TRY(matrices(fn, m, n, k, a, a_offset, lda, c, c_offset, ldc, &pa, &pc));
    if (m == 0 || n == 0) return TL_OK;
    return with_ggml_slices(type, rows, [&](const auto &b) { return launch_gemm(fn, st, b, m, n, k, pa, lda, pc, ldc); });
}

}  // extern "C"
