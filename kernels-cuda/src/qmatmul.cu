// Dequantizing matrix products: y = x·b and c = a·b with b [k, n] in a packed low-bit form (the quant module's
// group formats or ggml's blocks), read in place. Every format is read in "slices" of 16 consecutive weights of
// one output channel: 16 consecutive bytes of each bit plane (one 16-byte load), or a quarter of a ggml block,
// so one decoder per format serves the GEMV and the GEMM. A slice never straddles a group or a ggml sub-block, so
// it has one scale. Each weight comes out exactly as the format's definition (and the Java oracle) computes it;
// the GEMV does not form the weights but applies a slice's scale to its 16-term sum (see qgemv_kernel).
#include "tl_internal.h"
#include "tensorloom_quant.h"

namespace {

constexpr int kSlice = 16;  // weights per slice

// fp16 bits to float, exactly (subnormals, infinities and NaN included): the emulation has no half type, and a
// scale is read once per slice, so the few integer operations cost nothing next to the 16 weights. All three
// cases are computed and one chosen, without branches, which would split a GEMV pass's straight-line code.
__device__ __forceinline__ float half_to_float(uint32_t h) {
    const uint32_t sign = (h & 0x8000u) << 16;
    const uint32_t exponent = (h >> 10) & 0x1Fu;
    const uint32_t mantissa = h & 0x3FFu;
    const float special = __uint_as_float(sign | 0x7F800000u | (mantissa << 13));
    const float normal = __uint_as_float(sign | ((exponent + 112u) << 23) | (mantissa << 13));
    const float subnormal = __uint_as_float(sign | __float_as_uint(float(mantissa) * 0x1p-24f));  // exact
    return exponent == 0x1Fu ? special : exponent != 0 ? normal : subnormal;
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

// 16 bytes at a 2-byte boundary (ggml's 18-, 34- and 210-byte blocks put their bytes there) as four words, in five
// loads rather than eight 2-byte ones (a GEMV of these formats issues about one load per weight otherwise): the
// four aligned words from p rounded down to 4 bytes, and the 2 bytes at p + 14, shifted together when p is not
// 4-aligned. Reads nothing outside [p - 2, p + 16), and p - 2 only when p is 2 mod 4, where it is the bytes
// before p in the same 16-byte aligned operand (a block's d, or the previous block's last ones).
__device__ __forceinline__ void load16_halves(const unsigned char *p, uint32_t w[4]) {
    const uint32_t *a = reinterpret_cast<const uint32_t *>(reinterpret_cast<uintptr_t>(p) & ~uintptr_t(3));
    const uint32_t shift = uint32_t(reinterpret_cast<uintptr_t>(p) & 2u) * 8u;  // 0 or 16
    uint32_t v[5];
#pragma unroll
    for (int i = 0; i < 4; ++i) v[i] = a[i];
    v[4] = *reinterpret_cast<const uint16_t *>(p + 14);
#pragma unroll
    for (int i = 0; i < 4; ++i) w[i] = uint32_t(((uint64_t(v[i + 1]) << 32) | v[i]) >> shift);
}

// ---- the decoders: slice s (weights 16s .. 16s+15) of output channel j ------------------------------------------
//
// Each decoder splits a slice in two: fetch(j, s) does all of its global loads and returns them raw (a Raw of a
// few registers), and values(raw, s, v) does the arithmetic: v[i] = the code of weight i as an exact float (u - z
// for the group formats), and an Affine {scale, offset} with weight = scale·v + offset (offset is nonzero only
// where kOffset says so). A kernel can so issue the loads of several slices before it waits on the first, and the
// GEMV can apply the scale once per slice instead of once per weight. weights() below puts the weights together.

struct Affine {
    float scale, offset;
};

// The group formats (layout in tensorloom_quant.h): in a plane of width W, slice s is the 16 bytes of unit
// s / (8/W) shifted right by W·(s mod 8/W); three bits are a 2-bit plane (low bits) and a 1-bit plane. The group
// of slice s is (s >> 1) >> pair_shift (a group of 32, 64 or 128 is 1, 2 or 4 pairs of slices; one per channel
// shifts past any s), which spares a 64-bit division per slice and lets the compiler see that slices 2i and 2i+1
// share a group (and, below 8 bits, a unit: unsigned division), so that the GEMV loads them once.
template <int BITS>
struct GroupSlices {
    static constexpr bool kOffset = false;
    static constexpr int kWidth0 = BITS == 3 ? 2 : BITS;
    static constexpr int kPer0 = 8 / kWidth0;  // slices per unit of plane 0

    const unsigned char *codes;
    const uint16_t *scales;
    const unsigned char *zeros;  // asymmetric: the zero points; symmetric: any readable [n, groups] bytes (scales)
    uint32_t zero_keep;          // 0xFF asymmetric, 0 symmetric
    int64_t row_bytes;
    int64_t groups;
    int pair_shift;  // log2(pairs of slices per group); 40 for one group per channel
    int64_t plane1;  // byte offset of the 1-bit plane within a row (3 bits only)

    struct Raw {
        uint32_t q[4];
        uint32_t h[BITS == 3 ? 4 : 1];  // the 1-bit plane's unit (3 bits only)
        uint32_t scale;                 // fp16 bits
        uint32_t zero;
    };

    __device__ __forceinline__ Raw fetch(int64_t j, int s) const {
        Raw r;
        const unsigned char *row = codes + j * row_bytes;
        load16_aligned(row + int64_t(unsigned(s) / kPer0) * 16, r.q);
        if constexpr (BITS == 3) load16_aligned(row + plane1 + int64_t(unsigned(s) / 8) * 16, r.h);
        const int64_t at = j * groups + (int64_t(unsigned(s) >> 1) >> pair_shift);
        r.scale = scales[at];
        // loaded either way and masked, so that no branch splits the loads of a GEMV pass
        r.zero = (uint32_t(zeros[at]) & zero_keep) | (uint32_t(1 << (BITS - 1)) & ~zero_keep);
        return r;
    }

    __device__ __forceinline__ Affine values(const Raw &r, int s, float *v) const {
        constexpr uint32_t kMask0 = ((1u << kWidth0) - 1u) * 0x01010101u;
        const int shift0 = kWidth0 * int(unsigned(s) % kPer0);
        const float zero = float(r.zero);
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            uint32_t q = (r.q[i] >> shift0) & kMask0;
            if constexpr (BITS == 3) q |= ((r.h[i] >> (unsigned(s) % 8)) & 0x01010101u) << 2;
            bytes_minus(q, zero, v + 4 * i);
        }
        return {half_to_float(r.scale), 0.f};
    }
};

// Rows of n blocks back to back; row_bytes = k / block size · block bytes.
struct GgmlRows {
    const unsigned char *blocks;
    int64_t row_bytes;
};

// Q4_0 (18 bytes: f16 d, 16 bytes of nibbles): slice 2b+h is block b's low (h = 0) or high nibbles; w = d·(q - 8).
struct Q4_0Slices : GgmlRows {
    static constexpr bool kOffset = false;
    struct Raw {
        uint32_t q[4];
        uint32_t d;
    };
    __device__ __forceinline__ Raw fetch(int64_t j, int s) const {
        const unsigned char *block = blocks + j * row_bytes + int64_t(unsigned(s) / 2) * 18;
        Raw r;
        load16_halves(block + 2, r.q);
        r.d = *reinterpret_cast<const uint16_t *>(block);
        return r;
    }
    __device__ __forceinline__ Affine values(const Raw &r, int s, float *v) const {
        const int shift = 4 * int(unsigned(s) % 2);
#pragma unroll
        for (int i = 0; i < 4; ++i) bytes_minus((r.q[i] >> shift) & 0x0F0F0F0Fu, 8.f, v + 4 * i);
        return {half_to_float(r.d), 0.f};
    }
};

// Q8_0 (34 bytes: f16 d, 32 int8): w = d·q; flipping the sign bit makes q + 128 an unsigned byte.
struct Q8_0Slices : GgmlRows {
    static constexpr bool kOffset = false;
    struct Raw {
        uint32_t q[4];
        uint32_t d;
    };
    __device__ __forceinline__ Raw fetch(int64_t j, int s) const {
        const unsigned char *block = blocks + j * row_bytes + int64_t(unsigned(s) / 2) * 34;
        Raw r;
        load16_halves(block + 2 + 16 * (unsigned(s) % 2), r.q);
        r.d = *reinterpret_cast<const uint16_t *>(block);
        return r;
    }
    __device__ __forceinline__ Affine values(const Raw &r, int, float *v) const {
#pragma unroll
        for (int i = 0; i < 4; ++i) bytes_minus(r.q[i] ^ 0x80808080u, 128.f, v + 4 * i);
        return {half_to_float(r.d), 0.f};
    }
};

// Q4_K (144 bytes: f16 d, f16 dmin, 12 bytes of 6-bit scales and mins, 128 bytes of nibbles): each 64 weights
// are 32 bytes, low nibbles then high, with sub-block scales 2p and 2p+1; w = d·sc·q - dmin·m (ggml's order).
struct Q4_KSlices : GgmlRows {
    static constexpr bool kOffset = true;
    struct Raw {
        uint32_t q[4];
        uint32_t d, dmin;
        uint32_t sc_is, sc_is4, sc_low;  // scales bytes is, is + 4 and is mod 4 (= is - 4 when is >= 4)
    };
    __device__ __forceinline__ Raw fetch(int64_t j, int s) const {
        const unsigned char *block = blocks + j * row_bytes + int64_t(unsigned(s) / 16) * 144;
        const int sub = int(unsigned(s) % 16), pair = sub / 4, high = (sub % 4) / 2;
        const int is = 2 * pair + high;
        const unsigned char *sc = block + 4;
        Raw r;
        load16_aligned(block + 16 + pair * 32 + 16 * (sub % 2), r.q);
        r.d = *reinterpret_cast<const uint16_t *>(block);
        r.dmin = *reinterpret_cast<const uint16_t *>(block + 2);
        r.sc_is = sc[is];
        r.sc_is4 = sc[is + 4];
        r.sc_low = sc[is & 3];
        return r;
    }
    __device__ __forceinline__ Affine values(const Raw &r, int s, float *v) const {
        const int sub = int(unsigned(s) % 16), high = (sub % 4) / 2;
        const int is = 2 * (sub / 4) + high;
        // ggml's get_scale_min_k4
        const uint32_t scale = is < 4 ? r.sc_is & 63 : (r.sc_is4 & 0xF) | ((r.sc_low >> 6) << 4);
        const uint32_t min = is < 4 ? r.sc_is4 & 63 : (r.sc_is4 >> 4) | ((r.sc_is >> 6) << 4);
#pragma unroll
        for (int i = 0; i < 4; ++i) bytes_minus((r.q[i] >> (4 * high)) & 0x0F0F0F0Fu, 0.f, v + 4 * i);
        return {half_to_float(r.d) * float(scale), -(half_to_float(r.dmin) * float(min))};
    }
};

// Q6_K (210 bytes: 128 bytes of low nibbles, 64 of high bit pairs, 16 int8 scales, f16 d): each half of 128
// weights is four quarters of 32; quarter t takes the low (t < 2) or high nibbles of ql[32·(t mod 2) ..], bits
// 2t of qh, and scales is + 2t; w = (d·sc)·(q - 32) in ggml's order.
struct Q6_KSlices : GgmlRows {
    static constexpr bool kOffset = false;
    struct Raw {
        uint32_t lo[4], hi[4];
        uint32_t d;
        int sc;
    };
    __device__ __forceinline__ Raw fetch(int64_t j, int s) const {
        const unsigned char *block = blocks + j * row_bytes + int64_t(unsigned(s) / 16) * 210;
        const int sub = int(unsigned(s) % 16), half = sub / 8, quarter = (sub % 8) / 2, is = sub % 2;
        Raw r;
        load16_halves(block + half * 64 + (quarter % 2) * 32 + 16 * is, r.lo);
        load16_halves(block + 128 + half * 32 + 16 * is, r.hi);
        r.d = *reinterpret_cast<const uint16_t *>(block + 208);
        r.sc = static_cast<signed char>(block[192 + half * 8 + is + 2 * quarter]);
        return r;
    }
    __device__ __forceinline__ Affine values(const Raw &r, int s, float *v) const {
        const int quarter = int(unsigned(s) % 8) / 2;
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            const uint32_t q =
                ((r.lo[i] >> (4 * (quarter / 2))) & 0x0F0F0F0Fu) | (((r.hi[i] >> (2 * quarter)) & 0x03030303u) << 4);
            bytes_minus(q, 32.f, v + 4 * i);
        }
        return {half_to_float(r.d) * float(r.sc), 0.f};
    }
};

