// tl_gemm, tl_gemm_transposed_b and tl_gemv against a double-precision reference on awkward shapes.
#include "test_util.h"

#include <chrono>

namespace {

struct GemmCase {
    int64_t m, n, k;
    int64_t pad_a, pad_b, pad_c;     // ld = cols + pad
    uint64_t off_a, off_b, off_c;   // element offsets
    const char *what;
};

void run_gemm(tl_stream s, bool trans_b, const GemmCase &t, unsigned seed) {
    const int64_t b_rows = trans_b ? t.n : t.k, b_cols = trans_b ? t.k : t.n;
    const int64_t lda = t.k + t.pad_a, ldb = b_cols + t.pad_b, ldc = t.n + t.pad_c;
    const size_t a_len = t.off_a + size_t(t.m) * lda + 1, b_len = t.off_b + size_t(b_rows) * ldb + 1,
                 c_len = t.off_c + size_t(t.m) * ldc + 1;
    auto ha = random_floats(a_len, seed);
    auto hb = random_floats(b_len, seed + 1);
    std::vector<float> hc(c_len, 1234.5f);  // sentinel: must survive outside C's view
    tl_buffer a = upload(s, ha), b = upload(s, hb), c = upload(s, hc);
    auto t0 = std::chrono::steady_clock::now();
    if (trans_b)
        OK(tl_gemm_transposed_b(s, t.m, t.n, t.k, a, t.off_a, lda, b, t.off_b, ldb, c, t.off_c, ldc));
    else
        OK(tl_gemm(s, t.m, t.n, t.k, a, t.off_a, lda, b, t.off_b, ldb, c, t.off_c, ldc));
    auto got = download(s, c, c_len);
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    int bad = 0;
    for (int64_t i = 0; i < t.m; ++i)
        for (int64_t j = 0; j < t.n; ++j) {
            double want = 0, scale = 0;
            for (int64_t p = 0; p < t.k; ++p) {
                const double x = ha[t.off_a + i * lda + p];
                const double y = trans_b ? hb[t.off_b + j * ldb + p] : hb[t.off_b + p * ldb + j];
                want += x * y;
                scale += std::fabs(x * y);
            }
            const float g = got[t.off_c + i * ldc + j];
            if (!close(g, want, scale, 1e-5) && bad++ < 5)
                CHECK(false, "%s %s [%lld x %lld x %lld] C[%lld,%lld] = %.7g, want %.7g", trans_b ? "gemm_tb" : "gemm",
                      t.what, (long long)t.m, (long long)t.n, (long long)t.k, (long long)i, (long long)j, g, want);
        }
    const int outside = count_changed_outside(got, hc, t.off_c, t.m, t.n, ldc);
    CHECK(outside == 0, "%s %s: %d elements outside C's view changed", trans_b ? "gemm_tb" : "gemm", t.what, outside);
    std::printf("  %-8s %-34s m=%-5lld n=%-5lld k=%-5lld %8.1f ms\n", trans_b ? "gemm_tb" : "gemm", t.what,
                (long long)t.m, (long long)t.n, (long long)t.k, ms);
    OK(tl_free(a));
    OK(tl_free(b));
    OK(tl_free(c));
}

void run_gemv(tl_stream s, int64_t m, int64_t k, int64_t pad, uint64_t off_a, uint64_t off_x, uint64_t off_y,
              const char *what, unsigned seed) {
    const int64_t lda = k + pad;
    const size_t a_len = off_a + size_t(m) * lda + 3, x_len = off_x + k + 3, y_len = off_y + m + 3;
    auto ha = random_floats(a_len, seed);
    auto hx = random_floats(x_len, seed + 7);
    std::vector<float> hy(y_len, -77.f);
    tl_buffer a = upload(s, ha), x = upload(s, hx), y = upload(s, hy);
    OK(tl_gemv(s, m, k, a, off_a, lda, x, off_x, y, off_y));
    auto got = download(s, y, y_len);
    int bad = 0;
    for (int64_t i = 0; i < m; ++i) {
        double want = 0, scale = 0;
        for (int64_t p = 0; p < k; ++p) {
            const double v = double(ha[off_a + i * lda + p]) * hx[off_x + p];
            want += v;
            scale += std::fabs(v);
        }
        if (!close(got[off_y + i], want, scale, 1e-5) && bad++ < 5)
            CHECK(false, "gemv %s [%lld x %lld] y[%lld] = %.7g, want %.7g", what, (long long)m, (long long)k,
                  (long long)i, got[off_y + i], want);
    }
    CHECK(count_changed_outside(got, hy, off_y, 1, m, m) == 0, "gemv %s wrote outside y", what);
    std::printf("  gemv     %-34s m=%-5lld k=%-5lld\n", what, (long long)m, (long long)k);
    OK(tl_free(a));
    OK(tl_free(x));
    OK(tl_free(y));
}

}  // namespace

