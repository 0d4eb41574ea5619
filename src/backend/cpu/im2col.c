#include "backend/cpu/im2col.h"

#include <string.h>

#include "backend/cpu/cpu_ops.h"

ColGeom col_geom(const ConvParams *p, int64_t c, int64_t h, int64_t w, int64_t oh, int64_t ow) {
    return (ColGeom){.c = c, .h = h, .w = w, .oh = oh, .ow = ow, .kh = p->kh, .kw = p->kw, .sh = p->sh,
                     .sw = p->sw, .ph = p->ph, .pw = p->pw, .dh = p->dh, .dw = p->dw};
}

bool conv_is_pointwise(const ConvParams *p) {
    return p->kh == 1 && p->kw == 1 && p->sh == 1 && p->sw == 1 && p->ph == 0 && p->pw == 0;
}

// ceil(a / b) for b > 0 and a of either sign.
static int64_t ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -(-a / b); }

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

// The window positions o in [*lo, *hi) of a grid of n whose image coordinate o * stride + offset
// lies inside [0, size): the rest read padding.
static void inside(int64_t size, int64_t n, int stride, int64_t offset, int64_t *lo, int64_t *hi) {
    *lo = clamp64(ceil_div(-offset, stride), 0, n);
    *hi = clamp64(ceil_div(size - offset, stride), *lo, n);
}

// One column-matrix row of kernel tap (i, j) of image channel `plane`: the clipped ranges are
// computed once per row so the inner loops carry no bounds tests.
typedef struct {
    int64_t y_lo, y_hi, x_lo, x_hi, y_off, x_off;
} Tap;

static Tap tap_of(const ColGeom *g, int i, int j) {
    Tap t = {.y_off = (int64_t)i * g->dh - g->ph, .x_off = (int64_t)j * g->dw - g->pw};
    inside(g->h, g->oh, g->sh, t.y_off, &t.y_lo, &t.y_hi);
    inside(g->w, g->ow, g->sw, t.x_off, &t.x_lo, &t.x_hi);
    return t;
}

// Image rows and columns are indexed as o * stride + offset from the row start (offset may be
// negative), never by a pointer before the plane.
static void im2col_row(const ColGeom *g, const Tap *t, const float *plane, float *row) {
    int64_t ow = g->ow, n = t->x_hi - t->x_lo;
    memset(row, 0, (size_t)(t->y_lo * ow) * sizeof(float));
    for (int64_t oy = t->y_lo; oy < t->y_hi; oy++) {
        float *dst = row + oy * ow;
        const float *src = plane + (oy * g->sh + t->y_off) * g->w;
        memset(dst, 0, (size_t)t->x_lo * sizeof(float));
        if (g->sw == 1) {
            memcpy(dst + t->x_lo, src + t->x_lo + t->x_off, (size_t)n * sizeof(float));
        } else {
            for (int64_t ox = t->x_lo; ox < t->x_hi; ox++) dst[ox] = src[ox * g->sw + t->x_off];
        }
        memset(dst + t->x_hi, 0, (size_t)(ow - t->x_hi) * sizeof(float));
    }
    memset(row + t->y_hi * ow, 0, (size_t)((g->oh - t->y_hi) * ow) * sizeof(float));
}

static void col2im_row(const ColGeom *g, const Tap *t, const float *row, float *plane) {
    for (int64_t oy = t->y_lo; oy < t->y_hi; oy++) {
        const float *src = row + oy * g->ow;
        float *dst = plane + (oy * g->sh + t->y_off) * g->w;
        if (g->sw == 1) {
            for (int64_t ox = t->x_lo; ox < t->x_hi; ox++) dst[ox + t->x_off] += src[ox];
        } else {
            for (int64_t ox = t->x_lo; ox < t->x_hi; ox++) dst[ox * g->sw + t->x_off] += src[ox];
        }
    }
}

// Both loop over taps outside channels so each tap's clipping is computed once. For one image
// element, col2im adds the taps that cover it in (i, j) order.
void im2col(const ColGeom *g, const float *img, float *col) {
    int64_t taps = (int64_t)g->kh * g->kw, cols = g->oh * g->ow;
    for (int i = 0; i < g->kh; i++)
        for (int j = 0; j < g->kw; j++) {
            Tap t = tap_of(g, i, j);
            for (int64_t ci = 0; ci < g->c; ci++)
                im2col_row(g, &t, img + ci * g->h * g->w, col + (ci * taps + i * g->kw + j) * cols);
        }
}

void col2im_add(const ColGeom *g, const float *col, float *img) {
    int64_t taps = (int64_t)g->kh * g->kw, cols = g->oh * g->ow;
    for (int i = 0; i < g->kh; i++)
        for (int j = 0; j < g->kw; j++) {
            Tap t = tap_of(g, i, j);
            for (int64_t ci = 0; ci < g->c; ci++)
                col2im_row(g, &t, col + (ci * taps + i * g->kw + j) * cols, img + ci * g->h * g->w);
        }
}

