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
// Threads split over channels; each channel's reductions run on one thread in a fixed order,
// summed in double.
#include <math.h>

#include "backend/cpu/cpu_ops.h"
#include "core/status.h"

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

// Mean and biased variance of channel c, two passes for accuracy.
static void channel_moments(const Tensor *x, Layout l, int64_t c, double *mean, double *var) {
    double sum = 0.0;
    for (int64_t s = 0; s < l.n; s++) {
        const float *p = x->data + s * l.stride + c * l.hw;
        for (int64_t i = 0; i < l.hw; i++) sum += p[i];
    }
    double m = sum / (double)l.count, sq = 0.0;
    for (int64_t s = 0; s < l.n; s++) {
        const float *p = x->data + s * l.stride + c * l.hw;
        for (int64_t i = 0; i < l.hw; i++) sq += ((double)p[i] - m) * ((double)p[i] - m);
    }
    *mean = m;
    *var = sq / (double)l.count;
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

static void bn_fwd(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const OpArgs *a = ((Job *)ctx)->a;
    Layout l = layout_of(a->in[0]);
    for (int64_t c = begin; c < end; c++) {
        channel_stats(a, l, c);
        float mean = a->saved[0]->data[c];
        float scale = a->saved[1]->data[c] * a->param[0]->data[c], shift = a->param[1]->data[c];
        for (int64_t s = 0; s < l.n; s++) {
            const float *x = a->in[0]->data + s * l.stride + c * l.hw;
            float *y = a->out->data + s * l.stride + c * l.hw;
            for (int64_t i = 0; i < l.hw; i++) y[i] = (x[i] - mean) * scale + shift;
        }
    }
}

// dL/dx for one channel. In training the mean and variance depend on every x of the channel:
// dx = gamma * invstd * (dy - mean(dy) - xhat * mean(dy * xhat)). In eval they are constants.
static void channel_input_grad(const OpArgs *a, Layout l, int64_t c, double sum_dy, double sum_dy_xhat) {
    float mean = a->saved[0]->data[c], invstd = a->saved[1]->data[c];
    float k = a->param[0]->data[c] * invstd;
    float mean_dy = a->training ? (float)(sum_dy / (double)l.count) : 0.0f;
    float mean_dy_xhat = a->training ? (float)(sum_dy_xhat / (double)l.count) : 0.0f;
    for (int64_t s = 0; s < l.n; s++) {
        const float *x = a->in[0]->data + s * l.stride + c * l.hw;
        const float *dy = a->out_grad->data + s * l.stride + c * l.hw;
        float *dx = a->in_grad[0]->data + s * l.stride + c * l.hw;
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
        float mean = a->saved[0]->data[c], invstd = a->saved[1]->data[c];
        double sum_dy = 0.0, sum_dy_xhat = 0.0;
        for (int64_t s = 0; s < l.n; s++) {
            const float *x = a->in[0]->data + s * l.stride + c * l.hw;
            const float *dy = a->out_grad->data + s * l.stride + c * l.hw;
            for (int64_t i = 0; i < l.hw; i++) {
                sum_dy += dy[i];
                sum_dy_xhat += (double)dy[i] * (double)((x[i] - mean) * invstd);
            }
        }
        if (a->param_grad[0]) a->param_grad[0]->data[c] += (float)sum_dy_xhat;
        if (a->param_grad[1]) a->param_grad[1]->data[c] += (float)sum_dy;
        if (a->in_grad[0]) channel_input_grad(a, l, c, sum_dy, sum_dy_xhat);
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
