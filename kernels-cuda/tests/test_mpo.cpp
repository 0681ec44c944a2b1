// The MPO kernels against their definitions in double, on strided operands with offsets and awkward sizes,
// and their argument checks.
#include "test_util.h"
#include "tensorloom_mpo.h"

namespace {

void test_step(tl_stream s, int64_t m, int64_t blocks, int64_t r, int64_t sz, int64_t q, int64_t pad, unsigned seed) {
    const int64_t in_cols = blocks * r * q, out_cols = blocks * sz * q;
    const int64_t ldin = in_cols + pad, ldout = out_cols + pad + 1;
    const uint64_t off_c = 1, off_in = 2, off_out = 3;
    auto hc = random_floats(off_c + r * sz, seed);
    auto hi = random_floats(off_in + m * ldin, seed + 1);
    auto ho = random_floats(off_out + m * ldout, seed + 2);
    tl_buffer c = upload(s, hc), in = upload(s, hi), out = upload(s, ho);
    OK(tl_mpo_step(s, m, blocks, r, sz, q, c, off_c, in, off_in, ldin, out, off_out, ldout));
    auto got = download(s, out, ho.size());
    for (int64_t i = 0; i < m; ++i)
        for (int64_t b = 0; b < blocks; ++b)
            for (int64_t cc = 0; cc < sz; ++cc)
                for (int64_t t = 0; t < q; ++t) {
                    double want = 0, scale = 0;
                    for (int64_t k = 0; k < r; ++k) {
                        const double term = double(hc[off_c + k * sz + cc]) * hi[off_in + i * ldin + (b * r + k) * q + t];
                        want += term;
                        scale += std::fabs(term);
                    }
                    const double g = got[off_out + i * ldout + (b * sz + cc) * q + t];
                    CHECK(close(g, want, scale), "step m%lld blocks%lld r%lld s%lld q%lld at [%lld,%lld,%lld,%lld]: %g vs %g",
                          (long long)m, (long long)blocks, (long long)r, (long long)sz, (long long)q, (long long)i,
                          (long long)b, (long long)cc, (long long)t, g, want);
                }
    CHECK(count_changed_outside(got, ho, off_out, m, out_cols, ldout) == 0, "step wrote outside out");
    OK(tl_free(c));
    OK(tl_free(in));
    OK(tl_free(out));
}

void test_core_matrix(tl_stream s, int64_t dl, int64_t ni, int64_t nj, int64_t dr, bool left_in, bool right_in,
                      unsigned seed) {
    const int64_t total = dl * ni * nj * dr;
    const uint64_t off_c = 2, off_m = 5;
    auto hc = random_floats(off_c + total, seed);
    auto hm = random_floats(off_m + total + 3, seed + 1);
    tl_buffer c = upload(s, hc), mat = upload(s, hm);
    OK(tl_mpo_core_matrix(s, dl, ni, nj, dr, left_in, right_in, c, off_c, mat, off_m));
    auto got = download(s, mat, hm.size());
    // Where each core element (a, ii, jj, b) lands: its bond digits go to the rows when contracted, else to the columns.
    const int64_t rl = left_in ? dl : 1, rr = right_in ? dr : 1, sl = left_in ? 1 : dl, sr = right_in ? 1 : dr;
    const int64_t cols = sl * nj * sr;
    for (int64_t a = 0; a < dl; ++a)
        for (int64_t ii = 0; ii < ni; ++ii)
            for (int64_t jj = 0; jj < nj; ++jj)
                for (int64_t b = 0; b < dr; ++b) {
                    const int64_t row = ((left_in ? a : 0) * ni + ii) * rr + (right_in ? b : 0);
                    const int64_t col = ((left_in ? 0 : a) * nj + jj) * sr + (right_in ? 0 : b);
                    CHECK(row < rl * ni * rr && col < cols, "core matrix index");
                    CHECK(got[off_m + row * cols + col] == hc[off_c + ((a * ni + ii) * nj + jj) * dr + b],
                          "core matrix %lldx%lldx%lldx%lld (%d, %d) at (%lld, %lld, %lld, %lld)", (long long)dl,
                          (long long)ni, (long long)nj, (long long)dr, int(left_in), int(right_in), (long long)a,
                          (long long)ii, (long long)jj, (long long)b);
                }
    CHECK(count_changed_outside(got, hm, off_m, 1, total, total) == 0, "core matrix wrote outside matrix");
    OK(tl_free(c));
    OK(tl_free(mat));
}

void test_deinterleave(tl_stream s, std::vector<int32_t> rows_f, std::vector<int32_t> cols_f, unsigned seed) {
    const int n = int(rows_f.size());
    int64_t rows = 1, cols = 1;
    for (int k = 0; k < n; ++k) {
        rows *= rows_f[k];
        cols *= cols_f[k];
    }
    const int64_t ldw = cols + 2;
    const uint64_t off_i = 1, off_w = 4;
    auto hi = random_floats(off_i + rows * cols, seed);
    auto hw = random_floats(off_w + rows * ldw, seed + 1);
    tl_buffer in = upload(s, hi), w = upload(s, hw);
    OK(tl_mpo_deinterleave(s, n, rows_f.data(), cols_f.data(), in, off_i, w, off_w, ldw));
    auto got = download(s, w, hw.size());
    for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j) {
            // Digits most significant first, position in (i_1, j_1, ..., i_n, j_n) row-major.
            std::vector<int64_t> di(n), dj(n);
            int64_t ri = i, rj = j;
            for (int k = n - 1; k >= 0; --k) {
                di[k] = ri % rows_f[k];
                ri /= rows_f[k];
                dj[k] = rj % cols_f[k];
                rj /= cols_f[k];
            }
            int64_t position = 0;
            for (int k = 0; k < n; ++k) position = (position * rows_f[k] + di[k]) * cols_f[k] + dj[k];
            CHECK(got[off_w + i * ldw + j] == hi[off_i + position], "deinterleave (%lld, %lld)", (long long)i,
                  (long long)j);
        }
    CHECK(count_changed_outside(got, hw, off_w, rows, cols, ldw) == 0, "deinterleave wrote outside w");
    OK(tl_free(in));
    OK(tl_free(w));
}

