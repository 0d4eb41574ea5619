#include "nn/op.h"

#include <math.h>

#include "core/status.h"

static const char *const OP_NAMES[OP_COUNT] = {
    [OP_CONV2D] = "conv2d",
    [OP_CONV_TRANSPOSE2D] = "conv_transpose2d",
    [OP_BATCHNORM2D] = "batchnorm2d",
    [OP_SILU] = "silu",
    [OP_SIGMOID] = "sigmoid",
    [OP_MAXPOOL2D] = "maxpool2d",
    [OP_UPSAMPLE_NEAREST] = "upsample_nearest",
    [OP_CONCAT] = "concat",
    [OP_SLICE] = "slice",
    [OP_ADD] = "add",
    [OP_ADAPTIVE_AVGPOOL2D] = "adaptive_avgpool2d",
    [OP_FLATTEN] = "flatten",
    [OP_LINEAR] = "linear",
    [OP_DROPOUT] = "dropout",
    [OP_SOFTMAX] = "softmax",
    [OP_LOG_SOFTMAX] = "log_softmax",
    [OP_BATCHNORM2D_SILU] = "batchnorm2d_silu",
};

const char *op_name(OpKind kind) { return kind < OP_COUNT ? OP_NAMES[kind] : "unknown-op"; }

bool op_is_batchnorm(OpKind kind) { return kind == OP_BATCHNORM2D || kind == OP_BATCHNORM2D_SILU; }

static int expect_inputs(OpKind kind, int n_in, int want) {
    if (n_in != want) return yolo_fail("%s takes %d input(s), got %d", op_name(kind), want, n_in);
    return 0;
}

static int expect_ndim(OpKind kind, Shape s, int ndim) {
    char buf[64];
    if (s.ndim != ndim)
        return yolo_fail("%s expects a %d-D input, got %s", op_name(kind), ndim, shape_str(s, buf, sizeof buf));
    for (int i = 0; i < s.ndim; i++)
        if (s.dim[i] <= 0) return yolo_fail("%s got an empty input %s", op_name(kind), shape_str(s, buf, sizeof buf));
    return 0;
}

// floor((size + 2*pad - dil*(k-1) - 1) / stride) + 1, the PyTorch output size.
static int64_t window_out(int64_t size, int k, int s, int p, int d) {
    int64_t span = size + 2 * (int64_t)p - (int64_t)d * (k - 1) - 1;
    return span < 0 ? 0 : span / s + 1;
}

static int check_conv(OpKind kind, const ConvParams *c, Shape x) {
    TRY(expect_ndim(kind, x, 4));
    if (c->kh < 1 || c->kw < 1 || c->sh < 1 || c->sw < 1 || c->dh < 1 || c->dw < 1 || c->ph < 0 || c->pw < 0)
        return yolo_fail("%s: kernel, stride and dilation must be >= 1 and padding >= 0", op_name(kind));
    if (c->groups < 1 || x.dim[1] % c->groups != 0 || c->cout < 1 || c->cout % c->groups != 0)
        return yolo_fail("%s: %lld input and %d output channels do not divide into %d groups", op_name(kind),
                         (long long)x.dim[1], c->cout, c->groups);
    return 0;
}

static int infer_conv2d(const ConvParams *c, Shape x, OpShapes *o) {
    TRY(check_conv(OP_CONV2D, c, x));
    int64_t oh = window_out(x.dim[2], c->kh, c->sh, c->ph, c->dh);
    int64_t ow = window_out(x.dim[3], c->kw, c->sw, c->pw, c->dw);
    if (oh < 1 || ow < 1) return yolo_fail("conv2d: input %lldx%lld is smaller than the kernel", (long long)x.dim[2], (long long)x.dim[3]);
    o->out = shape_nchw(x.dim[0], c->cout, oh, ow);
    o->param[o->n_params++] = shape_nchw(c->cout, x.dim[1] / c->groups, c->kh, c->kw);
    if (c->has_bias) o->param[o->n_params++] = shape_1d(c->cout);
    return 0;
}

static int infer_conv_transpose2d(const ConvParams *c, Shape x, OpShapes *o) {
    TRY(check_conv(OP_CONV_TRANSPOSE2D, c, x));
    // (H - 1) * s - 2p + d * (k - 1) + 1, PyTorch with output_padding 0.
    int64_t oh = (x.dim[2] - 1) * c->sh - 2 * c->ph + (int64_t)c->dh * (c->kh - 1) + 1;
    int64_t ow = (x.dim[3] - 1) * c->sw - 2 * c->pw + (int64_t)c->dw * (c->kw - 1) + 1;
    if (oh < 1 || ow < 1) return yolo_fail("conv_transpose2d: padding leaves no output");
    o->out = shape_nchw(x.dim[0], c->cout, oh, ow);
    o->param[o->n_params++] = shape_nchw(x.dim[1], c->cout / c->groups, c->kh, c->kw);
    if (c->has_bias) o->param[o->n_params++] = shape_1d(c->cout);
    return 0;
}

static int infer_concat(int n_in, const Shape *in, OpShapes *o) {
    char a[64], b[64];
    if (n_in < 1 || n_in > OP_MAX_INPUTS) return yolo_fail("concat takes 1 to %d inputs, got %d", OP_MAX_INPUTS, n_in);
    TRY(expect_ndim(OP_CONCAT, in[0], 4));
    Shape out = in[0];
    for (int i = 1; i < n_in; i++) {
        TRY(expect_ndim(OP_CONCAT, in[i], 4));
        if (in[i].dim[0] != out.dim[0] || in[i].dim[2] != out.dim[2] || in[i].dim[3] != out.dim[3])
            return yolo_fail("concat: input %d is %s but input 0 is %s; all but the channels must match", i,
                             shape_str(in[i], a, sizeof a), shape_str(in[0], b, sizeof b));
        out.dim[1] += in[i].dim[1];
    }
    o->out = out;
    return 0;
}

