// The row-wise layer kernels (bias, add, GELU, LayerNorm, softmax, and the fused epilogues) against a double-precision reference
// on strided views and awkward sizes.
#include "test_util.h"

#include <limits>

namespace {

const float kNegInf = -std::numeric_limits<float>::infinity();

// Unaligned views take the scalar path; views whose rows start 16-byte aligned with whole float4s of columns
// take the float4 path, with row counts around the rows each thread takes.
void test_add_bias_add_gelu(tl_stream s, int64_t rows, int64_t cols, int64_t ldx, int64_t ldy, uint64_t off_x,
                            uint64_t off_y, uint64_t off_b, unsigned seed) {
    auto hx = random_floats(off_x + rows * ldx, seed, -5.f, 5.f);
    auto hy = random_floats(off_y + rows * ldy, seed + 1);
    auto hb = random_floats(off_b + cols + 1, seed + 2);
    tl_buffer x = upload(s, hx), y = upload(s, hy), b = upload(s, hb);

    OK(tl_add_bias(s, rows, cols, x, off_x, ldx, b, off_b));
    auto g1 = download(s, x, hx.size());
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c)
            CHECK(g1[off_x + r * ldx + c] == hx[off_x + r * ldx + c] + hb[off_b + c], "add_bias [%lld,%lld]",
                  (long long)r, (long long)c);
    CHECK(count_changed_outside(g1, hx, off_x, rows, cols, ldx) == 0, "add_bias wrote outside x");

    OK(tl_add(s, rows, cols, x, off_x, ldx, y, off_y, ldy));
    auto g2 = download(s, x, hx.size());
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c)
            CHECK(g2[off_x + r * ldx + c] == g1[off_x + r * ldx + c] + hy[off_y + r * ldy + c], "add [%lld,%lld]",
                  (long long)r, (long long)c);
    CHECK(count_changed_outside(g2, hx, off_x, rows, cols, ldx) == 0, "add wrote outside x");

    OK(tl_gelu(s, rows, cols, x, off_x, ldx));
    auto g3 = download(s, x, hx.size());
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) {
            const double v = g2[off_x + r * ldx + c];
            const double want = 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
            CHECK(close(g3[off_x + r * ldx + c], want, std::fabs(v), 2e-6), "gelu(%g) = %g, want %g", v,
                  g3[off_x + r * ldx + c], want);
        }
    CHECK(count_changed_outside(g3, hx, off_x, rows, cols, ldx) == 0, "gelu wrote outside x");
    OK(tl_free(x));
    OK(tl_free(y));
    OK(tl_free(b));
}

// x and y (or the bias) in one buffer: refused, naming both, when they share an element without being the same
// matrix (their pointers are __restrict__, and a GPU block may read what another already wrote); accepted when
// they are the same matrix or strided views that interleave without sharing an element.
void test_overlapping_operands(tl_stream s) {
    const int64_t rows = 4, cols = 4, ld = 8;
    const auto h = random_floats(rows * ld + 8, 14);
    tl_buffer m = upload(s, h);
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "tl_add: x [rows=4, cols=4, ld=8 from offset 0] and y [same shape, ld=8 from offset 2] overlap",
                  tl_add(s, rows, cols, m, 0, ld, m, 2, ld));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "tl_add: x [rows=4, cols=4, ld=8 from offset 8] and y [same shape, ld=8 from offset 3] overlap",
                  tl_add(s, rows, cols, m, 8, ld, m, 3, ld));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT,
                  "tl_add_bias: x [rows=4, cols=4, ld=8 from offset 0] and bias [one row read by every row, ld=0 from "
                  "offset 9] overlap",
                  tl_add_bias(s, rows, cols, m, 0, ld, m, 9));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "and bias [one row read by every row, ld=0 from offset 0] overlap",
                  tl_add_bias(s, rows, cols, m, 0, ld, m, 0));
    CHECK(download(s, m, h.size()) == h, "a refused call changed memory");

    OK(tl_add(s, rows, cols, m, 0, ld, m, 4, ld));  // columns 0-3 += columns 4-7: interleaved, disjoint
    auto g = download(s, m, h.size());
    int bad = 0;
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < ld; ++c)
            bad += g[r * ld + c] != (c < cols ? h[r * ld + c] + h[r * ld + c + cols] : h[r * ld + c]);
    CHECK(bad == 0, "%d elements wrong after adding interleaved columns", bad);
    OK(tl_add(s, rows, cols, m, 0, ld, m, 0, ld));  // x += x
    OK(tl_add_bias(s, 1, cols, m, 4, ld, m, 4));    // one row plus itself as the bias
    auto g2 = download(s, m, h.size());
    bad = 0;
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < ld; ++c)
            bad += g2[r * ld + c] != (c < cols || r == 0 ? 2 * g[r * ld + c] : g[r * ld + c]);
    CHECK(bad == 0, "%d elements wrong after adding a matrix to itself", bad);
    OK(tl_free(m));
}

