// Kernels that reduce: per-channel sums (bias gradients, batch norm) and per-row softmax. One
// block per channel or row; each thread sums a fixed, strided subset in double, then the block
// adds the partials in a fixed tree. The order never depends on timing, so every run gives the
// same bits (no atomics). The order differs from the CPU's, so results agree with it to rounding.
//
// One block per channel leaves most of a large GPU idle when channels are few and planes large
// (the first layers at imgsz 640): a two-stage reduction is the known speed-up, for when the
// backend is timed on a GPU.
#include "backend/cuda/k_common.cuh"

enum { RED_THREADS = 256 }; // a power of two: the tree halves it

// The sum of v over the block's threads; every thread gets it. shared holds RED_THREADS doubles.
__device__ double block_sum(double v, double *shared) {
    shared[threadIdx.x] = v;
    __syncthreads();
    for (int stride = RED_THREADS / 2; stride > 0; stride >>= 1) {
        if ((int)threadIdx.x < stride) shared[threadIdx.x] += shared[threadIdx.x + stride];
        __syncthreads();
    }
    double total = shared[0];
    __syncthreads(); // everyone has read it before shared is reused
    return total;
}

__device__ float block_max(float v, float *shared) {
    shared[threadIdx.x] = v;
    __syncthreads();
    for (int stride = RED_THREADS / 2; stride > 0; stride >>= 1) {
        if ((int)threadIdx.x < stride) shared[threadIdx.x] = fmaxf(shared[threadIdx.x], shared[threadIdx.x + stride]);
        __syncthreads();
    }
    float total = shared[0];
    __syncthreads();
    return total;
}

// Element k of channel ch's (sample, position) sequence.
__device__ inline int64_t channel_at(int64_t k, int64_t ch, int64_t c, int64_t hw) {
    return (k / hw * c + ch) * hw + k % hw;
}

__global__ void channel_sums_add(const float *x, int64_t n, int64_t c, int64_t hw, float *out) {
    __shared__ double shared[RED_THREADS];
    int64_t ch = blockIdx.x, count = n * hw;
    double acc = 0.0;
    for (int64_t k = threadIdx.x; k < count; k += RED_THREADS) acc += x[channel_at(k, ch, c, hw)];
    double total = block_sum(acc, shared);
    if (threadIdx.x == 0) out[ch] += (float)total;
}

// Mean and biased variance in two passes, as cpu/batchnorm.c, then the statistics.
__global__ void bn_train_stats(const float *x, int64_t n, int64_t c, int64_t hw, float eps, float momentum,
                               float *run_mean, float *run_var, float *saved_mean, float *saved_invstd) {
    __shared__ double shared[RED_THREADS];
    int64_t ch = blockIdx.x, count = n * hw;
    double acc = 0.0;
    for (int64_t k = threadIdx.x; k < count; k += RED_THREADS) acc += x[channel_at(k, ch, c, hw)];
    double mean = block_sum(acc, shared) / (double)count;
    acc = 0.0;
    for (int64_t k = threadIdx.x; k < count; k += RED_THREADS) {
        double d = (double)x[channel_at(k, ch, c, hw)] - mean;
        acc += d * d;
    }
    double var = block_sum(acc, shared) / (double)count;
    if (threadIdx.x == 0)
        yk_bn_stats(1, count, eps, momentum, mean, var, &run_mean[ch], &run_var[ch], &saved_mean[ch],
                    &saved_invstd[ch]);
}

__global__ void bn_eval_stats(int64_t c, float eps, float *run_mean, float *run_var, float *saved_mean,
                              float *saved_invstd) {
    YK_FOR(ch, c) yk_bn_stats(0, 0, eps, 0.0f, 0.0, 0.0, &run_mean[ch], &run_var[ch], &saved_mean[ch], &saved_invstd[ch]);
}

// The kernels below serve batchnorm2d (SILU false) and batchnorm2d_silu (SILU true), whose
// output is SiLU(BN(x)): its backward is BN's with dL/dz, recomputed from x, in place of dy.
template <bool SILU>
__global__ void bn_normalise(const float *x, float *y, int64_t total, int64_t c, int64_t hw, const float *mean,
                             const float *invstd, const float *gamma, const float *beta) {
    YK_FOR(i, total) {
        int64_t ch = i / hw % c;
        y[i] = SILU ? yk_bn_silu_at(x[i], mean[ch], invstd[ch], gamma[ch], beta[ch])
                    : yk_bn_normalise_at(x[i], mean[ch], invstd[ch], gamma[ch], beta[ch]);
    }
}

// The gradient batch norm's output receives at `at` (channel ch): dy, or dL/dz when SiLU follows.
template <bool SILU>
__device__ inline float bn_out_grad(const float *x, const float *dy, int64_t at, int64_t ch, const float *mean,
                                    const float *invstd, const float *gamma, const float *beta) {
    return SILU ? yk_bn_silu_dz_at(x[at], dy[at], mean[ch], invstd[ch], gamma[ch], beta[ch]) : dy[at];
}

