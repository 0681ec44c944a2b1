/*
 * tensorloom.h: the core of tensorloom's C ABI: status, handles, memory, streams and the dense ops.
 *
 * The same functions are exported by libtensorloom_cuda.so (built with nvcc, runs on an NVIDIA GPU) and
 * by libtensorloom_emu.so (the same kernel sources built with the host compiler over a CUDA-on-CPU shim;
 * slow, for testing without a GPU). No CUDA type appears in any signature.
 *
 * Conventions
 *  - Every function returns a tl_status. TL_OK is 0; on any other status, tl_last_error() gives a message
 *    for the calling thread that names the function, the CUDA error (when there is one) and the values
 *    that were wrong.
 *  - Device memory lives in tl_buffer handles, work is ordered on tl_stream handles. Handles are opaque
 *    and checked on every call: a null, freed or forged handle returns TL_ERROR_INVALID_HANDLE, never a
 *    crash.
 *  - This header's matrices are row-major fp32, given as (buffer, offset, leading dimension): element
 *    (i, j) is float number offset + i*ld + j of the buffer. Offsets and leading dimensions of kernel
 *    operands count elements (4-byte floats or int32), not bytes; memory functions count bytes. Every
 *    operand's extent is checked against its buffer's size before anything is launched:
 *    TL_ERROR_INVALID_ARGUMENT otherwise.
 *  - Kernels are asynchronous on their stream. Copies to and from host memory are synchronous with
 *    respect to the host: when they return, the host memory may be reused.
 *  - Thread safety: all functions may be called from any thread. Work queued on one stream runs in order.
 *  - Each further kernel family (quantization, MPO, Poincaré ball) has a header of its own,
 *    tensorloom_<family>.h, that includes this one and keeps these conventions. Its operands are the
 *    same (buffer, offset, leading dimension) triples, but offsets and leading dimensions count elements
 *    of the operand's own type, which that header names per operand: fp32, fp16, int8, or 4-bit codes
 *    packed two to a byte (whose rows must start on a byte). Its functions are exported by this same
 *    library, so there is one registry: a handle from any header is valid in every family's functions.
 */
#ifndef TENSORLOOM_H
#define TENSORLOOM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define TL_API __declspec(dllexport)
#else
#define TL_API __attribute__((visibility("default")))
#endif

typedef enum tl_status {
    TL_OK = 0,
    TL_ERROR_INVALID_ARGUMENT = 1, /* a size, offset, leading dimension or pointer is out of range */
    TL_ERROR_INVALID_HANDLE = 2,   /* a null, freed or unknown tl_buffer or tl_stream */
    TL_ERROR_OUT_OF_MEMORY = 3,    /* the device could not allocate the requested memory */
    TL_ERROR_LAUNCH_FAILED = 4,    /* a kernel could not be launched or failed while running */
    TL_ERROR_NO_DEVICE = 5,        /* no usable device, or no driver */
    TL_ERROR_CUDA = 6              /* any other CUDA runtime error; tl_last_error() names it */
} tl_status;

/* Device memory. */
typedef struct tl_buffer_handle *tl_buffer;
/* An ordered queue of device work (a CUDA stream). */
typedef struct tl_stream_handle *tl_stream;

/* ---- library and device ------------------------------------------------------------------------- */

/* "cuda" for the GPU build, "emu" for the CPU emulation. Never null. */
TL_API const char *tl_library_variant(void);

/* The symbolic name of a status, e.g. "TL_ERROR_OUT_OF_MEMORY". Never null. */
TL_API const char *tl_status_name(tl_status status);

/* The message of the last failing call on this thread, or "" if none failed. Never null; valid until
 * the next call on this thread. */
TL_API const char *tl_last_error(void);

/* Number of usable devices. Returns TL_ERROR_NO_DEVICE (and *count = 0) when there is no driver. */
TL_API tl_status tl_device_count(int32_t *count);

/* Makes device `device` current for the calling thread. */
TL_API tl_status tl_set_device(int32_t device);

/* The device's name, NUL-terminated and truncated to capacity bytes. */
TL_API tl_status tl_device_name(int32_t device, char *name, int64_t capacity);

/* Bytes held by live tl_buffers of this library, and how many of them there are. */
TL_API tl_status tl_memory_in_use(uint64_t *bytes, int64_t *buffers);

/* ---- device memory ------------------------------------------------------------------------------ */

/* Allocates `bytes` (> 0) of device memory, aligned to 256 bytes. */
TL_API tl_status tl_malloc(uint64_t bytes, tl_buffer *buffer);