int op_infer(OpKind kind, const OpParams *p, int n_in, const Shape *in, OpShapes *o) {
    *o = (OpShapes){0};
    char a[64], b[64];
    if (kind != OP_CONCAT && kind != OP_ADD) TRY(expect_inputs(kind, n_in, 1));
    switch (kind) {
    case OP_CONV2D:
        return infer_conv2d(&p->conv, in[0], o);
    case OP_CONV_TRANSPOSE2D:
        return infer_conv_transpose2d(&p->conv, in[0], o);
    case OP_BATCHNORM2D:
    case OP_BATCHNORM2D_SILU:
        TRY(expect_ndim(kind, in[0], 4));
        if (!(p->bn.eps > 0.0f) || !(p->bn.momentum >= 0.0f && p->bn.momentum <= 1.0f))
            return yolo_fail("%s: eps must be > 0 and momentum in [0, 1], got %g and %g", op_name(kind), p->bn.eps,
                             p->bn.momentum);
        o->out = in[0];
        o->n_params = o->n_buffers = o->n_saved = 2;
        for (int i = 0; i < 2; i++) o->param[i] = o->buffer[i] = o->saved[i] = shape_1d(in[0].dim[1]);
        return 0;
    case OP_SILU:
    case OP_SIGMOID:
    case OP_DROPOUT:
        if (kind == OP_DROPOUT && !(p->drop_p >= 0.0f && p->drop_p < 1.0f))
            return yolo_fail("dropout: p must be in [0, 1), got %g", p->drop_p);
        o->out = in[0];
        return 0;
    case OP_MAXPOOL2D: {
        const PoolParams *q = &p->pool;
        TRY(expect_ndim(kind, in[0], 4));
        if (q->kh < 1 || q->kw < 1 || q->sh < 1 || q->sw < 1 || q->ph < 0 || q->pw < 0 || 2 * q->ph > q->kh ||
            2 * q->pw > q->kw)
            return yolo_fail("maxpool2d: kernel and stride must be >= 1 and padding at most half the kernel");
        int64_t oh = window_out(in[0].dim[2], q->kh, q->sh, q->ph, 1);
        int64_t ow = window_out(in[0].dim[3], q->kw, q->sw, q->pw, 1);
        if (oh < 1 || ow < 1) return yolo_fail("maxpool2d: input is smaller than the window");
        o->out = shape_nchw(in[0].dim[0], in[0].dim[1], oh, ow);
        return 0;
    }
    case OP_UPSAMPLE_NEAREST:
        TRY(expect_ndim(kind, in[0], 4));
        if (p->scale < 1) return yolo_fail("upsample_nearest: scale must be >= 1, got %d", p->scale);
        o->out = shape_nchw(in[0].dim[0], in[0].dim[1], in[0].dim[2] * p->scale, in[0].dim[3] * p->scale);
        return 0;
    case OP_CONCAT:
        return infer_concat(n_in, in, o);
    case OP_SLICE:
        TRY(expect_ndim(kind, in[0], 4));
        if (p->slice.c0 < 0 || p->slice.c1 <= p->slice.c0 || p->slice.c1 > in[0].dim[1])
            return yolo_fail("slice: channels [%d, %d) are not inside the input's %lld", p->slice.c0, p->slice.c1,
                             (long long)in[0].dim[1]);
        o->out = shape_nchw(in[0].dim[0], p->slice.c1 - p->slice.c0, in[0].dim[2], in[0].dim[3]);
        return 0;
    case OP_ADD:
        TRY(expect_inputs(kind, n_in, 2));
        if (!shape_equal(in[0], in[1]))
            return yolo_fail("add: shapes %s and %s differ", shape_str(in[0], a, sizeof a), shape_str(in[1], b, sizeof b));
        o->out = in[0];
        return 0;
    case OP_ADAPTIVE_AVGPOOL2D:
        TRY(expect_ndim(kind, in[0], 4));
        if (p->adaptive.out_h < 1 || p->adaptive.out_w < 1)
            return yolo_fail("adaptive_avgpool2d: output size must be >= 1");
        o->out = shape_nchw(in[0].dim[0], in[0].dim[1], p->adaptive.out_h, p->adaptive.out_w);
        return 0;
    case OP_FLATTEN:
        TRY(expect_ndim(kind, in[0], 4));
        o->out = shape_2d(in[0].dim[0], in[0].dim[1] * in[0].dim[2] * in[0].dim[3]);
        return 0;
    case OP_LINEAR:
        TRY(expect_ndim(kind, in[0], 2));
        if (p->linear.out_features < 1) return yolo_fail("linear: out_features must be >= 1");
        o->out = shape_2d(in[0].dim[0], p->linear.out_features);
        o->param[o->n_params++] = shape_2d(p->linear.out_features, in[0].dim[1]);
        if (p->linear.has_bias) o->param[o->n_params++] = shape_1d(p->linear.out_features);
        return 0;
    case OP_SOFTMAX:
    case OP_LOG_SOFTMAX:
        TRY(expect_ndim(kind, in[0], 2));
        o->out = in[0];
        return 0;
    case OP_COUNT:
        break;
    }
    return yolo_fail("unknown op kind %d", (int)kind);
}
