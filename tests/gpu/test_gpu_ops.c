// Every op of the CUDA backend against the CPU backend's, forward and backward, on the shapes and
// parameters the CPU op tests use (tests/test_ops_*.c), plus the backend's memory hooks.
//
// Tolerances (|gpu - cpu| <= atol + rtol * |cpu|):
// - EXACT: ops whose GPU kernels do the CPU's arithmetic in the CPU's order (copies, add, dropout's
//   Philox mask, pooling and upsampling, whose backward gathers in the CPU's order): same bits.
// - ELEMENTWISE, 1e-5 relative: exp differs by a few ulp between CUDA and the CPU's vm_expf; the
//   1e-6 absolute floor covers results near zero, where relative error is meaningless.
// - REDUCTION, 1e-5 relative and absolute: batch norm and softmax sum in double in another order
//   (a block tree instead of the CPU's lanes), and nvcc fuses a * b + c into one rounding (FMA)
//   where the CPU rounds twice; batch norm's input gradient subtracts nearly equal terms, so its
//   error is relative to the terms (about 1), not to the result.
// - GEMM, 1e-4 relative and absolute: a convolution or linear output is a dot product of K terms
//   (K = cin/g * kh * kw, or the batch times the output plane for weight gradients, up to a few
//   hundred here) that cuBLAS and cuDNN add in other orders than OpenBLAS; with inputs in [-1, 1]
//   the rounding difference grows like sqrt(K) ulp of the partial sums, about 1e-5 here. 1e-4
//   leaves room for that and still fails TF32 (10-bit mantissa), whose error would be ~1e-3.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_test.h"
#include "test.h"

static const Tolerance EXACT = {.exact = true};
static const Tolerance ELEMENTWISE = {.rtol = 1e-5f, .atol = 1e-6f};
static const Tolerance REDUCTION = {.rtol = 1e-5f, .atol = 1e-5f};
static const Tolerance GEMM = {.rtol = 1e-4f, .atol = 1e-4f};
static const CompareOptions PLAIN = {0};

static OpSpec one_input(OpKind kind, Shape s, int training) {
    return (OpSpec){.kind = kind, .n_in = 1, .in = {s}, .training = training};
}

// ---- Memory ------------------------------------------------------------------------------------

TEST(gpu_memory_hooks_round_trip) {
    Backend *b = gpu_backend();
    enum { N = 1000 };
    float host[N], back[N];
    for (int i = 0; i < N; i++) host[i] = (float)i * 0.25f - 7.0f;
    float *p = NULL, *q = NULL;
    EXPECT_OK(backend_alloc(b, sizeof host, (void **)&p));
    EXPECT_OK(backend_alloc(b, sizeof host, (void **)&q));
    if (!p || !q) return;
    EXPECT_OK(backend_download(b, back, p, sizeof back)); // zero-filled
    int nonzero = 0;
    for (int i = 0; i < N; i++) nonzero += back[i] != 0.0f;
    EXPECT(nonzero == 0);
    EXPECT_OK(backend_upload(b, p, host, sizeof host));
    EXPECT_OK(backend_copy(b, q, p, sizeof host));
    EXPECT_OK(backend_zero(b, q, 10 * sizeof(float)));
    EXPECT_OK(backend_synchronize(b));
    EXPECT_OK(backend_download(b, back, q, sizeof back));
    EXPECT(back[9] == 0.0f && memcmp(back + 10, host + 10, (N - 10) * sizeof(float)) == 0);
    backend_release(b, p);
    backend_release(b, q);
}

TEST(gpu_arena_on_device_memory) {
    Backend *b = gpu_backend();
    Arena a = arena_make_on("activations", backend_arena_memory(b));
    size_t off = arena_reserve(&a, 4096);
    EXPECT_OK(arena_commit(&a));
    float host[16] = {1, 2, 3}, back[16];
    EXPECT_OK(backend_upload(b, arena_at(&a, off), host, sizeof host));
    EXPECT_OK(backend_download(b, back, arena_at(&a, off), sizeof back));
    EXPECT(memcmp(host, back, sizeof host) == 0);
    arena_release(&a);
}

TEST(gpu_allocation_failure_is_an_error_with_the_size) {
    void *p = NULL;
    // More than any GPU has: a clean error naming the size, not a crash.
    EXPECT_FAILS_WITH(backend_alloc(gpu_backend(), (size_t)1 << 50, &p), "cannot allocate");
    EXPECT(p == NULL);
}

TEST(gpu_backend_rejects_a_missing_device) {
    EXPECT(backend_cuda_create(&(CudaOptions){.device = 99}) == NULL);
    EXPECT(strstr(yolo_error(), "GPU 99") != NULL);
    yolo_error_clear();
}

// ---- Element-wise ------------------------------------------------------------------------------

TEST(gpu_silu) {
    OpSpec s = one_input(OP_SILU, shape_nchw(2, 3, 17, 19), 1);
    compare_op("silu", &s, ELEMENTWISE, PLAIN);
}

