// Gradient checks, thread-count invariance and value checks of the layer ops: batch norm,
// pooling, linear, dropout, softmax and log-softmax.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "op_harness.h"
#include "test.h"

static OpSpec one_input(OpKind kind, Shape s) { return (OpSpec){.kind = kind, .n_in = 1, .in = {s}, .training = 1}; }

static void check_grad_and_threads(const OpSpec *s, GradTolerance tol) {
    gradcheck(s, tol);
    expect_thread_invariant(s);
}

// --- batch norm ---

static OpSpec bn_spec(Shape s, int training) {
    OpSpec spec = one_input(OP_BATCHNORM2D, s);
    spec.p.bn = (BatchNormParams){.eps = 1e-5f, .momentum = 0.1f};
    spec.training = training;
    return spec;
}

TEST(grad_batchnorm2d_train) {
    OpSpec s = bn_spec(shape_nchw(2, 3, 3, 5), 1);
    // Every output depends on every input of its channel through the batch mean and variance, so
    // one finite difference sums the fp32 rounding of all 30 outputs of the channel. Computing the
    // statistics in double keeps that noise near 2e-5, well inside the default tolerance, so no
    // looser one is needed; a backward that ignored the statistics is off by far more.
    check_grad_and_threads(&s, GRAD_DEFAULT);
}

TEST(grad_batchnorm2d_eval) {
    OpSpec s = bn_spec(shape_nchw(2, 3, 3, 5), 0);
    check_grad_and_threads(&s, GRAD_DEFAULT);
}

TEST(batchnorm2d_train_normalises_and_updates_running_stats) {
    Backend *b = backend_cpu_create(1);
    OpSpec s = bn_spec(shape_nchw(2, 3, 3, 5), 1);
    OpHarness h = {0};
    EXPECT_OK(harness_init(&h, &s, b, 5));
    const int64_t n = 2, c = 3, hw = 15, count = n * hw;
    for (int64_t ch = 0; ch < c; ch++) {
        h.param[0].data[ch] = 1.0f;
        h.param[1].data[ch] = 0.0f;
        h.buffer[0].data[ch] = 0.5f * (float)ch;
        h.buffer[1].data[ch] = 1.0f + (float)ch;
    }
    EXPECT_OK(harness_forward(&h));
    for (int64_t ch = 0; ch < c; ch++) {
        double sx = 0, sxx = 0, sy = 0, syy = 0;
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < hw; j++) {
                double x = h.in[0].data[(i * c + ch) * hw + j], y = h.out.data[(i * c + ch) * hw + j];
                sx += x, sxx += x * x, sy += y, syy += y * y;
            }
        double mean = sx / count, var_unbiased = (sxx - sx * mean) / (count - 1);
        EXPECT_NEAR(sy / count, 0.0, 1e-6);
        EXPECT_NEAR(syy / count, 1.0, 1e-3);
        EXPECT_NEAR(h.buffer[0].data[ch], 0.9 * 0.5 * ch + 0.1 * mean, 1e-6);
        EXPECT_NEAR(h.buffer[1].data[ch], 0.9 * (1.0 + ch) + 0.1 * var_unbiased, 1e-6);
    }
    harness_free(&h);
    backend_destroy(b);
}

TEST(batchnorm2d_eval_uses_running_stats) {
    Backend *b = backend_cpu_create(1);
    OpSpec s = bn_spec(shape_nchw(2, 3, 3, 5), 0);
    OpHarness h = {0};
    EXPECT_OK(harness_init(&h, &s, b, 6));
    const float mean[3] = {0.25f, -0.5f, 1.0f}, var[3] = {0.5f, 2.0f, 4.0f};
    for (int ch = 0; ch < 3; ch++) {
        h.buffer[0].data[ch] = mean[ch];
        h.buffer[1].data[ch] = var[ch];
    }
    EXPECT_OK(harness_forward(&h));
    for (int64_t i = 0; i < tensor_numel(&h.out); i++) {
        int ch = (int)(i / 15 % 3);
        double want = (h.in[0].data[i] - mean[ch]) / sqrt(var[ch] + 1e-5) * h.param[0].data[ch] + h.param[1].data[ch];
        EXPECT_NEAR(h.out.data[i], want, 1e-5);
    }
    for (int ch = 0; ch < 3; ch++) EXPECT(h.buffer[0].data[ch] == mean[ch] && h.buffer[1].data[ch] == var[ch]);
    harness_free(&h);
    backend_destroy(b);
}

