// Element-wise kernels: activations, add, accumulation, dropout, bias. One thread per element
// (grid-stride); each output element is written by exactly one thread, so results do not depend
// on the launch geometry.
#include "backend/cuda/k_common.cuh"

__global__ void silu_fwd(const float *x, float *y, int64_t n) {
    YK_FOR(i, n) y[i] = yk_silu(x[i]);
}

__global__ void silu_bwd(const float *x, const float *dy, float *dx, int64_t n) {
    YK_FOR(i, n) dx[i] += yk_silu_grad(x[i], dy[i]);
}

__global__ void sigmoid_fwd(const float *x, float *y, int64_t n) {
    YK_FOR(i, n) y[i] = yk_sigmoid(x[i]);
}

__global__ void sigmoid_bwd(const float *y, const float *dy, float *dx, int64_t n) {
    YK_FOR(i, n) dx[i] += yk_sigmoid_grad(y[i], dy[i]);
}

__global__ void add_fwd(const float *a, const float *b, float *y, int64_t n) {
    YK_FOR(i, n) y[i] = a[i] + b[i];
}

__global__ void accumulate(float *dst, const float *src, int64_t n) {
    YK_FOR(i, n) dst[i] += src[i];
}

__global__ void accumulate_rows(float *dst, int64_t dst_pitch, const float *src, int64_t src_pitch, int64_t width,
                                int64_t rows) {
    YK_FOR(i, rows * width) {
        int64_t r = i / width, j = i % width;
        dst[r * dst_pitch + j] += src[r * src_pitch + j];
    }
}

__global__ void dropout_fwd(const float *x, float *y, int64_t n, uint64_t seed, uint64_t stream, float p, float scale) {
    YK_FOR(i, n) y[i] = x[i] * yk_dropout_factor(seed, stream, (uint64_t)i, p, scale);
}

__global__ void dropout_bwd(const float *dy, float *dx, int64_t n, uint64_t seed, uint64_t stream, float p, float scale) {
    YK_FOR(i, n) dx[i] += dy[i] * yk_dropout_factor(seed, stream, (uint64_t)i, p, scale);
}

__global__ void add_channel_bias(float *y, const float *bias, int64_t total, int64_t c, int64_t hw) {
    YK_FOR(i, total) y[i] += bias[(i / hw) % c];
}

extern "C" cudaError_t yk_silu_forward(cudaStream_t s, const float *x, float *y, int64_t n) {
    silu_fwd<<<yk_blocks(n), YK_THREADS, 0, s>>>(x, y, n);
    return cudaGetLastError();
}

extern "C" cudaError_t yk_silu_backward(cudaStream_t s, const float *x, const float *dy, float *dx, int64_t n) {
    silu_bwd<<<yk_blocks(n), YK_THREADS, 0, s>>>(x, dy, dx, n);
    return cudaGetLastError();
}

extern "C" cudaError_t yk_sigmoid_forward(cudaStream_t s, const float *x, float *y, int64_t n) {
    sigmoid_fwd<<<yk_blocks(n), YK_THREADS, 0, s>>>(x, y, n);
    return cudaGetLastError();
}

extern "C" cudaError_t yk_sigmoid_backward(cudaStream_t s, const float *y, const float *dy, float *dx, int64_t n) {
    sigmoid_bwd<<<yk_blocks(n), YK_THREADS, 0, s>>>(y, dy, dx, n);
    return cudaGetLastError();
}

extern "C" cudaError_t yk_add_forward(cudaStream_t s, const float *a, const float *b, float *y, int64_t n) {
    add_fwd<<<yk_blocks(n), YK_THREADS, 0, s>>>(a, b, y, n);
    return cudaGetLastError();
}

extern "C" cudaError_t yk_accumulate(cudaStream_t s, float *dst, const float *src, int64_t n) {
    accumulate<<<yk_blocks(n), YK_THREADS, 0, s>>>(dst, src, n);
    return cudaGetLastError();
}

extern "C" cudaError_t yk_accumulate_rows(cudaStream_t s, float *dst, int64_t dst_pitch, const float *src,
                                          int64_t src_pitch, int64_t width, int64_t rows) {
    accumulate_rows<<<yk_blocks(rows * width), YK_THREADS, 0, s>>>(dst, dst_pitch, src, src_pitch, width, rows);
    return cudaGetLastError();
}

extern "C" cudaError_t yk_dropout_forward(cudaStream_t s, const float *x, float *y, int64_t n, uint64_t seed,
                                          uint64_t stream, float p, float scale) {
    dropout_fwd<<<yk_blocks(n), YK_THREADS, 0, s>>>(x, y, n, seed, stream, p, scale);
    return cudaGetLastError();
}

extern "C" cudaError_t yk_dropout_backward(cudaStream_t s, const float *dy, float *dx, int64_t n, uint64_t seed,
                                           uint64_t stream, float p, float scale) {
    dropout_bwd<<<yk_blocks(n), YK_THREADS, 0, s>>>(dy, dx, n, seed, stream, p, scale);
    return cudaGetLastError();
}

extern "C" cudaError_t yk_add_channel_bias(cudaStream_t s, float *y, const float *bias, int64_t n, int64_t c,
                                           int64_t hw) {
    add_channel_bias<<<yk_blocks(n * c * hw), YK_THREADS, 0, s>>>(y, bias, n * c * hw, c, hw);
    return cudaGetLastError();
}
