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
// Threads split over channels; each channel's reductions run on one thread in a fixed order, in
// the lanes of batchnorm_lanes.h.
#include <math.h>

#include "backend/cpu/batchnorm_lanes.h"
#include "backend/cpu/vmath.h"
#include "core/status.h"

typedef struct {
    const OpArgs *a;
} Job;

// Mean and biased variance of channel c, two passes for accuracy.
VM_CLONES static void channel_moments(const Tensor *x, Layout l, int64_t c, double *mean, double *var) {
    double sum[LANES] = {0}, sq[LANES] = {0};
    for (int64_t s = 0; s < l.n; s++) add_sum(x->data + plane_at(l, s, c), l.hw, sum);
    double m = lanes_total(sum) / (double)l.count;
    for (int64_t s = 0; s < l.n; s++) add_sq_dev(x->data + plane_at(l, s, c), l.hw, m, sq);
    *mean = m;
    *var = lanes_total(sq) / (double)l.count;
}

void bn_channel_stats(const OpArgs *a, Layout l, int64_t c) {
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
        bn_channel_stats(a, l, c);
        channel_normalise(a, l, c);
    }
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

int bn_check_batch(const OpArgs *a) {
    char buf[64];
    // The unbiased variance divides by count - 1; PyTorch refuses this case too.
    if (a->training && layout_of(a->in[0]).count < 2)
        return yolo_fail("%s: training needs more than one value per channel, got input %s; use a batch "
                         "larger than 1 or eval mode",
                         op_name(a->kind), shape_str(a->in[0]->shape, buf, sizeof buf));
    return 0;
}

static int bn_forward(const OpArgs *a) {
    TRY(bn_check_batch(a));
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