int main() {
    tl_stream s;
    OK(tl_stream_create(&s));
    const GemmCase cases[] = {
        {1, 1, 1, 0, 0, 0, 0, 0, 0, "1x1x1"},
        {1, 37, 300, 0, 0, 0, 0, 0, 0, "one row"},
        {37, 1, 29, 0, 0, 0, 0, 0, 0, "one column"},
        {64, 64, 64, 0, 0, 0, 0, 0, 0, "64-multiples, aligned (fast path)"},
        {67, 61, 131, 3, 1, 5, 1, 3, 2, "primes, unaligned ld and offsets"},
        {130, 72, 48, 4, 8, 4, 4, 8, 12, "ragged m, aligned strided views"},
        {33, 35, 4099, 1, 0, 0, 0, 1, 0, "large prime K"},
        {256, 256, 32, 0, 0, 0, 0, 0, 0, "256-multiples (128 tiles on few SMs)"},
        {257, 263, 19, 0, 4, 3, 0, 4, 1, "just past the 128 tiles"},
        {5, 7, 0, 0, 0, 0, 0, 0, 0, "k = 0 gives zeros"},
        {40, 1152, 384, 0, 0, 0, 0, 0, 0, "MiniLM QKV projection"},
        {10, 384, 1536, 0, 0, 0, 0, 0, 0, "small M, split K: MiniLM FFN down"},
        {16, 70, 200, 3, 1, 2, 1, 3, 5, "small M = 16, unaligned, ragged"},
        {17, 70, 200, 3, 1, 2, 1, 3, 5, "M = 17, past the small-M path"},
        {3, 1, 4099, 0, 0, 0, 0, 0, 0, "small M, one column, prime K"},
        {2, 3000, 60, 1, 0, 0, 2, 0, 0, "small M, many columns, K in one split"},
    };
    // Sizes the emulation (and a sanitizer) cannot afford run on the GPU build only.
    const GemmCase gpu_cases[] = {
        {512, 512, 512, 0, 0, 0, 0, 0, 0, "512 cube, fast path"},
        {1000, 999, 1001, 0, 1, 2, 0, 0, 0, "~1000, ragged everywhere"},
        {1, 4096, 4099, 0, 0, 0, 0, 0, 0, "one row, 4096 x 4099"},
        {700, 640, 4099, 4, 4, 4, 4, 4, 4, "large K, aligned views"},
    };
    const bool gpu = gpu_only_sizes();
    unsigned seed = 1;
    for (const auto &c : cases) run_gemm(s, false, c, seed++);
    for (const auto &c : cases) run_gemm(s, true, c, seed++);
    if (gpu)
        for (const auto &c : gpu_cases) {
            run_gemm(s, false, c, seed++);
            run_gemm(s, true, c, seed++);
        }

    run_gemv(s, 1, 1, 0, 0, 0, 0, "1x1", 100);
    run_gemv(s, 1, 4099, 0, 0, 0, 0, "one row, prime K", 101);
    run_gemv(s, 37, 4100, 0, 4, 8, 1, "aligned, unrolled path", 102);
    run_gemv(s, 33, 130, 1, 3, 1, 2, "unaligned ld and offsets", 103);
    run_gemv(s, 300, 64, 4, 0, 0, 0, "many short rows", 104);
    run_gemv(s, 9, 515, 1, 0, 0, 0, "k % 4 != 0 tail", 105);
    if (gpu) {
        run_gemv(s, 4096, 4096, 0, 0, 0, 0, "4096 square", 106);
        run_gemv(s, 5000, 3001, 3, 1, 1, 1, "large, unaligned", 107);
    }
    // Dimensions whose tile arithmetic would overflow 32-bit indices inside a kernel are refused by name,
    // before any buffer is looked at.
    {
        tl_buffer tiny;
        OK(tl_malloc(64, &tiny));
        const int64_t huge = int64_t(INT32_MAX) - 100;
        EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "exceeds 2^31-1025",
                      tl_gemm(s, 1, huge, 1, tiny, 0, 1, tiny, 0, huge, tiny, 0, huge));
        EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "exceeds 2^31-1025",
                      tl_gemv(s, huge, 1, tiny, 0, 1, tiny, 0, tiny, 0));
        OK(tl_free(tiny));
    }
    OK(tl_stream_destroy(s));
    return finish("test_gemm");
}