TEST(gpu_sigmoid) {
    OpSpec s = one_input(OP_SIGMOID, shape_nchw(2, 3, 17, 19), 1);
    compare_op("sigmoid", &s, ELEMENTWISE, PLAIN);
}

TEST(gpu_add) {
    OpSpec s = {.kind = OP_ADD, .n_in = 2, .in = {shape_nchw(2, 3, 5, 7), shape_nchw(2, 3, 5, 7)}, .training = 1};
    compare_op("add", &s, EXACT, PLAIN);
    compare_op("add of a value to itself", &s, EXACT, (CompareOptions){.same_input = true});
}

TEST(gpu_dropout) {
    OpSpec s = one_input(OP_DROPOUT, shape_nchw(2, 4, 16, 16), 1);
    s.p.drop_p = 0.3f;
    compare_op("dropout (training)", &s, EXACT, PLAIN);
    s.training = 0;
    compare_op("dropout (eval)", &s, EXACT, PLAIN);
}

// ---- Channels ----------------------------------------------------------------------------------

TEST(gpu_concat) {
    OpSpec s = {.kind = OP_CONCAT, .n_in = 3, .in = {shape_nchw(2, 2, 3, 4), shape_nchw(2, 3, 3, 4), shape_nchw(2, 1, 3, 4)}};
    compare_op("concat", &s, EXACT, PLAIN);
    OpSpec twice = {.kind = OP_CONCAT, .n_in = 2, .in = {shape_nchw(2, 3, 3, 4), shape_nchw(2, 3, 3, 4)}};
    compare_op("concat of a value with itself", &twice, EXACT, (CompareOptions){.same_input = true});
}

TEST(gpu_slice) {
    OpSpec s = one_input(OP_SLICE, shape_nchw(2, 6, 3, 4), 1);
    s.p.slice.c0 = 2;
    s.p.slice.c1 = 5;
    compare_op("slice", &s, EXACT, PLAIN);
}

TEST(gpu_flatten) {
    OpSpec s = one_input(OP_FLATTEN, shape_nchw(3, 4, 2, 5), 1);
    compare_op("flatten", &s, EXACT, PLAIN);
}

TEST(gpu_upsample_nearest) {
    OpSpec s = one_input(OP_UPSAMPLE_NEAREST, shape_nchw(2, 3, 5, 7), 1);
    s.p.scale = 2;
    compare_op("upsample x2", &s, EXACT, PLAIN);
    s.p.scale = 3;
    compare_op("upsample x3", &s, EXACT, PLAIN);
}

// ---- Pooling -----------------------------------------------------------------------------------

TEST(gpu_maxpool2d) {
    const PoolParams cfg[] = {{5, 5, 1, 1, 2, 2}, {3, 3, 2, 2, 1, 1}, {2, 2, 2, 2, 0, 0}, {3, 5, 1, 2, 1, 2}};
    for (size_t k = 0; k < sizeof cfg / sizeof cfg[0]; k++) {
        OpSpec s = one_input(OP_MAXPOOL2D, shape_nchw(2, 3, 9, 11), 1);
        s.p.pool = cfg[k];
        char label[64];
        snprintf(label, sizeof label, "maxpool2d config %zu", k);
        compare_op(label, &s, EXACT, PLAIN);
        snprintf(label, sizeof label, "maxpool2d config %zu with ties", k);
        compare_op(label, &s, EXACT, (CompareOptions){.ties = true});
    }
}

TEST(gpu_adaptive_avgpool2d) {
    const int out[][2] = {{1, 1}, {2, 3}, {3, 3}};
    for (size_t k = 0; k < 3; k++) {
        OpSpec s = one_input(OP_ADAPTIVE_AVGPOOL2D, shape_nchw(2, 3, 7, 5), 1);
        s.p.adaptive.out_h = out[k][0];
        s.p.adaptive.out_w = out[k][1];
        compare_op("adaptive_avgpool2d", &s, EXACT, PLAIN);
    }
}

// ---- Batch norm, softmax -----------------------------------------------------------------------

TEST(gpu_batchnorm2d) {
    for (int training = 0; training <= 1; training++) {
        OpSpec s = one_input(OP_BATCHNORM2D, shape_nchw(4, 3, 5, 6), training);
        s.p.bn = (BatchNormParams){.eps = 1e-3f, .momentum = 0.03f};
        compare_op(training ? "batchnorm2d (training)" : "batchnorm2d (eval)", &s, REDUCTION, PLAIN);
    }
    // More values per channel than a block has threads: the strided per-thread sums.
    OpSpec big = one_input(OP_BATCHNORM2D, shape_nchw(8, 5, 20, 21), 1);
    big.p.bn = (BatchNormParams){.eps = 1e-3f, .momentum = 0.03f};
    compare_op("batchnorm2d (training, 3360 values per channel)", &big, REDUCTION, PLAIN);
}

