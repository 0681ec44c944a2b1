// The operand checks of tl_internal.h for every element type a family brings (packed 4-bit codes, int8
// weights, fp16 scales) and for the core's fp32: an extent that just fits passes and hands back its first
// element's byte; one element more fails with TL_ERROR_INVALID_ARGUMENT and a message naming the operand.
// The checks are internal and hidden in the library, so this test is linked with the library's objects.
#include "test_util.h"
#include "tl_internal.h"

#include <cstdint>

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

// Two codes to a byte: 24 codes fill 12 bytes, 23 leave the last byte half used, 25 need a 13th.
void test_packed4() {
    void *first = nullptr;
    EXPECT_FITS(1, first, matrix("codes", kPacked4, 12, 2, 3, 6, 8, &first));  // elements [2, 2 + 2*8 + 6)
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT,
                  "tl_family_op: codes extent [rows=3, cols=7, ld=8] from offset 2 needs 13 bytes but buffer has 12",
                  matrix("codes", kPacked4, 12, 2, 3, 7, 8, &first));
    EXPECT_FITS(1, first, vector("codes", kPacked4, 12, 2, 22, &first));
    EXPECT_FITS(1, first, vector("codes", kPacked4, 12, 2, 21, &first));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "tl_family_op: codes extent [count=23] from offset 2 needs 13 bytes",
                  vector("codes", kPacked4, 12, 2, 23, &first));

    // A row that starts inside a byte has no address.
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "tl_family_op: codes offset = 3 is not a whole number of bytes of 4-bit",
                  matrix("codes", kPacked4, 12, 3, 1, 4, 4, &first));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "tl_family_op: codes ld = 7 is not a whole number of bytes of 4-bit",
                  matrix("codes", kPacked4, 12, 2, 2, 6, 7, &first));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "tl_family_op: codes offset = 1 is not a whole number of bytes",
                  vector("codes", kPacked4, 12, 1, 4, &first));
    EXPECT_FITS(1, first, matrix("codes", kPacked4, 12, 2, 1, 6, 7, &first));  // one row: ld is never stepped
}

void test_int8() {
    void *first = nullptr;
    EXPECT_FITS(3, first, matrix("weights", kInt8, 20, 3, 3, 5, 6, &first));  // elements [3, 3 + 2*6 + 5)
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT,
                  "tl_family_op: weights extent [rows=3, cols=6, ld=6] from offset 3 needs 21 bytes but buffer has 20",
                  matrix("weights", kInt8, 20, 3, 3, 6, 6, &first));
    EXPECT_FITS(4, first, vector("weights", kInt8, 20, 4, 16, &first));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "tl_family_op: weights extent [count=17] from offset 4 needs 21 bytes",
                  vector("weights", kInt8, 20, 4, 17, &first));
    EXPECT_FITS(7, first, matrix("weights", kInt8, 20, 7, 2, 5, 7, &first));  // any offset and ld start a byte
}

void test_fp16() {
    void *first = nullptr;
    EXPECT_FITS(2, first, matrix("scales", kFloat16, 16, 1, 2, 3, 4, &first));  // elements [1, 1 + 4 + 3)
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT,
                  "tl_family_op: scales extent [rows=2, cols=4, ld=4] from offset 1 needs 18 bytes but buffer has 16",
                  matrix("scales", kFloat16, 16, 1, 2, 4, 4, &first));
    EXPECT_FITS(2, first, vector("scales", kFloat16, 16, 1, 7, &first));
    EXPECT_STATUS(TL_ERROR_INVALID_ARGUMENT, "tl_family_op: scales extent [count=8] from offset 1 needs 18 bytes",
                  vector("scales", kFloat16, 16, 1, 8, &first));
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

}  // namespace

int main() {
    test_packed4();
    test_int8();
    test_fp16();
    test_fp32_default();
    return finish("test_operand_checks");
}