void conv_fill_bias(float *y, const float *bias, int64_t channels, int64_t plane) {
    for (int64_t ch = 0; ch < channels; ch++) {
        float v = bias ? bias[ch] : 0.0f;
        for (int64_t i = 0; i < plane; i++) y[ch * plane + i] = v;
    }
}

// Workspace layout: per-thread column buffers (rounded to 64 bytes so each slice stays aligned),
// then one partial per sample group holding a weight gradient and, with a bias, a bias gradient.
typedef struct {
    int64_t col_stride, n_groups, weight_numel, bias_numel, partial_floats;
} Layout;

static Layout layout_of(const OpArgs *a, int64_t col_floats) {
    Layout l = {.col_stride = (col_floats + 15) / 16 * 16};
    int64_t n = tensor_n(a->in[0]);
    l.n_groups = (n + CONV_SAMPLE_GROUP - 1) / CONV_SAMPLE_GROUP;
    l.weight_numel = tensor_numel(a->param[0]);
    l.bias_numel = a->p.conv.has_bias ? tensor_c(a->out) : 0;
    l.partial_floats = l.weight_numel + l.bias_numel;
    return l;
}

size_t conv_workspace_bytes(const OpArgs *a, int64_t col_floats) {
    Layout l = layout_of(a, col_floats);
    int64_t threads = pool_threads(a->backend->pool);
    return (size_t)(threads * l.col_stride + l.n_groups * l.partial_floats) * sizeof(float);
}

typedef struct {
    const OpArgs *a;
    const void *op;
    ConvForwardFn fwd;
    ConvBackwardFn bwd;
    Layout l;
    float *partials;
    Tensor *weight_grad, *bias_grad; // param_grad[0] and [1], NULL when not wanted
} Job;

static float *thread_col(const Job *job, int thread) { return (float *)job->a->workspace + thread * job->l.col_stride; }

static void forward_range(void *ctx, int64_t begin, int64_t end, int thread) {
    const Job *job = ctx;
    for (int64_t n = begin; n < end; n++) job->fwd(job->op, n, thread_col(job, thread));
}

void conv_forward_samples(const OpArgs *a, ConvForwardFn fn, const void *op, int64_t col_floats) {
    Job job = {.a = a, .op = op, .fwd = fn, .l = layout_of(a, col_floats)};
    cpu_parallel(a, tensor_n(a->out), forward_range, &job);
}

// Adds each channel's sum over the plane into acc.
static void add_channel_sums(const float *y, int64_t channels, int64_t plane, float *acc) {
    for (int64_t ch = 0; ch < channels; ch++) {
        float sum = 0.0f;
        for (int64_t i = 0; i < plane; i++) sum += y[ch * plane + i];
        acc[ch] += sum;
    }
}

// Sample groups [begin, end): each computes its samples' input gradients and its partial.
static void backward_range(void *ctx, int64_t begin, int64_t end, int thread) {
    const Job *job = ctx;
    const OpArgs *a = job->a;
    int64_t n_total = tensor_n(a->out), cout = tensor_c(a->out), plane = tensor_h(a->out) * tensor_w(a->out);
    for (int64_t grp = begin; grp < end; grp++) {
        float *weight_grad = job->partials + grp * job->l.partial_floats;
        float *bias_grad = weight_grad + job->l.weight_numel;
        memset(weight_grad, 0, (size_t)job->l.partial_floats * sizeof(float));
        int64_t last = grp * CONV_SAMPLE_GROUP + CONV_SAMPLE_GROUP;
        for (int64_t n = grp * CONV_SAMPLE_GROUP; n < last && n < n_total; n++) {
            job->bwd(job->op, n, thread_col(job, thread), job->weight_grad ? weight_grad : NULL);
            if (job->bias_grad) add_channel_sums(a->out_grad->data + n * cout * plane, cout, plane, bias_grad);
        }
    }
}

// Parameter elements [begin, end) (weight, then bias): the partials summed in group order.
static void reduce_range(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const Job *job = ctx;
    const Layout *l = &job->l;
    for (int64_t e = begin; e < end; e++) {
        Tensor *grad = e < l->weight_numel ? job->weight_grad : job->bias_grad;
        if (!grad) continue;
        float sum = job->partials[e];
        for (int64_t grp = 1; grp < l->n_groups; grp++) sum += job->partials[grp * l->partial_floats + e];
        grad->data[e < l->weight_numel ? e : e - l->weight_numel] += sum;
    }
}

void conv_backward_samples(const OpArgs *a, ConvBackwardFn fn, const void *op, int64_t col_floats) {
    Job job = {.a = a, .op = op, .bwd = fn, .l = layout_of(a, col_floats), .weight_grad = a->param_grad[0]};
    job.bias_grad = job.l.bias_numel ? a->param_grad[1] : NULL;
    if (!a->in_grad[0] && !job.weight_grad && !job.bias_grad) return;
    job.partials = (float *)a->workspace + pool_threads(a->backend->pool) * job.l.col_stride;
    cpu_parallel(a, job.l.n_groups, backward_range, &job);
    if (job.weight_grad || job.bias_grad) cpu_parallel(a, job.l.partial_floats, reduce_range, &job);
}
