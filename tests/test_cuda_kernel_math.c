// The CUDA kernels' per-element arithmetic (src/backend/cuda/kernel_math.h), run on the CPU the
// way the kernels run it on the GPU (one call per output or input element, in any order) and
// compared with the CPU backend's ops. It compiles without CUDA, so every build checks the
// index arithmetic, window bounds, tie and NaN rules, summation orders and the dropout stream
// that the GPU kernels use; tests/gpu checks the launches around them on a GPU.
#include <stdlib.h>

#include "backend/cuda/kernel_math.h"
#include "core/rng.h"
#include "op_harness.h"
#include "test.h"

static void fill_uniform(Tensor *t, uint64_t stream) {
    for (int64_t i = 0; i < tensor_numel(t); i++) t->data[i] = 2.0f * rng_uniform(5, stream, (uint64_t)i) - 1.0f;
}

static float *copy_of(const Tensor *t) {
    float *c = malloc((size_t)tensor_numel(t) * sizeof(float));
    if (c) memcpy(c, t->data, (size_t)tensor_numel(t) * sizeof(float));
    return c;
}

// Counts elements whose bits differ (NaN == NaN when the bits agree).
static int64_t bit_mismatches(const float *a, const float *b, int64_t n) {
    int64_t bad = 0;
    for (int64_t i = 0; i < n; i++) bad += memcmp(&a[i], &b[i], sizeof(float)) != 0;
    return bad;
}

static int64_t near_mismatches(const float *a, const float *b, int64_t n, float rtol, float atol) {
    int64_t bad = 0;
    for (int64_t i = 0; i < n; i++) bad += !(fabsf(a[i] - b[i]) <= atol + rtol * fabsf(b[i]));
    return bad;
}

// A CPU harness for spec, forward run, its input gradient pre-filled with random values (so that
// += is checked) and backward run. *dx0 gets the pre-filled gradient.
static int cpu_reference(Backend *b, const OpSpec *spec, OpHarness *h, float **dx0) {
    TRY(harness_init(h, spec, b, 21));
    TRY(harness_forward(h));
    fill_uniform(&h->in_grad[0], 99);
    *dx0 = copy_of(&h->in_grad[0]);
    mallocCheck(*dx0);
    return backend_backward(&h->args);
}

TEST(cuda_philox_equals_core_rng) {
    const uint64_t seeds[] = {0, 1, 0xFFFFFFFFull, 0x123456789ABCDEFull, ~0ull};
    const uint64_t streams[] = {0, rng_stream(RNG_DROPOUT, 3, 7), ~0ull};
    int64_t bad = 0;
    for (size_t s = 0; s < 5; s++)
        for (size_t t = 0; t < 3; t++)
            for (uint64_t i = 0; i < 2000; i++) {
                uint64_t at = i < 1000 ? i : (1ull << 40) + i * 4093; // counters past 32 bits too
                bad += yk_rng_u32(seeds[s], streams[t], at) != rng_u32(seeds[s], streams[t], at);
                float u = yk_rng_uniform(seeds[s], streams[t], at), v = rng_uniform(seeds[s], streams[t], at);
                bad += memcmp(&u, &v, sizeof u) != 0;
            }
    if (bad) test_fail(__FILE__, __LINE__, "%lld draws differ from core/rng.c", (long long)bad);
}

TEST(cuda_dropout_mask_equals_cpu_dropout) {
    Backend *b = backend_cpu_create(1);
    OpSpec spec = {.kind = OP_DROPOUT, .n_in = 1, .in = {shape_nchw(2, 3, 5, 7)}, .training = 1, .p.drop_p = 0.3f};
    OpHarness h = {0};
    float *dx0 = NULL;
    EXPECT_OK(cpu_reference(b, &spec, &h, &dx0));
    int64_t n = tensor_numel(&h.out);
    float scale = 1.0f / (1.0f - spec.p.drop_p), *y = malloc((size_t)n * sizeof(float));
    int64_t bad = 0;
    for (int64_t i = 0; i < n && dx0; i++) {
        float f = yk_dropout_factor(h.args.rng_seed, h.args.rng_stream, (uint64_t)i, spec.p.drop_p, scale);
        y[i] = h.in[0].data[i] * f;
        dx0[i] += h.out_grad.data[i] * f;
    }
    bad += bit_mismatches(y, h.out.data, n) + bit_mismatches(dx0, h.in_grad[0].data, n);
    if (bad) test_fail(__FILE__, __LINE__, "dropout: %lld elements differ from the CPU op", (long long)bad);
    free(y);
    free(dx0);
    harness_free(&h);
    backend_destroy(b);
}

