// The packed convolution (cpu_conv2d's fast path) against the plain im2col + BLAS path it must
// equal up to rounding: forward, input gradient and weight and bias gradients, over the cases
// where the packed code has edges: tiles of 16 output pixels that cross output rows or end past
// the plane, weight panels of 6 rows that end past cout, window rows past one KC block of 256,
// stride 2, dilation, padding too large for the packed input gradient, and odd batches.
#include <math.h>
#include <stdlib.h>

#include "backend/cpu/cpu_ops.h"
#include "backend/cpu/packed_conv.h"
#include "backend/cpu/tile_kernel.h"
#include "core/rng.h"
#include "op_harness.h"
#include "test.h"

typedef struct {
    int n, cin, h, w;
    ConvParams c;
} Case;

static ConvParams conv(int cout, int kh, int kw, int s, int p, int d, int bias) {
    return (ConvParams){cout, kh, kw, s, s, p, p, d, d, 1, bias};
}

// |got - want| <= 1e-5 * the largest |want| of the tensor: both sum the same products in
// different orders, so their difference is rounding, which scales with the magnitudes summed.
static void expect_close(const Tensor *got, const Tensor *want, const char *what, const Case *c) {
    int64_t n = tensor_numel(want);
    double top = 0.0;
    for (int64_t i = 0; i < n; i++) top = fmax(top, fabs(want->data[i]));
    for (int64_t i = 0; i < n; i++)
        if (!(fabs(got->data[i] - want->data[i]) <= 1e-5 * top)) {
            test_fail(__FILE__, __LINE__, "%s of conv %dx%dx%d -> %d k%dx%d s%d p%d d%d: element %lld is %.9g, plain %.9g",
                      what, c->cin, c->h, c->w, c->c.cout, c->c.kh, c->c.kw, c->c.sh, c->c.ph, c->c.dh, (long long)i,
                      got->data[i], want->data[i]);
            return;
        }
}

static void expect_packed_matches_plain(const Case *c, int threads) {
    Backend *packed = backend_cpu_create(threads), *plain = backend_cpu_create(threads);
    EXPECT(packed && plain);
    if (!packed || !plain) return;
    plain->op[OP_CONV2D] = cpu_conv2d_im2col;
    OpSpec s = {.kind = OP_CONV2D, .n_in = 1, .in = {shape_nchw(c->n, c->cin, c->h, c->w)}, .training = 1};
    s.p.conv = c->c;
    OpHarness a = {0}, b = {0};
    bool ok = harness_init(&a, &s, packed, 7) == 0 && harness_init(&b, &s, plain, 7) == 0 && harness_forward(&a) == 0 &&
              harness_forward(&b) == 0 && harness_backward(&a) == 0 && harness_backward(&b) == 0;
    EXPECT(ok);
    if (ok) {
        expect_close(&a.out, &b.out, "output", c);
        expect_close(&a.in_grad[0], &b.in_grad[0], "input gradient", c);
        expect_close(&a.param_grad[0], &b.param_grad[0], "weight gradient", c);
        if (c->c.has_bias) expect_close(&a.param_grad[1], &b.param_grad[1], "bias gradient", c);
    }
    harness_free(&a);
    harness_free(&b);
    backend_destroy(packed);
    backend_destroy(plain);
}

TEST(conv_packed_matches_plain) {
    // Each takes the packed path (cpu_conv2d's packed_pays: at least 32 rows and 128 window
    // entries) in the forward, the input gradient and the weight gradient, but where noted.
    const Case cases[] = {
        {2, 32, 20, 20, conv(64, 3, 3, 1, 1, 1, 0)},  // yolov8n's 20x20 layers: every tile crosses a row
        {3, 33, 13, 11, conv(37, 3, 3, 1, 1, 1, 1)},  // odd sizes, cout 37 (a 1-row panel), bias
        {2, 40, 10, 10, conv(32, 3, 3, 1, 1, 1, 0)},  // K = 360 > one KC block; 100 pixels = 6 tiles + 4
        {2, 30, 33, 35, conv(32, 3, 3, 2, 1, 1, 0)},  // stride 2 (plain input gradient) over odd sizes,
                                                      // 306 pixels > one block of the weight gradient
        {2, 32, 16, 18, conv(33, 3, 3, 2, 1, 1, 1)},  // stride 2 with even sizes
        {1, 32, 3, 4, conv(32, 3, 3, 1, 1, 1, 0)},    // a plane smaller than one tile
        {2, 32, 9, 12, conv(35, 3, 3, 1, 2, 2, 0)},   // dilation 2
        {2, 32, 9, 9, conv(32, 3, 3, 1, 0, 1, 1)},    // no padding: the input gradient pads by 2
        {2, 32, 9, 9, conv(32, 3, 3, 1, 3, 1, 0)},    // padding 3 > k - 1: plain input gradient
        {2, 90, 11, 13, conv(48, 1, 3, 1, 0, 1, 0)},  // a 1x3 window
        {2, 32, 12, 12, conv(40, 5, 5, 1, 2, 1, 0)},  // 5x5
        {2, 40, 12, 12, conv(16, 3, 3, 1, 1, 1, 0)},  // 16 rows: only the input gradient is packed
        {CONV_SAMPLE_GROUP + 1, 32, 7, 8, conv(32, 3, 3, 1, 1, 1, 1)}, // a partial sample group
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        expect_packed_matches_plain(&cases[i], 1);
        expect_packed_matches_plain(&cases[i], 2);
    }
}

