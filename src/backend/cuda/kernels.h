// The launchers of the CUDA backend's own kernels (k_*.cu), callable from C. Each queues its
// kernel(s) on stream s and returns cudaGetLastError(), which the caller checks with launchCheck.
// Pointers are device pointers; sizes are element counts. Gradients are accumulated (+=), as the
// op table's contract asks (nn/op.h).
#ifndef YOLO_BACKEND_CUDA_KERNELS_H
#define YOLO_BACKEND_CUDA_KERNELS_H

#include <cuda_runtime_api.h>
#include <stdint.h>

#include "backend/cuda/kernel_math.h"

#ifdef __cplusplus
extern "C" {
#endif

// k_elementwise.cu
cudaError_t yk_silu_forward(cudaStream_t s, const float *x, float *y, int64_t n);
cudaError_t yk_silu_backward(cudaStream_t s, const float *x, const float *dy, float *dx, int64_t n);
cudaError_t yk_sigmoid_forward(cudaStream_t s, const float *x, float *y, int64_t n);
cudaError_t yk_sigmoid_backward(cudaStream_t s, const float *y, const float *dy, float *dx, int64_t n);
cudaError_t yk_add_forward(cudaStream_t s, const float *a, const float *b, float *y, int64_t n);
// dst += src over n elements.
cudaError_t yk_accumulate(cudaStream_t s, float *dst, const float *src, int64_t n);
// dst[r * dst_pitch + j] += src[r * src_pitch + j] for r < rows, j < width: a channel block of
// every sample (concat and slice backward).
cudaError_t yk_accumulate_rows(cudaStream_t s, float *dst, int64_t dst_pitch, const float *src, int64_t src_pitch,
                               int64_t width, int64_t rows);
cudaError_t yk_dropout_forward(cudaStream_t s, const float *x, float *y, int64_t n, uint64_t seed, uint64_t stream,
                               float p, float scale);
cudaError_t yk_dropout_backward(cudaStream_t s, const float *dy, float *dx, int64_t n, uint64_t seed, uint64_t stream,
                                float p, float scale);
// y[(i * c + ch) * hw + j] += bias[ch] over n samples.
cudaError_t yk_add_channel_bias(cudaStream_t s, float *y, const float *bias, int64_t n, int64_t c, int64_t hw);

// k_pool.cu: planes = N * C, each h x w in and oh x ow out.
cudaError_t yk_maxpool_forward(cudaStream_t s, const float *x, float *y, int64_t planes, YkPool g);
// argmax (planes * oh * ow int32, the op's workspace) then dx += the gathered gradients.
cudaError_t yk_maxpool_backward(cudaStream_t s, const float *x, const float *dy, float *dx, int32_t *argmax,
                                int64_t planes, YkPool g);
cudaError_t yk_avgpool_forward(cudaStream_t s, const float *x, float *y, int64_t planes, int64_t h, int64_t w,
                               int64_t oh, int64_t ow);
cudaError_t yk_avgpool_backward(cudaStream_t s, const float *dy, float *dx, int64_t planes, int64_t h, int64_t w,
                                int64_t oh, int64_t ow);
cudaError_t yk_upsample_forward(cudaStream_t s, const float *x, float *y, int64_t planes, int64_t h, int64_t w,
                                int scale);
cudaError_t yk_upsample_backward(cudaStream_t s, const float *dy, float *dx, int64_t planes, int64_t h, int64_t w,
                                 int scale);

// k_reduce.cu: reductions per channel of an [n, c, hw] tensor and per row, one block each, in a
// fixed order (the same bits on every run).
// out[ch] += the sum over samples and positions of x, summed in double.
cudaError_t yk_channel_sums_add(cudaStream_t s, const float *x, int64_t n, int64_t c, int64_t hw, float *out);
// Training: batch mean and variance per channel, then yk_bn_stats (running statistics, saved).
cudaError_t yk_bn_train_stats(cudaStream_t s, const float *x, int64_t n, int64_t c, int64_t hw, float eps,
                              float momentum, float *run_mean, float *run_var, float *saved_mean, float *saved_invstd);
// Eval: saved = running statistics (mean, 1 / sqrt(var + eps)).
cudaError_t yk_bn_eval_stats(cudaStream_t s, int64_t c, float eps, float *run_mean, float *run_var, float *saved_mean,
                             float *saved_invstd);
cudaError_t yk_bn_normalise(cudaStream_t s, const float *x, float *y, int64_t n, int64_t c, int64_t hw,
                            const float *saved_mean, const float *saved_invstd, const float *gamma, const float *beta);
// Per channel: sums of dy and dy * xhat; gamma_grad += sum(dy * xhat) and beta_grad += sum(dy)
// (each when not NULL); means[ch] = mean(dy) and means[c + ch] = mean(dy * xhat) in training, 0
// in eval (means has 2c floats, the op's workspace).
cudaError_t yk_bn_backward_sums(cudaStream_t s, const float *x, const float *dy, int64_t n, int64_t c, int64_t hw,
                                const float *saved_mean, const float *saved_invstd, int training, float *gamma_grad,
                                float *beta_grad, float *means);
cudaError_t yk_bn_input_grad(cudaStream_t s, const float *x, const float *dy, float *dx, int64_t n, int64_t c,
                             int64_t hw, const float *saved_mean, const float *saved_invstd, const float *gamma,
                             const float *means);
// batchnorm2d_silu: the output is SiLU(BN(x)) (the statistics come from yk_bn_train_stats or
// yk_bn_eval_stats, as for BN); the backward pair is BN's with dL/dz = SiLU'(z) dy, z = BN(x)
// recomputed from x, in place of dy.
cudaError_t yk_bn_silu_normalise(cudaStream_t s, const float *x, float *y, int64_t n, int64_t c, int64_t hw,
                                 const float *saved_mean, const float *saved_invstd, const float *gamma,
                                 const float *beta);
cudaError_t yk_bn_silu_backward_sums(cudaStream_t s, const float *x, const float *dy, int64_t n, int64_t c, int64_t hw,
                                     const float *saved_mean, const float *saved_invstd, const float *gamma,
                                     const float *beta, int training, float *gamma_grad, float *beta_grad,
                                     float *means);
cudaError_t yk_bn_silu_input_grad(cudaStream_t s, const float *x, const float *dy, float *dx, int64_t n, int64_t c,
                                  int64_t hw, const float *saved_mean, const float *saved_invstd, const float *gamma,
                                  const float *beta, const float *means);
// Softmax (log_softmax when log) over the last dim of [rows, k].
cudaError_t yk_softmax_forward(cudaStream_t s, const float *x, float *y, int64_t rows, int64_t k, int take_log);
cudaError_t yk_softmax_backward(cudaStream_t s, const float *y, const float *dy, float *dx, int64_t rows, int64_t k,
                                int take_log);

#ifdef __cplusplus
}
#endif

#endif