// The 16 weights of slice s from its fetched bytes, each exactly as the format's definition computes it:
// s·(u - z) of an 11-bit scale and a code of at most 9 bits is exact; Q4_K's d1·q is exact (11 + 6 + 4 bits), so
// a fused multiply-add rounds as ggml's multiply-then-subtract does; Q6_K is (d·sc)·(q - 32) as ggml computes it.
template <class B>
__device__ __forceinline__ void weights(const B &b, const typename B::Raw &raw, int s, float *w) {
    const Affine a = b.values(raw, s, w);
    if constexpr (B::kOffset) {
#pragma unroll
        for (int i = 0; i < kSlice; ++i) w[i] = fmaf(a.scale, w[i], a.offset);
    } else {
#pragma unroll
        for (int i = 0; i < kSlice; ++i) w[i] *= a.scale;
    }
}

// ---- GEMV: batch 1 ------------------------------------------------------------------------------------------

constexpr int kGemvThreads = 128;
constexpr int kGemvRows = 4;
constexpr int kGemvSteps = 2;  // consecutive slices per thread and pass

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

// x[p .. p+15]: with four float4 loads when x is 16-byte aligned (VEC) and the slice is whole (WHOLE, known
// by the caller, so that a GEMV pass has no branch between its loads), else one float at a time, zeros past k.
template <bool VEC, bool WHOLE>
__device__ __forceinline__ void load_x(const float *__restrict__ x, int64_t p, int64_t k, float *v) {
    if (VEC && WHOLE) {
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            const float4 f = *reinterpret_cast<const float4 *>(x + p + 4 * i);
            v[4 * i] = f.x;
            v[4 * i + 1] = f.y;
            v[4 * i + 2] = f.z;
            v[4 * i + 3] = f.w;
        }
    } else if (WHOLE) {
#pragma unroll
        for (int i = 0; i < kSlice; ++i) v[i] = x[p + i];
    } else {
#pragma unroll
        for (int i = 0; i < kSlice; ++i) v[i] = p + i < k ? x[p + i] : 0.f;
    }
}

