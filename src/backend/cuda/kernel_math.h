// The per-element arithmetic of the CUDA kernels, written once for both sides: nvcc compiles it
// into the kernels (__host__ __device__), and the C compiler compiles the same text into
// tests/test_cuda_kernel_math.c, which runs it over whole tensors on the CPU and compares with
// the CPU backend's ops. So the index arithmetic, window bounds, tie rules, summation orders and
// the dropout stream are tested in every build, GPU or not; what only a GPU can test is the launch
// glue around them (grid sizes, the block reductions, the library calls).
//
// Plain C17 that nvcc also accepts: no C++ features, no C99 features C++ lacks (no restrict, no
// compound literals).
#ifndef YOLO_BACKEND_CUDA_KERNEL_MATH_H
#define YOLO_BACKEND_CUDA_KERNEL_MATH_H

#include <math.h>
#include <stdint.h>

#ifdef __CUDACC__
#define YK_FN __host__ __device__ static inline
#else
#define YK_FN static inline
#endif

// ---- Counter-based random numbers: core/rng.c's Philox-4x32-10, draw for draw ------------------

YK_FN void yk_philox_round(uint32_t ctr[4], const uint32_t key[2]) {
    uint64_t p0 = (uint64_t)0xD2511F53u * ctr[0];
    uint64_t p1 = (uint64_t)0xCD9E8D57u * ctr[2];
    uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
    uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
    uint32_t n0 = hi1 ^ ctr[1] ^ key[0], n2 = hi0 ^ ctr[3] ^ key[1];
    ctr[0] = n0;
    ctr[1] = lo1;
    ctr[2] = n2;
    ctr[3] = lo0;
}

// Word i % 4 of the block at counter i / 4: rng_u32(seed, stream, i).
YK_FN uint32_t yk_rng_u32(uint64_t seed, uint64_t stream, uint64_t i) {
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    uint64_t counter = i / 4;
    uint32_t ctr[4] = {(uint32_t)counter, (uint32_t)(counter >> 32), (uint32_t)stream, (uint32_t)(stream >> 32)};
    for (int round = 0; round < 10; round++) {
        yk_philox_round(ctr, key);
        key[0] += 0x9E3779B9u;
        key[1] += 0xBB67AE85u;
    }
    return ctr[i % 4];
}

// rng_uniform: 24 random bits scaled to [0, 1), exact in float.
YK_FN float yk_rng_uniform(uint64_t seed, uint64_t stream, uint64_t i) {
    return (float)(yk_rng_u32(seed, stream, i) >> 8) * (1.0f / 16777216.0f);
}

// Dropout's factor for element i (cpu/dropout.c): 0 when dropped, scale = 1 / (1 - p) when kept.
YK_FN float yk_dropout_factor(uint64_t seed, uint64_t stream, uint64_t i, float p, float scale) {
    return yk_rng_uniform(seed, stream, i) < p ? 0.0f : scale;
}

// ---- Activations -------------------------------------------------------------------------------
// expf is the platform's (CUDA's is within 2 ulp), not the CPU backend's vm_expf, so results agree
// within a few ulp, not bit for bit. For x below about -88 expf(-x) overflows to inf and sigmoid
// gives 0 where the CPU's clamped exp gives a tiny positive number: both are 0 to within 1e-38.

YK_FN float yk_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }
YK_FN float yk_silu(float x) { return x * yk_sigmoid(x); }
// d/dx x s(x) = s (1 + x (1 - s)).
YK_FN float yk_silu_grad(float x, float dy) {
    float s = yk_sigmoid(x);
    return dy * s * (1.0f + x * (1.0f - s));
}
YK_FN float yk_sigmoid_grad(float y, float dy) { return dy * y * (1.0f - y); }

// ---- Max pooling: PyTorch's first maximum, -inf padding ----------------------------------------

typedef struct {
    int64_t h, w, oh, ow;
    int kh, kw, sh, sw, ph, pw;
} YkPool;