TEST(cuda_activations_match_cpu_within_ulps) {
    Backend *b = backend_cpu_create(1);
    for (int sig = 0; sig < 2; sig++) {
        OpSpec spec = {.kind = sig ? OP_SIGMOID : OP_SILU, .n_in = 1, .in = {shape_nchw(2, 3, 9, 11)}};
        OpHarness h = {0};
        float *dx0 = NULL;
        EXPECT_OK(cpu_reference(b, &spec, &h, &dx0));
        int64_t n = tensor_numel(&h.out);
        float *y = malloc((size_t)n * sizeof(float));
        for (int64_t i = 0; i < n && dx0; i++) {
            float x = h.in[0].data[i], dy = h.out_grad.data[i];
            y[i] = sig ? yk_sigmoid(x) : yk_silu(x);
            dx0[i] += sig ? yk_sigmoid_grad(h.out.data[i], dy) : yk_silu_grad(x, dy);
        }
        // libm's expf here and the CPU backend's vm_expf differ by a few ulp.
        int64_t bad = near_mismatches(y, h.out.data, n, 1e-6f, 1e-7f) + near_mismatches(dx0, h.in_grad[0].data, n, 1e-6f, 1e-7f);
        if (bad) test_fail(__FILE__, __LINE__, "%s: %lld elements differ", op_name(spec.kind), (long long)bad);
        free(y);
        free(dx0);
        harness_free(&h);
    }
    backend_destroy(b);
}

// Max pooling with ties (rounded inputs), -inf rows and NaNs, for windows of several shapes: the
// gathering backward must give the CPU's bits.
TEST(cuda_maxpool_argmax_and_gather_equal_cpu_bits) {
    const PoolParams cfg[] = {{5, 5, 1, 1, 2, 2}, {3, 3, 2, 2, 1, 1}, {2, 2, 2, 2, 0, 0},
                              {3, 5, 1, 2, 1, 2}, {4, 2, 3, 1, 2, 0}, {1, 3, 1, 1, 0, 1}};
    Backend *b = backend_cpu_create(1);
    for (size_t k = 0; k < sizeof cfg / sizeof cfg[0]; k++) {
        OpSpec spec = {.kind = OP_MAXPOOL2D, .n_in = 1, .in = {shape_nchw(2, 3, 7, 9)}, .p.pool = cfg[k]};
        OpHarness h = {0};
        EXPECT_OK(harness_init(&h, &spec, b, 17));
        float *x = h.in[0].data;
        for (int64_t i = 0; i < tensor_numel(&h.in[0]); i++) x[i] = roundf(x[i]);
        for (int64_t i = 0; i < 27; i++) x[63 + i] = -INFINITY;
        x[2 * 63 + 10] = NAN;
        x[2 * 63 + 12] = NAN;
        EXPECT_OK(harness_forward(&h));
        fill_uniform(&h.in_grad[0], 99);
        float *dx = copy_of(&h.in_grad[0]);
        EXPECT_OK(backend_backward(&h.args));
        YkPool g = {.h = 7, .w = 9, .oh = tensor_h(&h.out), .ow = tensor_w(&h.out), .kh = cfg[k].kh, .kw = cfg[k].kw,
                    .sh = cfg[k].sh, .sw = cfg[k].sw, .ph = cfg[k].ph, .pw = cfg[k].pw};
        int64_t per_out = g.oh * g.ow, per_in = g.h * g.w, planes = 6;
        float *y = malloc((size_t)(planes * per_out) * sizeof(float));
        int32_t *argmax = malloc((size_t)(planes * per_out) * sizeof(int32_t));
        // The forward kernel and the argmax kernel: one call per output element.
        for (int64_t i = 0; i < planes * per_out; i++) {
            int64_t p = i / per_out, o = i % per_out;
            argmax[i] = (int32_t)yk_maxpool_argmax(x + p * per_in, g, o / g.ow, o % g.ow);
            y[i] = x[p * per_in + argmax[i]];
        }
        // The gathering backward kernel: one call per input element.
        for (int64_t i = 0; i < planes * per_in && dx; i++) {
            int64_t p = i / per_in, at = i % per_in;
            dx[i] = yk_maxpool_grad_at(argmax + p * per_out, h.out_grad.data + p * per_out, g, at / g.w, at % g.w, dx[i]);
        }
        int64_t bad = bit_mismatches(y, h.out.data, planes * per_out) + bit_mismatches(dx, h.in_grad[0].data, planes * per_in);
        if (bad) test_fail(__FILE__, __LINE__, "maxpool config %zu: %lld elements differ", k, (long long)bad);
        free(y);
        free(argmax);
        free(dx);
        harness_free(&h);
    }
    backend_destroy(b);
}