// acc[r] += the products of slices s .. s+N-1 of channels row[r] with x: every fetch and x load first, then the
// arithmetic, so that the 4·N fetches are in flight together; the scale is applied once per slice. s is a
// multiple of N, so slice s + u is s | u, in which the compiler sees that s and s | 1 share a unit or a block.
template <int N, bool VEC, bool WHOLE, class B>
__device__ __forceinline__ void gemv_slices(const B &b, const int64_t *row, int s, const float *__restrict__ x,
                                            int64_t k, float *acc) {
    typename B::Raw raw[N][kGemvRows];
    float xv[N][kSlice];
#pragma unroll
    for (int u = 0; u < N; ++u) {
        load_x<VEC, WHOLE>(x, int64_t(s | u) * kSlice, k, xv[u]);
#pragma unroll
        for (int r = 0; r < kGemvRows; ++r) raw[u][r] = b.fetch(row[r], s | u);
    }
#pragma unroll
    for (int u = 0; u < N; ++u) {
        float xsum = 0.f;
        if constexpr (B::kOffset) {
#pragma unroll
            for (int i = 0; i < kSlice; ++i) xsum += xv[u][i];
        }
#pragma unroll
        for (int r = 0; r < kGemvRows; ++r) {
            float v[kSlice];
            const Affine a = b.values(raw[u][r], s | u, v);
            float dot = 0.f;
#pragma unroll
            for (int i = 0; i < kSlice; ++i) dot = fmaf(xv[u][i], v[i], dot);
            acc[r] = fmaf(a.scale, dot, acc[r]);
            if constexpr (B::kOffset) acc[r] = fmaf(a.offset, xsum, acc[r]);
        }
    }
}