// Planes of 17 x 19 (not a multiple of the kernel's 8 summation lanes) and a mean far from zero:
// the statistics must still match a two-pass double reference to within float rounding, and be
// the same bits for 1 and 2 threads.
TEST(batchnorm2d_statistics_of_offset_data_with_odd_planes) {
    OpSpec s = bn_spec(shape_nchw(3, 4, 17, 19), 1);
    expect_thread_invariant(&s);
    Backend *b = backend_cpu_create(2);
    OpHarness h = {0};
    EXPECT_OK(harness_init(&h, &s, b, 16));
    const int64_t n = 3, c = 4, hw = 17 * 19, count = n * hw;
    for (int64_t i = 0; i < tensor_numel(&h.in[0]); i++) h.in[0].data[i] = 1000.0f + 0.01f * h.in[0].data[i];
    EXPECT_OK(harness_forward(&h));
    for (int64_t ch = 0; ch < c; ch++) {
        double sum = 0, sq = 0;
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < hw; j++) sum += h.in[0].data[(i * c + ch) * hw + j];
        double mean = sum / count;
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < hw; j++) {
                double d = h.in[0].data[(i * c + ch) * hw + j] - mean;
                sq += d * d;
            }
        double invstd = 1.0 / sqrt(sq / count + 1e-5);
        EXPECT_NEAR(h.saved[0].data[ch], mean, 1e-7 * mean);
        EXPECT_NEAR(h.saved[1].data[ch], invstd, 1e-6 * invstd);
    }
    harness_free(&h);
    backend_destroy(b);
}

TEST(batchnorm2d_train_rejects_single_value_per_channel) {
    Backend *b = backend_cpu_create(1);
    OpSpec s = bn_spec(shape_nchw(1, 2, 1, 1), 1);
    OpHarness h = {0};
    EXPECT_OK(harness_init(&h, &s, b, 7));
    EXPECT_FAILS_WITH(harness_forward(&h), "more than one value per channel");
    harness_free(&h);
    backend_destroy(b);
}

// --- max pooling ---

static OpSpec maxpool_spec(Shape s, int k, int stride, int pad) {
    OpSpec spec = one_input(OP_MAXPOOL2D, s);
    spec.p.pool = (PoolParams){.kh = k, .kw = k, .sh = stride, .sw = stride, .ph = pad, .pw = pad};
    // Distinct values 0.05 apart: no ties, and the gradcheck step of 0.01 cannot swap two.
    spec.distinct_gap = 0.05f;
    return spec;
}

TEST(grad_maxpool2d_k5_s1_p2) {
    OpSpec s = maxpool_spec(shape_nchw(2, 3, 5, 7), 5, 1, 2);
    check_grad_and_threads(&s, GRAD_DEFAULT);
}

TEST(grad_maxpool2d_k3_s2_p1) {
    OpSpec s = maxpool_spec(shape_nchw(2, 3, 5, 7), 3, 2, 1);
    check_grad_and_threads(&s, GRAD_DEFAULT);
}

TEST(grad_maxpool2d_k2_s2_p0) {
    OpSpec s = maxpool_spec(shape_nchw(2, 3, 5, 7), 2, 2, 0);
    check_grad_and_threads(&s, GRAD_DEFAULT);
}

TEST(maxpool2d_padding_is_minus_infinity) {
    Backend *b = backend_cpu_create(1);
    const int cfg[2][3] = {{5, 1, 2}, {3, 2, 1}};
    for (int k = 0; k < 2; k++) {
        OpSpec s = maxpool_spec(shape_nchw(1, 2, 4, 5), cfg[k][0], cfg[k][1], cfg[k][2]);
        s.distinct_gap = 0;
        OpHarness h = {0};
        EXPECT_OK(harness_init(&h, &s, b, 8));
        for (int64_t i = 0; i < tensor_numel(&h.in[0]); i++) h.in[0].data[i] = -1.0f - fabsf(h.in[0].data[i]);
        EXPECT_OK(harness_forward(&h));
        // Zero padding would make every border window return 0.
        for (int64_t i = 0; i < tensor_numel(&h.out); i++) EXPECT(h.out.data[i] <= -1.0f);
        harness_free(&h);
    }
    backend_destroy(b);
}

