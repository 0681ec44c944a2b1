/*
 * tensorloom_quant.h: dequantizing matrix products over packed low-bit weights, the kernels of the quant family.
 *
 * Keeps every convention of tensorloom.h (status returns, checked handles, (buffer, offset, leading dimension)
 * operands whose extents are checked before a launch). Activations (a, x, c, y) are fp32 and their offsets and
 * leading dimensions count floats. The weights b [k, n] (k input channels, n output channels) are read in their
 * packed form, never expanded to a full-precision matrix; their operands are stored by output channel, each
 * contiguous, with offsets counted in elements of their own type:
 *
 *  - group formats (the quant module's GroupFormat / PackedWeights): `bits` of 2, 3, 4 or 8 per weight, one fp16
 *    scale per group of `group_size` consecutive input channels (32, 64, 128, or 0 for one group per output
 *    channel), and, when `asymmetric`, one 8-bit zero point per group; a weight is s·(u - z), with z = 2^(bits-1)
 *    when symmetric. codes: bytes [n, row_bytes], rows cut into bit planes (8: [8]; 4: [4]; 3: [2, 1]; 2: [2]),
 *    a plane of width w holding value r of each 16-byte unit of 128/w values in byte r mod 16 at bit w·(r div 16),
 *    each plane padded to whole units, so row_bytes = Σ over planes of ceil(k·w/128)·16. scales: fp16 [n, groups];
 *    zeros: bytes [n, groups] (read only when asymmetric; may be null otherwise).
 *  - ggml's block formats, byte for byte as ggml stores a tensor with ne0 = k: n rows of k/block_size blocks
 *    (TL_GGML_Q4_0 and TL_GGML_Q8_0: blocks of 32; TL_GGML_Q4_K and TL_GGML_Q6_K: blocks of 256), weights as
 *    ggml's dequantize_row_* computes them.
 *
 * codes and blocks must start on a 16-byte boundary (the kernels load 16 bytes at a time). k must be positive
 * and a multiple of the group or block size; a k that is not is refused naming both. Outputs must not overlap
 * any input. Each output element is a float32 sum over k of an input times the stored weight, which every
 * format defines exactly (as the Java oracle does); the GEMV may apply a scale once to a run of 16 inputs
 * that share it (scale times the sum of input times code) instead of to each weight, so its float32 rounding
 * is not the weight-by-weight sum's.
 */
#ifndef TENSORLOOM_QUANT_H
#define TENSORLOOM_QUANT_H

#include "tensorloom.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ggml's type numbers (enum ggml_type) of the block formats these kernels read. */
#define TL_GGML_Q4_0 2
#define TL_GGML_Q8_0 8
#define TL_GGML_Q4_K 12
#define TL_GGML_Q6_K 14

/* y[n] = x[k] · b for one input (batch 1), b in a group format; x and y are contiguous. */
TL_API tl_status tl_qgemv_group(tl_stream stream, int64_t n, int64_t k, int32_t bits, int32_t group_size,
                                int32_t asymmetric, tl_buffer x, uint64_t x_offset,
                                tl_buffer codes, uint64_t codes_offset, tl_buffer scales, uint64_t scales_offset,
                                tl_buffer zeros, uint64_t zeros_offset, tl_buffer y, uint64_t y_offset);

/* c[m, n] = a[m, k] · b, b in a group format. */
TL_API tl_status tl_qgemm_group(tl_stream stream, int64_t m, int64_t n, int64_t k, int32_t bits, int32_t group_size,
                                int32_t asymmetric, tl_buffer a, uint64_t a_offset, int64_t lda,
                                tl_buffer codes, uint64_t codes_offset, tl_buffer scales, uint64_t scales_offset,
                                tl_buffer zeros, uint64_t zeros_offset, tl_buffer c, uint64_t c_offset, int64_t ldc);

/* y[n] = x[k] · b for one input, b in ggml blocks of `type` (bytes from blocks_offset); x and y contiguous. */
TL_API tl_status tl_qgemv_ggml(tl_stream stream, int64_t n, int64_t k, int32_t type, tl_buffer x, uint64_t x_offset,
                               tl_buffer blocks, uint64_t blocks_offset, tl_buffer y, uint64_t y_offset);

/* c[m, n] = a[m, k] · b, b in ggml blocks of `type`. */
TL_API tl_status tl_qgemm_ggml(tl_stream stream, int64_t m, int64_t n, int64_t k, int32_t type,
                               tl_buffer a, uint64_t a_offset, int64_t lda, tl_buffer blocks, uint64_t blocks_offset,
                               tl_buffer c, uint64_t c_offset, int64_t ldc);

#ifdef __cplusplus
}
#endif

#endif