/* Frees a buffer. Work queued on any stream that uses it must have finished (tl_stream_synchronize). */
TL_API tl_status tl_free(tl_buffer buffer);

/* The size of a buffer in bytes. */
TL_API tl_status tl_buffer_size(tl_buffer buffer, uint64_t *bytes);

/* The raw device address of a buffer, for interoperation with other CUDA libraries (cuBLAS). */
TL_API tl_status tl_buffer_device_pointer(tl_buffer buffer, void **device_pointer);

/* host -> device: bytes from `source` into dest at byte offset `dest_offset`. Synchronous. */
TL_API tl_status tl_copy_to_device(tl_stream stream, tl_buffer dest, uint64_t dest_offset,
                                   const void *source, uint64_t bytes);

/* device -> host: bytes of source from byte offset `source_offset` into `dest`. Synchronous. */
TL_API tl_status tl_copy_to_host(tl_stream stream, void *dest, tl_buffer source, uint64_t source_offset,
                                 uint64_t bytes);

/* device -> device, asynchronous on the stream. The two ranges must not overlap. */
TL_API tl_status tl_copy_on_device(tl_stream stream, tl_buffer dest, uint64_t dest_offset, tl_buffer source,
                                   uint64_t source_offset, uint64_t bytes);

/* Sets `bytes` bytes from byte offset `offset` to the low byte of `value`, asynchronously. */
TL_API tl_status tl_memset(tl_stream stream, tl_buffer dest, uint64_t offset, int32_t value, uint64_t bytes);

/* ---- streams ------------------------------------------------------------------------------------ */

TL_API tl_status tl_stream_create(tl_stream *stream);

/* Waits for the stream's work, then destroys it. */
TL_API tl_status tl_stream_destroy(tl_stream stream);

/* Waits until all work queued on the stream has finished; reports an error a kernel raised while
 * running as TL_ERROR_LAUNCH_FAILED. */
TL_API tl_status tl_stream_synchronize(tl_stream stream);

/* The underlying cudaStream_t, for cublasSetStream. Null in the emulation. */
TL_API tl_status tl_stream_native(tl_stream stream, void **cuda_stream);

/* ---- dense linear algebra (fp32, row-major) ------------------------------------------------------ */

/* C[m,n] = A[m,k] · B[k,n]. */
TL_API tl_status tl_gemm(tl_stream stream, int64_t m, int64_t n, int64_t k,
                         tl_buffer a, uint64_t a_offset, int64_t lda,
                         tl_buffer b, uint64_t b_offset, int64_t ldb,
                         tl_buffer c, uint64_t c_offset, int64_t ldc);

/* C[m,n] = A[m,k] · B[n,k]ᵀ. */
TL_API tl_status tl_gemm_transposed_b(tl_stream stream, int64_t m, int64_t n, int64_t k,
                                      tl_buffer a, uint64_t a_offset, int64_t lda,
                                      tl_buffer b, uint64_t b_offset, int64_t ldb,
                                      tl_buffer c, uint64_t c_offset, int64_t ldc);

/* y[m] = A[m,k] · x[k]; x and y are contiguous. */
TL_API tl_status tl_gemv(tl_stream stream, int64_t m, int64_t k,
                         tl_buffer a, uint64_t a_offset, int64_t lda,
                         tl_buffer x, uint64_t x_offset,
                         tl_buffer y, uint64_t y_offset);

/* ---- transformer layers (fp32, row-major, in place on x) ------------------------------------------ */

/* x[i,:] += bias[:] for every row i; bias is contiguous [cols]. */
TL_API tl_status tl_add_bias(tl_stream stream, int64_t rows, int64_t cols,
                             tl_buffer x, uint64_t x_offset, int64_t ldx,
                             tl_buffer bias, uint64_t bias_offset);

/* x += y, both [rows, cols]. */
TL_API tl_status tl_add(tl_stream stream, int64_t rows, int64_t cols,
                        tl_buffer x, uint64_t x_offset, int64_t ldx,
                        tl_buffer y, uint64_t y_offset, int64_t ldy);

/* Each row of x becomes (x - mean) / sqrt(var + epsilon) · gamma + beta (biased variance); gamma and
 * beta are contiguous [cols]. */
TL_API tl_status tl_layer_norm(tl_stream stream, int64_t rows, int64_t cols,
                               tl_buffer x, uint64_t x_offset, int64_t ldx,
                               tl_buffer gamma, uint64_t gamma_offset,
                               tl_buffer beta, uint64_t beta_offset, float epsilon);