template <bool SILU>
__global__ void bn_backward_sums(const float *x, const float *dy, int64_t n, int64_t c, int64_t hw, const float *mean,
                                 const float *invstd, const float *gamma, const float *beta, int training,
                                 float *gamma_grad, float *beta_grad, float *means) {
    __shared__ double shared[RED_THREADS];
    int64_t ch = blockIdx.x, count = n * hw;
    float m = mean[ch], s = invstd[ch];
    double sum_dy = 0.0, sum_dy_xhat = 0.0;
    for (int64_t k = threadIdx.x; k < count; k += RED_THREADS) {
        int64_t at = channel_at(k, ch, c, hw);
        float g = bn_out_grad<SILU>(x, dy, at, ch, mean, invstd, gamma, beta);
        sum_dy += g;
        sum_dy_xhat += (double)g * (double)((x[at] - m) * s);
    }
    sum_dy = block_sum(sum_dy, shared);
    sum_dy_xhat = block_sum(sum_dy_xhat, shared);
    if (threadIdx.x == 0) {
        if (gamma_grad) gamma_grad[ch] += (float)sum_dy_xhat;
        if (beta_grad) beta_grad[ch] += (float)sum_dy;
        means[ch] = training ? (float)(sum_dy / (double)count) : 0.0f;
        means[c + ch] = training ? (float)(sum_dy_xhat / (double)count) : 0.0f;
    }
}

template <bool SILU>
__global__ void bn_input_grad(const float *x, const float *dy, float *dx, int64_t total, int64_t c, int64_t hw,
                              const float *mean, const float *invstd, const float *gamma, const float *beta,
                              const float *means) {
    YK_FOR(i, total) {
        int64_t ch = i / hw % c;
        float g = bn_out_grad<SILU>(x, dy, i, ch, mean, invstd, gamma, beta);
        dx[i] += yk_bn_input_grad_at(x[i], g, mean[ch], invstd[ch], gamma[ch], means[ch], means[c + ch]);
    }
}

// Subtracting the row's maximum first keeps exp finite for large logits.
__global__ void softmax_fwd(const float *x, float *y, int64_t k, int take_log) {
    __shared__ double shared[RED_THREADS];
    __shared__ float shared_max[RED_THREADS];
    const float *xr = x + blockIdx.x * k;
    float *yr = y + blockIdx.x * k;
    float m = -INFINITY;
    for (int64_t j = threadIdx.x; j < k; j += RED_THREADS) m = fmaxf(m, xr[j]);
    m = block_max(m, shared_max);
    double acc = 0.0;
    for (int64_t j = threadIdx.x; j < k; j += RED_THREADS) {
        float e = expf(xr[j] - m);
        if (!take_log) yr[j] = e;
        acc += e;
    }
    double total = block_sum(acc, shared);
    if (take_log) {
        float log_sum = (float)log(total);
        for (int64_t j = threadIdx.x; j < k; j += RED_THREADS) yr[j] = (xr[j] - m) - log_sum;
    } else {
        float inv = (float)(1.0 / total);
        for (int64_t j = threadIdx.x; j < k; j += RED_THREADS) yr[j] *= inv;
    }
}

// softmax: dx += y (dy - sum(dy y)); log_softmax: dx += dy - exp(y) sum(dy).
__global__ void softmax_bwd(const float *y, const float *dy, float *dx, int64_t k, int take_log) {
    __shared__ double shared[RED_THREADS];
    const float *yr = y + blockIdx.x * k, *dyr = dy + blockIdx.x * k;
    float *dxr = dx + blockIdx.x * k;
    double acc = 0.0;
    for (int64_t j = threadIdx.x; j < k; j += RED_THREADS) acc += take_log ? (double)dyr[j] : (double)dyr[j] * (double)yr[j];
    float total = (float)block_sum(acc, shared);
    for (int64_t j = threadIdx.x; j < k; j += RED_THREADS)
        dxr[j] += take_log ? dyr[j] - expf(yr[j]) * total : yr[j] * (dyr[j] - total);
}

// Grids of one block per channel or row; a zero count launches nothing.
static inline bool none(int64_t blocks) { return blocks <= 0; }

extern "C" cudaError_t yk_channel_sums_add(cudaStream_t s, const float *x, int64_t n, int64_t c, int64_t hw, float *out) {
    if (none(c)) return cudaSuccess;
    channel_sums_add<<<(unsigned)c, RED_THREADS, 0, s>>>(x, n, c, hw, out);
    return cudaGetLastError();
}