void test_layer_norm(tl_stream s, int64_t rows, int64_t cols, int64_t pad, uint64_t off, unsigned seed) {
    const int64_t ldx = cols + pad;
    auto hx = random_floats(off + rows * ldx, seed, -3.f, 3.f);
    for (int64_t c = 0; c < cols; ++c) hx[off + c] += 100.f;  // a large mean must not cost precision
    auto hg = random_floats(cols + 1, seed + 1, 0.5f, 1.5f);
    auto hb = random_floats(cols + 2, seed + 2);
    tl_buffer x = upload(s, hx), g = upload(s, hg), b = upload(s, hb);
    const float eps = 1e-5f;
    OK(tl_layer_norm(s, rows, cols, x, off, ldx, g, 1, b, 2, eps));
    auto got = download(s, x, hx.size());
    for (int64_t r = 0; r < rows; ++r) {
        double mean = 0, var = 0;
        for (int64_t c = 0; c < cols; ++c) mean += hx[off + r * ldx + c];
        mean /= cols;
        for (int64_t c = 0; c < cols; ++c) var += (hx[off + r * ldx + c] - mean) * (hx[off + r * ldx + c] - mean);
        var /= cols;
        for (int64_t c = 0; c < cols; ++c) {
            const double want = (hx[off + r * ldx + c] - mean) / std::sqrt(var + eps) * hg[1 + c] + hb[2 + c];
            CHECK(close(got[off + r * ldx + c], want, 1.0 + std::fabs(want), 2e-5), "layer_norm %lldx%lld [%lld,%lld] = %g, want %g",
                  (long long)rows, (long long)cols, (long long)r, (long long)c, got[off + r * ldx + c], want);
        }
    }
    CHECK(count_changed_outside(got, hx, off, rows, cols, ldx) == 0, "layer_norm wrote outside x");
    OK(tl_free(x));
    OK(tl_free(g));
    OK(tl_free(b));
}

