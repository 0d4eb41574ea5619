// Batch normalisation, alone and fused with the SiLU after it, on the GPU with the semantics of
// cpu/batchnorm.c and cpu/batchnorm_silu.c, in own kernels (k_reduce.cu) rather than cuDNN's:
// training normalises with the batch's mean and biased variance, moves the running statistics
// with the unbiased one, saves mean and inverse std for backward in both modes, and backward
// accumulates (+=) into every gradient, which cuDNN's batch-norm backward (it overwrites) does
// not do.
#include "backend/cuda/cuda_internal.h"
#include "backend/cuda/kernels.h"
#include "core/status.h"

typedef struct {
    int64_t n, c, hw;
} Dims;

static Dims dims_of(const OpArgs *a) {
    const Tensor *x = a->in[0];
    return (Dims){.n = tensor_n(x), .c = tensor_c(x), .hw = tensor_h(x) * tensor_w(x)};
}

// The statistics both ops normalise with, into saved[] (and the running ones, in training).
static int bn_stats(const OpArgs *a, Dims d) {
    CudaBackend *cb = cuda_of(a);
    char buf[64];
    if (a->training && d.n * d.hw < 2)
        return yolo_fail("%s: training needs more than one value per channel, got input %s; use a batch "
                         "larger than 1 or eval mode",
                         op_name(a->kind), shape_str(a->in[0]->shape, buf, sizeof buf));
    float *run_mean = a->buffer[0]->data, *run_var = a->buffer[1]->data;
    float *mean = a->saved[0]->data, *invstd = a->saved[1]->data;
    if (a->training)
        return launchCheck(cb, yk_bn_train_stats(cb->stream, a->in[0]->data, d.n, d.c, d.hw, a->p.bn.eps,
                                                 a->p.bn.momentum, run_mean, run_var, mean, invstd));
    return launchCheck(cb, yk_bn_eval_stats(cb->stream, d.c, a->p.bn.eps, run_mean, run_var, mean, invstd));
}

static bool wants_grad(const OpArgs *a) { return a->in_grad[0] || a->param_grad[0] || a->param_grad[1]; }

static float *grad_or_null(Tensor *t) { return t ? t->data : NULL; }

static int bn_forward(const OpArgs *a) {
    Dims d = dims_of(a);
    TRY(bn_stats(a, d));
    return launchCheck(cuda_of(a), yk_bn_normalise(cuda_of(a)->stream, a->in[0]->data, a->out->data, d.n, d.c, d.hw,
                                                   a->saved[0]->data, a->saved[1]->data, a->param[0]->data,
                                                   a->param[1]->data));
}

static int bn_backward(const OpArgs *a) {
    if (!wants_grad(a)) return 0;
    CudaBackend *cb = cuda_of(a);
    Dims d = dims_of(a);
    float *means = cuda_workspace(a); // mean(dy) and mean(dy * xhat) per channel
    const float *mean = a->saved[0]->data, *invstd = a->saved[1]->data;
    TRY(launchCheck(cb, yk_bn_backward_sums(cb->stream, a->in[0]->data, a->out_grad->data, d.n, d.c, d.hw, mean, invstd,
                                            a->training, grad_or_null(a->param_grad[0]),
                                            grad_or_null(a->param_grad[1]), means)));
    if (!a->in_grad[0]) return 0;
    return launchCheck(cb, yk_bn_input_grad(cb->stream, a->in[0]->data, a->out_grad->data, a->in_grad[0]->data, d.n, d.c,
                                            d.hw, mean, invstd, a->param[0]->data, means));
}

// batchnorm2d_silu: the same statistics, SiLU applied as the output is written; backward
// recomputes BN's output from x in both of its kernels instead of reading a stored one.
static int bn_silu_forward(const OpArgs *a) {
    Dims d = dims_of(a);
    TRY(bn_stats(a, d));
    return launchCheck(cuda_of(a), yk_bn_silu_normalise(cuda_of(a)->stream, a->in[0]->data, a->out->data, d.n, d.c,
                                                        d.hw, a->saved[0]->data, a->saved[1]->data, a->param[0]->data,
                                                        a->param[1]->data));
}

static int bn_silu_backward(const OpArgs *a) {
    if (!wants_grad(a)) return 0;
    CudaBackend *cb = cuda_of(a);
    Dims d = dims_of(a);
    float *means = cuda_workspace(a); // mean(dz) and mean(dz * xhat) per channel
    const float *mean = a->saved[0]->data, *invstd = a->saved[1]->data;
    const float *gamma = a->param[0]->data, *beta = a->param[1]->data;
    TRY(launchCheck(cb, yk_bn_silu_backward_sums(cb->stream, a->in[0]->data, a->out_grad->data, d.n, d.c, d.hw, mean,
                                                 invstd, gamma, beta, a->training, grad_or_null(a->param_grad[0]),
                                                 grad_or_null(a->param_grad[1]), means)));
    if (!a->in_grad[0]) return 0;
    return launchCheck(cb, yk_bn_silu_input_grad(cb->stream, a->in[0]->data, a->out_grad->data, a->in_grad[0]->data,
                                                 d.n, d.c, d.hw, mean, invstd, gamma, beta, means));
}

static size_t bn_workspace_bytes(const OpArgs *a) { return 2 * (size_t)tensor_c(a->in[0]) * sizeof(float); }

const OpImpl cuda_batchnorm2d = {.forward = bn_forward, .backward = bn_backward, .workspace_bytes = bn_workspace_bytes};
const OpImpl cuda_batchnorm2d_silu = {
    .forward = bn_silu_forward, .backward = bn_silu_backward, .workspace_bytes = bn_workspace_bytes};
