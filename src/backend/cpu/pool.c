// Max pooling (padding acts as -inf) and adaptive average pooling with PyTorch's bin edges.
//
// Threads split over (sample, channel) planes: every output and every input gradient of a plane
// is computed by one thread in a fixed order.
#include <math.h>

#include "backend/cpu/cpu_ops.h"

typedef struct {
    const OpArgs *a;
} Job;

static inline int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

// Index in the plane of the first maximum (row-major scan) of the window whose padded top-left
// corner is (y0, x0). Padding is skipped rather than read as a value, which is what -inf padding
// means; op_infer's padding <= kernel / 2 guarantees the window holds at least one real element.
// A NaN wins, as in PyTorch, so a diverged activation is not hidden.
static int64_t window_argmax(const float *plane, int64_t h, int64_t w, int64_t y0, int64_t x0, const PoolParams *q) {
    int64_t ylo = max64(y0, 0), yhi = min64(y0 + q->kh, h);
    int64_t xlo = max64(x0, 0), xhi = min64(x0 + q->kw, w);
    int64_t best = ylo * w + xlo;
    for (int64_t y = ylo; y < yhi; y++)
        for (int64_t x = xlo; x < xhi; x++) {
            float v = plane[y * w + x];
            if (v > plane[best] || (isnan(v) && !isnan(plane[best]))) best = y * w + x;
        }
    return best;
}

static void maxpool_fwd(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const OpArgs *a = ((Job *)ctx)->a;
    const PoolParams *q = &a->p.pool;
    int64_t h = tensor_h(a->in[0]), w = tensor_w(a->in[0]), oh = tensor_h(a->out), ow = tensor_w(a->out);
    for (int64_t plane = begin; plane < end; plane++) {
        const float *x = a->in[0]->data + plane * h * w;
        float *y = a->out->data + plane * oh * ow;
        for (int64_t oy = 0; oy < oh; oy++)
            for (int64_t ox = 0; ox < ow; ox++)
                y[oy * ow + ox] = x[window_argmax(x, h, w, oy * q->sh - q->ph, ox * q->sw - q->pw, q)];
    }
}

// Recomputes each window's argmax instead of saving it: the scan is cheap next to the memory a
// saved index tensor would take in every planned step.
static void maxpool_bwd(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const OpArgs *a = ((Job *)ctx)->a;
    const PoolParams *q = &a->p.pool;
    int64_t h = tensor_h(a->in[0]), w = tensor_w(a->in[0]), oh = tensor_h(a->out), ow = tensor_w(a->out);
    for (int64_t plane = begin; plane < end; plane++) {
        const float *x = a->in[0]->data + plane * h * w;
        const float *dy = a->out_grad->data + plane * oh * ow;
        float *dx = a->in_grad[0]->data + plane * h * w;
        for (int64_t oy = 0; oy < oh; oy++)
            for (int64_t ox = 0; ox < ow; ox++)
                dx[window_argmax(x, h, w, oy * q->sh - q->ph, ox * q->sw - q->pw, q)] += dy[oy * ow + ox];
    }
}

// Bin i of `out` bins over `size`: [floor(i * size / out), ceil((i + 1) * size / out)). Bins
// overlap when size is not a multiple of out, exactly as in PyTorch.
static inline int64_t bin_start(int64_t i, int64_t size, int64_t out) { return i * size / out; }
static inline int64_t bin_end(int64_t i, int64_t size, int64_t out) { return ((i + 1) * size + out - 1) / out; }

static void avgpool_fwd(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const OpArgs *a = ((Job *)ctx)->a;
    int64_t h = tensor_h(a->in[0]), w = tensor_w(a->in[0]), oh = tensor_h(a->out), ow = tensor_w(a->out);
    for (int64_t plane = begin; plane < end; plane++) {
        const float *x = a->in[0]->data + plane * h * w;
        float *y = a->out->data + plane * oh * ow;
        for (int64_t oy = 0; oy < oh; oy++)
            for (int64_t ox = 0; ox < ow; ox++) {
                int64_t y0 = bin_start(oy, h, oh), y1 = bin_end(oy, h, oh);
                int64_t x0 = bin_start(ox, w, ow), x1 = bin_end(ox, w, ow);
                double sum = 0.0;
                for (int64_t iy = y0; iy < y1; iy++)
                    for (int64_t ix = x0; ix < x1; ix++) sum += x[iy * w + ix];
                y[oy * ow + ox] = (float)(sum / (double)((y1 - y0) * (x1 - x0)));
            }
    }
}

static void avgpool_bwd(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const OpArgs *a = ((Job *)ctx)->a;
    int64_t h = tensor_h(a->in[0]), w = tensor_w(a->in[0]), oh = tensor_h(a->out), ow = tensor_w(a->out);
    for (int64_t plane = begin; plane < end; plane++) {
        const float *dy = a->out_grad->data + plane * oh * ow;
        float *dx = a->in_grad[0]->data + plane * h * w;
        for (int64_t oy = 0; oy < oh; oy++)
            for (int64_t ox = 0; ox < ow; ox++) {
                int64_t y0 = bin_start(oy, h, oh), y1 = bin_end(oy, h, oh);
                int64_t x0 = bin_start(ox, w, ow), x1 = bin_end(ox, w, ow);
                float g = dy[oy * ow + ox] / (float)((y1 - y0) * (x1 - x0));
                for (int64_t iy = y0; iy < y1; iy++)
                    for (int64_t ix = x0; ix < x1; ix++) dx[iy * w + ix] += g;
            }
    }
}

static int per_plane(const OpArgs *a, ParallelFn fn) {
    Job job = {a};
    cpu_parallel(a, tensor_n(a->in[0]) * tensor_c(a->in[0]), fn, &job);
    return 0;
}

static int maxpool_forward(const OpArgs *a) { return per_plane(a, maxpool_fwd); }
static int maxpool_backward(const OpArgs *a) { return a->in_grad[0] ? per_plane(a, maxpool_bwd) : 0; }
static int avgpool_forward(const OpArgs *a) { return per_plane(a, avgpool_fwd); }
static int avgpool_backward(const OpArgs *a) { return a->in_grad[0] ? per_plane(a, avgpool_bwd) : 0; }

const OpImpl cpu_maxpool2d = {.forward = maxpool_forward, .backward = maxpool_backward};
const OpImpl cpu_adaptive_avgpool2d = {.forward = avgpool_forward, .backward = avgpool_backward};