YK_FN int64_t yk_max64(int64_t a, int64_t b) { return a > b ? a : b; }
YK_FN int64_t yk_min64(int64_t a, int64_t b) { return a < b ? a : b; }
// ceil(a / b) for b > 0 and a of either sign.
YK_FN int64_t yk_ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -(-a / b); }

// The position (y * w + x, within the plane) of the window's first maximum in row-major order,
// counting only real elements (padding is -inf, i.e. never chosen). A NaN beats every number, the
// first NaN wins; a window of -inf keeps its first real element. This is cpu/pool.c's rule, which
// it computes separably; the plain scan here gives the same element.
YK_FN int64_t yk_maxpool_argmax(const float *plane, YkPool g, int64_t oy, int64_t ox) {
    int64_t y0 = oy * g.sh - g.ph, x0 = ox * g.sw - g.pw;
    int64_t ylo = yk_max64(y0, 0), yhi = yk_min64(y0 + g.kh, g.h);
    int64_t xlo = yk_max64(x0, 0), xhi = yk_min64(x0 + g.kw, g.w);
    int64_t best_at = ylo * g.w + xlo;
    float best = -INFINITY;
    for (int64_t y = ylo; y < yhi; y++)
        for (int64_t x = xlo; x < xhi; x++) {
            float v = plane[y * g.w + x];
            if (v > best || (v != v && best == best)) {
                best = v;
                best_at = y * g.w + x;
            }
        }
    return best_at;
}

// dx at (iy, ix) plus the output gradients of every window whose maximum it is, added in output
// row-major order starting from acc: the order in which cpu/pool.c adds them, so the bits agree.
// argmax holds yk_maxpool_argmax of every output of the plane.
YK_FN float yk_maxpool_grad_at(const int32_t *argmax, const float *dy, YkPool g, int64_t iy, int64_t ix, float acc) {
    int64_t oy_lo = yk_max64(yk_ceil_div(iy + g.ph - g.kh + 1, g.sh), 0);
    int64_t oy_hi = yk_min64((iy + g.ph) / g.sh + 1, g.oh);
    int64_t ox_lo = yk_max64(yk_ceil_div(ix + g.pw - g.kw + 1, g.sw), 0);
    int64_t ox_hi = yk_min64((ix + g.pw) / g.sw + 1, g.ow);
    int32_t me = (int32_t)(iy * g.w + ix);
    for (int64_t oy = oy_lo; oy < oy_hi; oy++)
        for (int64_t ox = ox_lo; ox < ox_hi; ox++)
            if (argmax[oy * g.ow + ox] == me) acc += dy[oy * g.ow + ox];
    return acc;
}

// ---- Adaptive average pooling: PyTorch's bins [floor(i * size / out), ceil((i + 1) * size / out)) -

YK_FN int64_t yk_bin_start(int64_t i, int64_t size, int64_t out) { return i * size / out; }
YK_FN int64_t yk_bin_end(int64_t i, int64_t size, int64_t out) { return ((i + 1) * size + out - 1) / out; }

// The mean of bin (oy, ox), summed in double in row-major order as cpu/pool.c does.
YK_FN float yk_avgpool_at(const float *plane, int64_t h, int64_t w, int64_t oh, int64_t ow, int64_t oy, int64_t ox) {
    int64_t y0 = yk_bin_start(oy, h, oh), y1 = yk_bin_end(oy, h, oh);
    int64_t x0 = yk_bin_start(ox, w, ow), x1 = yk_bin_end(ox, w, ow);
    double sum = 0.0;
    for (int64_t y = y0; y < y1; y++)
        for (int64_t x = x0; x < x1; x++) sum += plane[y * w + x];
    return (float)(sum / (double)((y1 - y0) * (x1 - x0)));
}

