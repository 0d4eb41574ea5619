// conv2d and conv_transpose2d: gradient checks over the parameter space (stride, padding,
// dilation, groups, non-square kernels, batches that leave a partial sample group), thread-count
// invariance, and forward values against direct loops written here.
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/im2col.h"
#include "op_harness.h"
#include "test.h"

static OpSpec conv_spec(OpKind kind, Shape x, ConvParams c) {
    OpSpec s = {.kind = kind, .n_in = 1, .in = {x}, .training = 1};
    s.p.conv = c;
    return s;
}

// k x k, stride s, padding p, no dilation, one group.
static ConvParams square(int cout, int k, int s, int p, int has_bias) {
    return (ConvParams){cout, k, k, s, s, p, p, 1, 1, 1, has_bias};
}

static void check(OpSpec s) {
    gradcheck(&s, GRAD_DEFAULT);
    expect_thread_invariant(&s);
}

TEST(grad_conv2d_3x3_pad1_bias) { check(conv_spec(OP_CONV2D, shape_nchw(2, 3, 5, 6), square(4, 3, 1, 1, 1))); }

TEST(grad_conv2d_3x3_stride2_odd_size) {
    check(conv_spec(OP_CONV2D, shape_nchw(2, 2, 7, 9), square(3, 3, 2, 1, 1)));
}

TEST(grad_conv2d_1x1_no_bias) { check(conv_spec(OP_CONV2D, shape_nchw(2, 4, 3, 5), square(3, 1, 1, 0, 0))); }

TEST(grad_conv2d_groups2) {
    ConvParams c = square(4, 3, 1, 1, 1);
    c.groups = 2;
    check(conv_spec(OP_CONV2D, shape_nchw(2, 4, 5, 5), c));
}

TEST(grad_conv2d_depthwise) {
    ConvParams c = square(3, 3, 2, 1, 1);
    c.groups = 3;
    check(conv_spec(OP_CONV2D, shape_nchw(2, 3, 6, 7), c));
}

TEST(grad_conv2d_dilation2) {
    ConvParams c = square(2, 3, 1, 2, 0);
    c.dh = c.dw = 2;
    check(conv_spec(OP_CONV2D, shape_nchw(1, 2, 6, 7), c));
}

TEST(grad_conv2d_kernel_1x3) {
    ConvParams c = {.cout = 3, .kh = 1, .kw = 3, .sh = 1, .sw = 2, .ph = 0, .pw = 1, .dh = 1, .dw = 1, .groups = 1, .has_bias = 1};
    check(conv_spec(OP_CONV2D, shape_nchw(2, 2, 4, 7), c));
}

// Batch 3 fits in one sample group; one more than a group makes a second, partial group whose
// weight and bias partials must be added in.
TEST(grad_conv2d_batch3) { check(conv_spec(OP_CONV2D, shape_nchw(3, 2, 4, 4), square(2, 3, 1, 1, 1))); }

TEST(grad_conv2d_batch_partial_group) {
    check(conv_spec(OP_CONV2D, shape_nchw(CONV_SAMPLE_GROUP + 1, 2, 3, 3), square(2, 3, 1, 1, 1)));
}

TEST(grad_conv_transpose2d_batch_partial_group) {
    check(conv_spec(OP_CONV_TRANSPOSE2D, shape_nchw(CONV_SAMPLE_GROUP + 1, 2, 2, 2), square(2, 2, 2, 0, 1)));
}

TEST(grad_conv_transpose2d_k2_s2_bias) {
    check(conv_spec(OP_CONV_TRANSPOSE2D, shape_nchw(2, 3, 3, 4), square(2, 2, 2, 0, 1)));
}

TEST(grad_conv_transpose2d_k3_s2_p1) {
    check(conv_spec(OP_CONV_TRANSPOSE2D, shape_nchw(2, 2, 3, 4), square(3, 3, 2, 1, 0)));
}

TEST(grad_conv_transpose2d_groups2) {
    ConvParams c = square(4, 3, 1, 1, 1);
    c.groups = 2;
    check(conv_spec(OP_CONV_TRANSPOSE2D, shape_nchw(2, 4, 3, 3), c));
}

TEST(grad_conv_transpose2d_1x1) {
    check(conv_spec(OP_CONV_TRANSPOSE2D, shape_nchw(2, 3, 2, 3), square(2, 1, 1, 0, 1)));
}

