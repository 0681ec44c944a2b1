// The dequantizing products against a host oracle in double: weights packed here by the layout's definition (value
// r of a unit in byte r mod 16 at bit w·(r div 16)) and ggml blocks dequantized as ggml's dequantize_row_* does, on
// awkward sizes (1, primes, per-channel k that is not whole slices), strided operands with offsets, x aligned and
// not, batches that take both GEMM tile heights and several m tiles; and the argument checks.
#include "test_util.h"
#include "tensorloom_quant.h"

#include <cstdint>

namespace {

uint16_t to_half(float f) {  // round to nearest even, finite normal range only (the test's scales)
    uint32_t b;
    std::memcpy(&b, &f, 4);
    const uint32_t sign = (b >> 16) & 0x8000u;
    const int exponent = int((b >> 23) & 0xFF) - 127 + 15;
    uint32_t mantissa = b & 0x7FFFFFu;
    if (exponent <= 0) return uint16_t(sign);  // flush tiny values: the tests use none
    uint32_t h = sign | (uint32_t(exponent) << 10) | (mantissa >> 13);
    const uint32_t rest = mantissa & 0x1FFFu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;
    return uint16_t(h);
}

float from_half(uint16_t h) {
    const int exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF;
    const float v = exponent == 0 ? std::ldexp(float(mantissa), -24) : std::ldexp(float(mantissa | 0x400), exponent - 25);
    return (h & 0x8000) ? -v : v;
}

tl_buffer upload_bytes(tl_stream s, const std::vector<uint8_t> &host) {
    tl_buffer b = nullptr;
    OK(tl_malloc(host.empty() ? 1 : host.size(), &b));
    if (!host.empty()) OK(tl_copy_to_device(s, b, 0, host.data(), host.size()));
    return b;
}

// A group-format matrix [k, n] with random codes, scales and zero points, and its weights w[p*n + j].
struct Group {
    int bits, group_size, k, n;
    bool asymmetric;
    int64_t row_bytes, groups;
    std::vector<uint8_t> codes, zeros;
    std::vector<uint16_t> scales;
    std::vector<float> w;
};

int64_t plane_bytes(int64_t k, int width) { return (k * width + 127) / 128 * 16; }

void put(std::vector<uint8_t> &codes, int64_t plane_start, int width, int64_t p, unsigned part) {
    const int64_t per_unit = 128 / width;
    const int64_t at = plane_start + p / per_unit * 16 + (p % per_unit) % 16;
    const int shift = width * int((p % per_unit) / 16);
    codes[at] = uint8_t(codes[at] | (part << shift));
}

// codes start after codes_pad bytes, zero points after zeros_pad.
Group make_group(int bits, int group_size, bool asymmetric, int k, int n, unsigned seed, int codes_pad, int zeros_pad) {
    Group g{bits, group_size, k, n, asymmetric, 0, 0, {}, {}, {}, {}};
    const int gs = group_size == 0 ? k : group_size;
    g.groups = k / gs;
    const int w0 = bits == 3 ? 2 : bits;
    const int64_t plane1 = plane_bytes(k, w0);
    g.row_bytes = plane1 + (bits == 3 ? plane_bytes(k, 1) : 0);
    std::mt19937 gen(seed);
    g.codes.assign(codes_pad + g.row_bytes * n, 0);
    g.scales.resize(g.groups * n);
    g.zeros.assign(zeros_pad + g.groups * n, 0xEE);
    g.w.resize(int64_t(k) * n);
    for (int j = 0; j < n; ++j) {
        for (int64_t q = 0; q < g.groups; ++q) {
            g.scales[j * g.groups + q] = to_half(std::uniform_real_distribution<float>(0.001f, 0.1f)(gen));
            g.zeros[zeros_pad + j * g.groups + q] = uint8_t(gen() % (1u << bits));
        }
        uint8_t *row = g.codes.data() + codes_pad + j * g.row_bytes;
        std::vector<uint8_t> one(g.row_bytes, 0);
        for (int p = 0; p < k; ++p) {
            const unsigned u = gen() % (1u << bits);
            put(one, 0, w0, p, u & ((1u << w0) - 1u));
            if (bits == 3) put(one, plane1, 1, p, u >> 2);
            const int64_t q = p / gs;
            const double z = asymmetric ? g.zeros[zeros_pad + j * g.groups + q] : double(1 << (bits - 1));
            g.w[int64_t(p) * n + j] = float(from_half(g.scales[j * g.groups + q]) * (double(u) - z));
        }
        std::memcpy(row, one.data(), one.size());
    }
    return g;
}

// Random ggml blocks of `type` (random bytes with small finite fp16 scales) and their weights, dequantized as
// ggml's dequantize_row_* computes them.
struct Ggml {
    int type, k, n;
    int64_t row_bytes;
    std::vector<uint8_t> data;
    std::vector<float> w;
};

int q4k_scale(const uint8_t *s, int j) { return j < 4 ? s[j] & 63 : (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4); }
int q4k_min(const uint8_t *s, int j) { return j < 4 ? s[j + 4] & 63 : (s[j + 4] >> 4) | ((s[j] >> 6) << 4); }

void set_half(uint8_t *p, float v) {
    const uint16_t h = to_half(v);
    p[0] = uint8_t(h);
    p[1] = uint8_t(h >> 8);
}
float half_at(const uint8_t *p) { return from_half(uint16_t(p[0] | (p[1] << 8))); }

Ggml make_ggml(int type, int k, int n, unsigned seed, int pad) {
    const int bs = type == TL_GGML_Q4_0 || type == TL_GGML_Q8_0 ? 32 : 256;
    const int bb = type == TL_GGML_Q4_0 ? 18 : type == TL_GGML_Q8_0 ? 34 : type == TL_GGML_Q4_K ? 144 : 210;
    Ggml g{type, k, n, int64_t(k / bs) * bb, {}, {}};
    std::mt19937 gen(seed);
    std::normal_distribution<float> small(0.f, 0.01f);
    g.data.resize(pad + g.row_bytes * n);
    for (auto &b : g.data) b = uint8_t(gen());
    g.w.resize(int64_t(k) * n);
    std::vector<float> out(bs);
    for (int j = 0; j < n; ++j)
        for (int blk = 0; blk < k / bs; ++blk) {
            uint8_t *o = g.data.data() + pad + j * g.row_bytes + int64_t(blk) * bb;
            if (type == TL_GGML_Q4_0) {
                set_half(o, small(gen));
                const float d = half_at(o);
                for (int l = 0; l < 16; ++l) {
                    out[l] = float((o[2 + l] & 0xF) - 8) * d;
                    out[l + 16] = float((o[2 + l] >> 4) - 8) * d;
                }
            } else if (type == TL_GGML_Q8_0) {
                set_half(o, small(gen));
                const float d = half_at(o);
                for (int l = 0; l < 32; ++l) out[l] = float(int8_t(o[2 + l])) * d;
            } else if (type == TL_GGML_Q4_K) {
                set_half(o, small(gen));
                set_half(o + 2, small(gen));
                const float d = half_at(o), min = half_at(o + 2);
                const uint8_t *q = o + 16;
                for (int jj = 0, is = 0; jj < 256; jj += 64, is += 2, q += 32) {
                    const float d1 = d * float(q4k_scale(o + 4, is)), m1 = min * float(q4k_min(o + 4, is));
                    const float d2 = d * float(q4k_scale(o + 4, is + 1)), m2 = min * float(q4k_min(o + 4, is + 1));
                    for (int l = 0; l < 32; ++l) out[jj + l] = d1 * float(q[l] & 0xF) - m1;
                    for (int l = 0; l < 32; ++l) out[jj + 32 + l] = d2 * float(q[l] >> 4) - m2;
                }
            } else {
                set_half(o + 208, small(gen));
                const float d = half_at(o + 208);
                const uint8_t *ql = o, *qh = o + 128;
                const int8_t *sc = reinterpret_cast<const int8_t *>(o + 192);
                for (int n0 = 0; n0 < 256; n0 += 128, ql += 64, qh += 32, sc += 8)
                    for (int l = 0; l < 32; ++l) {
                        const int is = l / 16;
                        const int q1 = ((ql[l] & 0xF) | ((qh[l] & 3) << 4)) - 32;
                        const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                        out[n0 + l] = d * float(sc[is]) * float(q1);
                        out[n0 + l + 32] = d * float(sc[is + 2]) * float(q2);
                        out[n0 + l + 64] = d * float(sc[is + 4]) * float(q3);
                        out[n0 + l + 96] = d * float(sc[is + 6]) * float(q4);
                    }
            }
            for (int l = 0; l < bs; ++l) g.w[int64_t(blk * bs + l) * n + j] = out[l];
        }
    return g;
}

// Runs c = a·w through `gemm` (strided a and c with offsets, m rows) and y = x·w through `gemv` (x at offset
// x_off), and checks both against double sums and that nothing outside c or y changed.
template <class Gemm, class Gemv>
void check_products(tl_stream s, const char *what, int k, int n, const std::vector<float> &w, int m, unsigned seed,
                    Gemm gemm, Gemv gemv) {
    const int64_t lda = k + 3, ldc = n + 2;
    const uint64_t off_a = 1, off_c = 2;
    auto ha = random_floats(off_a + m * lda, seed);
    auto hc = random_floats(off_c + m * ldc, seed + 1);
    tl_buffer a = upload(s, ha), c = upload(s, hc);
    OK(gemm(m, a, off_a, lda, c, off_c, ldc));
    auto got = download(s, c, hc.size());
    for (int i = 0; i < m; ++i)
        for (int j = 0; j < n; ++j) {
            double want = 0, scale = 0;
            for (int p = 0; p < k; ++p) {
                const double term = double(ha[off_a + i * lda + p]) * w[int64_t(p) * n + j];
                want += term;
                scale += std::fabs(term);
            }
            const double g = got[off_c + i * ldc + j];
            CHECK(close(g, want, scale), "%s gemm m%d k%d n%d at (%d, %d): %g vs %g", what, m, k, n, i, j, g, want);
        }
    CHECK(count_changed_outside(got, hc, off_c, m, n, ldc) == 0, "%s gemm wrote outside c", what);
    OK(tl_free(a));
    OK(tl_free(c));
    for (uint64_t off_x : {uint64_t(0), uint64_t(1)}) {  // float4 loads, and the unaligned path
        auto hx = random_floats(off_x + k, seed + 2);
        auto hy = random_floats(n + 2, seed + 3);
        tl_buffer x = upload(s, hx), y = upload(s, hy);
        OK(gemv(x, off_x, y, uint64_t(1)));
        auto gy = download(s, y, hy.size());
        for (int j = 0; j < n; ++j) {
            double want = 0, scale = 0;
            for (int p = 0; p < k; ++p) {
                const double term = double(hx[off_x + p]) * w[int64_t(p) * n + j];
                want += term;
                scale += std::fabs(term);
            }
            CHECK(close(gy[1 + j], want, scale), "%s gemv k%d n%d (x offset %d) at %d: %g vs %g", what, k, n,
                  int(off_x), j, gy[1 + j], want);
        }
        CHECK(gy[0] == hy[0] && gy[n + 1] == hy[n + 1], "%s gemv wrote outside y", what);
        OK(tl_free(x));
        OK(tl_free(y));
    }
}

void test_group(tl_stream s, int bits, int group_size, bool asymmetric, int k, int n, int m, unsigned seed) {
    const int codes_pad = 16, scales_pad = 3, zeros_pad = 5;
    Group g = make_group(bits, group_size, asymmetric, k, n, seed, codes_pad, zeros_pad);
    std::vector<uint8_t> scale_bytes((scales_pad + g.scales.size()) * 2, 0xEE);
    std::memcpy(scale_bytes.data() + scales_pad * 2, g.scales.data(), g.scales.size() * 2);
    tl_buffer codes = upload_bytes(s, g.codes), scales = upload_bytes(s, scale_bytes),
              zeros = upload_bytes(s, g.zeros);
    tl_buffer zarg = asymmetric ? zeros : nullptr;  // a symmetric format reads no zero points
    char what[96];
    std::snprintf(what, sizeof what, "%d-bit g%d %s", bits, group_size, asymmetric ? "asymmetric" : "symmetric");
    check_products(
        s, what, k, n, g.w, m, seed + 10,
        [&](int64_t mm, tl_buffer a, uint64_t oa, int64_t lda, tl_buffer c, uint64_t oc, int64_t ldc) {
            return tl_qgemm_group(s, mm, n, k, bits, group_size, asymmetric, a, oa, lda, codes, codes_pad, scales,
                                  scales_pad, zarg, zeros_pad, c, oc, ldc);
        },
        [&](tl_buffer x, uint64_t ox, tl_buffer y, uint64_t oy) {
            return tl_qgemv_group(s, n, k, bits, group_size, asymmetric, x, ox, codes, codes_pad, scales, scales_pad,
                                  zarg, zeros_pad, y, oy);
        });
    OK(tl_free(codes));
    OK(tl_free(scales));
    OK(tl_free(zeros));
}

void test_ggml(tl_stream s, int type, int k, int n, int m, unsigned seed) {
    const int pad = 32;
    Ggml g = make_ggml(type, k, n, seed, pad);
    tl_buffer blocks = upload_bytes(s, g.data);
    char what[32];
    std::snprintf(what, sizeof what, "ggml type %d", type);
    check_products(
        s, what, k, n, g.w, m, seed + 10,
        [&](int64_t mm, tl_buffer a, uint64_t oa, int64_t lda, tl_buffer c, uint64_t oc, int64_t ldc) {
            return tl_qgemm_ggml(s, mm, n, k, type, a, oa, lda, blocks, pad, c, oc, ldc);
        },
        [&](tl_buffer x, uint64_t ox, tl_buffer y, uint64_t oy) {
            return tl_qgemv_ggml(s, n, k, type, x, ox, blocks, pad, y, oy);
        });
    OK(tl_free(blocks));
}

void test_bad_arguments(tl_stream s) {
    tl_buffer big = upload(s, std::vector<float>(4096, 0.f));
    tl_buffer small = upload(s, std::vector<float>(4, 0.f));
    // k = 96 with groups of 64: refused by name.
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "k = 96 is not a multiple of the group size 64",
                  tl_qgemm_group(s, 2, 3, 96, 4, 64, 0, big, 0, 96, big, 0, big, 0, nullptr, 0, big, 0, 3));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "k = 96 is not a multiple of the group size 64",
                  tl_qgemv_group(s, 3, 96, 4, 64, 0, big, 0, big, 0, big, 0, nullptr, 0, big, 0));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "bits", tl_qgemv_group(s, 3, 64, 5, 64, 0, big, 0, big, 0, big, 0, nullptr, 0, big, 0));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "group_size",
                  tl_qgemv_group(s, 3, 96, 4, 48, 0, big, 0, big, 0, big, 0, nullptr, 0, big, 0));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "k must be positive",
                  tl_qgemv_group(s, 3, 0, 4, 0, 0, big, 0, big, 0, big, 0, nullptr, 0, big, 0));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "16-byte boundary",
                  tl_qgemv_group(s, 3, 64, 4, 64, 0, big, 0, big, 8, big, 0, nullptr, 0, big, 0));
    EXPECT_STATUS(TL_ERROR_INVALID_HANDLE, "zeros",
                  tl_qgemv_group(s, 3, 64, 4, 64, 1, big, 0, big, 0, big, 0, nullptr, 0, big, 0));
    // 100 channels of 64 4-bit codes are 3200 bytes, more than 16.
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "codes",
                  tl_qgemv_group(s, 100, 64, 4, 64, 0, big, 0, small, 0, big, 0, nullptr, 0, big, 0));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "scales",
                  tl_qgemv_group(s, 100, 64, 4, 32, 0, big, 0, big, 0, small, 0, nullptr, 0, big, 0));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "zeros",
                  tl_qgemv_group(s, 100, 64, 4, 32, 1, big, 0, big, 0, big, 0, small, 0, big, 0));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "x", tl_qgemv_group(s, 3, 64, 4, 64, 0, small, 0, big, 0, big, 0, nullptr, 0, big, 0));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "ldc",
                  tl_qgemm_group(s, 2, 3, 64, 4, 64, 0, big, 0, 64, big, 0, big, 0, nullptr, 0, big, 0, 2));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "type", tl_qgemv_ggml(s, 3, 32, 3, big, 0, big, 0, big, 0));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "k = 128 is not a positive multiple of Q4_K's block size 256",
                  tl_qgemv_ggml(s, 3, 128, TL_GGML_Q4_K, big, 0, big, 0, big, 0));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "16-byte boundary",
                  tl_qgemm_ggml(s, 2, 3, 32, TL_GGML_Q8_0, big, 0, 32, big, 2, big, 0, 3));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "blocks",
                  tl_qgemm_ggml(s, 2, 3, 32, TL_GGML_Q8_0, big, 0, 32, small, 0, big, 0, 3));
    EXPECT_STATUS(TL_ERROR_INVALID_HANDLE, nullptr, tl_qgemm_ggml(s, 2, 3, 32, TL_GGML_Q8_0, big, 0, 32, nullptr, 0, big, 0, 3));
    // Empty work is fine, and launches nothing.
    OK(tl_qgemm_group(s, 0, 3, 64, 4, 64, 0, big, 0, 64, big, 0, big, 0, nullptr, 0, big, 0, 3));
    OK(tl_qgemv_ggml(s, 0, 256, TL_GGML_Q6_K, big, 0, big, 0, big, 0));
    OK(tl_free(big));
    OK(tl_free(small));
}

}  // namespace

