/*
 * tensorloom_mpo.h: matrix product operator (MPO) contraction, the kernels of the mpo family.
 *
 * Keeps every convention of tensorloom.h (status returns, checked handles, (buffer, offset, leading
 * dimension) operands whose extents are checked before a launch). Every operand here is fp32; offsets and
 * leading dimensions count floats.
 *
 * An MPO holds W [I, J] with I = i_1…i_n, J = j_1…j_n as cores [d_k, i_k, j_k, d_k+1]; W's row index is read as
 * the digits (i_1, …, i_n) and its column index as (j_1, …, j_n), most significant first. The direct product
 * y = x·W sweeps x through the cores one call of tl_mpo_step per core, in any order (tl_mpo_core_matrix reads
 * a core the way an order other than left to right needs it); contracting the cores to W is a chain of
 * tl_gemm calls whose result, in the interleaved order (i_1, j_1, …, i_n, j_n), tl_mpo_deinterleave puts in
 * W's order.
 */
#ifndef TENSORLOOM_MPO_H
#define TENSORLOOM_MPO_H

#include "tensorloom.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One core of the direct product: in [m, blocks*r*q] (leading dimension ldin) and out [m, blocks*s*q] (ldout)
 * hold `blocks` blocks per row, and each output block [s, q] is core^T times its input block [r, q], with core
 * [r, s] contiguous: out[i][(b*s + c)*q + t] = sum over k of core[k*s + c] * in[i][(b*r + k)*q + t].
 * out must not overlap in or core. */
TL_API tl_status tl_mpo_step(tl_stream stream, int64_t m, int64_t blocks, int64_t r, int64_t s, int64_t q,
                             tl_buffer core, uint64_t core_offset, tl_buffer in, uint64_t in_offset, int64_t ldin,
                             tl_buffer out, uint64_t out_offset, int64_t ldout);

/* The matrix [r, s] a step reads from core [d_left, i, j, d_right] (contiguous) when the cores beside it are
 * absorbed as left_in / right_in say (nonzero: that neighbour is absorbed, so the bond between them is
 * contracted): r = (d_left if left_in, i, d_right if right_in) and s = (d_left unless left_in, j, d_right unless
 * right_in), digits most significant first, written contiguous row-major into matrix. A sweep left to right
 * reads every core as stored; any other order reads some cores through this permutation. matrix must not
 * overlap core. */
TL_API tl_status tl_mpo_core_matrix(tl_stream stream, int64_t d_left, int64_t i, int64_t j, int64_t d_right,
                                    int32_t left_in, int32_t right_in, tl_buffer core, uint64_t core_offset,
                                    tl_buffer matrix, uint64_t matrix_offset);

/* w [I, J] (ldw) from the contiguous vector `interleaved` of I*J floats in the order (i_1, j_1, …, i_n, j_n):
 * w[i][j] = interleaved[sum over k of (i_k*j_factor_k + j_k) * (product over l > k of i_factor_l*j_factor_l)],
 * where i_k, j_k are the digits of i and j over row_factors and col_factors (host arrays of `cores` factors,
 * 1 <= cores <= 16, every factor >= 1). */
TL_API tl_status tl_mpo_deinterleave(tl_stream stream, int32_t cores, const int32_t *row_factors,
                                     const int32_t *col_factors, tl_buffer interleaved, uint64_t interleaved_offset,
                                     tl_buffer w, uint64_t w_offset, int64_t ldw);

#ifdef __cplusplus
}
#endif

#endif
