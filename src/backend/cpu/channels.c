// Ops that only move channel blocks: concat along channels, channel slices (C2f's split) and
// flatten. All are copies; their backward adds the matching block of the output gradient.
//
// Threads split over blocks finer than samples, so that a batch smaller than (or not a multiple
// of) the thread count still keeps every thread busy: concat over (sample, input) blocks, slice
// over (sample, channel) planes. Every output element, and every input gradient element, is
// written by exactly one block (see concat_bwd_per_sample for the exception), so the bits do not
// depend on the thread count.
#include <stdbool.h>
#include <string.h>

#include "backend/cpu/cpu_ops.h"

typedef struct {
    const OpArgs *a;
    int64_t hw, cout;
    int64_t c0[OP_MAX_INPUTS]; // concat: the first output channel of each input
} Job;

static Job job_of(const OpArgs *a) {
    Job job = {.a = a, .hw = tensor_h(a->out) * tensor_w(a->out), .cout = tensor_c(a->out)};
    if (a->kind == OP_CONCAT)
        for (int i = 1; i < a->n_in; i++) job.c0[i] = job.c0[i - 1] + tensor_c(a->in[i - 1]);
    return job;
}

// Block t of concat: sample t / n_in, input t % n_in.
static void concat_fwd(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const Job *job = ctx;
    const OpArgs *a = job->a;
    for (int64_t t = begin; t < end; t++) {
        int64_t n = t / a->n_in;
        int i = (int)(t % a->n_in);
        int64_t block = tensor_c(a->in[i]) * job->hw;
        memcpy(a->out->data + (n * job->cout + job->c0[i]) * job->hw, a->in[i]->data + n * block,
               (size_t)block * sizeof(float));
    }
}

static void add_block(float *restrict dx, const float *restrict dy, int64_t count) {
    for (int64_t j = 0; j < count; j++) dx[j] += dy[j];
}

static void concat_bwd(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const Job *job = ctx;
    const OpArgs *a = job->a;
    for (int64_t t = begin; t < end; t++) {
        int64_t n = t / a->n_in;
        int i = (int)(t % a->n_in);
        if (!a->in_grad[i]) continue;
        int64_t block = tensor_c(a->in[i]) * job->hw;
        add_block(a->in_grad[i]->data + n * block, a->out_grad->data + (n * job->cout + job->c0[i]) * job->hw, block);
    }
}

// The per-sample fallback when one value is concatenated with itself: its gradient then gets
// several blocks of each sample, which must be added by one thread, in input order.
static void concat_bwd_per_sample(void *ctx, int64_t begin, int64_t end, int thread) {
    const OpArgs *a = ((const Job *)ctx)->a;
    concat_bwd(ctx, begin * a->n_in, end * a->n_in, thread);
}

static bool grads_shared(const OpArgs *a) {
    for (int i = 0; i < a->n_in; i++)
        for (int j = 0; j < i; j++)
            if (a->in_grad[i] && a->in_grad[j] && a->in_grad[i]->data == a->in_grad[j]->data) return true;
    return false;
}

// Planes [begin, end) of the output, as (sample, channel): each sample's run of planes is one
// contiguous span in the output and one in the input.
static void slice_fwd(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const Job *job = ctx;
    const OpArgs *a = job->a;
    int64_t cin = tensor_c(a->in[0]);
    while (begin < end) {
        int64_t n = begin / job->cout, c = begin % job->cout, count = job->cout - c;
        if (count > end - begin) count = end - begin;
        memcpy(a->out->data + begin * job->hw, a->in[0]->data + (n * cin + a->p.slice.c0 + c) * job->hw,
               (size_t)(count * job->hw) * sizeof(float));
        begin += count;
    }
}

static void slice_bwd(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const Job *job = ctx;
    const OpArgs *a = job->a;
    int64_t cin = tensor_c(a->in[0]);
    while (begin < end) {
        int64_t n = begin / job->cout, c = begin % job->cout, count = job->cout - c;
        if (count > end - begin) count = end - begin;
        add_block(a->in_grad[0]->data + (n * cin + a->p.slice.c0 + c) * job->hw, a->out_grad->data + begin * job->hw,
                  count * job->hw);
        begin += count;
    }
}

static void flatten_bwd(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const OpArgs *a = ((const Job *)ctx)->a;
    add_block(a->in_grad[0]->data + begin, a->out_grad->data + begin, end - begin);
}

static int concat_forward(const OpArgs *a) {
    Job job = job_of(a);
    cpu_parallel(a, tensor_n(a->out) * a->n_in, concat_fwd, &job);
    return 0;
}

static int concat_backward(const OpArgs *a) {
    Job job = job_of(a);
    if (grads_shared(a)) cpu_parallel(a, tensor_n(a->out), concat_bwd_per_sample, &job);
    else cpu_parallel(a, tensor_n(a->out) * a->n_in, concat_bwd, &job);
    return 0;
}

static int slice_forward(const OpArgs *a) {
    Job job = job_of(a);
    cpu_parallel(a, tensor_n(a->out) * job.cout, slice_fwd, &job);
    return 0;
}

static int slice_backward(const OpArgs *a) {
    if (!a->in_grad[0]) return 0;
    Job job = job_of(a);
    cpu_parallel(a, tensor_n(a->out) * job.cout, slice_bwd, &job);
    return 0;
}

static int flatten_forward(const OpArgs *a) {
    memcpy(a->out->data, a->in[0]->data, (size_t)tensor_numel(a->out) * sizeof(float));
    return 0;
}

static int flatten_backward(const OpArgs *a) {
    if (!a->in_grad[0]) return 0;
    Job job = {.a = a};
    cpu_parallel(a, tensor_numel(a->out), flatten_bwd, &job);
    return 0;
}

const OpImpl cpu_concat = {.forward = concat_forward, .backward = concat_backward};
const OpImpl cpu_slice = {.forward = slice_forward, .backward = slice_backward};
const OpImpl cpu_flatten = {.forward = flatten_forward, .backward = flatten_backward};
