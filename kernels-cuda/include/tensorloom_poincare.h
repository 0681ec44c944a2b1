/*
 * tensorloom_poincare.h: the Poincaré ball of curvature -c, the kernels of the hyperbolic family.
 *
 * Keeps every convention of tensorloom.h (status returns, checked handles, (buffer, offset, leading
 * dimension) operands whose extents are checked before a launch). Every operand is fp32; offsets and leading
 * dimensions count floats. Points and tangent vectors are the rows of [rows, dim] operands; a "per-row"
 * operand is a contiguous vector of one float per row.
 *
 * The numerics are those of the Java float32 kernels (hyperbolic's Ball32 and RowwisePoincareKernels, and
 * REFERENCE.md section 3): dot products in fp32, each row's coefficients in double, tanh arguments held to
 * +-15, artanh arguments to +-(1 - 1e-5), norms and denominators at or above 1e-15, and every point projected
 * to the radius (1 - 4e-3)/sqrt(c): point arguments on entry, point results on exit. c must be positive and
 * finite (TL_ERROR_INVALID_ARGUMENT otherwise).
 *
 * out may be the same operand as an input (same offset and leading dimension), never a partial overlap.
 * matVec and all-pairs distance are a tl_gemm_transposed_b by the caller followed by the elementwise step here.
 */
#ifndef TENSORLOOM_POINCARE_H
#define TENSORLOOM_POINCARE_H

#include "tensorloom.h"