extern "C" cudaError_t yk_bn_train_stats(cudaStream_t s, const float *x, int64_t n, int64_t c, int64_t hw, float eps,
                                         float momentum, float *run_mean, float *run_var, float *saved_mean,
                                         float *saved_invstd) {
    if (none(c)) return cudaSuccess;
    bn_train_stats<<<(unsigned)c, RED_THREADS, 0, s>>>(x, n, c, hw, eps, momentum, run_mean, run_var, saved_mean,
                                                       saved_invstd);
    return cudaGetLastError();
}

extern "C" cudaError_t yk_bn_eval_stats(cudaStream_t s, int64_t c, float eps, float *run_mean, float *run_var,
                                        float *saved_mean, float *saved_invstd) {
    bn_eval_stats<<<yk_blocks(c), YK_THREADS, 0, s>>>(c, eps, run_mean, run_var, saved_mean, saved_invstd);
    return cudaGetLastError();
}

extern "C" cudaError_t yk_bn_normalise(cudaStream_t s, const float *x, float *y, int64_t n, int64_t c, int64_t hw,
                                       const float *saved_mean, const float *saved_invstd, const float *gamma,
                                       const float *beta) {
    bn_normalise<false><<<yk_blocks(n * c * hw), YK_THREADS, 0, s>>>(x, y, n * c * hw, c, hw, saved_mean, saved_invstd,
                                                                     gamma, beta);
    return cudaGetLastError();
}

extern "C" cudaError_t yk_bn_backward_sums(cudaStream_t s, const float *x, const float *dy, int64_t n, int64_t c,
                                           int64_t hw, const float *saved_mean, const float *saved_invstd, int training,
                                           float *gamma_grad, float *beta_grad, float *means) {
    if (none(c)) return cudaSuccess;
    bn_backward_sums<false><<<(unsigned)c, RED_THREADS, 0, s>>>(x, dy, n, c, hw, saved_mean, saved_invstd, NULL, NULL,
                                                                training, gamma_grad, beta_grad, means);
    return cudaGetLastError();
}

extern "C" cudaError_t yk_bn_input_grad(cudaStream_t s, const float *x, const float *dy, float *dx, int64_t n,
                                        int64_t c, int64_t hw, const float *saved_mean, const float *saved_invstd,
                                        const float *gamma, const float *means) {
    bn_input_grad<false><<<yk_blocks(n * c * hw), YK_THREADS, 0, s>>>(x, dy, dx, n * c * hw, c, hw, saved_mean,
                                                                      saved_invstd, gamma, NULL, means);
    return cudaGetLastError();
}

extern "C" cudaError_t yk_bn_silu_normalise(cudaStream_t s, const float *x, float *y, int64_t n, int64_t c, int64_t hw,
                                            const float *saved_mean, const float *saved_invstd, const float *gamma,
                                            const float *beta) {
    bn_normalise<true><<<yk_blocks(n * c * hw), YK_THREADS, 0, s>>>(x, y, n * c * hw, c, hw, saved_mean, saved_invstd,
                                                                    gamma, beta);
    return cudaGetLastError();
}

extern "C" cudaError_t yk_bn_silu_backward_sums(cudaStream_t s, const float *x, const float *dy, int64_t n, int64_t c,
                                                int64_t hw, const float *saved_mean, const float *saved_invstd,
                                                const float *gamma, const float *beta, int training, float *gamma_grad,
                                                float *beta_grad, float *means) {
    if (none(c)) return cudaSuccess;
    bn_backward_sums<true><<<(unsigned)c, RED_THREADS, 0, s>>>(x, dy, n, c, hw, saved_mean, saved_invstd, gamma, beta,
                                                               training, gamma_grad, beta_grad, means);
    return cudaGetLastError();
}

extern "C" cudaError_t yk_bn_silu_input_grad(cudaStream_t s, const float *x, const float *dy, float *dx, int64_t n,
                                             int64_t c, int64_t hw, const float *saved_mean, const float *saved_invstd,
                                             const float *gamma, const float *beta, const float *means) {
    bn_input_grad<true><<<yk_blocks(n * c * hw), YK_THREADS, 0, s>>>(x, dy, dx, n * c * hw, c, hw, saved_mean,
                                                                     saved_invstd, gamma, beta, means);
    return cudaGetLastError();
}

extern "C" cudaError_t yk_softmax_forward(cudaStream_t s, const float *x, float *y, int64_t rows, int64_t k,
                                          int take_log) {
    if (none(rows)) return cudaSuccess;
    softmax_fwd<<<(unsigned)rows, RED_THREADS, 0, s>>>(x, y, k, take_log);
    return cudaGetLastError();
}

extern "C" cudaError_t yk_softmax_backward(cudaStream_t s, const float *y, const float *dy, float *dx, int64_t rows,
                                           int64_t k, int take_log) {
    if (none(rows)) return cudaSuccess;
    softmax_bwd<<<(unsigned)rows, RED_THREADS, 0, s>>>(y, dy, dx, k, take_log);
    return cudaGetLastError();
}
