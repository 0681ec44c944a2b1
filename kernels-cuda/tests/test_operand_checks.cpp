// The operand checks of tl_internal.h for every element type a family brings (packed 4-bit codes, int8
// weights, fp16 scales) and for the core's fp32: an extent that just fits passes and hands back its first
// element's byte; one element more fails with TL_ERROR_INVALID_ARGUMENT and a message naming the operand. And
// the refusal of elementwise operands that partially overlap, against the sets of elements they cover.
// The checks are internal and hidden in the library, so this test is linked with the library's objects.
#include "test_util.h"
#include "tl_internal.h"

#include <cstdint>
#include <vector>

namespace {

using namespace tl;

const char *const kFn = "tl_family_op";

// The checks never touch the memory; a real array only makes the returned addresses comparable.
unsigned char storage[64];

Buffer buffer_of(uint64_t bytes) {
    Buffer b;
    b.ptr = storage;
    b.bytes = bytes;
    return b;
}

tl_status matrix(const char *name, ElementBits element, uint64_t bytes, uint64_t offset, int64_t rows, int64_t cols,
                 int64_t ld, void **first) {
    return check_matrix(kFn, name, "rows", "cols", "ld", buffer_of(bytes), offset, rows, cols, ld, element, first);
}

tl_status vector(const char *name, ElementBits element, uint64_t bytes, uint64_t offset, int64_t count,
                 void **first) {
    return check_vector(kFn, name, "count", buffer_of(bytes), offset, count, element, first);
}

// A call that must pass and hand back the address of byte `byte` of the buffer.
#define EXPECT_FITS(byte, first, call)                                                                          \
    do {                                                                                                       \
        tl_status fits_status_ = (call);                                                                       \
        CHECK(fits_status_ == TL_OK, "%s returned %s: %s", #call, tl_status_name(fits_status_), tl_last_error()); \
        if (fits_status_ == TL_OK)                                                                             \
            CHECK((const void *)(first) == storage + (byte), "%s: first element at byte %lld, want %d", #call, \
                  (long long)((const unsigned char *)(first) - storage), (int)(byte));                         \
    } while (0)

// An operand that just fits its buffer, as a matrix [rows, cols] (ld) and as a vector of `count`, both from
// element `offset`.
struct Edge {
    const char *name;
    ElementBits element;
    uint64_t bytes;
    uint64_t offset;
    int64_t rows, cols, ld;
    int64_t count;
};

// Each fits and hands back its first element's byte; with one element more (a column, or one more in the
// vector) it needs the bytes of one more element, which the buffer lacks.
void test_edge(const Edge &e) {
    const int failures_before = g_failures;
    const uint64_t matrix_end = e.offset + uint64_t((e.rows - 1) * e.ld + e.cols);
    CHECK(matrix_end * e.element.bits == e.bytes * 8 && (e.offset + e.count) * e.element.bits == e.bytes * 8,
          "%s: the case does not fill its %llu bytes", e.name, (unsigned long long)e.bytes);
    const uint64_t first_byte = e.offset * e.element.bits / 8;
    const unsigned long long more = e.bytes + (e.element.bits + 7) / 8;
    void *first = nullptr;
    char message[200];

    EXPECT_FITS(first_byte, first, matrix(e.name, e.element, e.bytes, e.offset, e.rows, e.cols, e.ld, &first));
    std::snprintf(message, sizeof message,
                  "tl_family_op: %s extent [rows=%lld, cols=%lld, ld=%lld] from offset %llu needs %llu bytes but "
                  "buffer has %llu",
                  e.name, (long long)e.rows, (long long)e.cols + 1, (long long)e.ld, (unsigned long long)e.offset,
                  more, (unsigned long long)e.bytes);
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, message,
                  matrix(e.name, e.element, e.bytes, e.offset, e.rows, e.cols + 1, e.ld, &first));

    EXPECT_FITS(first_byte, first, vector(e.name, e.element, e.bytes, e.offset, e.count, &first));
    std::snprintf(message, sizeof message,
                  "tl_family_op: %s extent [count=%lld] from offset %llu needs %llu bytes but buffer has %llu",
                  e.name, (long long)e.count + 1, (unsigned long long)e.offset, more, (unsigned long long)e.bytes);
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, message,
                  vector(e.name, e.element, e.bytes, e.offset, e.count + 1, &first));
    if (g_failures > failures_before) std::fprintf(stderr, "  (the %u-bit \"%s\" case)\n", e.element.bits, e.name);
}

// Two codes to a byte: the last byte may be half used, but a row that starts inside a byte has no address.
void test_packed4_rows_start_on_bytes() {
    void *first = nullptr;
    EXPECT_FITS(1, first, vector("codes", kPacked4, 12, 2, 21, &first));  // 23 codes in 12 bytes
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "tl_family_op: codes offset = 3 is not a whole number of bytes of 4-bit",
                  matrix("codes", kPacked4, 12, 3, 1, 4, 4, &first));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "tl_family_op: codes ld = 7 is not a whole number of bytes of 4-bit",
                  matrix("codes", kPacked4, 12, 2, 2, 6, 7, &first));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "tl_family_op: codes offset = 1 is not a whole number of bytes",
                  vector("codes", kPacked4, 12, 1, 4, &first));
    EXPECT_FITS(1, first, matrix("codes", kPacked4, 12, 2, 1, 6, 7, &first));  // one row: ld is never stepped
    EXPECT_FITS(7, first, matrix("weights", kInt8, 20, 7, 2, 5, 7, &first));  // whole bytes: any offset and ld
}