TEST(maxpool2d_ties_go_to_first_max) {
    Backend *b = backend_cpu_create(1);
    OpSpec s = maxpool_spec(shape_nchw(1, 1, 4, 4), 2, 2, 0);
    OpHarness h = {0};
    EXPECT_OK(harness_init(&h, &s, b, 9));
    for (int i = 0; i < 16; i++) h.in[0].data[i] = 1.0f;
    for (int i = 0; i < 4; i++) h.out_grad.data[i] = 1.0f;
    EXPECT_OK(harness_forward(&h));
    EXPECT_OK(harness_backward(&h));
    // Each 2x2 window sends its gradient to its top-left element, the first in row-major order.
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++) EXPECT(h.in_grad[0].data[y * 4 + x] == ((y % 2 == 0 && x % 2 == 0) ? 1.0f : 0.0f));
    harness_free(&h);
    backend_destroy(b);
}

// The kernel's separable search against the plain row-major scan of every window, on inputs full
// of ties (values from {-1, 0, 1}), with -inf runs and NaNs: the same output bits and the same
// input gradient bits (gradients are added in output order in both), for 1 and 2 threads and
// for windows of every shape the op allows.
static int64_t reference_argmax(const float *plane, int64_t h, int64_t w, int64_t oy, int64_t ox, const PoolParams *q) {
    int64_t best = -1;
    for (int64_t y = oy * q->sh - q->ph; y < oy * q->sh - q->ph + q->kh; y++)
        for (int64_t x = ox * q->sw - q->pw; x < ox * q->sw - q->pw + q->kw; x++) {
            if (y < 0 || y >= h || x < 0 || x >= w) continue;
            float v = plane[y * w + x];
            if (best < 0 || v > plane[best] || (isnan(v) && !isnan(plane[best]))) best = y * w + x;
        }
    return best;
}

TEST(maxpool2d_matches_row_major_scan_with_ties_and_nans) {
    const PoolParams cfg[] = {{5, 5, 1, 1, 2, 2}, {3, 3, 2, 2, 1, 1}, {2, 2, 2, 2, 0, 0},
                              {3, 5, 1, 2, 1, 2}, {4, 2, 3, 1, 2, 0}, {1, 3, 1, 1, 0, 1}};
    for (size_t k = 0; k < sizeof cfg / sizeof cfg[0]; k++)
        for (int threads = 1; threads <= 2; threads++) {
            Backend *b = backend_cpu_create(threads);
            OpSpec s = one_input(OP_MAXPOOL2D, shape_nchw(2, 3, 7, 9));
            s.p.pool = cfg[k];
            OpHarness h = {0};
            EXPECT_OK(harness_init(&h, &s, b, 17));
            int64_t h_in = 7, w_in = 9, oh = tensor_h(&h.out), ow = tensor_w(&h.out), planes = 6;
            float *x = h.in[0].data;
            for (int64_t i = 0; i < tensor_numel(&h.in[0]); i++) x[i] = roundf(x[i]);
            for (int64_t i = 0; i < w_in * 3; i++) x[63 + i] = -INFINITY; // plane 1: three rows of -inf
            x[2 * 63 + 10] = NAN;                                           // plane 2: two NaNs
            x[2 * 63 + 12] = NAN;
            EXPECT_OK(harness_forward(&h));
            EXPECT_OK(harness_backward(&h));
            float *want_dx = calloc((size_t)tensor_numel(&h.in[0]), sizeof(float));
            int64_t bad = 0;
            for (int64_t p = 0; p < planes; p++)
                for (int64_t oy = 0; oy < oh; oy++)
                    for (int64_t ox = 0; ox < ow; ox++) {
                        const float *plane = x + p * h_in * w_in;
                        int64_t at = p * h_in * w_in + reference_argmax(plane, h_in, w_in, oy, ox, &cfg[k]);
                        int64_t o = (p * oh + oy) * ow + ox;
                        bad += memcmp(&x[at], &h.out.data[o], sizeof(float)) != 0;
                        want_dx[at] += h.out_grad.data[o];
                    }
            bad += memcmp(want_dx, h.in_grad[0].data, (size_t)tensor_numel(&h.in[0]) * sizeof(float)) != 0;
            if (bad)
                test_fail(__FILE__, __LINE__, "maxpool2d config %zu, %d threads: %lld mismatches", k, threads,
                          (long long)bad);
            free(want_dx);
            harness_free(&h);
            backend_destroy(b);
        }
}

// --- adaptive average pooling ---

static OpSpec avgpool_spec(Shape s, int out_h, int out_w) {
    OpSpec spec = one_input(OP_ADAPTIVE_AVGPOOL2D, s);
    spec.p.adaptive.out_h = out_h;
    spec.p.adaptive.out_w = out_w;
    return spec;
}