// Batches of 1, 2 and 3 sample groups, the last ones partial, so that the two threads split the
// groups unevenly and the partials of different groups meet in the reduction.
TEST(conv_thread_invariant_batches) {
    int batches[] = {CONV_SAMPLE_GROUP + 1, 2 * CONV_SAMPLE_GROUP + 3, 3};
    for (int i = 0; i < 3; i++) {
        Shape x = shape_nchw(batches[i], 4, 5, 6);
        OpSpec s = conv_spec(OP_CONV2D, x, square(3, 3, 2, 1, 1));
        expect_thread_invariant(&s);
        s = conv_spec(OP_CONV2D, x, square(5, 1, 1, 0, 1));
        expect_thread_invariant(&s);
        ConvParams dw = square(4, 3, 1, 1, 0);
        dw.groups = 4;
        s = conv_spec(OP_CONV2D, x, dw);
        expect_thread_invariant(&s);
        s = conv_spec(OP_CONV_TRANSPOSE2D, x, square(2, 2, 2, 0, 1));
        expect_thread_invariant(&s);
    }
}

// Builds the harness and runs forward; reports a failure and returns -1.
static int setup(const OpSpec *s, OpHarness *h, Backend *b) {
    if (!b || harness_init(h, s, b, 3) != 0 || harness_forward(h) != 0) {
        test_fail(__FILE__, __LINE__, "%s: %s", op_name(s->kind), yolo_error());
        yolo_error_clear();
        return -1;
    }
    return 0;
}

// Each gradient in turn, computed with the other two NULL, has the bits it has when all three are.
static void compare_with_one_gradient(OpHarness *h) {
    Tensor *grads[3] = {&h->in_grad[0], &h->param_grad[0], &h->param_grad[1]};
    for (int keep = 0; keep < 3; keep++) {
        size_t bytes = (size_t)tensor_numel(grads[keep]) * sizeof(float);
        float *want = malloc(bytes);
        EXPECT(want != NULL);
        if (!want) return;
        EXPECT_OK(harness_backward(h));
        memcpy(want, grads[keep]->data, bytes);
        h->args.in_grad[0] = keep == 0 ? grads[0] : NULL;
        h->args.param_grad[0] = keep == 1 ? grads[1] : NULL;
        h->args.param_grad[1] = keep == 2 ? grads[2] : NULL;
        EXPECT_OK(harness_backward(h));
        EXPECT(memcmp(want, grads[keep]->data, bytes) == 0);
        h->args.in_grad[0] = grads[0];
        h->args.param_grad[0] = grads[1];
        h->args.param_grad[1] = grads[2];
        free(want);
    }
}

static void expect_null_grads_skipped(const OpSpec *s) {
    Backend *b = backend_cpu_create(2);
    OpHarness h = {0};
    if (setup(s, &h, b) == 0) compare_with_one_gradient(&h);
    harness_free(&h);
    backend_destroy(b);
}

// All with a bias, so that each of the three gradients can be the only one wanted.
TEST(conv_backward_skips_null_gradients) {
    Shape x = shape_nchw(CONV_SAMPLE_GROUP + 2, 2, 5, 5);
    OpSpec s = conv_spec(OP_CONV2D, x, square(3, 3, 2, 1, 1));
    expect_null_grads_skipped(&s);
    s = conv_spec(OP_CONV2D, x, square(3, 1, 1, 0, 1));
    expect_null_grads_skipped(&s);
    s = conv_spec(OP_CONV_TRANSPOSE2D, x, square(3, 2, 2, 0, 1));
    expect_null_grads_skipped(&s);
}

// Fills `want` with the exact output (in double) and `scale` with the sum of the |terms| of each.
typedef void (*Reference)(const OpHarness *h, double *want, double *scale);

// Forward with one thread within 1e-5 of the reference, relative to the sum of the |terms|: float
// error grows with the magnitude of what is summed, not with the (possibly cancelling) result.
static void expect_forward_matches(const OpSpec *s, Reference reference) {
    Backend *b = backend_cpu_create(1);
    OpHarness h = {0};
    if (setup(s, &h, b) == 0) {
        int64_t n = tensor_numel(&h.out);
        double *want = calloc((size_t)n, sizeof(double)), *scale = calloc((size_t)n, sizeof(double));
        EXPECT(want && scale);
        if (want && scale) {
            reference(&h, want, scale);
            for (int64_t i = 0; i < n; i++) EXPECT_NEAR(h.out.data[i], want[i], 1e-5 * scale[i]);
        }
        free(want);
        free(scale);
    }
    harness_free(&h);
    backend_destroy(b);
}

