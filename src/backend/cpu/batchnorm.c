// Batch normalisation per channel over (N, H, W): y = (x - mean) * invstd * gamma + beta.
//
// Training normalises with the batch's own mean and biased variance and folds them into the
// running statistics PyTorch's way (running_var takes the unbiased variance); eval applies the
// running statistics, which makes BN a fixed per-channel affine map. Forward keeps the mean and
// invstd it used in saved[0] and saved[1], so backward reads the same numbers in either mode.
//
// BN in training mode breaks micro-batch additivity. Backward accumulates, so for other ops the
// gradients of a batch of 4 equal the sum of those of its two halves of 2. With BN the halves
// are normalised with their own means and variances, which differ from the full batch's: the
// outputs differ, and so do the gradients, since each sample's gradient flows through the
// statistics of the micro-batch it was in. The running statistics also take two momentum steps
// instead of one. Accumulating micro-batches therefore equals the large batch only for BN in
// eval mode (or networks without BN).
//
// Threads split over channels; each channel's reductions run on one thread in a fixed order.
// They sum in double, in LANES partial sums (element i of a plane goes to lane i % LANES) that are
// added up in a fixed order at the end: the lanes are what lets the loops vectorise, and since
// they are spelled out in C, both VM_CLONES clones and every thread count add the same numbers in
// the same order.
#include <math.h>

#include "backend/cpu/cpu_ops.h"
#include "backend/cpu/vmath.h"
#include "core/status.h"

// Eight lanes are two AVX2 registers of doubles per sum: enough independent additions to keep up
// with the speed memory delivers a channel.
enum { LANES = 8 };

typedef struct {
    const OpArgs *a;
} Job;

// The (N, H, W) layout of one channel: n planes of hw values, `stride` apart.
typedef struct {
    int64_t n, hw, stride, count;
} Layout;

static Layout layout_of(const Tensor *x) {
    int64_t hw = tensor_h(x) * tensor_w(x);
    return (Layout){.n = tensor_n(x), .hw = hw, .stride = tensor_c(x) * hw, .count = tensor_n(x) * hw};
}

// Plane s of channel c.
static inline int64_t plane_at(Layout l, int64_t s, int64_t c) { return s * l.stride + c * l.hw; }

_Static_assert(LANES == 8, "lanes_total adds eight lanes");

