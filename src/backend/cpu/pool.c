// Max pooling (padding acts as -inf) and adaptive average pooling with PyTorch's bin edges.
//
// Threads split over (sample, channel) planes: every output and every input gradient of a plane
// is computed by one thread in a fixed order.
#include <math.h>

#include "backend/cpu/cpu_ops.h"
#include "backend/cpu/vmath.h"

typedef struct {
    const OpArgs *a;
} Job;

static inline int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

// Max pooling finds each window's first maximum in row-major order, PyTorch's rule, which
// backward must follow too: it sends the gradient to that element. Padding is skipped rather than
// read as a value, which is what -inf padding means; op_infer's padding <= kernel / 2 guarantees
// every window holds at least one real element. A NaN wins, as in PyTorch, so a diverged
// activation is not hidden.
//
// The search is separable: the first maximum of a window is the first maximum, scanning its rows
// top to bottom, among the first maxima of its rows. A row pass finds, for every input row and
// output column, the first maximum of the row's part of the window; a column pass then picks among
// those of the window's rows. That is kw + kh comparisons per output instead of kw * kh (SPPF's
// 5x5 windows: 10 instead of 25), and both passes run along output columns, so they vectorise.

// v replaces best as the maximum found so far: strictly larger, or the first NaN.
static inline int beats(float v, float best) { return (v > best) | ((v != v) & (best == best)); }

// ceil(a / b) for b > 0 and a of either sign.
static inline int64_t ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -(-a / b); }

// The output positions o in [*lo, *hi) out of n whose tap at o * stride + offset lies inside
// [0, size).
static void inside(int64_t size, int64_t n, int stride, int64_t offset, int64_t *lo, int64_t *hi) {
    *lo = min64(max64(ceil_div(-offset, stride), 0), n);
    *hi = min64(max64(ceil_div(size - offset, stride), *lo), n);
}

// A thread's scratch in the workspace, for one (sample, channel) plane at a time.
typedef struct {
    float *value;  // [h][ow]: the first maximum of each input row's part of each window
    int32_t *col;  // [h][ow]: its column
    float *best;   // [ow]: the column pass's maximum so far, for one output row
    int32_t *row;  // [ow]: its row
} Scratch;

// value and col, then best and row: (h + 1) * ow of each, 4 bytes each.
static int64_t scratch_floats(const OpArgs *a) { return (tensor_h(a->in[0]) + 1) * tensor_w(a->out) * 2; }

static Scratch scratch_of(const OpArgs *a, int thread) {
    int64_t rows = tensor_h(a->in[0]) * tensor_w(a->out), ow = tensor_w(a->out);
    float *base = (float *)a->workspace + thread * scratch_floats(a);
    return (Scratch){.value = base, .col = (int32_t *)(base + rows), .best = base + 2 * rows,
                     .row = (int32_t *)(base + 2 * rows + ow)};
}

// The row pass over one plane. As in PyTorch, each window starts from -inf at its first real
// element, and a later element takes over only if it beats the maximum so far, so an all -inf
// window keeps its first element. Taps come in order, each over the outputs where it is real.
VM_CLONES static void row_pass(const float *x, int64_t h, int64_t w, int64_t ow, const PoolParams *q, Scratch s) {
    const int64_t sw = q->sw, pw = q->pw; // locals: the int32 stores below could alias *q
    for (int64_t y = 0; y < h; y++)
        for (int64_t ox = 0; ox < ow; ox++) {
            s.value[y * ow + ox] = -INFINITY;
            s.col[y * ow + ox] = (int32_t)max64(ox * sw - pw, 0);
        }
    for (int k = 0; k < q->kw; k++) {
        int64_t lo, hi;
        inside(w, ow, (int)sw, k - pw, &lo, &hi);
        for (int64_t y = 0; y < h; y++) {
            const float *restrict in = x + y * w + k - pw;
            float *restrict value = s.value + y * ow;
            int32_t *restrict col = s.col + y * ow;
            for (int64_t ox = lo; ox < hi; ox++) {
                int b = beats(in[ox * sw], value[ox]);
                value[ox] = vm_select(b, in[ox * sw], value[ox]);
                col[ox] = vm_select_int(b, (int32_t)(ox * sw + k - pw), col[ox]);
            }
        }
    }
}

