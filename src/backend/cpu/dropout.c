// Inverted dropout: in training, element i is zeroed when rng_uniform(seed, stream, i) < p and
// the others are scaled by 1 / (1 - p), so eval needs no rescaling and is the identity.
//
// The mask is a pure function of (seed, stream, i): backward draws it again instead of saving
// it, and it is the same for any thread count or chunking.
#include <string.h>

#include "backend/cpu/cpu_ops.h"
#include "core/rng.h"

typedef struct {
    const OpArgs *a;
} Job;

static inline int active(const OpArgs *a) { return a->training && a->p.drop_p > 0.0f; }

// The factor element i is multiplied by: 0 when dropped, 1 / (1 - p) when kept.
static inline float mask_at(const OpArgs *a, int64_t i, float scale) {
    return rng_uniform(a->rng_seed, a->rng_stream, (uint64_t)i) < a->p.drop_p ? 0.0f : scale;
}

static void dropout_fwd(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const OpArgs *a = ((Job *)ctx)->a;
    const float *x = a->in[0]->data;
    float *y = a->out->data, scale = 1.0f / (1.0f - a->p.drop_p);
    for (int64_t i = begin; i < end; i++) y[i] = x[i] * mask_at(a, i, scale);
}

static void dropout_bwd(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const OpArgs *a = ((Job *)ctx)->a;
    const float *dy = a->out_grad->data;
    float *dx = a->in_grad[0]->data, scale = 1.0f / (1.0f - a->p.drop_p);
    for (int64_t i = begin; i < end; i++) dx[i] += dy[i] * mask_at(a, i, scale);
}

static void identity_bwd(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const OpArgs *a = ((Job *)ctx)->a;
    const float *dy = a->out_grad->data;
    float *dx = a->in_grad[0]->data;
    for (int64_t i = begin; i < end; i++) dx[i] += dy[i];
}

static int dropout_forward(const OpArgs *a) {
    if (!active(a)) {
        memcpy(a->out->data, a->in[0]->data, (size_t)tensor_numel(a->out) * sizeof(float));
        return 0;
    }
    Job job = {a};
    cpu_parallel(a, tensor_numel(a->out), dropout_fwd, &job);
    return 0;
}

static int dropout_backward(const OpArgs *a) {
    if (!a->in_grad[0]) return 0;
    Job job = {a};
    cpu_parallel(a, tensor_numel(a->out), active(a) ? dropout_bwd : identity_bwd, &job);
    return 0;
}

const OpImpl cpu_dropout = {.forward = dropout_forward, .backward = dropout_backward};