static inline double lanes_total(const double *acc) {
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

// acc[lane] += the plane's elements in that lane.
static inline void add_sum(const float *restrict p, int64_t hw, double *restrict acc) {
    int64_t i = 0;
    for (; i + LANES <= hw; i += LANES)
        for (int j = 0; j < LANES; j++) acc[j] += (double)p[i + j];
    for (int j = 0; i + j < hw; j++) acc[j] += (double)p[i + j];
}

// acc[lane] += the squared deviations from m of the plane's elements in that lane.
static inline void add_sq_dev(const float *restrict p, int64_t hw, double m, double *restrict acc) {
    int64_t i = 0;
    for (; i + LANES <= hw; i += LANES)
        for (int j = 0; j < LANES; j++) {
            double d = (double)p[i + j] - m;
            acc[j] += d * d;
        }
    for (int j = 0; i + j < hw; j++) {
        double d = (double)p[i + j] - m;
        acc[j] += d * d;
    }
}

// Mean and biased variance of channel c, two passes for accuracy.
VM_CLONES static void channel_moments(const Tensor *x, Layout l, int64_t c, double *mean, double *var) {
    double sum[LANES] = {0}, sq[LANES] = {0};
    for (int64_t s = 0; s < l.n; s++) add_sum(x->data + plane_at(l, s, c), l.hw, sum);
    double m = lanes_total(sum) / (double)l.count;
    for (int64_t s = 0; s < l.n; s++) add_sq_dev(x->data + plane_at(l, s, c), l.hw, m, sq);
    *mean = m;
    *var = lanes_total(sq) / (double)l.count;
}

// Picks the statistics channel c is normalised with, records them in saved[] and, in training,
// moves the running statistics towards the batch's.
static void channel_stats(const OpArgs *a, Layout l, int64_t c) {
    float *run_mean = a->buffer[0]->data, *run_var = a->buffer[1]->data;
    double eps = a->p.bn.eps, mean, var;
    if (a->training) {
        channel_moments(a->in[0], l, c, &mean, &var);
        double m = a->p.bn.momentum, unbiased = var * (double)l.count / (double)(l.count - 1);
        run_mean[c] = (float)((1.0 - m) * run_mean[c] + m * mean);
        run_var[c] = (float)((1.0 - m) * run_var[c] + m * unbiased);
    } else {
        mean = run_mean[c];
        var = run_var[c];
    }
    a->saved[0]->data[c] = (float)mean;
    a->saved[1]->data[c] = (float)(1.0 / sqrt(var + eps));
}

// y = (x - mean) * scale + shift over channel c.
VM_CLONES static void channel_normalise(const OpArgs *a, Layout l, int64_t c) {
    float mean = a->saved[0]->data[c];
    float scale = a->saved[1]->data[c] * a->param[0]->data[c], shift = a->param[1]->data[c];
    for (int64_t s = 0; s < l.n; s++) {
        const float *restrict x = a->in[0]->data + plane_at(l, s, c);
        float *restrict y = a->out->data + plane_at(l, s, c);
        for (int64_t i = 0; i < l.hw; i++) y[i] = (x[i] - mean) * scale + shift;
    }
}

static void bn_fwd(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const OpArgs *a = ((Job *)ctx)->a;
    Layout l = layout_of(a->in[0]);
    for (int64_t c = begin; c < end; c++) {
        channel_stats(a, l, c);
        channel_normalise(a, l, c);
    }
}

// acc[lane] += dy * xhat over the plane's elements in that lane, xhat = (x - mean) * invstd. A
// separate loop from the sum of dy (which reads dy again, from cache): GCC vectorises a loop with
// one lane array but not one that updates two.
static inline void add_dy_xhat(const float *restrict x, const float *restrict dy, int64_t hw, float mean,
                               float invstd, double *restrict acc) {
    int64_t i = 0;
    for (; i + LANES <= hw; i += LANES)
        for (int j = 0; j < LANES; j++) acc[j] += (double)dy[i + j] * (double)((x[i + j] - mean) * invstd);
    for (int j = 0; i + j < hw; j++) acc[j] += (double)dy[i + j] * (double)((x[i + j] - mean) * invstd);
}

// Sums over channel c of dy and dy * xhat, with xhat = (x - mean) * invstd.
VM_CLONES static void channel_grad_sums(const OpArgs *a, Layout l, int64_t c, double *total_dy, double *total_dy_xhat) {
    float mean = a->saved[0]->data[c], invstd = a->saved[1]->data[c];
    double sum_dy[LANES] = {0}, sum_dy_xhat[LANES] = {0};
    for (int64_t s = 0; s < l.n; s++) {
        const float *x = a->in[0]->data + plane_at(l, s, c), *dy = a->out_grad->data + plane_at(l, s, c);
        add_sum(dy, l.hw, sum_dy);
        add_dy_xhat(x, dy, l.hw, mean, invstd, sum_dy_xhat);
    }
    *total_dy = lanes_total(sum_dy);
    *total_dy_xhat = lanes_total(sum_dy_xhat);
}

// dL/dx for one channel. In training the mean and variance depend on every x of the channel:
// dx = gamma * invstd * (dy - mean(dy) - xhat * mean(dy * xhat)). In eval they are constants.
VM_CLONES static void channel_input_grad(const OpArgs *a, Layout l, int64_t c, double sum_dy, double sum_dy_xhat) {
    float mean = a->saved[0]->data[c], invstd = a->saved[1]->data[c];
    float k = a->param[0]->data[c] * invstd;
    float mean_dy = a->training ? (float)(sum_dy / (double)l.count) : 0.0f;
    float mean_dy_xhat = a->training ? (float)(sum_dy_xhat / (double)l.count) : 0.0f;
    for (int64_t s = 0; s < l.n; s++) {
        const float *restrict x = a->in[0]->data + plane_at(l, s, c);
        const float *restrict dy = a->out_grad->data + plane_at(l, s, c);
        float *restrict dx = a->in_grad[0]->data + plane_at(l, s, c);
        for (int64_t i = 0; i < l.hw; i++) {
            float xhat = (x[i] - mean) * invstd;
            dx[i] += k * (dy[i] - mean_dy - xhat * mean_dy_xhat);
        }
    }
}

static void bn_bwd(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const OpArgs *a = ((Job *)ctx)->a;
    Layout l = layout_of(a->in[0]);
    for (int64_t c = begin; c < end; c++) {
        double total_dy, total_dy_xhat;
        channel_grad_sums(a, l, c, &total_dy, &total_dy_xhat);
        if (a->param_grad[0]) a->param_grad[0]->data[c] += (float)total_dy_xhat;
        if (a->param_grad[1]) a->param_grad[1]->data[c] += (float)total_dy;
        if (a->in_grad[0]) channel_input_grad(a, l, c, total_dy, total_dy_xhat);
    }
}

static int bn_forward(const OpArgs *a) {
    char buf[64];
    // The unbiased variance divides by count - 1; PyTorch refuses this case too.
    if (a->training && layout_of(a->in[0]).count < 2)
        return yolo_fail("batchnorm2d: training needs more than one value per channel, got input %s; use a batch "
                         "larger than 1 or eval mode",
                         shape_str(a->in[0]->shape, buf, sizeof buf));
    Job job = {a};
    cpu_parallel(a, tensor_c(a->in[0]), bn_fwd, &job);
    return 0;
}

static int bn_backward(const OpArgs *a) {
    if (!a->in_grad[0] && !a->param_grad[0] && !a->param_grad[1]) return 0;
    Job job = {a};
    cpu_parallel(a, tensor_c(a->in[0]), bn_bwd, &job);
    return 0;
}

const OpImpl cpu_batchnorm2d = {.forward = bn_forward, .backward = bn_backward};