// The column pass for output row oy, the same way down the window's rows: s.best and s.row get
// each window's maximum and its row.
VM_CLONES static void column_pass(int64_t h, int64_t ow, int64_t oy, const PoolParams *q, Scratch s) {
    int64_t y0 = oy * q->sh - q->ph;
    int64_t ylo = max64(y0, 0), yhi = min64(y0 + q->kh, h);
    float *restrict best = s.best;
    int32_t *restrict row = s.row;
    for (int64_t ox = 0; ox < ow; ox++) {
        best[ox] = -INFINITY;
        row[ox] = (int32_t)ylo;
    }
    for (int64_t y = ylo; y < yhi; y++) {
        const float *restrict value = s.value + y * ow;
        for (int64_t ox = 0; ox < ow; ox++) {
            int b = beats(value[ox], best[ox]);
            best[ox] = vm_select(b, value[ox], best[ox]);
            row[ox] = vm_select_int(b, (int32_t)y, row[ox]);
        }
    }
}

static void maxpool_fwd(void *ctx, int64_t begin, int64_t end, int thread) {
    const OpArgs *a = ((Job *)ctx)->a;
    const PoolParams *q = &a->p.pool;
    int64_t h = tensor_h(a->in[0]), w = tensor_w(a->in[0]), oh = tensor_h(a->out), ow = tensor_w(a->out);
    Scratch s = scratch_of(a, thread);
    for (int64_t plane = begin; plane < end; plane++) {
        float *y = a->out->data + plane * oh * ow;
        row_pass(a->in[0]->data + plane * h * w, h, w, ow, q, s);
        for (int64_t oy = 0; oy < oh; oy++) {
            column_pass(h, ow, oy, q, s);
            for (int64_t ox = 0; ox < ow; ox++) y[oy * ow + ox] = s.best[ox];
        }
    }
}

// Finds each window's argmax again instead of saving it: the search is cheap next to the memory
// a saved index tensor would take in every planned step. Gradients are added in output order, a
// fixed order.
static void maxpool_bwd(void *ctx, int64_t begin, int64_t end, int thread) {
    const OpArgs *a = ((Job *)ctx)->a;
    const PoolParams *q = &a->p.pool;
    int64_t h = tensor_h(a->in[0]), w = tensor_w(a->in[0]), oh = tensor_h(a->out), ow = tensor_w(a->out);
    Scratch s = scratch_of(a, thread);
    for (int64_t plane = begin; plane < end; plane++) {
        const float *dy = a->out_grad->data + plane * oh * ow;
        float *dx = a->in_grad[0]->data + plane * h * w;
        row_pass(a->in[0]->data + plane * h * w, h, w, ow, q, s);
        for (int64_t oy = 0; oy < oh; oy++) {
            column_pass(h, ow, oy, q, s);
            for (int64_t ox = 0; ox < ow; ox++) {
                int64_t y = s.row[ox];
                dx[y * w + s.col[y * ow + ox]] += dy[oy * ow + ox];
            }
        }
    }
}

static size_t maxpool_workspace_bytes(const OpArgs *a) {
    return (size_t)(pool_threads(a->backend->pool) * scratch_floats(a)) * sizeof(float);
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

const OpImpl cpu_maxpool2d = {.forward = maxpool_forward, .backward = maxpool_backward,
                              .workspace_bytes = maxpool_workspace_bytes};
const OpImpl cpu_adaptive_avgpool2d = {.forward = avgpool_forward, .backward = avgpool_backward};
