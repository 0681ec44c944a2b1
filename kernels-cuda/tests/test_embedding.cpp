// tl_gather_rows, tl_mean_pool and tl_l2_normalize_rows against a double-precision reference.
#include "test_util.h"

namespace {

void test_mean_pool(tl_stream s, int64_t batch, int64_t seq, int64_t cols, int64_t ldx, int64_t ldo, uint64_t off_x,
                    uint64_t off_m, uint64_t off_o, const std::vector<float> &mask, unsigned seed) {
    auto hx = random_floats(off_x + batch * seq * ldx, seed);
    std::vector<float> hm(off_m + batch * seq, 0.f);
    for (int64_t i = 0; i < batch * seq; ++i) hm[off_m + i] = mask[i];
    std::vector<float> ho(off_o + batch * ldo, 9.f);
    tl_buffer x = upload(s, hx), m = upload(s, hm), o = upload(s, ho);
    OK(tl_mean_pool(s, batch, seq, cols, x, off_x, ldx, m, off_m, o, off_o, ldo));
    auto got = download(s, o, ho.size());
    for (int64_t b = 0; b < batch; ++b)
        for (int64_t c = 0; c < cols; ++c) {
            double sum = 0, scale = 0;
            int n = 0;
            for (int64_t t = 0; t < seq; ++t)
                if (mask[b * seq + t] != 0) {
                    sum += hx[off_x + (b * seq + t) * ldx + c];
                    scale += std::fabs(hx[off_x + (b * seq + t) * ldx + c]);
                    ++n;
                }
            const double want = n ? sum / n : 0.0;
            CHECK(close(got[off_o + b * ldo + c], want, scale), "mean_pool seq %lld [%lld,%lld] = %g, want %g",
                  (long long)seq, (long long)b, (long long)c, got[off_o + b * ldo + c], want);
        }
    CHECK(count_changed_outside(got, ho, off_o, batch, cols, ldo) == 0, "mean_pool wrote outside out");
    OK(tl_free(x));
    OK(tl_free(m));
    OK(tl_free(o));
}

}  // namespace

int main() {
    tl_stream s;
    OK(tl_stream_create(&s));

    {  // gather from a strided table view into a strided output view
        const int64_t rows = 11, cols = 37, ldt = 40, count = 6, ldo = 41;
        const uint64_t off_t = 3, off_o = 2;
        auto ht = random_floats(off_t + rows * ldt, 1);
        std::vector<float> ho(off_o + count * ldo, 5.5f);
        tl_buffer t = upload(s, ht), o = upload(s, ho);
        std::vector<int32_t> ids = {10, 0, 3, 3, 7, 10};
        OK(tl_gather_rows(s, count, cols, t, off_t, ldt, rows, ids.data(), o, off_o, ldo));
        ids.assign(ids.size(), -1);  // the ids must already have been taken
        auto got = download(s, o, ho.size());
        const int32_t want_ids[] = {10, 0, 3, 3, 7, 10};
        for (int64_t i = 0; i < count; ++i)
            for (int64_t c = 0; c < cols; ++c)
                CHECK(got[off_o + i * ldo + c] == ht[off_t + want_ids[i] * ldt + c], "gather row %lld col %lld",
                      (long long)i, (long long)c);
        CHECK(count_changed_outside(got, ho, off_o, count, cols, ldo) == 0, "gather wrote outside out");
        // a bigger batch grows the stream's scratch
        std::vector<int32_t> many(5000);
        for (size_t i = 0; i < many.size(); ++i) many[i] = int32_t((i * 7) % rows);
        tl_buffer big;
        OK(tl_malloc(many.size() * cols * 4, &big));
        OK(tl_gather_rows(s, int64_t(many.size()), cols, t, off_t, ldt, rows, many.data(), big, 0, cols));
        auto g2 = download(s, big, many.size() * cols);
        int bad = 0;
        for (size_t i = 0; i < many.size(); ++i)
            for (int64_t c = 0; c < cols; ++c)
                if (g2[i * cols + c] != ht[off_t + many[i] * ldt + c]) ++bad;
        CHECK(bad == 0, "gather of 5000 ids: %d wrong", bad);
        const int32_t bad_ids[] = {0, 11};
        EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "ids[1] = 11",
                      tl_gather_rows(s, 2, cols, t, off_t, ldt, rows, bad_ids, o, off_o, ldo));
        OK(tl_free(t));
        OK(tl_free(o));
        OK(tl_free(big));
    }

    // mean pool with padding and a text with no real token; then texts longer than the block's 8 token groups
    // take twice over (37 tokens: every group, the pair loop and the odd token after it), over 3 column blocks
    {
        const float mask[4][6] = {{1, 1, 1, 0, 0, 0}, {1, 1, 1, 1, 1, 1}, {0, 0, 0, 0, 0, 0}, {1, 0, 1, 0, 1, 0}};
        std::vector<float> short_mask;
        for (const auto &row : mask) short_mask.insert(short_mask.end(), row, row + 6);
        test_mean_pool(s, 4, 6, 37, 39, 40, 1, 2, 3, short_mask, 2);
        std::vector<float> long_mask(3 * 37, 0.f);
        for (int t = 0; t < 37; ++t) {
            long_mask[t] = 1.f;                          // every token
            long_mask[37 + t] = t < 20 ? 1.f : 0.f;      // padded after 20
            long_mask[74 + t] = t % 3 == 1 ? 1.f : 0.f;  // holes
        }
        test_mean_pool(s, 3, 37, 70, 72, 71, 0, 0, 1, long_mask, 4);
    }

    {  // l2 normalise, including a zero row and a single column
        const int64_t rows = 5, cols = 301, ldx = 303;
        const uint64_t off = 7;
        auto hx = random_floats(off + rows * ldx, 3);
        for (int64_t c = 0; c < cols; ++c) hx[off + 2 * ldx + c] = 0.f;
        tl_buffer x = upload(s, hx);
        OK(tl_l2_normalize_rows(s, rows, cols, x, off, ldx));
        auto got = download(s, x, hx.size());
        for (int64_t r = 0; r < rows; ++r) {
            double ss = 0;
            for (int64_t c = 0; c < cols; ++c) ss += double(hx[off + r * ldx + c]) * hx[off + r * ldx + c];
            const double norm = std::sqrt(ss);
            for (int64_t c = 0; c < cols; ++c) {
                const double want = norm > 0 ? hx[off + r * ldx + c] / norm : 0.0;
                CHECK(close(got[off + r * ldx + c], want, 1.0), "l2 [%lld,%lld] = %g, want %g", (long long)r,
                      (long long)c, got[off + r * ldx + c], want);
            }
        }
        CHECK(count_changed_outside(got, hx, off, rows, cols, ldx) == 0, "l2 wrote outside x");
        OK(tl_free(x));
        std::vector<float> one = {-3.f};
        tl_buffer y = upload(s, one);
        OK(tl_l2_normalize_rows(s, 1, 1, y, 0, 1));
        CHECK(download(s, y, 1)[0] == -1.f, "l2 of a single -3 is -1");
        OK(tl_free(y));
    }

    OK(tl_stream_destroy(s));
    return finish("test_embedding");
}
