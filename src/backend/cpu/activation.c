// Element-wise activations: SiLU (x * sigmoid(x)) and sigmoid.
//
// The loops use vm_sigmoidf (vmath.h) rather than libm's expf, so they vectorise, and are built
// for AVX2 and the baseline (VM_CLONES), which give the same bits. SiLU's backward computes the
// sigmoid again instead of keeping it from forward: the exp costs less than writing and reading
// one more tensor of the activation's size (these loops are limited by memory bandwidth once
// vectorised).
#include "backend/cpu/cpu_ops.h"
#include "backend/cpu/vmath.h"

typedef struct {
    const OpArgs *a;
} Job;

// The graph gives every value its own memory, so an op's input, output and gradients never overlap
// (restrict).
VM_CLONES static void silu_fwd(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const OpArgs *a = ((Job *)ctx)->a;
    const float *restrict x = a->in[0]->data;
    float *restrict y = a->out->data;
    for (int64_t i = begin; i < end; i++) y[i] = x[i] * vm_sigmoidf(x[i]);
}

// d/dx x s(x) = s (1 + x (1 - s)).
VM_CLONES static void silu_bwd(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const OpArgs *a = ((Job *)ctx)->a;
    const float *restrict x = a->in[0]->data, *restrict dy = a->out_grad->data;
    float *restrict dx = a->in_grad[0]->data;
    for (int64_t i = begin; i < end; i++) {
        float s = vm_sigmoidf(x[i]);
        dx[i] += dy[i] * s * (1.0f + x[i] * (1.0f - s));
    }
}

VM_CLONES static void sigmoid_fwd(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const OpArgs *a = ((Job *)ctx)->a;
    const float *restrict x = a->in[0]->data;
    float *restrict y = a->out->data;
    for (int64_t i = begin; i < end; i++) y[i] = vm_sigmoidf(x[i]);
}

static void sigmoid_bwd(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const OpArgs *a = ((Job *)ctx)->a;
    const float *restrict y = a->out->data, *restrict dy = a->out_grad->data;
    float *restrict dx = a->in_grad[0]->data;
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
