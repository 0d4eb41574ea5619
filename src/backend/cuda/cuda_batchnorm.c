// Batch normalisation on the GPU with cpu/batchnorm.c's semantics, in own kernels (k_reduce.cu)
// rather than cuDNN's: training normalises with the batch's mean and biased variance, moves the
// running statistics with the unbiased one, saves mean and inverse std for backward in both
// modes, and backward accumulates (+=) into every gradient, which cuDNN's batch-norm backward
// (it overwrites) does not do.
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

static int bn_forward(const OpArgs *a) {
    CudaBackend *cb = cuda_of(a);
    Dims d = dims_of(a);
    char buf[64];
    if (a->training && d.n * d.hw < 2)
        return yolo_fail("batchnorm2d: training needs more than one value per channel, got input %s; use a batch "
                         "larger than 1 or eval mode",
                         shape_str(a->in[0]->shape, buf, sizeof buf));
    float *run_mean = a->buffer[0]->data, *run_var = a->buffer[1]->data;
    float *mean = a->saved[0]->data, *invstd = a->saved[1]->data;
    if (a->training)
        TRY(launchCheck(cb, yk_bn_train_stats(cb->stream, a->in[0]->data, d.n, d.c, d.hw, a->p.bn.eps, a->p.bn.momentum,
                                              run_mean, run_var, mean, invstd)));
    else
        TRY(launchCheck(cb, yk_bn_eval_stats(cb->stream, d.c, a->p.bn.eps, run_mean, run_var, mean, invstd)));
    return launchCheck(cb, yk_bn_normalise(cb->stream, a->in[0]->data, a->out->data, d.n, d.c, d.hw, mean, invstd,
                                           a->param[0]->data, a->param[1]->data));
}

static int bn_backward(const OpArgs *a) {
    if (!a->in_grad[0] && !a->param_grad[0] && !a->param_grad[1]) return 0;
    CudaBackend *cb = cuda_of(a);
    Dims d = dims_of(a);
    float *means = cuda_workspace(a); // mean(dy) and mean(dy * xhat) per channel
    const float *mean = a->saved[0]->data, *invstd = a->saved[1]->data;
    TRY(launchCheck(cb, yk_bn_backward_sums(cb->stream, a->in[0]->data, a->out_grad->data, d.n, d.c, d.hw, mean, invstd,
                                            a->training, a->param_grad[0] ? a->param_grad[0]->data : NULL,
                                            a->param_grad[1] ? a->param_grad[1]->data : NULL, means)));
    if (!a->in_grad[0]) return 0;
    return launchCheck(cb, yk_bn_input_grad(cb->stream, a->in[0]->data, a->out_grad->data, a->in_grad[0]->data, d.n, d.c,
                                            d.hw, mean, invstd, a->param[0]->data, means));
}

static size_t bn_workspace_bytes(const OpArgs *a) { return 2 * (size_t)tensor_c(a->in[0]) * sizeof(float); }

const OpImpl cuda_batchnorm2d = {.forward = bn_forward, .backward = bn_backward, .workspace_bytes = bn_workspace_bytes};
