// The direct convolution (cpu_conv2d's fast path) against the plain im2col + BLAS path it must
// equal up to rounding: forward, input gradient and weight and bias gradients, over the cases
// where the direct code has edges: tiles of 6 output pixels that cross output rows or end past
// the plane, panels of 16 channels that end past cout, stride 2, dilation, padding that the input
// gradient cannot take, and odd batches, and the strided input gradient's parity classes; then
// direct_conv, direct_weight_grad and direct_input_grad against direct loops.
#include <math.h>
#include <stdlib.h>

#include "backend/cpu/cpu_ops.h"
#include "backend/cpu/direct_conv.h"
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
            test_fail(__FILE__, __LINE__,
                      "%s of conv %dx%dx%d -> %d k%dx%d s%dx%d p%dx%d d%d: element %lld is %.9g, plain %.9g", what,
                      c->cin, c->h, c->w, c->c.cout, c->c.kh, c->c.kw, c->c.sh, c->c.sw, c->c.ph, c->c.pw, c->c.dh,
                      (long long)i, got->data[i], want->data[i]);
            return;
        }
}

static void expect_direct_matches_plain(const Case *c, int threads) {
    Backend *direct = backend_cpu_create(threads), *plain = backend_cpu_create(threads);
    EXPECT(direct && plain);
    if (!direct || !plain) return;
    plain->op[OP_CONV2D] = cpu_conv2d_im2col;
    OpSpec s = {.kind = OP_CONV2D, .n_in = 1, .in = {shape_nchw(c->n, c->cin, c->h, c->w)}, .training = 1};
    s.p.conv = c->c;
    OpHarness a = {0}, b = {0};
    bool ok = harness_init(&a, &s, direct, 7) == 0 && harness_init(&b, &s, plain, 7) == 0 && harness_forward(&a) == 0 &&
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
    backend_destroy(direct);
    backend_destroy(plain);
}

TEST(conv_direct_matches_plain) {
    const Case cases[] = {
        {2, 32, 20, 20, conv(64, 3, 3, 1, 1, 1, 0)},  // yolov8n's 20x20 layers: tiles cross rows
        {3, 33, 13, 11, conv(37, 3, 3, 1, 1, 1, 1)},  // odd sizes, cout 37 (a 5-row panel), bias
        {2, 3, 33, 35, conv(16, 3, 3, 2, 1, 1, 0)},   // the stem: stride 2 (classes of 17 and 16 rows), odd sizes
        {1, 3, 97, 96, conv(16, 3, 3, 2, 1, 1, 0)},   // 49 x 48 pixels: the weight gradient's second chunk
        {2, 32, 16, 18, conv(33, 3, 3, 2, 1, 1, 1)},  // stride 2 with even sizes
        {2, 8, 10, 10, conv(8, 3, 3, 2, 0, 1, 0)},    // stride 2 that reads no padding
        {1, 4, 2, 2, conv(5, 3, 3, 1, 1, 1, 1)},      // a plane smaller than one tile
        {1, 20, 3, 4, conv(18, 3, 3, 1, 1, 1, 0)},    // 12 pixels: two tiles, 18 channels: two panels
        {2, 12, 9, 12, conv(21, 3, 3, 1, 2, 2, 0)},   // dilation 2
        {2, 6, 9, 9, conv(10, 3, 3, 1, 0, 1, 1)},     // no padding: the input gradient pads by 2
        {2, 6, 9, 9, conv(10, 3, 3, 1, 3, 1, 0)},     // padding 3 > k - 1: plain input gradient
        {2, 6, 11, 13, conv(9, 1, 3, 1, 0, 1, 0)},    // a 1x3 window
        {2, 7, 12, 12, conv(20, 5, 5, 1, 2, 1, 0)},   // 5x5
        {CONV_SAMPLE_GROUP + 1, 9, 7, 8, conv(12, 3, 3, 1, 1, 1, 1)}, // a partial sample group
        // Strided input gradients, by parity classes of dx:
        {2, 5, 11, 11, conv(7, 3, 3, 3, 1, 1, 0)},    // stride 3, odd sizes: classes of 4 and 3 rows
        {2, 6, 12, 10, conv(9, 3, 3, 3, 0, 1, 1)},    // stride 3, even sizes, no padding
        {2, 17, 14, 13, conv(20, 3, 3, 2, 2, 1, 0)},  // padding 2; cin 17: a 1-row panel of dx channels
        {2, 33, 10, 9, conv(8, 3, 3, 2, 1, 1, 0)},    // cin 33: three panels
        {1, 3, 7, 9, conv(4, 3, 3, 2, 3, 1, 0)},      // padding 3 > k - 1
        {2, 10, 13, 12, conv(12, 3, 3, 2, 2, 2, 0)},  // dilation 2
        {2, 6, 11, 13, {9, 1, 3, 1, 2, 0, 1, 1, 1, 1, 0}}, // a 1x3 window, stride 1 down and 2 across
        {2, 7, 9, 8, {6, 3, 2, 3, 2, 1, 0, 2, 1, 1, 1}},   // 3x2, strides 3 x 2, dilation 2 down only
        {1, 4, 3, 3, conv(5, 3, 3, 2, 1, 1, 1)},      // 9 pixels of dx: classes of 4, 2, 2 and 1
        {1, 3, 2, 2, conv(4, 3, 3, 3, 1, 1, 0)},      // dx 2x2 under stride 3: a class with no pixels
        {2, 6, 9, 8, conv(7, 1, 1, 2, 0, 1, 0)},      // 1x1 stride 2 (k < s): 3 classes get nothing
        {2, 6, 9, 8, conv(7, 1, 1, 2, 1, 1, 0)},      // 1x1 stride 2, padding 1: only odd rows and columns
        {2, 5, 10, 11, conv(6, 2, 2, 3, 0, 1, 1)},    // 2x2 stride 3: a third of the classes get nothing
        {1, 3, 9, 12, {5, 3, 5, 1, 2, 1, 4, 1, 2, 1, 0}}, // dilation 2 across, = stride: odd columns get nothing
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        expect_direct_matches_plain(&cases[i], 1);
        expect_direct_matches_plain(&cases[i], 2);
    }
}

