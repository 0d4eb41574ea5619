// out = in0 + in1 (residual connections).
#include "backend/cpu/cpu_ops.h"

typedef struct {
    const OpArgs *a;
} Job;

static void add_fwd(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const OpArgs *a = ((Job *)ctx)->a;
    const float *x0 = a->in[0]->data, *x1 = a->in[1]->data;
    float *y = a->out->data;
    for (int64_t i = begin; i < end; i++) y[i] = x0[i] + x1[i];
}

static void add_bwd(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const OpArgs *a = ((Job *)ctx)->a;
    const float *dy = a->out_grad->data;
    for (int k = 0; k < 2; k++) {
        if (!a->in_grad[k]) continue;
        float *dx = a->in_grad[k]->data;
        for (int64_t i = begin; i < end; i++) dx[i] += dy[i];
    }
}

static int add_forward(const OpArgs *a) {
    Job job = {a};
    cpu_parallel(a, tensor_numel(a->out), add_fwd, &job);
    return 0;
}

static int add_backward(const OpArgs *a) {
    Job job = {a};
    cpu_parallel(a, tensor_numel(a->out), add_bwd, &job);
    return 0;
}

const OpImpl cpu_add = {.forward = add_forward, .backward = add_backward};
