// 2-D convolution with PyTorch's semantics (zero padding, stride, dilation, groups), lowered to
// one GEMM per sample and group: y[n, g] = W_g [cout_g x K] * col(x[n, g]) [K x oh*ow], where
// K = cin_g * kh * kw. Every operand stays row-major as stored; only the backward GEMMs read W or
// the column matrix transposed, which BLAS does while packing, without a transposed copy.
#include "backend/cpu/cpu_ops.h"
#include "backend/cpu/gemm.h"
#include "backend/cpu/im2col.h"

typedef struct {
    const OpArgs *a;
    ColGeom geom; // one group's input channels under the output grid
    int groups;
    int64_t cout_g, k, plane;     // output channels per group, column rows, output pixels
    int64_t x_group, y_group;     // floats of one group's channels in x and in y
    int64_t x_sample, y_sample;   // floats of one sample in x and in y
    bool pointwise;
} Conv;

static Conv conv_of(const OpArgs *a) {
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
    return c;
}

// A pointwise conv reads x in place, so it needs no column buffer.
static int64_t col_floats(const Conv *c) { return c->pointwise ? 0 : c->k * c->plane; }

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
    float beta = 0.0f; // the GEMM overwrites y, or adds to the bias already there
    if (a->p.conv.has_bias) {
        conv_fill_bias(y, a->param[1]->data, c->cout_g * c->groups, c->plane);
        beta = 1.0f;
    }
    for (int g = 0; g < c->groups; g++)
        gemm(false, false, (int)c->cout_g, (int)c->plane, (int)c->k, 1.0f, a->param[0]->data + g * c->cout_g * c->k,
             (int)c->k, columns(c, n, g, col), (int)c->plane, beta, y + g * c->y_group, (int)c->plane);
}

// dW_g += dy_g * col^T; dx_g += col2im(W_g^T * dy_g), or W_g^T * dy_g straight into dx when
// pointwise. The column buffer is reused: the weight gradient is done with it before the input
// gradient's columns overwrite it.
static void backward_sample(const void *op, int64_t n, float *col, float *weight_grad) {
    const Conv *c = op;
    const OpArgs *a = c->a;
    int m = (int)c->cout_g, k = (int)c->k, plane = (int)c->plane;
    for (int g = 0; g < c->groups; g++) {
        const float *dy = a->out_grad->data + n * c->y_sample + g * c->y_group;
        const float *w = a->param[0]->data + g * c->cout_g * c->k;
        if (weight_grad)
            gemm(false, true, m, k, plane, 1.0f, dy, plane, columns(c, n, g, col), plane, 1.0f,
                 weight_grad + g * c->cout_g * c->k, k);
        if (!a->in_grad[0]) continue;
        float *dx = a->in_grad[0]->data + n * c->x_sample + g * c->x_group;
        if (c->pointwise) {
            gemm(true, false, k, plane, m, 1.0f, w, k, dy, plane, 1.0f, dx, plane);
        } else {
            gemm(true, false, k, plane, m, 1.0f, w, k, dy, plane, 0.0f, col, plane);
            col2im_add(&c->geom, col, dx);
        }
    }
}

static int conv2d_forward(const OpArgs *a) {
    Conv c = conv_of(a);
    conv_forward_samples(a, forward_sample, &c, col_floats(&c));
    return 0;
}

static int conv2d_backward(const OpArgs *a) {
    Conv c = conv_of(a);
    conv_backward_samples(a, backward_sample, &c, col_floats(&c));
    return 0;
}

static size_t conv2d_workspace_bytes(const OpArgs *a) {
    Conv c = conv_of(a);
    return conv_workspace_bytes(a, col_floats(&c));
}

const OpImpl cpu_conv2d = {.forward = conv2d_forward, .backward = conv2d_backward, .workspace_bytes = conv2d_workspace_bytes};
