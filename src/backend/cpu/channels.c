// Ops that only move channel blocks: concat along channels, channel slices (C2f's split) and
// flatten. All are copies; their backward adds the matching block of the output gradient.
#include <string.h>

#include "backend/cpu/cpu_ops.h"

// Per (sample, input) block copies, so threads split over samples.
typedef struct {
    const OpArgs *a;
} Job;

static void concat_fwd(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const OpArgs *a = ((Job *)ctx)->a;
    int64_t hw = tensor_h(a->out) * tensor_w(a->out), cout = tensor_c(a->out);
    for (int64_t n = begin; n < end; n++) {
        float *dst = a->out->data + n * cout * hw;
        for (int i = 0; i < a->n_in; i++) {
            int64_t block = tensor_c(a->in[i]) * hw;
            memcpy(dst, a->in[i]->data + n * block, (size_t)block * sizeof(float));
            dst += block;
        }
    }
}

static void concat_bwd(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const OpArgs *a = ((Job *)ctx)->a;
    int64_t hw = tensor_h(a->out) * tensor_w(a->out), cout = tensor_c(a->out);
    for (int64_t n = begin; n < end; n++) {
        const float *src = a->out_grad->data + n * cout * hw;
        for (int i = 0; i < a->n_in; i++) {
            int64_t block = tensor_c(a->in[i]) * hw;
            if (a->in_grad[i]) {
                float *dx = a->in_grad[i]->data + n * block;
                for (int64_t j = 0; j < block; j++) dx[j] += src[j];
            }
            src += block;
        }
    }
}

static void slice_fwd(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const OpArgs *a = ((Job *)ctx)->a;
    int64_t hw = tensor_h(a->out) * tensor_w(a->out), cin = tensor_c(a->in[0]), cout = tensor_c(a->out);
    for (int64_t n = begin; n < end; n++)
        memcpy(a->out->data + n * cout * hw, a->in[0]->data + (n * cin + a->p.slice.c0) * hw,
               (size_t)(cout * hw) * sizeof(float));
}

static void slice_bwd(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const OpArgs *a = ((Job *)ctx)->a;
    int64_t hw = tensor_h(a->out) * tensor_w(a->out), cin = tensor_c(a->in[0]), cout = tensor_c(a->out);
    for (int64_t n = begin; n < end; n++) {
        const float *dy = a->out_grad->data + n * cout * hw;
        float *dx = a->in_grad[0]->data + (n * cin + a->p.slice.c0) * hw;
        for (int64_t j = 0; j < cout * hw; j++) dx[j] += dy[j];
    }
}

static void flatten_bwd(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const OpArgs *a = ((Job *)ctx)->a;
    const float *dy = a->out_grad->data;
    float *dx = a->in_grad[0]->data;
    for (int64_t i = begin; i < end; i++) dx[i] += dy[i];
}

static int per_sample(const OpArgs *a, ParallelFn fn) {
    Job job = {a};
    cpu_parallel(a, tensor_n(a->out), fn, &job);
    return 0;
}

static int concat_forward(const OpArgs *a) { return per_sample(a, concat_fwd); }
static int concat_backward(const OpArgs *a) { return per_sample(a, concat_bwd); }
static int slice_forward(const OpArgs *a) { return per_sample(a, slice_fwd); }
static int slice_backward(const OpArgs *a) { return a->in_grad[0] ? per_sample(a, slice_bwd) : 0; }

static int flatten_forward(const OpArgs *a) {
    memcpy(a->out->data, a->in[0]->data, (size_t)tensor_numel(a->out) * sizeof(float));
    return 0;
}

static int flatten_backward(const OpArgs *a) {
    if (!a->in_grad[0]) return 0;
    Job job = {a};
    cpu_parallel(a, tensor_numel(a->out), flatten_bwd, &job);
    return 0;
}

const OpImpl cpu_concat = {.forward = concat_forward, .backward = concat_backward};
const OpImpl cpu_slice = {.forward = slice_forward, .backward = slice_backward};
const OpImpl cpu_flatten = {.forward = flatten_forward, .backward = flatten_backward};