// The fused op: BN's reductions plus CUDA's expf in SiLU, so REDUCTION's tolerance as for BN.
TEST(gpu_batchnorm2d_silu) {
    for (int training = 0; training <= 1; training++) {
        OpSpec s = one_input(OP_BATCHNORM2D_SILU, shape_nchw(4, 3, 5, 6), training);
        s.p.bn = (BatchNormParams){.eps = 1e-3f, .momentum = 0.03f};
        compare_op(training ? "batchnorm2d_silu (training)" : "batchnorm2d_silu (eval)", &s, REDUCTION, PLAIN);
    }
    OpSpec big = one_input(OP_BATCHNORM2D_SILU, shape_nchw(8, 5, 20, 21), 1);
    big.p.bn = (BatchNormParams){.eps = 1e-3f, .momentum = 0.03f};
    compare_op("batchnorm2d_silu (training, 3360 values per channel)", &big, REDUCTION, PLAIN);
}

TEST(gpu_softmax_and_log_softmax) {
    const int64_t k[] = {7, 1000}; // one partial block per row, and a row longer than the block
    for (int i = 0; i < 2; i++) {
        OpSpec s = one_input(OP_SOFTMAX, shape_2d(4, k[i]), 1);
        compare_op("softmax", &s, REDUCTION, PLAIN);
        s.kind = OP_LOG_SOFTMAX;
        compare_op("log_softmax", &s, REDUCTION, PLAIN);
    }
}

// ---- GEMM: linear and convolutions -------------------------------------------------------------

TEST(gpu_linear) {
    for (int bias = 0; bias <= 1; bias++) {
        OpSpec s = one_input(OP_LINEAR, shape_2d(20, 5), 1);
        s.p.linear.out_features = 18;
        s.p.linear.has_bias = bias;
        compare_op(bias ? "linear with bias" : "linear without bias", &s, GEMM, PLAIN);
    }
    OpSpec wide = one_input(OP_LINEAR, shape_2d(16, 1280), 1); // yolov8-cls's head: 1280 -> 1000
    wide.p.linear.out_features = 1000;
    wide.p.linear.has_bias = 1;
    compare_op("linear 1280 -> 1000", &wide, GEMM, PLAIN);
}

static OpSpec conv_spec(OpKind kind, Shape x, ConvParams c) {
    OpSpec s = {.kind = kind, .n_in = 1, .in = {x}, .training = 1};
    s.p.conv = c;
    return s;
}

// cout, kh, kw, sh, sw, ph, pw, dh, dw, groups, has_bias
TEST(gpu_conv2d) {
    const struct {
        const char *label;
        Shape x;
        ConvParams c;
    } cases[] = {
        {"conv2d 3x3 pad 1 bias", shape_nchw(2, 3, 5, 6), {4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}},
        {"conv2d 3x3 stride 2 odd size", shape_nchw(2, 2, 7, 9), {3, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1}},
        {"conv2d 1x1 no bias", shape_nchw(2, 4, 3, 5), {3, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0}},
        {"conv2d groups 2", shape_nchw(2, 4, 5, 5), {6, 3, 3, 1, 1, 1, 1, 1, 1, 2, 1}},
        {"conv2d depthwise", shape_nchw(2, 4, 5, 5), {4, 3, 3, 1, 1, 1, 1, 1, 1, 4, 0}},
        {"conv2d dilation 2", shape_nchw(2, 2, 7, 7), {3, 3, 3, 1, 1, 2, 2, 2, 2, 1, 1}},
        {"conv2d kernel 1x3", shape_nchw(2, 2, 4, 6), {3, 1, 3, 1, 1, 0, 1, 1, 1, 1, 1}},
        {"conv2d batch 5", shape_nchw(5, 2, 4, 4), {2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1}},
        // A yolov8n layer's shape at imgsz 64: K = 16 * 9 = 144.
        {"conv2d yolov8n-like 16 -> 32, stride 2", shape_nchw(2, 16, 32, 32), {32, 3, 3, 2, 2, 1, 1, 1, 1, 1, 0}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        OpSpec s = conv_spec(OP_CONV2D, cases[i].x, cases[i].c);
        compare_op(cases[i].label, &s, GEMM, PLAIN);
    }
}

TEST(gpu_conv_transpose2d) {
    const struct {
        const char *label;
        Shape x;
        ConvParams c;
    } cases[] = {
        {"conv_transpose2d k2 s2 bias", shape_nchw(2, 3, 4, 5), {4, 2, 2, 2, 2, 0, 0, 1, 1, 1, 1}},
        {"conv_transpose2d k3 s2 p1", shape_nchw(2, 2, 4, 4), {3, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1}},
        {"conv_transpose2d groups 2", shape_nchw(2, 4, 3, 3), {6, 2, 2, 2, 2, 0, 0, 1, 1, 2, 1}},
        {"conv_transpose2d 1x1", shape_nchw(2, 3, 4, 4), {5, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0}},
        {"conv_transpose2d batch 5", shape_nchw(5, 3, 4, 4), {2, 2, 2, 2, 2, 0, 0, 1, 1, 1, 1}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        OpSpec s = conv_spec(OP_CONV_TRANSPOSE2D, cases[i].x, cases[i].c);
        compare_op(cases[i].label, &s, GEMM, PLAIN);
    }
}