/* x = x · Φ(x) = x/2 · (1 + erf(x/√2)), the exact GELU. */
TL_API tl_status tl_gelu(tl_stream stream, int64_t rows, int64_t cols,
                         tl_buffer x, uint64_t x_offset, int64_t ldx);

/* x = gelu(x + bias[:]) for every row, in one pass: tl_add_bias then tl_gelu, fused. */
TL_API tl_status tl_add_bias_gelu(tl_stream stream, int64_t rows, int64_t cols,
                                  tl_buffer x, uint64_t x_offset, int64_t ldx,
                                  tl_buffer bias, uint64_t bias_offset);

/* x = layerNorm((x + bias[:]) + residual), row by row, in one pass: tl_add_bias, tl_add and tl_layer_norm,
 * fused, with the same sums in the same order; residual [rows, cols] is read, not changed. */
TL_API tl_status tl_add_bias_residual_layer_norm(tl_stream stream, int64_t rows, int64_t cols,
                                                 tl_buffer x, uint64_t x_offset, int64_t ldx,
                                                 tl_buffer bias, uint64_t bias_offset,
                                                 tl_buffer residual, uint64_t residual_offset, int64_t ldr,
                                                 tl_buffer gamma, uint64_t gamma_offset,
                                                 tl_buffer beta, uint64_t beta_offset, float epsilon);

/* Each row of x becomes softmax(row); entries of -inf get probability 0, a row of all -inf becomes 0. */
TL_API tl_status tl_softmax_rows(tl_stream stream, int64_t rows, int64_t cols,
                                 tl_buffer x, uint64_t x_offset, int64_t ldx);

/* Multi-head scaled-dot-product attention over a padded batch. q, k, v and out are [batch·seq, heads·
 * head_dim] with their own leading dimensions (column views of one fused projection are fine); mask is a
 * contiguous float [batch, seq] with 1 for a real token and 0 for padding, and a padded key gets no
 * attention. Scores are scaled by 1/sqrt(head_dim). A query whose keys are all padding gets zeros. Any seq
 * (streamed: no memory grows with it); head_dim at most 512. */
TL_API tl_status tl_attention(tl_stream stream, int64_t batch, int64_t seq, int64_t heads, int64_t head_dim,
                              tl_buffer q, uint64_t q_offset, int64_t ldq,
                              tl_buffer k, uint64_t k_offset, int64_t ldk,
                              tl_buffer v, uint64_t v_offset, int64_t ldv,
                              tl_buffer mask, uint64_t mask_offset,
                              tl_buffer out, uint64_t out_offset, int64_t ldout);

/* ---- embeddings and pooling ------------------------------------------------------------------------ */

/* out[i,:] = table[ids[i],:] for i < count. ids is a host array of count int32 (token ids come from the
 * host anyway); every id is checked to lie in [0, table_rows) before anything is launched, and the ids
 * travel to the device in a scratch buffer owned by the stream. */
TL_API tl_status tl_gather_rows(tl_stream stream, int64_t count, int64_t cols,
                                tl_buffer table, uint64_t table_offset, int64_t ldtable, int64_t table_rows,
                                const int32_t *ids,
                                tl_buffer out, uint64_t out_offset, int64_t ldout);

/* out[b,:] = mean of x[b·seq + t,:] over the t with mask[b,t] != 0; x is [batch·seq, cols], mask a
 * contiguous float [batch, seq], out [batch, cols]. A text with no real token gets zeros. */
TL_API tl_status tl_mean_pool(tl_stream stream, int64_t batch, int64_t seq, int64_t cols,
                              tl_buffer x, uint64_t x_offset, int64_t ldx,
                              tl_buffer mask, uint64_t mask_offset,
                              tl_buffer out, uint64_t out_offset, int64_t ldout);

/* Each row of x is divided by its Euclidean norm; a row of norm 0 stays 0. */
TL_API tl_status tl_l2_normalize_rows(tl_stream stream, int64_t rows, int64_t cols,
                                      tl_buffer x, uint64_t x_offset, int64_t ldx);

/* ---- diagnostics ---------------------------------------------------------------------------------- */

/* Launches an empty kernel with `threads_per_block` threads, so callers can see how a launch failure
 * (e.g. more than 1024 threads) surfaces: TL_ERROR_LAUNCH_FAILED with the CUDA error's name. */
TL_API tl_status tl_launch_check(tl_stream stream, int32_t threads_per_block);

#ifdef __cplusplus
}
#endif

#endif /* TENSORLOOM_H */
