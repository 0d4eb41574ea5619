// Transposed 2-D convolution (PyTorch's ConvTranspose2d, output_padding 0): the adjoint of a
// conv2d whose input is our output and whose output grid is our input. With K = cout_g * kh * kw
// and the weight [Cin, cout_g, kh, kw] read per group as W_g [cin_g x K]:
//   forward       y[n, g]  = bias + col2im(W_g^T * x[n, g])      (conv2d's input gradient)
//   input grad    dx[n, g] += W_g * col(dy[n, g])                (conv2d's forward)
//   weight grad   dW_g    += x[n, g] * col(dy[n, g])^T
#include "backend/cpu/cpu_ops.h"
#include "backend/cpu/gemm.h"
#include "backend/cpu/im2col.h"

typedef struct {
    const OpArgs *a;
    ColGeom geom; // one group's output channels, windowed onto the input grid
    int groups;
    int64_t cin_g, k, plane;    // input channels per group, column rows, input pixels
    int64_t x_group, y_group;   // floats of one group's channels in x and in y
    int64_t x_sample, y_sample; // floats of one sample in x and in y
    bool pointwise;
} ConvT;

static ConvT convt_of(const OpArgs *a) {
    const ConvParams *p = &a->p.conv;
    const Tensor *x = a->in[0], *y = a->out;
    ConvT c = {.a = a, .groups = p->groups, .pointwise = conv_is_pointwise(p)};
    int64_t cout_g = tensor_c(y) / p->groups, out_plane = tensor_h(y) * tensor_w(y);
    c.geom = col_geom(p, cout_g, tensor_h(y), tensor_w(y), tensor_h(x), tensor_w(x));
    c.cin_g = tensor_c(x) / p->groups;
    c.k = col_rows(&c.geom);
    c.plane = tensor_h(x) * tensor_w(x);
    c.x_group = c.cin_g * c.plane;
    c.y_group = cout_g * out_plane;
    c.x_sample = tensor_c(x) * c.plane;
    c.y_sample = tensor_c(y) * out_plane;
    return c;
}

// A pointwise transposed conv maps x to y in place, so it needs no column buffer.
static int64_t col_floats(const ConvT *c) { return c->pointwise ? 0 : c->k * c->plane; }

static void forward_sample(const void *op, int64_t n, float *col) {
    const ConvT *c = op;
    const OpArgs *a = c->a;
    float *y = a->out->data + n * c->y_sample;
    // col2im adds, so y starts as the bias (or zero).
    conv_fill_bias(y, a->p.conv.has_bias ? a->param[1]->data : NULL, c->geom.c * c->groups, c->geom.h * c->geom.w);
    int m = (int)c->cin_g, k = (int)c->k, plane = (int)c->plane;
    for (int g = 0; g < c->groups; g++) {
        const float *x = a->in[0]->data + n * c->x_sample + g * c->x_group;
        const float *w = a->param[0]->data + g * c->cin_g * c->k;
        float *yg = y + g * c->y_group;
        if (c->pointwise) {
            gemm(true, false, k, plane, m, 1.0f, w, k, x, plane, 1.0f, yg, plane);
        } else {
            gemm(true, false, k, plane, m, 1.0f, w, k, x, plane, 0.0f, col, plane);
            col2im_add(&c->geom, col, yg);
        }
    }
}

// Both gradients read the same column matrix of dy, built once per group.
static void backward_sample(const void *op, int64_t n, float *col, float *weight_grad) {
    const ConvT *c = op;
    const OpArgs *a = c->a;
    int m = (int)c->cin_g, k = (int)c->k, plane = (int)c->plane;
    if (!weight_grad && !a->in_grad[0]) return; // only the bias gradient is wanted: the driver sums it
    for (int g = 0; g < c->groups; g++) {
        const float *dy = a->out_grad->data + n * c->y_sample + g * c->y_group;
        const float *cols = dy;
        if (!c->pointwise) {
            im2col(&c->geom, dy, col);
            cols = col;
        }
        if (weight_grad) {
            const float *x = a->in[0]->data + n * c->x_sample + g * c->x_group;
            gemm(false, true, m, k, plane, 1.0f, x, plane, cols, plane, 1.0f, weight_grad + g * c->cin_g * c->k, k);
        }
        if (a->in_grad[0])
            gemm(false, false, m, plane, k, 1.0f, a->param[0]->data + g * c->cin_g * c->k, k, cols, plane, 1.0f,
                 a->in_grad[0]->data + n * c->x_sample + g * c->x_group, plane);
    }
}

static int convt_forward(const OpArgs *a) {
    ConvT c = convt_of(a);
    conv_forward_samples(a, forward_sample, &c, col_floats(&c));
    return 0;
}

static int convt_backward(const OpArgs *a) {
    ConvT c = convt_of(a);
    conv_backward_samples(a, backward_sample, &c, col_floats(&c));
    return 0;
}

static size_t convt_workspace_bytes(const OpArgs *a) {
    ConvT c = convt_of(a);
    return conv_workspace_bytes(a, col_floats(&c));
}

const OpImpl cpu_conv_transpose2d = {
    .forward = convt_forward, .backward = convt_backward, .workspace_bytes = convt_workspace_bytes};