// The epilogues against the unfused definitions in double: x = gelu(x + bias), and x = layerNorm((x + bias) +
// residual) with a residual whose mean is far from 0 (as an encoder's hidden states are); strided views, the
// float4 and the scalar GELU paths, and refusals of overlapping operands.
void test_epilogues(tl_stream s, int64_t rows, int64_t cols, int64_t pad, uint64_t off, unsigned seed) {
    const int64_t ldx = cols + pad, ldr = cols + 2 * pad + 1;
    auto hx = random_floats(off + rows * ldx, seed, -5.f, 5.f);
    auto hr = random_floats(3 + rows * ldr, seed + 1, 17.f, 23.f);
    auto hb = random_floats(cols + 1, seed + 2);
    auto hg = random_floats(cols + 2, seed + 3, 0.5f, 1.5f);
    auto he = random_floats(cols, seed + 4);
    tl_buffer x = upload(s, hx), r = upload(s, hr), b = upload(s, hb), g = upload(s, hg), e = upload(s, he);

    OK(tl_add_bias_gelu(s, rows, cols, x, off, ldx, b, 1));
    auto g1 = download(s, x, hx.size());
    int bad = 0;
    for (int64_t i = 0; i < rows; ++i)
        for (int64_t c = 0; c < cols; ++c) {
            const double v = double(hx[off + i * ldx + c] + hb[1 + c]);  // the float sum, as tl_add_bias makes it
            const double want = 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
            if (!close(g1[off + i * ldx + c], want, std::fabs(v), 2e-6) && bad++ < 5)
                CHECK(false, "add_bias_gelu %lldx%lld [%lld,%lld] = %g, want %g", (long long)rows, (long long)cols,
                      (long long)i, (long long)c, g1[off + i * ldx + c], want);
        }
    CHECK(count_changed_outside(g1, hx, off, rows, cols, ldx) == 0, "add_bias_gelu wrote outside x");

    OK(tl_copy_to_device(s, x, 0, hx.data(), hx.size() * sizeof(float)));
    const float eps = 1e-12f;
    OK(tl_add_bias_residual_layer_norm(s, rows, cols, x, off, ldx, b, 1, r, 3, ldr, g, 2, e, 0, eps));
    auto g2 = download(s, x, hx.size());
    std::vector<double> v(cols);
    for (int64_t i = 0; i < rows; ++i) {
        double mean = 0, var = 0;
        for (int64_t c = 0; c < cols; ++c) {
            v[c] = double((hx[off + i * ldx + c] + hb[1 + c]) + hr[3 + i * ldr + c]);
            mean += v[c];
        }
        mean /= cols;
        for (int64_t c = 0; c < cols; ++c) var += (v[c] - mean) * (v[c] - mean);
        var /= cols;
        for (int64_t c = 0; c < cols; ++c) {
            const double want = (v[c] - mean) / std::sqrt(var + eps) * hg[2 + c] + he[c];
            // the row's values near 20 leave the float mean about 20·√cols·u off, relative to a spread of ~2
            if (!close(g2[off + i * ldx + c], want, 1.0 + std::fabs(want), 1e-4) && bad++ < 5)
                CHECK(false, "add_bias_residual_layer_norm %lldx%lld [%lld,%lld] = %g, want %g", (long long)rows,
                      (long long)cols, (long long)i, (long long)c, g2[off + i * ldx + c], want);
        }
    }
    CHECK(count_changed_outside(g2, hx, off, rows, cols, ldx) == 0, "add_bias_residual_layer_norm wrote outside x");
    CHECK(download(s, r, hr.size()) == hr, "add_bias_residual_layer_norm changed the residual");
    OK(tl_free(x));
    OK(tl_free(r));
    OK(tl_free(b));
    OK(tl_free(g));
    OK(tl_free(e));
}

// Bad operands of the epilogues: a residual or bias that shares elements with x, a residual past its buffer,
// a bad epsilon, a freed handle; none of them changes memory. Empty work is fine even with odd operands.
void test_epilogue_refusals(tl_stream s) {
    const int64_t rows = 4, cols = 4, ld = 8;
    const auto h = random_floats(rows * ld + 8, 15);
    tl_buffer m = upload(s, h), v = upload(s, random_floats(cols, 16)), freed = upload(s, h);
    OK(tl_free(freed));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "tl_add_bias_gelu: x [rows=4, cols=4, ld=8 from offset 0] and bias",
                  tl_add_bias_gelu(s, rows, cols, m, 0, ld, m, 9));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT,
                  "tl_add_bias_residual_layer_norm: x [rows=4, cols=4, ld=8 from offset 0] and residual [same shape, ld=8 from offset 2] overlap",
                  tl_add_bias_residual_layer_norm(s, rows, cols, m, 0, ld, v, 0, m, 2, ld, v, 0, v, 0, 1e-5f));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "residual",
                  tl_add_bias_residual_layer_norm(s, rows, cols, m, 0, ld, v, 0, m, 16, ld, v, 0, v, 0, 1e-5f));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "gamma",
                  tl_add_bias_residual_layer_norm(s, rows, cols, m, 0, ld, v, 0, m, 4, ld, v, 1, v, 0, 1e-5f));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "epsilon = -1",
                  tl_add_bias_residual_layer_norm(s, rows, cols, m, 0, ld, v, 0, m, 4, ld, v, 0, v, 0, -1.f));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "cols = -1", tl_add_bias_gelu(s, rows, -1, m, 0, ld, v, 0));
    EXPECT_STATUS(TL_ERROR_INVALID_HANDLE, nullptr,
                  tl_add_bias_residual_layer_norm(s, rows, cols, m, 0, ld, v, 0, freed, 0, ld, v, 0, v, 0, 1e-5f));
    EXPECT_STATUS(TL_ERROR_INVALID_HANDLE, nullptr, tl_add_bias_gelu(s, rows, cols, m, 0, ld, freed, 0));
    CHECK(download(s, m, h.size()) == h, "a refused call changed memory");
    OK(tl_add_bias_gelu(s, 0, cols, m, 0, ld, v, 0));
    OK(tl_add_bias_residual_layer_norm(s, rows, 0, m, 0, ld, v, 0, m, 0, ld, v, 0, v, 0, 1e-5f));
    CHECK(download(s, m, h.size()) == h, "empty work changed memory");
    OK(tl_free(m));
    OK(tl_free(v));
}