// acc plus dy / (bin size) of every bin holding (iy, ix), in output row-major order (cpu/pool.c's
// order for overlapping bins). The bins holding iy are oy in [iy * oh / h, ((iy + 1) * oh - 1) / h].
YK_FN float yk_avgpool_grad_at(const float *dy, int64_t h, int64_t w, int64_t oh, int64_t ow, int64_t iy, int64_t ix,
                               float acc) {
    int64_t oy_hi = yk_min64(((iy + 1) * oh - 1) / h + 1, oh), ox_hi = yk_min64(((ix + 1) * ow - 1) / w + 1, ow);
    for (int64_t oy = iy * oh / h; oy < oy_hi; oy++) {
        int64_t y0 = yk_bin_start(oy, h, oh), y1 = yk_bin_end(oy, h, oh);
        if (iy < y0 || iy >= y1) continue;
        for (int64_t ox = ix * ow / w; ox < ox_hi; ox++) {
            int64_t x0 = yk_bin_start(ox, w, ow), x1 = yk_bin_end(ox, w, ow);
            if (ix < x0 || ix >= x1) continue;
            acc += dy[oy * ow + ox] / (float)((y1 - y0) * (x1 - x0));
        }
    }
    return acc;
}

// ---- Nearest upsampling by s -------------------------------------------------------------------

YK_FN float yk_upsample_at(const float *plane, int64_t w, int s, int64_t oy, int64_t ox) {
    return plane[(oy / s) * w + ox / s];
}

// The sum of the s x s output gradients input (iy, ix) fed, in row-major order from 0 (cpu/upsample.c).
YK_FN float yk_upsample_grad_at(const float *dy, int64_t w, int s, int64_t iy, int64_t ix) {
    int64_t ow = w * s;
    float sum = 0.0f;
    for (int a = 0; a < s; a++)
        for (int b = 0; b < s; b++) sum += dy[(iy * s + a) * ow + ix * s + b];
    return sum;
}

// ---- Batch normalisation (cpu/batchnorm.c) -----------------------------------------------------

// The statistics channel c is normalised with, saved for backward, and in training the running
// statistics moved towards the batch's with the unbiased variance (PyTorch's convention). mean
// and var are the batch's (biased variance) in training and unused in eval.
YK_FN void yk_bn_stats(int training, int64_t count, float eps, float momentum, double mean, double var,
                       float *run_mean, float *run_var, float *saved_mean, float *saved_invstd) {
    if (training) {
        double m = momentum, unbiased = var * (double)count / (double)(count - 1);
        *run_mean = (float)((1.0 - m) * *run_mean + m * mean);
        *run_var = (float)((1.0 - m) * *run_var + m * unbiased);
    } else {
        mean = *run_mean;
        var = *run_var;
    }
    *saved_mean = (float)mean;
    *saved_invstd = (float)(1.0 / sqrt(var + (double)eps));
}

YK_FN float yk_bn_normalise_at(float x, float mean, float invstd, float gamma, float beta) {
    float scale = invstd * gamma;
    return (x - mean) * scale + beta;
}

// dL/dx: gamma * invstd * (dy - mean(dy) - xhat * mean(dy * xhat)) in training; in eval the
// statistics are constants and both means are passed as 0.
YK_FN float yk_bn_input_grad_at(float x, float dy, float mean, float invstd, float gamma, float mean_dy,
                             float mean_dy_xhat) {
    float xhat = (x - mean) * invstd;
    return gamma * invstd * (dy - mean_dy - xhat * mean_dy_xhat);
}

// ---- Batch norm fused with SiLU (cpu/batchnorm_silu.c) -----------------------------------------
// The fused op stores no z = BN(x): forward writes SiLU(z), and backward recomputes z from x to
// get dL/dz, which then takes dy's place in batch norm's backward (its sums and input gradient).

YK_FN float yk_bn_silu_at(float x, float mean, float invstd, float gamma, float beta) {
    return yk_silu(yk_bn_normalise_at(x, mean, invstd, gamma, beta));
}

// dL/dz at z = BN(x), from the fused output's gradient dy.
YK_FN float yk_bn_silu_dz_at(float x, float dy, float mean, float invstd, float gamma, float beta) {
    return yk_silu_grad(yk_bn_normalise_at(x, mean, invstd, gamma, beta), dy);
}

#endif