TEST(grad_adaptive_avgpool2d_1x1) {
    OpSpec s = avgpool_spec(shape_nchw(2, 3, 5, 7), 1, 1);
    check_grad_and_threads(&s, GRAD_DEFAULT);
}

TEST(grad_adaptive_avgpool2d_2x3) {
    OpSpec s = avgpool_spec(shape_nchw(2, 3, 5, 7), 2, 3);
    check_grad_and_threads(&s, GRAD_DEFAULT);
}

TEST(adaptive_avgpool2d_bin_edges) {
    Backend *b = backend_cpu_create(1);
    OpSpec s = avgpool_spec(shape_nchw(1, 1, 5, 7), 2, 3);
    OpHarness h = {0};
    EXPECT_OK(harness_init(&h, &s, b, 10));
    EXPECT_OK(harness_forward(&h));
    // PyTorch's bins for 5 -> 2 and 7 -> 3, written out by hand; they overlap.
    const int rows[2][2] = {{0, 3}, {2, 5}}, cols[3][2] = {{0, 3}, {2, 5}, {4, 7}};
    for (int oy = 0; oy < 2; oy++)
        for (int ox = 0; ox < 3; ox++) {
            double sum = 0;
            for (int y = rows[oy][0]; y < rows[oy][1]; y++)
                for (int x = cols[ox][0]; x < cols[ox][1]; x++) sum += h.in[0].data[y * 7 + x];
            EXPECT_NEAR(h.out.data[oy * 3 + ox], sum / 9.0, 1e-6);
        }
    harness_free(&h);
    backend_destroy(b);
}

// --- linear ---

// 20 samples and 18 outputs: more than one row block each way, so two threads split the work.
static OpSpec linear_spec(int has_bias) {
    OpSpec spec = one_input(OP_LINEAR, shape_2d(20, 5));
    spec.p.linear.out_features = 18;
    spec.p.linear.has_bias = has_bias;
    return spec;
}

TEST(grad_linear_bias) {
    OpSpec s = linear_spec(1);
    check_grad_and_threads(&s, GRAD_DEFAULT);
}

TEST(grad_linear_no_bias) {
    OpSpec s = linear_spec(0);
    check_grad_and_threads(&s, GRAD_DEFAULT);
}

TEST(linear_values) {
    Backend *b = backend_cpu_create(2);
    OpSpec s = linear_spec(1);
    OpHarness h = {0};
    EXPECT_OK(harness_init(&h, &s, b, 11));
    EXPECT_OK(harness_forward(&h));
    for (int n = 0; n < 20; n++)
        for (int o = 0; o < 18; o++) {
            double want = h.param[1].data[o];
            for (int i = 0; i < 5; i++) want += (double)h.in[0].data[n * 5 + i] * h.param[0].data[o * 5 + i];
            EXPECT_NEAR(h.out.data[n * 18 + o], want, 1e-5);
        }
    harness_free(&h);
    backend_destroy(b);
}

// --- dropout ---

static OpSpec dropout_spec(Shape s, float p, int training) {
    OpSpec spec = one_input(OP_DROPOUT, s);
    spec.p.drop_p = p;
    spec.training = training;
    return spec;
}

TEST(grad_dropout_train) {
    OpSpec s = dropout_spec(shape_nchw(2, 3, 5, 7), 0.3f, 1);
    check_grad_and_threads(&s, GRAD_DEFAULT);
}

TEST(dropout_keeps_and_scales) {
    Backend *b = backend_cpu_create(2);
    const float p = 0.3f, scale = 1.0f / (1.0f - p);
    OpSpec s = dropout_spec(shape_nchw(2, 4, 16, 16), p, 1);
    OpHarness h = {0};
    EXPECT_OK(harness_init(&h, &s, b, 12));
    EXPECT_OK(harness_forward(&h));
    EXPECT_OK(harness_backward(&h));
    int64_t n = tensor_numel(&h.out), kept = 0;
    for (int64_t i = 0; i < n; i++) {
        int keep = h.out.data[i] != 0.0f;
        kept += keep;
        EXPECT(h.out.data[i] == (keep ? h.in[0].data[i] * scale : 0.0f));
        EXPECT(h.in_grad[0].data[i] == (keep ? h.out_grad.data[i] * scale : 0.0f));
    }
    // 2048 draws: the kept fraction's standard deviation is about 0.01.
    EXPECT_NEAR((double)kept / (double)n, 1.0 - p, 0.05);
    harness_free(&h);
    backend_destroy(b);
}