void test_softmax(tl_stream s, int64_t rows, int64_t cols, int64_t pad, uint64_t off, unsigned seed) {
    const int64_t ldx = cols + pad;
    auto hx = random_floats(off + rows * ldx, seed, -20.f, 20.f);
    // row 0: some -inf; row 1 (if any): all -inf
    for (int64_t c = 0; c < cols; c += 3) hx[off + c] = kNegInf;
    if (rows > 1)
        for (int64_t c = 0; c < cols; ++c) hx[off + ldx + c] = kNegInf;
    tl_buffer x = upload(s, hx);
    OK(tl_softmax_rows(s, rows, cols, x, off, ldx));
    auto got = download(s, x, hx.size());
    for (int64_t r = 0; r < rows; ++r) {
        double m = -INFINITY;
        for (int64_t c = 0; c < cols; ++c) m = std::fmax(m, hx[off + r * ldx + c]);
        double sum = 0;
        for (int64_t c = 0; c < cols; ++c) sum += m == -INFINITY ? 0 : std::exp(hx[off + r * ldx + c] - m);
        for (int64_t c = 0; c < cols; ++c) {
            const double want = m == -INFINITY ? 0.0 : std::exp(hx[off + r * ldx + c] - m) / sum;
            CHECK(close(got[off + r * ldx + c], want, want, 2e-5, 1e-7), "softmax %lldx%lld [%lld,%lld] = %g, want %g",
                  (long long)rows, (long long)cols, (long long)r, (long long)c, got[off + r * ldx + c], want);
        }
    }
    CHECK(count_changed_outside(got, hx, off, rows, cols, ldx) == 0, "softmax wrote outside x");
    OK(tl_free(x));
}

}  // namespace

int main() {
    tl_stream s;
    OK(tl_stream_create(&s));
    test_add_bias_add_gelu(s, 5, 37, 40, 38, 3, 1, 2, 11);     // scalar: unaligned everything
    test_add_bias_add_gelu(s, 7, 36, 40, 44, 4, 8, 12, 14);    // float4, 7 rows: a partial group of rows
    test_add_bias_add_gelu(s, 1, 4, 4, 4, 0, 0, 0, 17);        // float4, one row of one float4
    test_add_bias_add_gelu(s, 9, 1028, 1028, 1032, 0, 4, 0, 18);  // float4, columns past one block's 256
    test_add_bias_add_gelu(s, 6, 36, 40, 40, 4, 8, 2, 21);     // bias unaligned: scalar
    test_overlapping_operands(s);
    test_layer_norm(s, 1, 1, 0, 0, 20);  // variance 0: the output is beta
    test_layer_norm(s, 7, 384, 3, 5, 21);
    test_layer_norm(s, 3, 1001, 0, 1, 22);
    test_epilogues(s, 1, 1, 0, 0, 50);       // one element: the layer norm's output is beta
    test_epilogues(s, 1, 384, 0, 0, 51);     // one row; float4 GELU
    test_epilogues(s, 5, 1536, 4, 4, 52);    // strided, float4 GELU
    test_epilogues(s, 7, 13, 0, 1, 53);      // widths not a multiple of 4: scalar GELU
    test_epilogues(s, 33, 385, 2, 3, 54);    // strided, more rows than a block's warps
    test_epilogue_refusals(s);
    test_softmax(s, 1, 1, 0, 0, 30);
    test_softmax(s, 6, 37, 2, 3, 31);
    test_softmax(s, 3, 1000, 1, 0, 32);
    if (gpu_only_sizes()) {  // too slow for the emulation and the sanitizers
        test_layer_norm(s, 4096, 384, 0, 0, 23);
        test_softmax(s, 4096, 4096, 0, 0, 33);
    }
    OK(tl_stream_destroy(s));
    return finish("test_nn");
}