// Bins that overlap (7 -> 3, 5 -> 2), that do not (6 -> 3), global pooling, and upsampling: bit
// equal to the CPU, including the order overlapping bins add into one input's gradient.
TEST(cuda_avgpool_and_upsample_equal_cpu_bits) {
    const int cfg[][4] = {{7, 5, 3, 2}, {6, 6, 3, 3}, {5, 7, 1, 1}, {4, 4, 4, 4}, {3, 9, 2, 5}};
    Backend *b = backend_cpu_create(1);
    for (size_t k = 0; k < sizeof cfg / sizeof cfg[0]; k++) {
        int64_t hh = cfg[k][0], ww = cfg[k][1], oh = cfg[k][2], ow = cfg[k][3], planes = 6;
        OpSpec spec = {.kind = OP_ADAPTIVE_AVGPOOL2D, .n_in = 1, .in = {shape_nchw(2, 3, hh, ww)}};
        spec.p.adaptive.out_h = (int)oh;
        spec.p.adaptive.out_w = (int)ow;
        OpHarness h = {0};
        float *dx = NULL;
        EXPECT_OK(cpu_reference(b, &spec, &h, &dx));
        float *y = malloc((size_t)(planes * oh * ow) * sizeof(float));
        for (int64_t i = 0; i < planes * oh * ow; i++) {
            int64_t p = i / (oh * ow), o = i % (oh * ow);
            y[i] = yk_avgpool_at(h.in[0].data + p * hh * ww, hh, ww, oh, ow, o / ow, o % ow);
        }
        for (int64_t i = 0; i < planes * hh * ww && dx; i++) {
            int64_t p = i / (hh * ww), at = i % (hh * ww);
            dx[i] = yk_avgpool_grad_at(h.out_grad.data + p * oh * ow, hh, ww, oh, ow, at / ww, at % ww, dx[i]);
        }
        int64_t bad = bit_mismatches(y, h.out.data, planes * oh * ow) + bit_mismatches(dx, h.in_grad[0].data, planes * hh * ww);
        if (bad) test_fail(__FILE__, __LINE__, "avgpool %lldx%lld -> %lldx%lld: %lld elements differ", (long long)hh,
                           (long long)ww, (long long)oh, (long long)ow, (long long)bad);
        free(y);
        free(dx);
        harness_free(&h);
    }
    for (int s = 2; s <= 3; s++) {
        int64_t hh = 3, ww = 5, planes = 6, oh = hh * s, ow = ww * s;
        OpSpec spec = {.kind = OP_UPSAMPLE_NEAREST, .n_in = 1, .in = {shape_nchw(2, 3, hh, ww)}, .p.scale = s};
        OpHarness h = {0};
        float *dx = NULL;
        EXPECT_OK(cpu_reference(b, &spec, &h, &dx));
        float *y = malloc((size_t)(planes * oh * ow) * sizeof(float));
        for (int64_t i = 0; i < planes * oh * ow; i++) {
            int64_t p = i / (oh * ow), o = i % (oh * ow);
            y[i] = yk_upsample_at(h.in[0].data + p * hh * ww, ww, s, o / ow, o % ow);
        }
        for (int64_t i = 0; i < planes * hh * ww && dx; i++) {
            int64_t p = i / (hh * ww), at = i % (hh * ww);
            dx[i] += yk_upsample_grad_at(h.out_grad.data + p * oh * ow, ww, s, at / ww, at % ww);
        }
        int64_t bad = bit_mismatches(y, h.out.data, planes * oh * ow) + bit_mismatches(dx, h.in_grad[0].data, planes * hh * ww);
        if (bad) test_fail(__FILE__, __LINE__, "upsample x%d: %lld elements differ", s, (long long)bad);
        free(y);
        free(dx);
        harness_free(&h);
    }
    backend_destroy(b);
}