void test_bad_arguments(tl_stream s) {
    tl_buffer small = upload(s, std::vector<float>(10, 0.f));
    tl_buffer big = upload(s, std::vector<float>(1000, 0.f));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "r", tl_mpo_step(s, 1, 1, -1, 2, 2, big, 0, big, 0, 4, big, 0, 4));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "core",
                  tl_mpo_step(s, 1, 1, 4, 4, 1, small, 0, big, 0, 4, big, 500, 4));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "ldin", tl_mpo_step(s, 2, 1, 2, 2, 2, big, 0, big, 0, 3, big, 500, 4));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "out", tl_mpo_step(s, 1, 1, 2, 8, 2, big, 0, big, 0, 4, small, 0, 16));
    EXPECT_STATUS(TL_ERROR_INVALID_HANDLE, nullptr, tl_mpo_step(s, 1, 1, 1, 1, 1, nullptr, 0, big, 0, 1, big, 0, 1));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "d_left", tl_mpo_core_matrix(s, -1, 2, 2, 2, 0, 1, big, 0, big, 500));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "core", tl_mpo_core_matrix(s, 2, 2, 2, 2, 1, 0, small, 0, big, 0));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "matrix", tl_mpo_core_matrix(s, 2, 2, 2, 2, 1, 0, big, 0, small, 0));
    EXPECT_STATUS(TL_ERROR_INVALID_HANDLE, nullptr, tl_mpo_core_matrix(s, 1, 1, 1, 1, 0, 0, nullptr, 0, big, 0));
    const int32_t f[2] = {2, 3};
    const int32_t zero[2] = {2, 0};
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "cores", tl_mpo_deinterleave(s, 0, f, f, big, 0, big, 100, 9));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "cores", tl_mpo_deinterleave(s, 17, f, f, big, 0, big, 100, 9));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "null", tl_mpo_deinterleave(s, 2, nullptr, f, big, 0, big, 100, 9));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "factor", tl_mpo_deinterleave(s, 2, f, zero, big, 0, big, 100, 9));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "interleaved", tl_mpo_deinterleave(s, 2, f, f, small, 0, big, 100, 9));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "ldw", tl_mpo_deinterleave(s, 2, f, f, big, 0, big, 100, 5));
    OK(tl_free(small));
    OK(tl_free(big));
}

}  // namespace

int main() {
    tl_stream s;
    OK(tl_stream_create(&s));
    test_step(s, 1, 1, 1, 1, 1, 0, 10);
    test_step(s, 3, 2, 5, 7, 33, 1, 20);   // the first core of a sweep: long q
    test_step(s, 17, 6, 9, 4, 1, 3, 30);   // the last core: q = 1
    test_step(s, 2, 5, 12, 13, 3, 0, 40);
    test_step(s, 2, 3, 0, 4, 2, 1, 50);    // r = 0: an empty sum
    test_step(s, 2, 3, 70, 45, 5, 2, 51);  // the 32 x 32 tiles over two 64-deep k steps, the last one partial
    test_step(s, 3, 7, 20, 19, 1, 1, 52);  // q = 1 with s past the narrow kernel: the tiled one, B's columns r apart
    test_step(s, 3, 5, 1000, 16, 1, 2, 53); // the narrow kernel at its widest s, core staged in three chunks
    test_step(s, 1, 700, 3, 2, 1, 0, 54);  // many narrow columns (a grid-stride loop under TL_EMU_SM_COUNT=1)
    test_step(s, 2, 11, 40, 130, 256, 3, 55); // two 64 x 64 tiles per multiprocessor: the big tiles
    test_step(s, 1, 4, 3000, 40, 1, 1, 56);   // 2 tiles over a deep r: r split across blocks, one k step each
    test_step(s, 2, 1, 2000, 33, 3, 2, 57);   // the same with q > 1 and two rows (partial sums per row, padded ldout)
    test_step(s, 1, 1, 20000, 40, 1, 0, 58);  // ranges of three k steps, the last one partial
    for (int sides = 0; sides < 4; ++sides) {  // every combination of contracted bonds, on awkward extents
        test_core_matrix(s, 3, 2, 5, 4, sides & 1, sides & 2, 90 + sides);
        test_core_matrix(s, 1, 7, 3, 6, sides & 1, sides & 2, 94 + sides);
        test_core_matrix(s, 17, 3, 1, 1, sides & 1, sides & 2, 98 + sides);
    }
    test_core_matrix(s, 64, 8, 8, 67, true, false, 102);  // a real core's size, many blocks
    test_deinterleave(s, {5}, {7}, 60);
    test_deinterleave(s, {2, 3}, {4, 5}, 70);
    test_deinterleave(s, {2, 1, 3, 2}, {3, 2, 1, 2}, 80);
    test_bad_arguments(s);
    OK(tl_stream_destroy(s));
    return finish("test_mpo");
}