static float *random_floats(int64_t n, uint32_t stream) {
    float *v = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; v && i < n; i++) v[i] = rng_uniform(1, rng_stream(RNG_TEST, 62, stream), (uint64_t)i) - 0.5f;
    return v;
}

// direct_input_grad against a scatter of every product in double, for a geometry g of cout output
// channels, adding into a dx that already holds values. The tile's vector loads are builtins that
// ASan does not check, so the padded copy of dy gets NaN guards as large as itself on both sides:
// a read outside it puts a NaN into dx.
static void expect_input_grad_matches_loops(const ColGeom *g, int64_t cout) {
    int64_t taps = (int64_t)g->kh * g->kw, in_n = g->c * g->h * g->w, out_n = cout * g->oh * g->ow;
    int64_t guard = direct_input_grad_scratch_floats(g, cout);
    float *w = random_floats(cout * g->c * taps, 3), *dy = random_floats(out_n, 4);
    float *dx = malloc(sizeof(float) * (size_t)in_n);
    float *packed = malloc(sizeof(float) * (size_t)direct_input_grad_packed_floats(g, cout));
    float *scratch = malloc(sizeof(float) * (size_t)(3 * guard));
    double *want = malloc(sizeof(double) * (size_t)in_n);
    EXPECT(w && dy && dx && packed && scratch && want);
    if (w && dy && dx && packed && scratch && want) {
        for (int64_t i = 0; i < 3 * guard; i++) scratch[i] = NAN;
        for (int64_t i = 0; i < in_n; i++) want[i] = dx[i] = (float)(i % 7) - 3.0f;
        for (int64_t co = 0; co < cout; co++)
            for (int64_t oy = 0; oy < g->oh; oy++)
                for (int64_t ox = 0; ox < g->ow; ox++)
                    for (int64_t ci = 0; ci < g->c; ci++)
                        for (int64_t t = 0; t < taps; t++) {
                            int64_t iy = oy * g->sh - g->ph + t / g->kw * g->dh;
                            int64_t ix = ox * g->sw - g->pw + t % g->kw * g->dw;
                            if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w) continue;
                            want[(ci * g->h + iy) * g->w + ix] += (double)w[(co * g->c + ci) * taps + t] *
                                                                  (double)dy[(co * g->oh + oy) * g->ow + ox];
                        }
        direct_input_grad_pack(g, w, cout, packed);
        direct_input_grad(g, packed, cout, dy, dx, scratch + guard);
        for (int64_t i = 0; i < in_n; i++) EXPECT_NEAR(dx[i], want[i], 1e-4);
    }
    free(w);
    free(dy);
    free(dx);
    free(packed);
    free(scratch);
    free(want);
}