int main() {
    tl_stream s;
    OK(tl_stream_create(&s));
    unsigned seed = 100;
    // Every width and both zero-point kinds; per-channel k of 1, a prime past a unit, and a prime past several.
    for (int bits : {2, 3, 4, 8})
        for (bool asymmetric : {false, true}) {
            test_group(s, bits, 0, asymmetric, 1, 5, 2, seed += 10);
            test_group(s, bits, 0, asymmetric, 131, 13, 17, seed += 10);
            test_group(s, bits, 32, asymmetric, 96, 1, 1, seed += 10);
        }
    test_group(s, 4, 64, false, 192, 67, 3, seed += 10);    // a second n tile, k past one K tile
    test_group(s, 3, 128, true, 384, 7, 70, seed += 10);    // 64-row tiles, two of them
    test_group(s, 2, 0, false, 37, 3, 1, seed += 10);
    for (int type : {TL_GGML_Q4_0, TL_GGML_Q8_0}) {
        test_ggml(s, type, 32, 1, 1, seed += 10);
        test_ggml(s, type, 96, 13, 5, seed += 10);         // k not a whole K tile
    }
    for (int type : {TL_GGML_Q4_K, TL_GGML_Q6_K}) {
        test_ggml(s, type, 256, 3, 2, seed += 10);
        test_ggml(s, type, 512, 5, 17, seed += 10);
    }
    test_bad_arguments(s);
    OK(tl_stream_destroy(s));
    return finish("test_qmatmul");
}
