// Shared plumbing of the kernel sources: error reporting, handle look-up (registry.h) and operand
// checks. Not part of the ABI; everything here has hidden visibility.
#pragma once

// Standard headers first: the emulation header defines CUDA keywords such as __shared__ as macros, which
// must not reach library headers included after it.
#include <climits>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cuda_compat.h"
#include "registry.h"
#include "tensorloom.h"

namespace tl {

// Records a formatted message as this thread's last error and returns `status`.
tl_status fail(tl_status status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

// Maps a CUDA error to a status and records "<fn>: <call> failed: <cudaErrorName> (<description>)".
// `launch` says the error came from launching or running a kernel (TL_ERROR_LAUNCH_FAILED unless it
// is an allocation or driver problem). Clears a non-sticky error so the context stays usable.
tl_status cuda_fail(const char *fn, const char *call, cudaError_t error, bool launch);

// After a TL_LAUNCH: reports a launch error of `kernel` from `fn`.
tl_status check_launch(const char *fn, const char *kernel);

// The cudaStream_t behind a handle; TL_ERROR_INVALID_HANDLE otherwise.
tl_status get_stream(const char *fn, tl_stream handle, cudaStream_t *out);

// Grows (never shrinks) the stream's device scratch to at least `bytes` and returns it, with the
// stream's scratch lock held in *lock so that no other host thread reuses or regrows it before the
// caller has queued its copy and kernel.
tl_status stream_scratch(const char *fn, tl_stream handle, uint64_t bytes, void **scratch,
                         std::unique_lock<std::mutex> *lock);

// Copies `bytes` of host memory into the stream's device scratch (grown as by stream_scratch) through a
// host staging buffer owned by the stream, and returns the scratch with the lock held as stream_scratch
// does. The host memory is read before this returns, so the caller may reuse it at once even where the
// asynchronous copy has not run yet (pinned or managed host memory); the staging itself is not reused
// before the copy out of it has finished.
tl_status stream_upload(const char *fn, tl_stream handle, const void *host, uint64_t bytes, void **scratch,
                        std::unique_lock<std::mutex> *lock);

// The size of one element of an operand, in bits: a packed 4-bit operand holds two elements in a byte,
// so bits are the unit that every element type (4-bit codes, int8, fp16 scales, fp32) is a whole number
// of. A type of its own, so that a size in bytes cannot be passed where bits are meant.
struct ElementBits {
    uint32_t bits;
};
constexpr ElementBits kPacked4{4};  // two elements per byte
constexpr ElementBits kInt8{8};
constexpr ElementBits kFloat16{16};
constexpr ElementBits kFloat32{32};

// Checks that a row-major operand [rows, cols] with leading dimension ld from element `offset` lies
// inside the buffer, and returns the address of the byte that holds its first element. offset and ld
// count elements of the operand's own type; a packed operand's last byte may be half used, but each of
// its rows must start on a byte (offset, and ld when there are several rows), since the returned
// address and a kernel's row arithmetic are in bytes. Callers only check operands of non-empty work; an
// operand with rows == 0 or cols == 0 is always fine.
tl_status check_matrix(const char *fn, const char *name, const char *rows_name, const char *cols_name,
                       const char *ld_name, const Buffer &buffer, uint64_t offset, int64_t rows, int64_t cols,
                       int64_t ld, ElementBits element, void **first);

// Same for a contiguous vector of `count` elements.
tl_status check_vector(const char *fn, const char *name, const char *count_name, const Buffer &buffer,
                       uint64_t offset, int64_t count, ElementBits element, void **first);

// The core's operands are fp32: the checks above for kFloat32, with the address typed.
inline tl_status check_matrix(const char *fn, const char *name, const char *rows_name, const char *cols_name,
                              const char *ld_name, const Buffer &buffer, uint64_t offset, int64_t rows,
                              int64_t cols, int64_t ld, float **first) {
    void *p = nullptr;
    const tl_status status =
        check_matrix(fn, name, rows_name, cols_name, ld_name, buffer, offset, rows, cols, ld, kFloat32, &p);
    *first = static_cast<float *>(p);
    return status;
}

inline tl_status check_vector(const char *fn, const char *name, const char *count_name, const Buffer &buffer,
                              uint64_t offset, int64_t count, float **first) {
    void *p = nullptr;
    const tl_status status = check_vector(fn, name, count_name, buffer, offset, count, kFloat32, &p);
    *first = static_cast<float *>(p);
    return status;
}

// For an elementwise kernel that writes x [rows, cols] (leading dimension ldx) while reading y, whose operands
// are __restrict__: refuses x and y that share an element without being the same matrix, naming both. On a
// GPU one block may then read an element of y that another block has already written as x. y is [rows, cols]
// with leading dimension ldy, or, when ldy == 0, one row that every row of x reads (a bias). The same matrix
// (same buffer, offset and leading dimension) is fine, since the thread that reads an element writes it; so
// are strided views that interleave without sharing an element. Both operands already passed check_matrix.
tl_status check_no_partial_overlap(const char *fn, const char *x_name, const Buffer &x, uint64_t x_offset,
                                   int64_t ldx, const char *y_name, const Buffer &y, uint64_t y_offset, int64_t ldy,
                                   int64_t rows, int64_t cols);

// Fails with TL_ERROR_INVALID_ARGUMENT naming the first negative size among up to four.
tl_status check_sizes(const char *fn, const char *n0, int64_t v0, const char *n1 = nullptr, int64_t v1 = 0,
                      const char *n2 = nullptr, int64_t v2 = 0, const char *n3 = nullptr, int64_t v3 = 0);

// The largest dimension a kernel takes in 32-bit index math: 2^31 - 1 less a margin, so that tile
// arithmetic such as n0 + col or K + BK - 1 cannot overflow inside a kernel.
constexpr int64_t kMaxKernelDim = INT_MAX - 1024;

// Multiprocessors of the current device (cached per device); at least 1.
int sm_count();

// Blocks for kernels that give each block `rows_per_block` rows in a grid-stride loop (one warp per row
// in a 256-thread block: 8): enough for every row, but no more than 16 per multiprocessor, past which
// extra blocks only add start-up (and, under emulation, thread hand-offs).
inline unsigned row_blocks(int64_t rows, int rows_per_block) {
    int64_t blocks = (rows + rows_per_block - 1) / rows_per_block;
    const int64_t cap = int64_t(sm_count()) * 16;
    if (blocks > cap) blocks = cap;
    return unsigned(blocks < 1 ? 1 : blocks);
}

// out[i*ldout + j] = the sum over p < splits of partial[p*rows*cols + i*cols + j], in split order: the last
// step of a product whose k was split across blocks (each split's [rows, cols] partial sum contiguous, usually in
// the stream's scratch), so that the result does not depend on which block finished first. Queued on `stream`.
tl_status sum_splits(const char *fn, cudaStream_t stream, int64_t rows, int64_t cols, int splits,
                     const float *partial, float *out, int64_t ldout);

// min for kernels: the emulation does not provide CUDA's integer min overloads.
__host__ __device__ __forceinline__ int imin(int a, int b) { return a < b ? a : b; }

// The sum (max) of v over the 32 lanes of a full warp, in every lane: a butterfly of xor shuffles.
__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, off));
    return v;
}

inline bool aligned16(const void *p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; }

}  // namespace tl

// Every exported function starts with these; they return from the function on failure.
#define TL_TRY(expr)                        \
    do {                                    \
        tl_status tl_try_status_ = (expr);  \
        if (tl_try_status_ != TL_OK) return tl_try_status_; \
    } while (0)