TEST(direct_input_grad_matches_direct_loops) {
    if (!direct_conv_available()) return; // the direct path is never taken on this CPU
    // 3x3 stride 2 padding 1 (yolov8n's), cin 19: a panel of 16 dx channels and one of 3.
    ConvParams p = conv(20, 3, 3, 2, 1, 1, 0);
    ColGeom g = col_geom(&p, 19, 11, 12, 6, 6);
    expect_input_grad_matches_loops(&g, 20);
    // 3x2 window, strides 3 x 2, no padding, dilation 2 x 1, over 13 x 9: input row 3u + 1 reads
    // dy row u - 1 (a negative shift: padding before dy), input column 2v reads dy column v up to
    // 4 with dy 4 wide (padding after it), and the classes differ in size.
    p = (ConvParams){5, 3, 2, 3, 2, 0, 0, 2, 1, 1, 0};
    g = col_geom(&p, 17, 13, 9, 3, 4);
    expect_input_grad_matches_loops(&g, 5);
    // 1x1 stride 3 padding 1 over 8 x 7: one class of nine has a tap, the rest keep what dx held.
    p = conv(6, 1, 1, 3, 1, 1, 0);
    g = col_geom(&p, 4, 8, 7, 4, 3);
    expect_input_grad_matches_loops(&g, 6);
}

// A 3x3, stride 2, padding 1 window over a 31 x 17 x 19 image, 20 output channels (a panel of 16
// and one of 4) and 9 x 10 = 90 pixels (15 tiles of 6, crossing rows).
enum { CIN = 31, H = 17, W = 19, COUT = 20, OH = 9, OW = 10, KK = CIN * 9 };

static double window_term(const float *x, int64_t ci, int i, int j, int64_t oy, int64_t ox) {
    int64_t iy = oy * 2 - 1 + i, ix = ox * 2 - 1 + j;
    return iy < 0 || iy >= H || ix < 0 || ix >= W ? 0.0 : (double)x[(ci * H + iy) * W + ix];
}

// direct_conv and direct_weight_grad themselves against loops in double, adding into outputs that
// already hold values. The conv2d comparison above would pass on a CPU without AVX2 by running the
// plain path twice; this one runs only where the tile runs.
TEST(direct_conv_and_weight_grad_match_direct_loops) {
    if (!direct_conv_available()) return; // the direct path is never taken on this CPU
    ConvParams p = conv(COUT, 3, 3, 2, 1, 1, 0);
    ColGeom g = col_geom(&p, CIN, H, W, OH, OW);
    float *x = random_floats(CIN * H * W, 0), *w = random_floats(COUT * KK, 1), *dy = random_floats(COUT * OH * OW, 2);
    float *out = malloc(sizeof(float) * COUT * OH * OW), *dw = malloc(sizeof(float) * COUT * KK);
    float *packed = malloc(sizeof(float) * (size_t)direct_weight_floats(COUT, KK));
    int64_t scratch_floats = direct_weight_grad_scratch_floats(&g, COUT);
    float *scratch = malloc(sizeof(float) * (size_t)scratch_floats);
    EXPECT(x && w && dy && out && dw && packed && scratch && scratch_floats >= direct_scratch_floats(&g));
    if (x && w && dy && out && dw && packed && scratch) {
        for (int64_t i = 0; i < COUT * OH * OW; i++) out[i] = (float)(i % 5);
        for (int64_t i = 0; i < COUT * KK; i++) dw[i] = (float)(i % 3);
        direct_weights(w, COUT, KK, packed);
        direct_conv(&g, packed, COUT, x, out, true, scratch);
        direct_weight_grad(&g, dy, COUT, x, dw, scratch);
        for (int64_t co = 0; co < COUT; co++)
            for (int64_t pix = 0; pix < OH * OW; pix++) {
                double want = (double)((co * OH * OW + pix) % 5);
                for (int64_t ci = 0; ci < CIN; ci++)
                    for (int t = 0; t < 9; t++)
                        want += window_term(x, ci, t / 3, t % 3, pix / OW, pix % OW) * (double)w[(co * CIN + ci) * 9 + t];
                EXPECT_NEAR(out[co * OH * OW + pix], want, 1e-4);
            }
        for (int64_t co = 0; co < COUT; co++)
            for (int64_t e = 0; e < KK; e++) {
                double want = (double)((co * KK + e) % 3);
                for (int64_t pix = 0; pix < OH * OW; pix++)
                    want += window_term(x, e / 9, (int)(e % 9) / 3, (int)(e % 3), pix / OW, pix % OW) *
                            (double)dy[co * OH * OW + pix];
                EXPECT_NEAR(dw[co * KK + e], want, 1e-4);
            }
    }
    free(x);
    free(w);
    free(dy);
    free(out);
    free(dw);
    free(packed);
    free(scratch);
}

// The tile reads the padded image through 32-bit offsets: a layer whose padded image has more
// floats than that (here 70000 channels of 202 x 202) must take the plain path.
TEST(direct_conv_refuses_images_past_32_bit_offsets) {
    ConvParams p = conv(16, 3, 3, 1, 1, 1, 0);
    ColGeom small = col_geom(&p, 64, 200, 200, 200, 200), huge = col_geom(&p, 70000, 200, 200, 200, 200);
    EXPECT(direct_conv_fits(&small));
    EXPECT(!direct_conv_fits(&huge));
}
