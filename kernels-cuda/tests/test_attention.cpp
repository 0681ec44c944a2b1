// Padded multi-head attention against a double-precision reference: q, k and v as column views of one
// fused projection, padded texts, a text of nothing but padding, and sizes that need several query tiles
// and key chunks (among them chunks of nothing but padding; on a GPU, a length the old shared-memory tile refused).
#include "test_util.h"

#include <chrono>

namespace {

// q, k and v are column views of one fused [rows, 3*width + extra] projection; out is strided too.
void test_attention(tl_stream s, int64_t batch, int64_t seq, int64_t heads, int64_t hd, unsigned seed, const char *what) {
    const int64_t rows = batch * seq, width = heads * hd;
    const int64_t ldqkv = 3 * width + 5, ldout = width + 3;
    const uint64_t off = 2, off_out = 1, off_mask = 3;
    auto hqkv = random_floats(off + rows * ldqkv, seed, -2.f, 2.f);
    std::vector<float> hmask(off_mask + rows, 0.f);
    std::mt19937 gen(seed);
    for (int64_t b = 0; b < batch; ++b) {
        // text b has `len` real tokens, then padding; the last text (if several) is all padding
        const int64_t len = batch > 1 && b == batch - 1 ? 0 : seq - int64_t(gen() % (seq / 2 + 1));
        // text 1 of three or more also starts with a third of padding: a streaming kernel's first chunks
        // then hold nothing to attend to, and its running max must start from the first real key
        const int64_t first = batch > 2 && b == 1 ? seq / 3 : 0;
        for (int64_t t = first; t < len; ++t) hmask[off_mask + b * seq + t] = 1.f;
    }
    std::vector<float> hout(off_out + rows * ldout, 3.25f);
    tl_buffer qkv = upload(s, hqkv), mask = upload(s, hmask), out = upload(s, hout);
    auto t0 = std::chrono::steady_clock::now();
    OK(tl_attention(s, batch, seq, heads, hd, qkv, off, ldqkv, qkv, off + width, ldqkv, qkv, off + 2 * width, ldqkv,
                    mask, off_mask, out, off_out, ldout));
    auto got = download(s, out, hout.size());
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    int bad = 0;
    std::vector<double> p(seq);
    for (int64_t b = 0; b < batch; ++b)
        for (int64_t h = 0; h < heads; ++h)
            for (int64_t i = 0; i < seq; ++i) {
                const float *qi = &hqkv[off + (b * seq + i) * ldqkv + h * hd];
                double m = -INFINITY;
                for (int64_t j = 0; j < seq; ++j) {
                    if (hmask[off_mask + b * seq + j] == 0.f) {
                        p[j] = -INFINITY;
                        continue;
                    }
                    const float *kj = &hqkv[off + (b * seq + j) * ldqkv + width + h * hd];
                    double d = 0;
                    for (int64_t e = 0; e < hd; ++e) d += double(qi[e]) * kj[e];
                    p[j] = d / std::sqrt(double(hd));
                    m = std::fmax(m, p[j]);
                }
                double sum = 0;
                for (int64_t j = 0; j < seq; ++j) {
                    p[j] = m == -INFINITY || p[j] == -INFINITY ? 0.0 : std::exp(p[j] - m);
                    sum += p[j];
                }
                for (int64_t e = 0; e < hd; ++e) {
                    double want = 0, scale = 0;
                    for (int64_t j = 0; j < seq; ++j) {
                        const double vv = hqkv[off + (b * seq + j) * ldqkv + 2 * width + h * hd + e];
                        want += p[j] * vv;
                        scale += p[j] * std::fabs(vv);
                    }
                    if (sum > 0) {
                        want /= sum;
                        scale /= sum;
                    }
                    const float g = got[off_out + (b * seq + i) * ldout + h * hd + e];
                    if (!close(g, want, scale + 1e-3, 5e-5) && bad++ < 5)
                        CHECK(false, "attention %s [b=%lld h=%lld q=%lld d=%lld] = %.7g, want %.7g", what, (long long)b,
                              (long long)h, (long long)i, (long long)e, g, want);
                }
            }
    CHECK(count_changed_outside(got, hout, off_out, rows, width, ldout) == 0, "attention %s wrote outside out", what);
    std::printf("  attention %-40s batch=%lld seq=%lld heads=%lld head_dim=%lld %8.1f ms\n", what, (long long)batch,
                (long long)seq, (long long)heads, (long long)hd, ms);
    OK(tl_free(qkv));
    OK(tl_free(mask));
    OK(tl_free(out));
}

bool built_with_address_sanitizer() {
#if defined(__SANITIZE_ADDRESS__)
    return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return true;
#else
    return false;
#endif
#else
    return false;
#endif
}

// A head_dim past what a block's registers hold is refused, naming it; nothing is written.
void test_refusals(tl_stream s) {
    const int64_t hd = 513;
    std::vector<float> h(2 * hd + 2, 1.f);
    tl_buffer x = upload(s, h);
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "tl_attention: head_dim = 513 exceeds 512",
                  tl_attention(s, 1, 2, 1, hd, x, 0, hd, x, 0, hd, x, 0, hd, x, 0, x, 0, hd));
    CHECK(download(s, x, h.size()) == h, "a refused call changed memory");
    OK(tl_free(x));
}

}  // namespace

int main() {
    tl_stream s;
    OK(tl_stream_create(&s));
    test_attention(s, 3, 7, 3, 5, 40, "tiny, padded, one text all padding");
    test_attention(s, 1, 1, 1, 1, 41, "one token");
    test_attention(s, 2, 70, 2, 32, 42, "several query tiles and key chunks");
    test_attention(s, 1, 40, 1, 256, 43, "head_dim 256");
    test_attention(s, 1, 520, 1, 8, 44, "long sequence, small query tiles");
    test_attention(s, 3, 200, 2, 16, 48, "padding that fills whole key chunks");
    test_attention(s, 2, 129, 3, 64, 49, "head_dim 64, a one-key last chunk");
    test_attention(s, 1, 33, 2, 512, 50, "head_dim 512, a warp per query");
    // A long text: 4,096 tokens, the longest the emulation runs in a few seconds (12,000 take about 40 s on 2
    // cores); not again under AddressSanitizer or compute-sanitizer, whose runs repeat the small sizes.
    const char *sanitizer = std::getenv("TL_TEST_UNDER_SANITIZER");
    if (!built_with_address_sanitizer() && !(sanitizer && std::strcmp(sanitizer, "1") == 0))
        test_attention(s, 1, 4096, 1, 8, 51, "4,096 tokens");
    test_refusals(s);
    if (gpu_only_sizes()) {  // too slow for the emulation and the sanitizers
        test_attention(s, 1, 4096, 2, 64, 45, "seq 4096");
        test_attention(s, 2, 1024, 1, 256, 46, "seq 1024, head_dim 256");
        test_attention(s, 32, 128, 12, 32, 47, "MiniLM batch");
        // Beyond the ~11.7k tokens at which the kernel that held a tile's scores against the whole sequence in
        // shared memory refused (head_dim 8): streaming needs nothing that grows with seq.
        test_attention(s, 1, 12000, 1, 8, 52, "12,000 tokens");
    }
    OK(tl_stream_destroy(s));
    return finish("test_attention");
}
