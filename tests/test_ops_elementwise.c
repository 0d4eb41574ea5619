// Gradient checks and thread-count invariance of the ops that move or map elements, and the
// accuracy of the vectorisable math behind SiLU and sigmoid.
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "backend/cpu/vmath.h"
#include "op_harness.h"
#include "test.h"

static OpSpec one_input(OpKind kind, Shape s) { return (OpSpec){.kind = kind, .n_in = 1, .in = {s}, .training = 1}; }

TEST(grad_silu) {
    OpSpec s = one_input(OP_SILU, shape_nchw(2, 3, 5, 7));
    gradcheck(&s, GRAD_DEFAULT);
    expect_thread_invariant(&s);
}

TEST(grad_sigmoid) {
    OpSpec s = one_input(OP_SIGMOID, shape_nchw(2, 3, 5, 7));
    gradcheck(&s, GRAD_DEFAULT);
    expect_thread_invariant(&s);
}

TEST(grad_add) {
    OpSpec s = {.kind = OP_ADD, .n_in = 2, .in = {shape_nchw(3, 2, 3, 5), shape_nchw(3, 2, 3, 5)}};
    gradcheck(&s, GRAD_DEFAULT);
    expect_thread_invariant(&s);
}

TEST(grad_concat_three_inputs) {
    OpSpec s = {.kind = OP_CONCAT, .n_in = 3, .in = {shape_nchw(3, 2, 3, 5), shape_nchw(3, 1, 3, 5), shape_nchw(3, 4, 3, 5)}};
    gradcheck(&s, GRAD_DEFAULT);
    expect_thread_invariant(&s);
}

TEST(grad_slice_channels) {
    OpSpec s = one_input(OP_SLICE, shape_nchw(3, 6, 3, 5));
    s.p.slice.c0 = 2;
    s.p.slice.c1 = 5;
    gradcheck(&s, GRAD_DEFAULT);
    expect_thread_invariant(&s);
}

TEST(grad_flatten) {
    OpSpec s = one_input(OP_FLATTEN, shape_nchw(3, 4, 2, 3));
    gradcheck(&s, GRAD_DEFAULT);
}

TEST(grad_upsample_nearest_x2) {
    OpSpec s = one_input(OP_UPSAMPLE_NEAREST, shape_nchw(2, 3, 3, 5));
    s.p.scale = 2;
    gradcheck(&s, GRAD_DEFAULT);
    expect_thread_invariant(&s);
}

TEST(upsample_nearest_values) {
    Backend *b = backend_cpu_create(1);
    OpSpec s = one_input(OP_UPSAMPLE_NEAREST, shape_nchw(1, 1, 2, 2));
    s.p.scale = 2;
    OpHarness h = {0};
    EXPECT_OK(harness_init(&h, &s, b, 1));
    EXPECT_OK(harness_forward(&h));
    // out[y][x] = in[y / 2][x / 2]
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++) EXPECT(h.out.data[y * 4 + x] == h.in[0].data[(y / 2) * 2 + x / 2]);
    harness_free(&h);
    backend_destroy(b);
}

TEST(op_infer_rejects_bad_shapes) {
    OpShapes o;
    Shape a[2] = {shape_nchw(1, 2, 3, 3), shape_nchw(1, 2, 4, 3)};
    EXPECT_FAILS_WITH(op_infer(OP_ADD, &(OpParams){0}, 2, a, &o), "add: shapes 1x2x3x3 and 1x2x4x3 differ");
    EXPECT_FAILS_WITH(op_infer(OP_CONCAT, &(OpParams){0}, 2, a, &o), "concat: input 1 is 1x2x4x3");
    OpParams slice = {.slice = {1, 3}};
    EXPECT_FAILS_WITH(op_infer(OP_SLICE, &slice, 1, a, &o), "slice: channels [1, 3)");
    OpParams conv = {.conv = {.cout = 4, .kh = 3, .kw = 3, .sh = 1, .sw = 1, .dh = 1, .dw = 1, .groups = 3}};
    EXPECT_FAILS_WITH(op_infer(OP_CONV2D, &conv, 1, a, &o), "do not divide into 3 groups");
}

// --- vectorisable math (backend/cpu/vmath.h) ---

// Relative error of vm_expf against double-precision exp over a dense sweep of [-87, 88]: evenly
// spaced points, which cover the large magnitudes, and every 509th float, which covers the small
// ones near zero. The bound is 2 ulp of 1.
TEST(vm_expf_matches_exp_within_2_ulp) {
    double worst = 0.0;
    float worst_x = 0.0f;
    for (int i = 0; i <= 1000000; i++) {
        float x = -87.0f + 175.0f * (float)i / 1000000.0f;
        double err = fabs((double)vm_expf(x) - exp((double)x)) / exp((double)x);
        if (err > worst) worst = err, worst_x = x;
    }
    const uint32_t sign = 0x80000000u;
    for (uint32_t u = 0; u < vm_float_bits(88.0f); u += 509)
        for (int neg = 0; neg < 2; neg++) {
            float x = vm_bits_float(neg ? u | sign : u);
            if (x < -87.0f) continue;
            double err = fabs((double)vm_expf(x) - exp((double)x)) / exp((double)x);
            if (err > worst) worst = err, worst_x = x;
        }
    if (!(worst <= 2.0 * FLT_EPSILON))
        test_fail(__FILE__, __LINE__, "vm_expf(%.9g): relative error %.3g", worst_x, worst);
}