void test_overflow() {
    void *first = nullptr;
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "tl_family_op: scales extent [rows=1, cols=1, ld=1] from offset "
                  "9223372036854775808 overflows 64 bits",
                  matrix("scales", kFloat16, 16, uint64_t(1) << 63, 1, 1, 1, &first));
}

// The core's default: the typed wrappers are fp32, and the byte count stays exact up to 2^64 - 4 bytes.
void test_fp32_default() {
    float *first = nullptr;
    EXPECT_FITS(4, first, check_matrix(kFn, "x", "rows", "cols", "ld", buffer_of(32), 1, 2, 3, 4, &first));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT,
                  "tl_family_op: x extent [rows=2, cols=4, ld=4] from offset 1 needs 36 bytes",
                  check_matrix(kFn, "x", "rows", "cols", "ld", buffer_of(32), 1, 2, 4, 4, &first));
    EXPECT_FITS(4, first, check_vector(kFn, "x", "count", buffer_of(32), 1, 7, &first));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "tl_family_op: x extent [count=8] from offset 1 needs 36 bytes",
                  check_vector(kFn, "x", "count", buffer_of(32), 1, 8, &first));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "needs 18446744073709551612 bytes but buffer has 32",
                  check_vector(kFn, "x", "count", buffer_of(32), 0, (int64_t(1) << 62) - 1, &first));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "needs more than 18446744073709551615 bytes",
                  check_vector(kFn, "x", "count", buffer_of(32), 0, int64_t(1) << 62, &first));
}

// check_no_partial_overlap against the sets of elements themselves, over every small placement: for equal
// strides and for a row read by every row (a bias) it must refuse exactly the pairs that share an element
// without being the same matrix; for different strides it may refuse more, but never accept a shared element.
void test_partial_overlap() {
    const Buffer one = buffer_of(64), other = buffer_of(64);
    Buffer separate = buffer_of(64);
    separate.ptr = storage + 1;
    int wrong = 0, refused = 0, cases = 0;
    for (int64_t rows = 1; rows <= 3; ++rows)
        for (int64_t cols = 1; cols <= 3; ++cols)
            for (int64_t ldx = cols; ldx <= cols + 3; ++ldx)
                for (int64_t ldy = 0; ldy <= cols + 3; ++ldy) {
                    if (ldy != 0 && ldy < cols) continue;
                    for (uint64_t xo = 0; xo <= 8; ++xo)
                        for (uint64_t yo = 0; yo <= 8; ++yo) {
                            std::vector<bool> in_x(64, false);
                            for (int64_t r = 0; r < rows; ++r)
                                for (int64_t c = 0; c < cols; ++c) in_x[xo + r * ldx + c] = true;
                            bool meet = false;
                            for (int64_t r = 0; r < rows; ++r)
                                for (int64_t c = 0; c < cols; ++c) meet |= in_x[yo + r * ldy + c];
                            const bool same = xo == yo && (ldx == ldy || rows == 1);
                            const bool exact = ldy == 0 || rows == 1 || ldx == ldy;
                            const tl_status st =
                                check_no_partial_overlap(kFn, "x", one, xo, ldx, "y", other, yo, ldy, rows, cols);
                            const bool refuse = st != TL_OK;
                            ++cases;
                            refused += refuse;
                            const bool ok = exact ? refuse == (meet && !same) : (!meet || same || refuse);
                            if (!ok && wrong++ < 5)
                                CHECK(false, "rows=%lld cols=%lld x(offset %llu, ld %lld) y(offset %llu, ld %lld): %s",
                                      (long long)rows, (long long)cols, (unsigned long long)xo, (long long)ldx,
                                      (unsigned long long)yo, (long long)ldy, refuse ? "refused" : "accepted");
                            if (refuse && std::strstr(tl_last_error(), "x [rows=") == nullptr)
                                CHECK(false, "message does not name x: %s", tl_last_error());
                            CHECK(check_no_partial_overlap(kFn, "x", one, xo, ldx, "y", separate, yo, ldy, rows,
                                                           cols) == TL_OK,
                                  "operands in separate buffers refused");
                        }
                }
    CHECK(refused > cases / 10 && refused < cases, "%d of %d placements refused", refused, cases);
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT,
                  "tl_family_op: x [rows=2, cols=3, ld=4 from offset 0] and bias [one row read by every row, ld=0 "
                  "from offset 5] overlap without being the same matrix; a block could read bias where another "
                  "already wrote x",
                  check_no_partial_overlap(kFn, "x", one, 0, 4, "bias", one, 5, 0, 2, 3));
}

}  // namespace

int main() {
    test_edge({"codes", kPacked4, 12, 2, 3, 6, 8, 22});   // 24 codes, two to a byte
    test_edge({"weights", kInt8, 20, 3, 3, 5, 6, 17});    // 20 bytes
    test_edge({"scales", kFloat16, 16, 1, 2, 3, 4, 7});   // 8 halves
    test_packed4_rows_start_on_bytes();
    test_overflow();
    test_fp32_default();
    test_partial_overlap();
    return finish("test_operand_checks");
}
