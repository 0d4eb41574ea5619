// 2-D convolution with PyTorch's semantics (zero padding, stride, dilation, groups), in two
// implementations of the same sums:
// - the plain path (cpu_conv2d_im2col, the reference): one GEMM per sample and group,
//   y[n, g] = W_g [cout_g x K] * col(x[n, g]) [K x oh*ow] with K = cin_g * kh * kw, through im2col
//   and OpenBLAS. Operands stay row-major; the backward GEMMs read W or the columns transposed,
//   which BLAS does while packing.
// - the direct path (direct_conv.h), taken by cpu_conv2d for ungrouped windowed convolutions on a
//   CPU with AVX2 and FMA: the forward, the weight gradient, and the input gradient: of stride-1
//   convolutions as a convolution of the output gradient with the flipped kernel, of strided ones
//   by the parity classes of the input (direct_input_grad). Pointwise convolutions, which need no
//   im2col, measured faster through BLAS and stay on the plain path.
#include <stdint.h>

#include "backend/cpu/cpu_ops.h"
#include "backend/cpu/direct_conv.h"
#include "backend/cpu/gemm.h"
#include "backend/cpu/im2col.h"

// How the input gradient is computed: the plain path; a stride-1 convolution of dy with the
// flipped kernel (direct_conv on grad_geom); or, for strided convolutions, by the parity classes of
// the input (direct_input_grad).
typedef enum { GRAD_PLAIN, GRAD_FLIPPED, GRAD_CLASSES } InputGrad;

typedef struct {
    const OpArgs *a;
    ColGeom geom; // one group's input channels under the output grid
    int groups;
    int64_t cout_g, k, plane;     // output channels per group, column rows, output pixels
    int64_t x_group, y_group;     // floats of one group's channels in x and in y
    int64_t x_sample, y_sample;   // floats of one sample in x and in y
    bool pointwise;
    bool direct;          // forward and weight gradient on the direct path
    InputGrad input_grad;
    ColGeom grad_geom;    // GRAD_FLIPPED: the input gradient as a convolution of the output gradient
    const float *packed;  // packed weights: forward, or flipped or by class (input gradient)
} Conv;

// The input gradient of a stride-1 convolution is a stride-1 convolution of the output gradient
// with padding dilation * (k - 1) - padding, which must not be negative.
static ColGeom input_grad_geom(const Conv *c) {
    const ColGeom *g = &c->geom;
    return (ColGeom){.c = c->cout_g, .h = g->oh, .w = g->ow, .oh = g->h, .ow = g->w, .kh = g->kh, .kw = g->kw,
                     .sh = 1, .sw = 1, .ph = g->dh * (g->kh - 1) - g->ph, .pw = g->dw * (g->kw - 1) - g->pw,
                     .dh = g->dh, .dw = g->dw};
}

static Conv conv_of(const OpArgs *a, bool direct_allowed) {
    const ConvParams *p = &a->p.conv;
    const Tensor *x = a->in[0], *y = a->out;
    Conv c = {.a = a, .groups = p->groups, .pointwise = conv_is_pointwise(p)};
    int64_t cin_g = tensor_c(x) / p->groups, in_plane = tensor_h(x) * tensor_w(x);
    c.geom = col_geom(p, cin_g, tensor_h(x), tensor_w(x), tensor_h(y), tensor_w(y));
    c.cout_g = tensor_c(y) / p->groups;
    c.k = col_rows(&c.geom);
    c.plane = tensor_h(y) * tensor_w(y);
    c.x_group = cin_g * in_plane;
    c.y_group = c.cout_g * c.plane;
    c.x_sample = tensor_c(x) * in_plane;
    c.y_sample = tensor_c(y) * c.plane;
    c.direct = direct_allowed && p->groups == 1 && !c.pointwise && direct_conv_available() && direct_conv_fits(&c.geom);
    c.grad_geom = input_grad_geom(&c);
    bool strided = p->sh > 1 || p->sw > 1;
    if (c.direct && !strided && c.grad_geom.ph >= 0 && c.grad_geom.pw >= 0 && direct_conv_fits(&c.grad_geom))
        c.input_grad = GRAD_FLIPPED;
    else if (c.direct && strided && direct_input_grad_scratch_floats(&c.geom, c.cout_g) <= INT32_MAX)
        c.input_grad = GRAD_CLASSES;
    return c;
}

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

// Per-thread scratch: the column matrix of one sample and group for the plain path (none for a
// pointwise conv, which reads x in place), the padded image and its offsets for the direct path.
// In backward the weight gradient is done with the buffer before the input gradient reuses it.
static int64_t forward_col_floats(const Conv *c) {
    if (c->direct) return direct_scratch_floats(&c->geom);
    return c->pointwise ? 0 : c->k * c->plane;
}

static int64_t backward_col_floats(const Conv *c) {
    int64_t columns = c->pointwise ? 0 : c->k * c->plane;
    int64_t weight_part = c->direct ? direct_weight_grad_scratch_floats(&c->geom, c->cout_g) : columns;
    int64_t input_part = c->input_grad == GRAD_FLIPPED   ? direct_scratch_floats(&c->grad_geom)
                         : c->input_grad == GRAD_CLASSES ? direct_input_grad_scratch_floats(&c->geom, c->cout_g)
                                                         : columns;
    return max64(weight_part, input_part);
}

// The packed weights sit after the drivers' part of the workspace, 64-byte aligned.
static size_t packed_offset(const OpArgs *a, int64_t col_floats) {
    return (conv_workspace_bytes(a, col_floats) + 63) / 64 * 64;
}

static int64_t packed_floats(const Conv *c) {
    int64_t input_grad = c->input_grad == GRAD_CLASSES ? direct_input_grad_packed_floats(&c->geom, c->cout_g)
                                                       : direct_weight_floats(c->geom.c, col_rows(&c->grad_geom));
    return max64(direct_weight_floats(c->cout_g, c->k), input_grad);
}