// Batch norm's statistics, normalisation and input gradient with the reductions done here in
// plain double loops (the GPU does them in k_reduce.cu's block trees): within rounding of the CPU
// op, in training and in eval, including the running statistics' update. With silu, the fused
// batchnorm2d_silu: SiLU on the output, and dL/dz recomputed from x in place of dy in backward.
static void check_batchnorm_formulas(bool silu) {
    Backend *b = backend_cpu_create(1);
    for (int training = 0; training <= 1; training++) {
        OpSpec spec = {.kind = silu ? OP_BATCHNORM2D_SILU : OP_BATCHNORM2D, .n_in = 1, .in = {shape_nchw(4, 3, 5, 6)}, .training = training,
                       .p.bn = {.eps = 1e-3f, .momentum = 0.03f}};
        int64_t n = 4, c = 3, hw = 30, count = n * hw;
        OpHarness h = {0};
        EXPECT_OK(harness_init(&h, &spec, b, 33));
        // Offset data, so a one-pass variance would lose digits; running stats away from 0 and 1.
        for (int64_t i = 0; i < tensor_numel(&h.in[0]); i++) h.in[0].data[i] = 3.0f + 0.5f * h.in[0].data[i];
        for (int64_t ch = 0; ch < c; ch++) {
            h.buffer[0].data[ch] = 2.5f + 0.1f * (float)ch;
            h.buffer[1].data[ch] = 0.2f + 0.05f * (float)ch;
        }
        float run_mean[3], run_var[3], mean[3], invstd[3];
        memcpy(run_mean, h.buffer[0].data, sizeof run_mean);
        memcpy(run_var, h.buffer[1].data, sizeof run_var);
        EXPECT_OK(harness_forward(&h));
        fill_uniform(&h.in_grad[0], 99);
        float *dx = copy_of(&h.in_grad[0]);
        float *y = malloc((size_t)tensor_numel(&h.out) * sizeof(float));
        fill_uniform(&h.param_grad[0], 98);
        fill_uniform(&h.param_grad[1], 97);
        float dgamma[3], dbeta[3];
        memcpy(dgamma, h.param_grad[0].data, sizeof dgamma);
        memcpy(dbeta, h.param_grad[1].data, sizeof dbeta);
        EXPECT_OK(backend_backward(&h.args));
        const float *x = h.in[0].data, *dy = h.out_grad.data, *gamma = h.param[0].data, *beta = h.param[1].data;
        for (int64_t ch = 0; ch < c && dx; ch++) {
            double sum = 0.0, sq = 0.0;
            for (int64_t k = 0; k < count; k++) sum += x[(k / hw * c + ch) * hw + k % hw];
            double m = sum / (double)count;
            for (int64_t k = 0; k < count; k++) {
                double d = (double)x[(k / hw * c + ch) * hw + k % hw] - m;
                sq += d * d;
            }
            yk_bn_stats(training, count, spec.p.bn.eps, spec.p.bn.momentum, m, sq / (double)count, &run_mean[ch],
                        &run_var[ch], &mean[ch], &invstd[ch]);
            double sum_dy = 0.0, sum_dy_xhat = 0.0;
            for (int64_t k = 0; k < count; k++) {
                int64_t at = (k / hw * c + ch) * hw + k % hw;
                y[at] = silu ? yk_bn_silu_at(x[at], mean[ch], invstd[ch], gamma[ch], beta[ch])
                             : yk_bn_normalise_at(x[at], mean[ch], invstd[ch], gamma[ch], beta[ch]);
                float g = silu ? yk_bn_silu_dz_at(x[at], dy[at], mean[ch], invstd[ch], gamma[ch], beta[ch]) : dy[at];
                sum_dy += g;
                sum_dy_xhat += (double)g * (double)((x[at] - mean[ch]) * invstd[ch]);
            }
            dgamma[ch] += (float)sum_dy_xhat;
            dbeta[ch] += (float)sum_dy;
            float mean_dy = training ? (float)(sum_dy / (double)count) : 0.0f;
            float mean_dy_xhat = training ? (float)(sum_dy_xhat / (double)count) : 0.0f;
            for (int64_t k = 0; k < count; k++) {
                int64_t at = (k / hw * c + ch) * hw + k % hw;
                float g = silu ? yk_bn_silu_dz_at(x[at], dy[at], mean[ch], invstd[ch], gamma[ch], beta[ch]) : dy[at];
                dx[at] += yk_bn_input_grad_at(x[at], g, mean[ch], invstd[ch], gamma[ch], mean_dy, mean_dy_xhat);
            }
        }
        int64_t bad = near_mismatches(run_mean, h.buffer[0].data, c, 1e-6f, 0) +
                      near_mismatches(run_var, h.buffer[1].data, c, 1e-6f, 0) +
                      near_mismatches(mean, h.saved[0].data, c, 1e-6f, 0) +
                      near_mismatches(invstd, h.saved[1].data, c, 1e-6f, 0) +
                      near_mismatches(y, h.out.data, tensor_numel(&h.out), 1e-5f, 1e-6f) +
                      near_mismatches(dx, h.in_grad[0].data, tensor_numel(&h.out), 1e-5f, 1e-6f) +
                      near_mismatches(dgamma, h.param_grad[0].data, c, 1e-5f, 1e-6f) +
                      near_mismatches(dbeta, h.param_grad[1].data, c, 1e-5f, 1e-6f);
        if (bad) test_fail(__FILE__, __LINE__, "%s (training %d): %lld values differ", op_name(spec.kind), training, (long long)bad);
        free(dx);
        free(y);
        harness_free(&h);
    }
    backend_destroy(b);
}

TEST(cuda_batchnorm_formulas_match_cpu) { check_batchnorm_formulas(false); }

TEST(cuda_batchnorm_silu_formulas_match_cpu) { check_batchnorm_formulas(true); }
