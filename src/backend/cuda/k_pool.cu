// Pooling and upsampling. Backward kernels gather instead of scatter: one thread per input
// element adds the gradients of every output it fed, in the order cpu/pool.c and cpu/upsample.c
// add them, so there are no atomics and the bits equal the CPU's (kernel_math.h has the rules).
#include "backend/cuda/k_common.cuh"

__global__ void maxpool_fwd(const float *x, float *y, int64_t planes, YkPool g) {
    int64_t per_plane = g.oh * g.ow;
    YK_FOR(i, planes * per_plane) {
        int64_t plane = i / per_plane, o = i % per_plane;
        const float *xp = x + plane * g.h * g.w;
        y[i] = xp[yk_maxpool_argmax(xp, g, o / g.ow, o % g.ow)];
    }
}

__global__ void maxpool_argmax(const float *x, int32_t *argmax, int64_t planes, YkPool g) {
    int64_t per_plane = g.oh * g.ow;
    YK_FOR(i, planes * per_plane) {
        int64_t plane = i / per_plane, o = i % per_plane;
        argmax[i] = (int32_t)yk_maxpool_argmax(x + plane * g.h * g.w, g, o / g.ow, o % g.ow);
    }
}

__global__ void maxpool_bwd(const int32_t *argmax, const float *dy, float *dx, int64_t planes, YkPool g) {
    int64_t per_plane = g.h * g.w;
    YK_FOR(i, planes * per_plane) {
        int64_t plane = i / per_plane, at = i % per_plane;
        int64_t out = plane * g.oh * g.ow;
        dx[i] = yk_maxpool_grad_at(argmax + out, dy + out, g, at / g.w, at % g.w, dx[i]);
    }
}

__global__ void avgpool_fwd(const float *x, float *y, int64_t planes, int64_t h, int64_t w, int64_t oh, int64_t ow) {
    YK_FOR(i, planes * oh * ow) {
        int64_t plane = i / (oh * ow), o = i % (oh * ow);
        y[i] = yk_avgpool_at(x + plane * h * w, h, w, oh, ow, o / ow, o % ow);
    }
}

__global__ void avgpool_bwd(const float *dy, float *dx, int64_t planes, int64_t h, int64_t w, int64_t oh, int64_t ow) {
    YK_FOR(i, planes * h * w) {
        int64_t plane = i / (h * w), at = i % (h * w);
        dx[i] = yk_avgpool_grad_at(dy + plane * oh * ow, h, w, oh, ow, at / w, at % w, dx[i]);
    }
}

__global__ void upsample_fwd(const float *x, float *y, int64_t planes, int64_t h, int64_t w, int s) {
    int64_t oh = h * s, ow = w * s;
    YK_FOR(i, planes * oh * ow) {
        int64_t plane = i / (oh * ow), o = i % (oh * ow);
        y[i] = yk_upsample_at(x + plane * h * w, w, s, o / ow, o % ow);
    }
}

__global__ void upsample_bwd(const float *dy, float *dx, int64_t planes, int64_t h, int64_t w, int s) {
    YK_FOR(i, planes * h * w) {
        int64_t plane = i / (h * w), at = i % (h * w);
        dx[i] += yk_upsample_grad_at(dy + plane * h * w * s * s, w, s, at / w, at % w);
    }
}

extern "C" cudaError_t yk_maxpool_forward(cudaStream_t s, const float *x, float *y, int64_t planes, YkPool g) {
    maxpool_fwd<<<yk_blocks(planes * g.oh * g.ow), YK_THREADS, 0, s>>>(x, y, planes, g);
    return cudaGetLastError();
}

extern "C" cudaError_t yk_maxpool_backward(cudaStream_t s, const float *x, const float *dy, float *dx, int32_t *argmax,
                                           int64_t planes, YkPool g) {
    maxpool_argmax<<<yk_blocks(planes * g.oh * g.ow), YK_THREADS, 0, s>>>(x, argmax, planes, g);
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) return e;
    maxpool_bwd<<<yk_blocks(planes * g.h * g.w), YK_THREADS, 0, s>>>(argmax, dy, dx, planes, g);
    return cudaGetLastError();
}

extern "C" cudaError_t yk_avgpool_forward(cudaStream_t s, const float *x, float *y, int64_t planes, int64_t h,
                                          int64_t w, int64_t oh, int64_t ow) {
    avgpool_fwd<<<yk_blocks(planes * oh * ow), YK_THREADS, 0, s>>>(x, y, planes, h, w, oh, ow);
    return cudaGetLastError();
}

extern "C" cudaError_t yk_avgpool_backward(cudaStream_t s, const float *dy, float *dx, int64_t planes, int64_t h,
                                           int64_t w, int64_t oh, int64_t ow) {
    avgpool_bwd<<<yk_blocks(planes * h * w), YK_THREADS, 0, s>>>(dy, dx, planes, h, w, oh, ow);
    return cudaGetLastError();
}

extern "C" cudaError_t yk_upsample_forward(cudaStream_t s, const float *x, float *y, int64_t planes, int64_t h,
                                           int64_t w, int scale) {
    upsample_fwd<<<yk_blocks(planes * h * w * scale * scale), YK_THREADS, 0, s>>>(x, y, planes, h, w, scale);
    return cudaGetLastError();
}

extern "C" cudaError_t yk_upsample_backward(cudaStream_t s, const float *dy, float *dx, int64_t planes, int64_t h,
                                            int64_t w, int scale) {
    upsample_bwd<<<yk_blocks(planes * h * w), YK_THREADS, 0, s>>>(dy, dx, planes, h, w, scale);
    return cudaGetLastError();
}