// The column matrix of group g of sample n: x itself for a pointwise conv, else im2col into col.
static const float *columns(const Conv *c, int64_t n, int g, float *col) {
    const float *x = c->a->in[0]->data + n * c->x_sample + g * c->x_group;
    if (c->pointwise) return x;
    im2col(&c->geom, x, col);
    return col;
}

static void forward_sample(const void *op, int64_t n, float *col) {
    const Conv *c = op;
    const OpArgs *a = c->a;
    float *y = a->out->data + n * c->y_sample;
    bool has_bias = a->p.conv.has_bias;
    if (has_bias) conv_fill_bias(y, a->param[1]->data, c->cout_g * c->groups, c->plane);
    if (c->direct) {
        direct_conv(&c->geom, c->packed, c->cout_g, a->in[0]->data + n * c->x_sample, y, has_bias, col);
        return;
    }
    float beta = has_bias ? 1.0f : 0.0f; // the GEMM overwrites y, or adds to the bias already there
    for (int g = 0; g < c->groups; g++)
        gemm(false, false, (int)c->cout_g, (int)c->plane, (int)c->k, 1.0f, a->param[0]->data + g * c->cout_g * c->k,
             (int)c->k, columns(c, n, g, col), (int)c->plane, beta, y + g * c->y_group, (int)c->plane);
}

// dW_g += dy_g * col^T; dx_g += col2im(W_g^T * dy_g), or W_g^T * dy_g straight into dx when
// pointwise, or on the direct path (the flipped-kernel convolution of dy, or its parity classes).
static void backward_sample(const void *op, int64_t n, float *col, float *weight_grad) {
    const Conv *c = op;
    const OpArgs *a = c->a;
    int m = (int)c->cout_g, k = (int)c->k, plane = (int)c->plane;
    for (int g = 0; g < c->groups; g++) {
        const float *dy = a->out_grad->data + n * c->y_sample + g * c->y_group;
        const float *w = a->param[0]->data + g * c->cout_g * c->k;
        if (weight_grad && c->direct)
            direct_weight_grad(&c->geom, dy, c->cout_g, a->in[0]->data + n * c->x_sample, weight_grad, col);
        else if (weight_grad)
            gemm(false, true, m, k, plane, 1.0f, dy, plane, columns(c, n, g, col), plane, 1.0f,
                 weight_grad + g * c->cout_g * c->k, k);
        if (!a->in_grad[0]) continue;
        float *dx = a->in_grad[0]->data + n * c->x_sample + g * c->x_group;
        if (c->input_grad == GRAD_FLIPPED) {
            direct_conv(&c->grad_geom, c->packed, c->geom.c, dy, dx, true, col);
        } else if (c->input_grad == GRAD_CLASSES) {
            direct_input_grad(&c->geom, c->packed, c->cout_g, dy, dx, col);
        } else if (c->pointwise) {
            gemm(true, false, k, plane, m, 1.0f, w, k, dy, plane, 1.0f, dx, plane);
        } else {
            gemm(true, false, k, plane, m, 1.0f, w, k, dy, plane, 0.0f, col, plane);
            col2im_add(&c->geom, col, dx);
        }
    }
}

static int run_forward(const OpArgs *a, bool direct_allowed) {
    Conv c = conv_of(a, direct_allowed);
    int64_t cols = forward_col_floats(&c);
    if (c.direct) {
        float *packed = (float *)((char *)a->workspace + packed_offset(a, cols));
        direct_weights(a->param[0]->data, c.cout_g, c.k, packed);
        c.packed = packed;
    }
    conv_forward_samples(a, forward_sample, &c, cols);
    return 0;
}

static int run_backward(const OpArgs *a, bool direct_allowed) {
    Conv c = conv_of(a, direct_allowed);
    int64_t cols = backward_col_floats(&c);
    if (c.input_grad != GRAD_PLAIN && a->in_grad[0]) {
        float *packed = (float *)((char *)a->workspace + packed_offset(a, cols));
        if (c.input_grad == GRAD_FLIPPED)
            direct_weights_flipped(a->param[0]->data, c.cout_g, c.geom.c, c.geom.kh, c.geom.kw, packed);
        else
            direct_input_grad_pack(&c.geom, a->param[0]->data, c.cout_g, packed);
        c.packed = packed;
    }
    conv_backward_samples(a, backward_sample, &c, cols);
    return 0;
}

static size_t workspace_bytes(const OpArgs *a, bool direct_allowed) {
    Conv c = conv_of(a, direct_allowed);
    int64_t cols = max64(forward_col_floats(&c), backward_col_floats(&c));
    if (!c.direct) return conv_workspace_bytes(a, cols);
    return packed_offset(a, cols) + (size_t)packed_floats(&c) * sizeof(float);
}

static int conv2d_forward(const OpArgs *a) { return run_forward(a, true); }
static int conv2d_backward(const OpArgs *a) { return run_backward(a, true); }
static size_t conv2d_workspace_bytes(const OpArgs *a) { return workspace_bytes(a, true); }

static int im2col_forward(const OpArgs *a) { return run_forward(a, false); }
static int im2col_backward(const OpArgs *a) { return run_backward(a, false); }
static size_t im2col_workspace_bytes(const OpArgs *a) { return workspace_bytes(a, false); }

const OpImpl cpu_conv2d = {.forward = conv2d_forward, .backward = conv2d_backward, .workspace_bytes = conv2d_workspace_bytes};
const OpImpl cpu_conv2d_im2col = {
    .forward = im2col_forward, .backward = im2col_backward, .workspace_bytes = im2col_workspace_bytes};