// A block of 4 warps per group of 4 output channels (grid-stride over groups), its 128 threads splitting k: in a
// pass, thread t takes the kGemvSteps = 2 consecutive slices 256·pass + 2t, 2t+1 of all 4 channels. x is read
// once per 4 channels, and a small n still gives many blocks.
//
// Why this shape (a GEMV is a stream of weight bytes; what matters is bytes in flight per SM and instructions
// per weight, both reasoned here, not measured):
//  - Loads first, then math: a pass issues all of its 8 slice fetches (2 slices × 4 channels, each one or two
//    16-byte loads plus a scale) and its 128 bytes of x before it uses any, with no branch between them (x's
//    path is chosen outside the loop, zero points are masked, fp16 is converted without branches), so a thread
//    has 64 (4-bit: one unit per channel) to 128 (8-bit, ggml) bytes of codes in flight, where the old loop had
//    16 per channel behind a branch each. At 56 - 72 registers (ptxas -v, sm_90; 96 for 3 bits) 7 - 9 blocks of
//    128 threads fit an SM (65536 registers), capped at 16 by row_blocks: ~57 KB of 4-bit codes in flight per
//    SM, twice the ~25 KB that Little's law asks at H200's ~30 bytes per clock per SM and ~800 clocks of loaded
//    DRAM latency. (4096 × 4096 is then one pass per thread, 1024 blocks: about one wave.)
//  - Two consecutive slices per thread are the two halves of one 16-byte unit of the 4-bit format (one load
//    after CSE: GroupSlices::fetch divides unsigned), both halves of a Q4_0 block, or one 32-byte piece of the
//    others; a warp's load instruction still covers consecutive bytes of one row.
//  - The scale is applied once per slice: acc += scale · Σ x·(u - z) (and, for Q4_K, + offset · Σ x), so a
//    weight costs its byte extraction, one subtraction (bytes_minus) and one FMA, not also a multiply; at ~3
//    instructions per weight the SM's 128 FP32/INT lanes keep up with ~30 weight bytes (60 4-bit weights) per
//    clock. The rounding differs from summing exact weights only inside a slice's 16-term sum, which is a float32
//    sum's error either way (test_qmatmul's tolerance is relative to Σ|terms|).
// Partial sums: 6 shuffles per warp (warp_sum4), then 4 threads add the warps' sums. Every lane of every warp
// reaches the shuffles (a lane without slices adds zeros), and both barriers are reached by the whole block
// (the group loop's bounds are the same for all its threads). Channels past n (the last group) read channel
// n - 1 again and are not written; no slice past the end is fetched.
// Measured on an H200 (bench_kernels, 2026-11-30): 4-bit g128 at 8192² 24.9 us where the previous kernel (one
// slice per thread and pass, a multiply per weight) took 28.8, at 4096² 8.95 against 9.78: 33% and 23% of the
// copy's bandwidth with the weights in L2, so the reasoning above is not what limits it, and what is has not
// been profiled yet.
template <class B>
__global__ void __launch_bounds__(kGemvThreads)
    qgemv_kernel(B b, int64_t n, int64_t k, const float *__restrict__ x, bool x_vector, float *__restrict__ y) {
    __shared__ float partial[kGemvThreads / 32][kGemvRows];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int slices = int((k + kSlice - 1) / kSlice), whole = int(k / kSlice);
    for (int64_t j0 = int64_t(blockIdx.x) * kGemvRows; j0 < n; j0 += int64_t(gridDim.x) * kGemvRows) {
        int64_t row[kGemvRows];
#pragma unroll
        for (int r = 0; r < kGemvRows; ++r) row[r] = j0 + r < n ? j0 + r : n - 1;
        float acc[kGemvRows] = {0.f, 0.f, 0.f, 0.f};
        // Pairs of whole slices (x's path chosen once, outside the loop), then what is left: at most two slices,
        // the last of them perhaps partial (a per-channel k), for the one thread whose pair reaches the end.
        int s0 = kGemvSteps * int(threadIdx.x);
        if (x_vector)
            for (; s0 + kGemvSteps <= whole; s0 += kGemvSteps * kGemvThreads)
                gemv_slices<kGemvSteps, true, true>(b, row, s0, x, k, acc);
        else
            for (; s0 + kGemvSteps <= whole; s0 += kGemvSteps * kGemvThreads)
                gemv_slices<kGemvSteps, false, true>(b, row, s0, x, k, acc);
        for (; s0 < slices; ++s0) gemv_slices<1, false, false>(b, row, s0, x, k, acc);
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

// One K tile's global loads for one thread of the GEMM: its BM/4 elements of a's [BM, 64] piece (rows t/64 + 4q,
// column t mod 64) and the raw bytes of its slice of b (channel t mod 64, slice t/64 of the tile). A tile's loads
// are issued before the previous tile's arithmetic, so that their latency hides behind it (a register double
// buffer: shared memory holds one tile, the registers the next).
template <class B, int BM>
struct GemmStage {
    float a[BM * kTileK / kGemmThreads];
    typename B::Raw raw;
    bool inside;  // the slice lies inside b; outside, raw is a clamped slice's and the weights are zeros
};

template <class B, int BM>
__device__ __forceinline__ void gemm_fetch(const B &b, const float *__restrict__ a, int64_t lda, int64_t m, int64_t n,
                                           int64_t k, int64_t m0, int64_t n0, int64_t k0, int t,
                                           GemmStage<B, BM> &stage) {
    const int64_t p = k0 + t % kTileK;
#pragma unroll
    for (int q = 0; q < BM * kTileK / kGemmThreads; ++q) {
        const int64_t i = m0 + t / kTileK + q * (kGemmThreads / kTileK);
        stage.a[q] = i < m && p < k ? a[i * lda + p] : 0.f;
    }
    const int64_t slices = (k + kSlice - 1) / kSlice;
    const int64_t j = n0 + t % kTileN, s = k0 / kSlice + t / kTileN;
    stage.inside = j < n && s < slices;
    stage.raw = b.fetch(j < n ? j : n - 1, int(s < slices ? s : slices - 1));  // always a readable slice
}

// Writes a fetched stage into the tile: a's elements into As, the slice's 16 weights into column t mod 64 of Bs.
template <class B, int BM>
__device__ __forceinline__ void gemm_store(const B &b, int64_t k, int64_t k0, int t, const GemmStage<B, BM> &stage,
                                           float (*As)[kTileK + 1], float (*Bs)[kTileN]) {
#pragma unroll
    for (int q = 0; q < BM * kTileK / kGemmThreads; ++q)
        As[t / kTileK + q * (kGemmThreads / kTileK)][t % kTileK] = stage.a[q];
    const int jj = t % kTileN, part = t / kTileN;
    const int64_t s = k0 / kSlice + part;
    float w[kSlice];
    if (stage.inside) {
        weights(b, stage.raw, int(s), w);
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

// A block computes a [BM, 64] tile of c over one split of k (k_per_split input channels, whole K tiles), 64 input
// channels at a time: a's [BM, 64] piece and b's dequantized [64, 64] piece (one slice per thread) in shared
// memory, at most 33 KB, then 16×16 threads each compute TM×4 outputs from it, while the next tile's loads are
// in flight (GemmStage). b is dequantized once per block and split and never whole. As rows are padded to 65
// floats so that its writes (consecutive columns) and reads (two rows per warp) hit distinct banks; Bs is written
// by 32 consecutive channels per warp (one row) and read as float4s. BM is 16, 32 or 64, the smallest that holds
// the batch (a smaller tile wastes no rows on padding). m tiles are walked grid-stride in y (gridDim.y is at most
// 65535); blockIdx.z is the split, whose tile goes to c + split · split_stride (the splits' partial sums, added
// by tl::sum_splits; one split writes c itself). Both barriers of a K tile are reached by the whole
// block (the loop bounds are the block's). Registers (ptxas -v, sm_90, no spills): BM = 16 at most 64 (4 blocks
// per SM), BM = 32 at most 80 (3; 64 would spill Q4_K, Q6_K and 3 bits), BM = 64 110 - 124 (2, the prefetched
// 16 elements of a and 16 sums: half the resident blocks of the old kernel, which did not overlap its loads).
template <class B, int BM>
__global__ void __launch_bounds__(kGemmThreads, BM == 64 ? 2 : BM == 32 ? 3 : 4)
    qgemm_kernel(B b, int64_t m, int64_t n, int64_t k, int64_t k_per_split, const float *__restrict__ a,
                 int64_t lda, float *__restrict__ c, int64_t ldc, int64_t split_stride) {
    constexpr int TM = BM / 16;
    __shared__ float As[BM][kTileK + 1];
    __shared__ __align__(16) float Bs[kTileK][kTileN];
    const int t = threadIdx.x, tx = t % 16, ty = t / 16;
    const int64_t n0 = int64_t(blockIdx.x) * kTileN;
    const int64_t tiles_m = (m + BM - 1) / BM;
    const int64_t k_begin = int64_t(blockIdx.z) * k_per_split;
    const int64_t k_end = k_begin + k_per_split < k ? k_begin + k_per_split : k;
    c += int64_t(blockIdx.z) * split_stride;
    for (int64_t tile = blockIdx.y; tile < tiles_m; tile += gridDim.y) {
        const int64_t m0 = tile * BM;
        float acc[TM][4];
#pragma unroll
        for (int r = 0; r < TM; ++r) acc[r][0] = acc[r][1] = acc[r][2] = acc[r][3] = 0.f;
        GemmStage<B, BM> stage;
        gemm_fetch(b, a, lda, m, n, k, m0, n0, k_begin, t, stage);
        for (int64_t k0 = k_begin; k0 < k_end; k0 += kTileK) {
            gemm_store(b, k, k0, t, stage, As, Bs);
            __syncthreads();
            if (k0 + kTileK < k_end) gemm_fetch(b, a, lda, m, n, k, m0, n0, k0 + kTileK, t, stage);
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

// The GEMM's grid: n tiles in x, m tiles in y, and, when those are fewer than two blocks per SM (a small batch:
// m = 32 and n = 4096 are 64 tiles for 132 SMs), k split into as many chunks of whole K tiles as make about two
// blocks per SM, each split a block of its own (blockIdx.z), at least two K tiles long so that the partial sums'
// extra traffic (splits · m · n floats, written once and read once) stays small beside the dequantization it
// spreads. The splits' partial sums go to the stream's scratch, held (locked) until both kernels are queued;
// they are fewer than 4 · SMs tiles of at most 64 × 64 floats (8.6 MB on 132 SMs). For m = 32, n = k = 4096:
// BM = 32 (the old launch padded 32 rows to 64), 64 tiles × 5 splits of 13 K tiles = 320 blocks, all resident at
// 3 per SM, against 64 blocks that each walked all 64 K tiles; the partial sums are 2.6 MB. Measured on an H200
// (bench_kernels, 2026-11-30): 79.8 us where the old launch took 247.6 (13.5 TFLOP/s). At thousands of rows (the
// encoder at batch 32) it is still below the fp32 GEMM: the 4-bit encoder there ran at 0.82-0.84x the fp32 one.
template <class B, int BM>
tl_status launch_gemm_tiles(const char *fn, tl_stream handle, cudaStream_t st, const B &b, int64_t m, int64_t n,
                            int64_t k, const float *a, int64_t lda, float *c, int64_t ldc) {
    const int64_t tiles_n = (n + kTileN - 1) / kTileN;
    const int64_t tiles_m = (m + BM - 1) / BM;
    const int64_t grid_y = tiles_m < 65535 ? tiles_m : 65535;
    const int64_t chunks = (k + kTileK - 1) / kTileK;
    const int64_t blocks = tiles_n * grid_y;
    const int64_t want = 2 * int64_t(tl::sm_count());
    int64_t splits = blocks >= want ? 1 : (want + blocks - 1) / blocks;
    const int64_t most = (chunks + 1) / 2;  // splits of at least two K tiles
    if (splits > most) splits = most;
    if (splits > 64) splits = 64;  // gridDim.z; far more than two blocks per SM ask for
    if (splits < 1) splits = 1;
    const int64_t per_split = (chunks + splits - 1) / splits;
    splits = (chunks + per_split - 1) / per_split;  // none left empty
    const dim3 grid{unsigned(tiles_n), unsigned(grid_y), unsigned(splits)};
    if (splits == 1) {
        TL_LAUNCH((qgemm_kernel<B, BM>), grid, dim3(kGemmThreads), 0, st, b, m, n, k, per_split * kTileK, a, lda, c,
                  ldc, int64_t(0));
        return tl::check_launch(fn, "qgemm_kernel");
    }
    void *scratch = nullptr;
    std::unique_lock<std::mutex> lock;
    const int64_t stride = m * n;
    TL_TRY(tl::stream_scratch(fn, handle, uint64_t(splits * stride) * sizeof(float), &scratch, &lock));
    float *part = static_cast<float *>(scratch);
    TL_LAUNCH((qgemm_kernel<B, BM>), grid, dim3(kGemmThreads), 0, st, b, m, n, k, per_split * kTileK, a, lda, part,
              n, stride);
    TL_TRY(tl::check_launch(fn, "qgemm_kernel"));
    return tl::sum_splits(fn, st, m, n, int(splits), part, c, ldc);
}

template <class B>
tl_status launch_gemm(const char *fn, tl_stream handle, cudaStream_t st, const B &b, int64_t m, int64_t n, int64_t k,
                      const float *a, int64_t lda, float *c, int64_t ldc) {
    if (m <= 16) return launch_gemm_tiles<B, 16>(fn, handle, st, b, m, n, k, a, lda, c, ldc);
    if (m <= 32) return launch_gemm_tiles<B, 32>(fn, handle, st, b, m, n, k, a, lda, c, ldc);
    return launch_gemm_tiles<B, 64>(fn, handle, st, b, m, n, k, a, lda, c, ldc);
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
    // log2 of the pairs of slices per group: groups of 32, 64 and 128 are 1, 2 and 4 pairs; one group per channel
    // has every slice (s < 2^27) in group 0. A symmetric format reads its (unused) zero points from the scales,
    // which have a byte for every [n, groups] index.
    const int shift = o.groups == 1 ? 40 : o.group_size == 32 ? 0 : o.group_size == 64 ? 1 : 2;
    const uint32_t asym = o.zeros != nullptr ? 0xFFu : 0u;
    const unsigned char *z = o.zeros != nullptr ? o.zeros : reinterpret_cast<const unsigned char *>(o.scales);
    switch (bits) {
    case 2: return run(GroupSlices<2>{o.codes, o.scales, z, asym, o.row_bytes, o.groups, shift, o.plane1});
    case 3: return run(GroupSlices<3>{o.codes, o.scales, z, asym, o.row_bytes, o.groups, shift, o.plane1});
    case 4: return run(GroupSlices<4>{o.codes, o.scales, z, asym, o.row_bytes, o.groups, shift, o.plane1});
    default: return run(GroupSlices<8>{o.codes, o.scales, z, asym, o.row_bytes, o.groups, shift, o.plane1});
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
    return with_group_slices(bits, o, [&](const auto &b) {
        return launch_gemm(fn, stream, st, b, m, n, k, pa, lda, pc, ldc);
    });
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
    return with_ggml_slices(type, rows, [&](const auto &b) {
        return launch_gemm(fn, stream, st, b, m, n, k, pa, lda, pc, ldc);
    });
}

}  // extern "C"