#ifdef __cplusplus
extern "C" {
#endif

/* out = x held inside the ball, row by row. */
TL_API tl_status tl_poincare_project(tl_stream stream, float c, int64_t rows, int64_t dim,
                                     tl_buffer x, uint64_t x_offset, int64_t ldx,
                                     tl_buffer out, uint64_t out_offset, int64_t ldout);

/* out = x (+) y, Möbius addition. */
TL_API tl_status tl_poincare_mobius_add(tl_stream stream, float c, int64_t rows, int64_t dim,
                                        tl_buffer x, uint64_t x_offset, int64_t ldx,
                                        tl_buffer y, uint64_t y_offset, int64_t ldy,
                                        tl_buffer out, uint64_t out_offset, int64_t ldout);

/* out[i] = r[i] (x) x[i], Möbius scalar multiplication; r is per-row. */
TL_API tl_status tl_poincare_scalar_mul(tl_stream stream, float c, int64_t rows, int64_t dim,
                                        tl_buffer r, uint64_t r_offset,
                                        tl_buffer x, uint64_t x_offset, int64_t ldx,
                                        tl_buffer out, uint64_t out_offset, int64_t ldout);

/* The step after mx = x·M^T (tl_gemm_transposed_b of the unprojected x, [rows, out_dim], in place):
 * mx becomes M (x) x = exp0(M·log0(x)) row by row; x is [rows, dim]. */
TL_API tl_status tl_poincare_matvec_finish(tl_stream stream, float c, int64_t rows, int64_t dim, int64_t out_dim,
                                           tl_buffer x, uint64_t x_offset, int64_t ldx,
                                           tl_buffer mx, uint64_t mx_offset, int64_t ldmx);

/* out = exp0(v). */
TL_API tl_status tl_poincare_expmap0(tl_stream stream, float c, int64_t rows, int64_t dim,
                                     tl_buffer v, uint64_t v_offset, int64_t ldv,
                                     tl_buffer out, uint64_t out_offset, int64_t ldout);

/* out = log0(y). */
TL_API tl_status tl_poincare_logmap0(tl_stream stream, float c, int64_t rows, int64_t dim,
                                     tl_buffer y, uint64_t y_offset, int64_t ldy,
                                     tl_buffer out, uint64_t out_offset, int64_t ldout);

/* out = exp_x(v) = x (+) exp0(lambda_x·v/2). */
TL_API tl_status tl_poincare_expmap(tl_stream stream, float c, int64_t rows, int64_t dim,
                                    tl_buffer x, uint64_t x_offset, int64_t ldx,
                                    tl_buffer v, uint64_t v_offset, int64_t ldv,
                                    tl_buffer out, uint64_t out_offset, int64_t ldout);

/* out = log_x(y) = (2/lambda_x)·log0((-x) (+) y). */
TL_API tl_status tl_poincare_logmap(tl_stream stream, float c, int64_t rows, int64_t dim,
                                    tl_buffer x, uint64_t x_offset, int64_t ldx,
                                    tl_buffer y, uint64_t y_offset, int64_t ldy,
                                    tl_buffer out, uint64_t out_offset, int64_t ldout);

/* out[i] = d(x[i], y[i]); out is per-row. */
TL_API tl_status tl_poincare_distance(tl_stream stream, float c, int64_t rows, int64_t dim,
                                      tl_buffer x, uint64_t x_offset, int64_t ldx,
                                      tl_buffer y, uint64_t y_offset, int64_t ldy,
                                      tl_buffer out, uint64_t out_offset);

/* out[i] = d(0, x[i]); out is per-row. */
TL_API tl_status tl_poincare_distance0(tl_stream stream, float c, int64_t rows, int64_t dim,
                                       tl_buffer x, uint64_t x_offset, int64_t ldx,
                                       tl_buffer out, uint64_t out_offset);

/* The step after g = x·y^T (tl_gemm_transposed_b of the unprojected points, [x_rows, y_rows], in place):
 * g[i][j] becomes d(x[i], y[j]) by the closed form. */
TL_API tl_status tl_poincare_gram_to_distance(tl_stream stream, float c, int64_t x_rows, int64_t y_rows, int64_t dim,
                                              tl_buffer x, uint64_t x_offset, int64_t ldx,
                                              tl_buffer y, uint64_t y_offset, int64_t ldy,
                                              tl_buffer g, uint64_t g_offset, int64_t ldg);

/* out = gyr[u, v]w. */
TL_API tl_status tl_poincare_gyration(tl_stream stream, float c, int64_t rows, int64_t dim,
                                      tl_buffer u, uint64_t u_offset, int64_t ldu,
                                      tl_buffer v, uint64_t v_offset, int64_t ldv,
                                      tl_buffer w, uint64_t w_offset, int64_t ldw,
                                      tl_buffer out, uint64_t out_offset, int64_t ldout);

/* out = P_{x->y}(v), parallel transport. */
TL_API tl_status tl_poincare_transport(tl_stream stream, float c, int64_t rows, int64_t dim,
                                       tl_buffer x, uint64_t x_offset, int64_t ldx,
                                       tl_buffer y, uint64_t y_offset, int64_t ldy,
                                       tl_buffer v, uint64_t v_offset, int64_t ldv,
                                       tl_buffer out, uint64_t out_offset, int64_t ldout);

/* out = P_{0->y}(v). */
TL_API tl_status tl_poincare_transport0(tl_stream stream, float c, int64_t rows, int64_t dim,
                                        tl_buffer y, uint64_t y_offset, int64_t ldy,
                                        tl_buffer v, uint64_t v_offset, int64_t ldv,
                                        tl_buffer out, uint64_t out_offset, int64_t ldout);

/* out [1, dim] = the gyromidpoint of the rows of points (rows >= 1) with the per-row weights. out must not
 * overlap points. */
TL_API tl_status tl_poincare_weighted_midpoint(tl_stream stream, float c, int64_t rows, int64_t dim,
                                               tl_buffer points, uint64_t points_offset, int64_t ldp,
                                               tl_buffer weights, uint64_t weights_offset,
                                               tl_buffer out, uint64_t out_offset);

/* ---- backward passes ----------------------------------------------------------------------------------
 * Each writes dL/d(input) for its inputs from grad_out = dL/d(output), overwriting the gradient operands (which
 * may be the same operand as an input, as for out above), and writes dL/dc, one float, at grad_c. */

/* grad_x = dL/dx of project from grad_out. */
TL_API tl_status tl_poincare_project_backward(tl_stream stream, float c, int64_t rows, int64_t dim, tl_buffer x,
                                              uint64_t x_offset, int64_t ldx, tl_buffer grad_out,
                                              uint64_t grad_out_offset, int64_t ldgo, tl_buffer grad_x,
                                              uint64_t grad_x_offset, int64_t ldgx, tl_buffer grad_c,
                                              uint64_t grad_c_offset);

/* grad_x, grad_y of x (+) y. */
TL_API tl_status tl_poincare_mobius_add_backward(tl_stream stream, float c, int64_t rows, int64_t dim, tl_buffer x,
                                                 uint64_t x_offset, int64_t ldx, tl_buffer y, uint64_t y_offset,
                                                 int64_t ldy, tl_buffer grad_out, uint64_t grad_out_offset,
                                                 int64_t ldgo, tl_buffer grad_x, uint64_t grad_x_offset, int64_t ldgx,
                                                 tl_buffer grad_y, uint64_t grad_y_offset, int64_t ldgy,
                                                 tl_buffer grad_c, uint64_t grad_c_offset);

/* grad_r (per-row) and grad_x of r (x) x. */
TL_API tl_status tl_poincare_scalar_mul_backward(tl_stream stream, float c, int64_t rows, int64_t dim, tl_buffer r,
                                                 uint64_t r_offset, tl_buffer x, uint64_t x_offset, int64_t ldx,
                                                 tl_buffer grad_out, uint64_t grad_out_offset, int64_t ldgo,
                                                 tl_buffer grad_r, uint64_t grad_r_offset, tl_buffer grad_x,
                                                 uint64_t grad_x_offset, int64_t ldgx, tl_buffer grad_c,
                                                 uint64_t grad_c_offset);

/* grad_v of exp0(v). */
TL_API tl_status tl_poincare_expmap0_backward(tl_stream stream, float c, int64_t rows, int64_t dim, tl_buffer v,
                                              uint64_t v_offset, int64_t ldv, tl_buffer grad_out,
                                              uint64_t grad_out_offset, int64_t ldgo, tl_buffer grad_v,
                                              uint64_t grad_v_offset, int64_t ldgv, tl_buffer grad_c,
                                              uint64_t grad_c_offset);

/* grad_y of log0(y). */
TL_API tl_status tl_poincare_logmap0_backward(tl_stream stream, float c, int64_t rows, int64_t dim, tl_buffer y,
                                              uint64_t y_offset, int64_t ldy, tl_buffer grad_out,
                                              uint64_t grad_out_offset, int64_t ldgo, tl_buffer grad_y,
                                              uint64_t grad_y_offset, int64_t ldgy, tl_buffer grad_c,
                                              uint64_t grad_c_offset);

/* grad_x, grad_v of exp_x(v). */
TL_API tl_status tl_poincare_expmap_backward(tl_stream stream, float c, int64_t rows, int64_t dim, tl_buffer x,
                                             uint64_t x_offset, int64_t ldx, tl_buffer v, uint64_t v_offset,
                                             int64_t ldv, tl_buffer grad_out, uint64_t grad_out_offset, int64_t ldgo,
                                             tl_buffer grad_x, uint64_t grad_x_offset, int64_t ldgx, tl_buffer grad_v,
                                             uint64_t grad_v_offset, int64_t ldgv, tl_buffer grad_c,
                                             uint64_t grad_c_offset);

/* grad_x, grad_y of log_x(y). */
TL_API tl_status tl_poincare_logmap_backward(tl_stream stream, float c, int64_t rows, int64_t dim, tl_buffer x,
                                             uint64_t x_offset, int64_t ldx, tl_buffer y, uint64_t y_offset,
                                             int64_t ldy, tl_buffer grad_out, uint64_t grad_out_offset, int64_t ldgo,
                                             tl_buffer grad_x, uint64_t grad_x_offset, int64_t ldgx, tl_buffer grad_y,
                                             uint64_t grad_y_offset, int64_t ldgy, tl_buffer grad_c,
                                             uint64_t grad_c_offset);

/* grad_x, grad_y of d(x, y); grad_out is per-row. */
TL_API tl_status tl_poincare_distance_backward(tl_stream stream, float c, int64_t rows, int64_t dim, tl_buffer x,
                                               uint64_t x_offset, int64_t ldx, tl_buffer y, uint64_t y_offset,
                                               int64_t ldy, tl_buffer grad_out, uint64_t grad_out_offset,
                                               tl_buffer grad_x, uint64_t grad_x_offset, int64_t ldgx,
                                               tl_buffer grad_y, uint64_t grad_y_offset, int64_t ldgy,
                                               tl_buffer grad_c, uint64_t grad_c_offset);

/* grad_x of d(0, x); grad_out is per-row. */
TL_API tl_status tl_poincare_distance0_backward(tl_stream stream, float c, int64_t rows, int64_t dim, tl_buffer x,
                                                uint64_t x_offset, int64_t ldx, tl_buffer grad_out,
                                                uint64_t grad_out_offset, tl_buffer grad_x, uint64_t grad_x_offset,
                                                int64_t ldgx, tl_buffer grad_c, uint64_t grad_c_offset);

/* grad_u, grad_v, grad_w of gyr[u, v]w. */
TL_API tl_status tl_poincare_gyration_backward(tl_stream stream, float c, int64_t rows, int64_t dim, tl_buffer u,
                                               uint64_t u_offset, int64_t ldu, tl_buffer v, uint64_t v_offset,
                                               int64_t ldv, tl_buffer w, uint64_t w_offset, int64_t ldw,
                                               tl_buffer grad_out, uint64_t grad_out_offset, int64_t ldgo,
                                               tl_buffer grad_u, uint64_t grad_u_offset, int64_t ldgu,
                                               tl_buffer grad_v, uint64_t grad_v_offset, int64_t ldgv,
                                               tl_buffer grad_w, uint64_t grad_w_offset, int64_t ldgw,
                                               tl_buffer grad_c, uint64_t grad_c_offset);

/* grad_x, grad_y, grad_v of P_{x->y}(v). */
TL_API tl_status tl_poincare_transport_backward(tl_stream stream, float c, int64_t rows, int64_t dim, tl_buffer x,
                                                uint64_t x_offset, int64_t ldx, tl_buffer y, uint64_t y_offset,
                                                int64_t ldy, tl_buffer v, uint64_t v_offset, int64_t ldv,
                                                tl_buffer grad_out, uint64_t grad_out_offset, int64_t ldgo,
                                                tl_buffer grad_x, uint64_t grad_x_offset, int64_t ldgx,
                                                tl_buffer grad_y, uint64_t grad_y_offset, int64_t ldgy,
                                                tl_buffer grad_v, uint64_t grad_v_offset, int64_t ldgv,
                                                tl_buffer grad_c, uint64_t grad_c_offset);

/* grad_y, grad_v of P_{0->y}(v). */
TL_API tl_status tl_poincare_transport0_backward(tl_stream stream, float c, int64_t rows, int64_t dim, tl_buffer y,
                                                 uint64_t y_offset, int64_t ldy, tl_buffer v, uint64_t v_offset,
                                                 int64_t ldv, tl_buffer grad_out, uint64_t grad_out_offset,
                                                 int64_t ldgo, tl_buffer grad_y, uint64_t grad_y_offset, int64_t ldgy,
                                                 tl_buffer grad_v, uint64_t grad_v_offset, int64_t ldgv,
                                                 tl_buffer grad_c, uint64_t grad_c_offset);

/* The weight gradient of M (x) x: grad_m [out_dim, dim] = grad_z^T·log, for grad_z [rows, out_dim] and log
 * [rows, dim] (a product with a transposed left operand, which tl_gemm does not take). */
TL_API tl_status tl_poincare_matvec_weight_gradient(tl_stream stream, int64_t rows, int64_t out_dim, int64_t dim,
                                                    tl_buffer grad_z, uint64_t grad_z_offset, int64_t ldgz,
                                                    tl_buffer log, uint64_t log_offset, int64_t ldlog,
                                                    tl_buffer grad_m, uint64_t grad_m_offset, int64_t ldgm);

/* The elementwise step of all-pairs distance backward. g [x_rows, y_rows] holds x·y^T of the unprojected points
 * on entry and dL/dG_ij·ky_j on return, g_t [y_rows, x_rows] gets dL/dG_ij·kx_i transposed (so dL/dx = g·y and
 * dL/dy = g_t·x by tl_gemm, before tl_poincare_norm_gradient), x_norm_grad and y_norm_grad (per x and per y row)
 * get dL/d||x_i'||² and dL/d||y_j'||², and grad_c this step's dL/dc. */
TL_API tl_status tl_poincare_gram_distance_backward(tl_stream stream, float c, int64_t x_rows, int64_t y_rows,
                                                    int64_t dim, tl_buffer x, uint64_t x_offset, int64_t ldx,
                                                    tl_buffer y, uint64_t y_offset, int64_t ldy, tl_buffer grad_out,
                                                    uint64_t grad_out_offset, int64_t ldgo, tl_buffer g,
                                                    uint64_t g_offset, int64_t ldg, tl_buffer g_t,
                                                    uint64_t g_t_offset, int64_t ldgt, tl_buffer x_norm_grad,
                                                    uint64_t x_norm_grad_offset, tl_buffer y_norm_grad,
                                                    uint64_t y_norm_grad_offset, tl_buffer grad_c,
                                                    uint64_t grad_c_offset);

/* grad (a gradient with respect to the projected points x') += 2·coefficient[i]·x_i', then turned into one with
 * respect to x through the projection; grad_c gets the projection's dL/dc. coefficient is per-row. */
TL_API tl_status tl_poincare_norm_gradient(tl_stream stream, float c, int64_t rows, int64_t dim, tl_buffer x,
                                           uint64_t x_offset, int64_t ldx, tl_buffer coefficient,
                                           uint64_t coefficient_offset, tl_buffer grad, uint64_t grad_offset,
                                           int64_t ldg, tl_buffer grad_c, uint64_t grad_c_offset);

/* grad_points and grad_weights (per-row) of the weighted midpoint from grad_out [1, dim] (contiguous). The sum
 * Σ α_i·λ_i·x_i must not be 0 (its gradient is undefined there; the caller checks). */
TL_API tl_status tl_poincare_weighted_midpoint_backward(tl_stream stream, float c, int64_t rows, int64_t dim,
                                                        tl_buffer points, uint64_t points_offset, int64_t ldp,
                                                        tl_buffer weights, uint64_t weights_offset,
                                                        tl_buffer grad_out, uint64_t grad_out_offset,
                                                        tl_buffer grad_points, uint64_t grad_points_offset,
                                                        int64_t ldgp, tl_buffer grad_weights,
                                                        uint64_t grad_weights_offset, tl_buffer grad_c,
                                                        uint64_t grad_c_offset);

#ifdef __cplusplus
}
#endif

#endif