TEST(vm_sigmoidf_matches_reference) {
    double worst = 0.0;
    for (int i = 0; i <= 400000; i++) {
        float x = -20.0f + 40.0f * (float)i / 400000.0f;
        double want = 1.0 / (1.0 + exp(-(double)x));
        double err = fabs((double)vm_sigmoidf(x) - want) / want;
        if (err > worst) worst = err;
    }
    EXPECT(worst <= 3.0 * FLT_EPSILON);
}

// The input is clamped, so huge inputs give no inf or NaN, and sigmoid stays inside [0, 1].
TEST(vm_expf_and_sigmoid_extremes) {
    const float big[] = {88.0f, 100.0f, 1e30f, INFINITY};
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
        float up = vm_expf(big[i]), down = vm_expf(-big[i]);
        EXPECT(isfinite(up) && up > 1e38f);
        EXPECT(down > 0.0f && down < 1e-37f);
        EXPECT(vm_sigmoidf(big[i]) == 1.0f);
        float s = vm_sigmoidf(-big[i]);
        EXPECT(s >= 0.0f && s < 1e-37f);
    }
    EXPECT(vm_sigmoidf(0.0f) == 0.5f);
    EXPECT(isnan(vm_expf(NAN)) && isnan(vm_sigmoidf(NAN)));
}

// The SiLU and sigmoid kernels run their AVX2 clone where the CPU has AVX2; this file is built for
// baseline x86-64. Both must give the same bits as the scalar formula here, for any thread count
// (the thread split moves where vector loops start and stop). Inputs span the clamp and beyond.
TEST(silu_and_sigmoid_kernels_equal_scalar_formula) {
    const OpKind kinds[2] = {OP_SILU, OP_SIGMOID};
    for (int k = 0; k < 2; k++)
        for (int threads = 1; threads <= 2; threads++) {
            Backend *b = backend_cpu_create(threads);
            OpSpec s = one_input(kinds[k], shape_nchw(3, 5, 17, 19));
            OpHarness h = {0};
            EXPECT_OK(harness_init(&h, &s, b, 21));
            int64_t n = tensor_numel(&h.in[0]);
            for (int64_t i = 0; i < n; i++) h.in[0].data[i] *= 120.0f;
            h.in[0].data[0] = 1e30f;
            h.in[0].data[1] = -1e30f;
            EXPECT_OK(harness_forward(&h));
            EXPECT_OK(harness_backward(&h));
            int64_t bad = 0;
            for (int64_t i = 0; i < n; i++) {
                float x = h.in[0].data[i], dy = h.out_grad.data[i], sg = vm_sigmoidf(x);
                float y = kinds[k] == OP_SILU ? x * sg : sg;
                float dx = 0.0f + (kinds[k] == OP_SILU ? dy * sg * (1.0f + x * (1.0f - sg)) : dy * y * (1.0f - y));
                bad += memcmp(&y, &h.out.data[i], sizeof y) != 0 || memcmp(&dx, &h.in_grad[0].data[i], sizeof dx) != 0;
                bad += !isfinite(h.out.data[i]) || !isfinite(h.in_grad[0].data[i]);
            }
            if (bad)
                test_fail(__FILE__, __LINE__, "%s, %d threads: %lld elements differ", op_name(kinds[k]), threads,
                          (long long)bad);
            harness_free(&h);
            backend_destroy(b);
        }
}

// Concatenating a value with itself: both blocks of each sample add into the same gradient, which
// must stay one thread's job.
TEST(concat_of_a_value_with_itself_adds_both_blocks) {
    for (int threads = 1; threads <= 2; threads++) {
        Backend *b = backend_cpu_create(threads);
        OpSpec s = {.kind = OP_CONCAT, .n_in = 2, .in = {shape_nchw(3, 2, 3, 5), shape_nchw(3, 2, 3, 5)}};
        OpHarness h = {0};
        EXPECT_OK(harness_init(&h, &s, b, 22));
        h.args.in[1] = h.args.in[0];
        h.args.in_grad[1] = h.args.in_grad[0];
        EXPECT_OK(harness_forward(&h));
        EXPECT_OK(harness_backward(&h));
        for (int64_t n = 0; n < 3; n++)
            for (int64_t j = 0; j < 30; j++) {
                const float *dy = h.out_grad.data + n * 60;
                EXPECT(h.out.data[n * 60 + j] == h.in[0].data[n * 30 + j]);
                EXPECT(h.out.data[n * 60 + 30 + j] == h.in[0].data[n * 30 + j]);
                EXPECT(h.in_grad[0].data[n * 30 + j] == (0.0f + dy[j]) + dy[30 + j]);
            }
        harness_free(&h);
        backend_destroy(b);
    }
}
