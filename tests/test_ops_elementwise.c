// Gradient checks and thread-count invariance of the ops that move or map elements.
#include <string.h>
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
