// Element-wise activations: SiLU (x * sigmoid(x)) and sigmoid.
#include <math.h>

#include "backend/cpu/cpu_ops.h"

typedef struct {
    const OpArgs *a;
} Job;

static inline float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

static void silu_fwd(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const OpArgs *a = ((Job *)ctx)->a;
    const float *x = a->in[0]->data;
    float *y = a->out->data;
    for (int64_t i = begin; i < end; i++) y[i] = x[i] * sigmoidf(x[i]);
}

static void silu_bwd(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const OpArgs *a = ((Job *)ctx)->a;
    const float *x = a->in[0]->data, *dy = a->out_grad->data;
    float *dx = a->in_grad[0]->data;
    for (int64_t i = begin; i < end; i++) {
        float s = sigmoidf(x[i]);
        dx[i] += dy[i] * s * (1.0f + x[i] * (1.0f - s));
    }
}

static void sigmoid_fwd(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const OpArgs *a = ((Job *)ctx)->a;
    const float *x = a->in[0]->data;
    float *y = a->out->data;
    for (int64_t i = begin; i < end; i++) y[i] = sigmoidf(x[i]);
}

static void sigmoid_bwd(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const OpArgs *a = ((Job *)ctx)->a;
    const float *y = a->out->data, *dy = a->out_grad->data;
    float *dx = a->in_grad[0]->data;
    for (int64_t i = begin; i < end; i++) dx[i] += dy[i] * y[i] * (1.0f - y[i]);
}

static int run(const OpArgs *a, ParallelFn fn) {
    Job job = {a};
    cpu_parallel(a, tensor_numel(a->in[0]), fn, &job);
    return 0;
}

static int silu_forward(const OpArgs *a) { return run(a, silu_fwd); }
static int silu_backward(const OpArgs *a) { return a->in_grad[0] ? run(a, silu_bwd) : 0; }
static int sigmoid_forward(const OpArgs *a) { return run(a, sigmoid_fwd); }
static int sigmoid_backward(const OpArgs *a) { return a->in_grad[0] ? run(a, sigmoid_bwd) : 0; }

const OpImpl cpu_silu = {.forward = silu_forward, .backward = silu_backward};
const OpImpl cpu_sigmoid = {.forward = sigmoid_forward, .backward = sigmoid_backward};