// out[n][co][oy][ox] = b[co] + sum over ci in co's group, i, j of
//   x[n][ci][oy*sh - ph + i*dh][ox*sw - pw + j*dw] * w[co][ci - group start][i][j]
static void direct_conv2d(const OpHarness *h, double *out, double *scale) {
    const ConvParams *p = &h->spec.p.conv;
    const Tensor *x = &h->in[0], *w = &h->param[0], *y = &h->out;
    int64_t cin_g = tensor_c(x) / p->groups, cout_g = p->cout / p->groups;
    int64_t H = tensor_h(x), W = tensor_w(x), OH = tensor_h(y), OW = tensor_w(y);
    for (int64_t n = 0; n < tensor_n(x); n++)
        for (int64_t co = 0; co < p->cout; co++)
            for (int64_t oy = 0; oy < OH; oy++)
                for (int64_t ox = 0; ox < OW; ox++) {
                    double sum = p->has_bias ? h->param[1].data[co] : 0.0, abs = fabs(sum);
                    for (int64_t ci = 0; ci < cin_g; ci++)
                        for (int i = 0; i < p->kh; i++)
                            for (int j = 0; j < p->kw; j++) {
                                int64_t iy = oy * p->sh - p->ph + i * p->dh, ix = ox * p->sw - p->pw + j * p->dw;
                                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                                double t = (double)x->data[((n * tensor_c(x) + co / cout_g * cin_g + ci) * H + iy) * W + ix] *
                                           w->data[((co * cin_g + ci) * p->kh + i) * p->kw + j];
                                sum += t;
                                abs += fabs(t);
                            }
                    int64_t o = ((n * p->cout + co) * OH + oy) * OW + ox;
                    out[o] = sum;
                    scale[o] = abs;
                }
}

TEST(conv2d_matches_direct_loops) {
    ConvParams c = {.cout = 4, .kh = 3, .kw = 2, .sh = 2, .sw = 1, .ph = 2, .pw = 1, .dh = 2, .dw = 3, .groups = 2, .has_bias = 1};
    OpSpec s = conv_spec(OP_CONV2D, shape_nchw(2, 6, 7, 8), c);
    expect_forward_matches(&s, direct_conv2d);
}

// Every input element scatters x * w into out[n][co][iy*sh - ph + i*dh][ix*sw - pw + j*dw] for
// each co of its group, where it lands inside the output.
static void scatter_conv_transpose2d(const OpHarness *h, double *out, double *scale) {
    const ConvParams *p = &h->spec.p.conv;
    const Tensor *x = &h->in[0], *w = &h->param[0], *y = &h->out;
    int64_t cin_g = tensor_c(x) / p->groups, cout_g = p->cout / p->groups;
    int64_t H = tensor_h(x), W = tensor_w(x), OH = tensor_h(y), OW = tensor_w(y);
    for (int64_t o = 0; o < tensor_numel(y); o++) {
        int64_t co = o / (OH * OW) % p->cout;
        out[o] = p->has_bias ? h->param[1].data[co] : 0.0;
        scale[o] = fabs(out[o]);
    }
    for (int64_t n = 0; n < tensor_n(x); n++)
        for (int64_t ci = 0; ci < tensor_c(x); ci++)
            for (int64_t iy = 0; iy < H; iy++)
                for (int64_t ix = 0; ix < W; ix++)
                    for (int64_t cog = 0; cog < cout_g; cog++)
                        for (int i = 0; i < p->kh; i++)
                            for (int j = 0; j < p->kw; j++) {
                                int64_t oy = iy * p->sh - p->ph + i * p->dh, ox = ix * p->sw - p->pw + j * p->dw;
                                if (oy < 0 || oy >= OH || ox < 0 || ox >= OW) continue;
                                int64_t co = ci / cin_g * cout_g + cog;
                                double t = (double)x->data[((n * tensor_c(x) + ci) * H + iy) * W + ix] *
                                           w->data[((ci * cout_g + cog) * p->kh + i) * p->kw + j];
                                int64_t o = ((n * p->cout + co) * OH + oy) * OW + ox;
                                out[o] += t;
                                scale[o] += fabs(t);
                            }
}

TEST(conv_transpose2d_matches_scatter) {
    ConvParams c = {.cout = 4, .kh = 3, .kw = 2, .sh = 2, .sw = 3, .ph = 1, .pw = 0, .dh = 2, .dw = 1, .groups = 2, .has_bias = 1};
    OpSpec s = conv_spec(OP_CONV_TRANSPOSE2D, shape_nchw(2, 4, 4, 3), c);
    expect_forward_matches(&s, scatter_conv_transpose2d);
}