TEST(dropout_is_identity_in_eval) {
    Backend *b = backend_cpu_create(1);
    OpSpec s = dropout_spec(shape_nchw(2, 3, 5, 7), 0.3f, 0);
    OpHarness h = {0};
    EXPECT_OK(harness_init(&h, &s, b, 13));
    EXPECT_OK(harness_forward(&h));
    EXPECT_OK(harness_backward(&h));
    size_t bytes = (size_t)tensor_numel(&h.out) * sizeof(float);
    EXPECT(memcmp(h.out.data, h.in[0].data, bytes) == 0);
    EXPECT(memcmp(h.in_grad[0].data, h.out_grad.data, bytes) == 0);
    harness_free(&h);
    backend_destroy(b);
}

// --- softmax ---

TEST(grad_softmax) {
    OpSpec s = one_input(OP_SOFTMAX, shape_2d(4, 7));
    check_grad_and_threads(&s, GRAD_DEFAULT);
}

TEST(grad_log_softmax) {
    OpSpec s = one_input(OP_LOG_SOFTMAX, shape_2d(4, 7));
    check_grad_and_threads(&s, GRAD_DEFAULT);
}

// Rows of probabilities sum to 1, also for logits whose exp overflows fp32 without the max shift.
TEST(softmax_rows_sum_to_one) {
    Backend *b = backend_cpu_create(1);
    const OpKind kinds[2] = {OP_SOFTMAX, OP_LOG_SOFTMAX};
    for (int k = 0; k < 2; k++) {
        OpSpec s = one_input(kinds[k], shape_2d(3, 6));
        OpHarness h = {0};
        EXPECT_OK(harness_init(&h, &s, b, 14));
        for (int j = 0; j < 6; j++) h.in[0].data[2 * 6 + j] = 1000.0f + (float)j;
        EXPECT_OK(harness_forward(&h));
        for (int r = 0; r < 3; r++) {
            double sum = 0;
            for (int j = 0; j < 6; j++) {
                float v = h.out.data[r * 6 + j];
                sum += kinds[k] == OP_SOFTMAX ? v : exp(v);
            }
            EXPECT_NEAR(sum, 1.0, 1e-5);
        }
        harness_free(&h);
    }
    backend_destroy(b);
}

// --- accumulation ---

static void expect_doubled(const Tensor *once, const Tensor *twice, const char *op) {
    for (int64_t i = 0; i < tensor_numel(once); i++)
        if (!(fabsf(twice->data[i] - 2.0f * once->data[i]) <= 1e-5f * (1.0f + fabsf(once->data[i])))) {
            test_fail(__FILE__, __LINE__, "%s: a second backward did not add to the gradient (element %lld)", op,
                      (long long)i);
            return;
        }
}

// harness_backward zeroes the gradients first, so the gradchecks cannot tell "+=" from "=".
// A second backward on the same gradients must give twice the first. Not bit for bit: pooling
// adds overlapping windows' terms into an input gradient one at a time, so the second pass rounds
// differently; an overwriting kernel would give once, not twice.
TEST(nn_ops_backward_accumulates) {
    OpSpec specs[] = {bn_spec(shape_nchw(2, 3, 3, 5), 1), bn_spec(shape_nchw(2, 3, 3, 5), 0),
                      maxpool_spec(shape_nchw(2, 3, 5, 7), 3, 2, 1), avgpool_spec(shape_nchw(2, 3, 5, 7), 2, 3),
                      linear_spec(1), dropout_spec(shape_nchw(2, 3, 5, 7), 0.3f, 1),
                      one_input(OP_SOFTMAX, shape_2d(4, 7)), one_input(OP_LOG_SOFTMAX, shape_2d(4, 7))};
    Backend *b = backend_cpu_create(2);
    for (size_t k = 0; k < sizeof specs / sizeof specs[0]; k++) {
        OpHarness once = {0}, twice = {0};
        EXPECT_OK(harness_init(&once, &specs[k], b, 15));
        EXPECT_OK(harness_init(&twice, &specs[k], b, 15));
        EXPECT_OK(harness_forward(&once));
        EXPECT_OK(harness_backward(&once));
        EXPECT_OK(harness_forward(&twice));
        EXPECT_OK(harness_backward(&twice));
        EXPECT_OK(backend_backward(&twice.args));
        const char *name = op_name(specs[k].kind);
        expect_doubled(&once.in_grad[0], &twice.in_grad[0], name);
        for (int j = 0; j < once.shapes.n_params; j++) expect_doubled(&once.param_grad[j], &twice.param_grad[j], name);
        harness_free(&once);
        harness_free(&twice);
    }
    backend_destroy(b);
}