// packed_conv itself against a direct loop in double, including accumulation into an output that
// already holds values (the input gradient adds into it). The conv2d comparison above would pass
// on a CPU without AVX2 by running the plain path twice; this one runs only where the tile runs.
TEST(packed_conv_matches_direct_loops) {
    if (!tile_kernel_available()) return; // the packed path is never taken on this CPU
    ConvParams p = conv(11, 3, 3, 2, 1, 1, 0);
    int64_t cin = 30, h = 17, w = 19, oh = (h + 2 - 3) / 2 + 1, ow = (w + 2 - 3) / 2 + 1;
    ColGeom g = col_geom(&p, cin, h, w, oh, ow);
    int64_t k = col_rows(&g), plane = oh * ow;
    float *x = malloc(sizeof(float) * (size_t)(cin * h * w)), *wt = malloc(sizeof(float) * (size_t)(p.cout * k));
    float *out = malloc(sizeof(float) * (size_t)(p.cout * plane));
    float *packed = aligned_alloc(64, sizeof(float) * (size_t)((packed_weight_floats(p.cout, k) + 15) / 16 * 16));
    float *scratch = aligned_alloc(64, sizeof(float) * (size_t)((packed_scratch_floats(&g) + 15) / 16 * 16));
    for (int64_t i = 0; i < cin * h * w; i++) x[i] = rng_uniform(1, rng_stream(RNG_TEST, 60, 0), (uint64_t)i) - 0.5f;
    for (int64_t i = 0; i < p.cout * k; i++) wt[i] = rng_uniform(1, rng_stream(RNG_TEST, 60, 1), (uint64_t)i) - 0.5f;
    for (int64_t i = 0; i < p.cout * plane; i++) out[i] = (float)(i % 5);
    packed_weights(wt, p.cout, k, packed);
    packed_conv(&g, packed, p.cout, x, out, true, scratch);
    for (int64_t co = 0; co < p.cout; co++)
        for (int64_t oy = 0; oy < oh; oy++)
            for (int64_t ox = 0; ox < ow; ox++) {
                double want = (double)((co * plane + oy * ow + ox) % 5);
                for (int64_t ci = 0; ci < cin; ci++)
                    for (int i = 0; i < 3; i++)
                        for (int j = 0; j < 3; j++) {
                            int64_t iy = oy * 2 - 1 + i, ix = ox * 2 - 1 + j;
                            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                            want += (double)x[(ci * h + iy) * w + ix] * (double)wt[(co * cin + ci) * 9 + i * 3 + j];
                        }
                EXPECT_NEAR(out[co * plane + oy * ow + ox], want, 1e-4);
            }
    free(x);
    free(wt);
    free(out);
    free(packed);
    free(scratch);
}

// packed_weight_grad against a direct loop in double, adding into a gradient that already holds
// values; stride 2 and a plane of 306 pixels (two blocks of up to 256), K = 279 (17 groups of 16 and 7).
TEST(packed_weight_grad_matches_direct_loops) {
    if (!tile_kernel_available()) return; // the packed path is never taken on this CPU
    ConvParams p = conv(8, 3, 3, 2, 1, 1, 0);
    int64_t cin = 31, h = 33, w = 35, oh = (h + 2 - 3) / 2 + 1, ow = (w + 2 - 3) / 2 + 1;
    ColGeom g = col_geom(&p, cin, h, w, oh, ow);
    int64_t k = col_rows(&g), plane = oh * ow;
    float *x = malloc(sizeof(float) * (size_t)(cin * h * w)), *dy = malloc(sizeof(float) * (size_t)(p.cout * plane));
    float *dw = malloc(sizeof(float) * (size_t)(p.cout * k));
    float *scratch = aligned_alloc(64, sizeof(float) * (size_t)((packed_weight_grad_scratch_floats(p.cout) + 15) / 16 * 16));
    for (int64_t i = 0; i < cin * h * w; i++) x[i] = rng_uniform(1, rng_stream(RNG_TEST, 61, 0), (uint64_t)i) - 0.5f;
    for (int64_t i = 0; i < p.cout * plane; i++) dy[i] = rng_uniform(1, rng_stream(RNG_TEST, 61, 1), (uint64_t)i) - 0.5f;
    for (int64_t i = 0; i < p.cout * k; i++) dw[i] = (float)(i % 3);
    packed_weight_grad(&g, dy, p.cout, x, dw, scratch);
    for (int64_t co = 0; co < p.cout; co++)
        for (int64_t ci = 0; ci < cin; ci++)
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++) {
                    int64_t e = (co * cin + ci) * 9 + i * 3 + j;
                    double want = (double)(e % 3);
                    for (int64_t oy = 0; oy < oh; oy++)
                        for (int64_t ox = 0; ox < ow; ox++) {
                            int64_t iy = oy * 2 - 1 + i, ix = ox * 2 - 1 + j;
                            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                            want += (double)x[(ci * h + iy) * w + ix] * (double)dy[co * plane + oy * ow + ox];
                        }
                    EXPECT_NEAR(dw[e], want, 1e-4);
                }
    free(x);
    free(dy);
    free(dw);
    free(scratch);
}
