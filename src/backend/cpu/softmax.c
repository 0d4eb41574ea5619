// Softmax and log-softmax over the last dim of a 2-D tensor [rows, classes]. Each row subtracts
// its max before exponentiating, so large logits cannot overflow.
//
// Threads split over rows; each row's sums run on one thread in a fixed order, in double.
#include <math.h>

#include "backend/cpu/cpu_ops.h"

typedef struct {
    const OpArgs *a;
} Job;

static float row_max(const float *x, int64_t k) {
    float m = x[0];
    for (int64_t j = 1; j < k; j++) m = x[j] > m ? x[j] : m;
    return m;
}

// Writes exp(x - m) into y and returns its sum.
static double shifted_exp(const float *x, float m, float *y, int64_t k) {
    double sum = 0.0;
    for (int64_t j = 0; j < k; j++) {
        y[j] = expf(x[j] - m);
        sum += y[j];
    }
    return sum;
}

static void softmax_fwd(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const OpArgs *a = ((Job *)ctx)->a;
    int64_t k = tensor_c(a->out);
    for (int64_t r = begin; r < end; r++) {
        const float *x = a->in[0]->data + r * k;
        float *y = a->out->data + r * k;
        float inv = (float)(1.0 / shifted_exp(x, row_max(x, k), y, k));
        for (int64_t j = 0; j < k; j++) y[j] *= inv;
    }
}

// dx = y * (dy - sum(dy * y)).
static void softmax_bwd(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const OpArgs *a = ((Job *)ctx)->a;
    int64_t k = tensor_c(a->out);
    for (int64_t r = begin; r < end; r++) {
        const float *y = a->out->data + r * k, *dy = a->out_grad->data + r * k;
        float *dx = a->in_grad[0]->data + r * k;
        double dot = 0.0;
        for (int64_t j = 0; j < k; j++) dot += (double)dy[j] * (double)y[j];
        for (int64_t j = 0; j < k; j++) dx[j] += y[j] * (dy[j] - (float)dot);
    }
}

// y = (x - max) - log(sum(exp(x - max))); the exponentials go through y as scratch.
static void log_softmax_fwd(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const OpArgs *a = ((Job *)ctx)->a;
    int64_t k = tensor_c(a->out);
    for (int64_t r = begin; r < end; r++) {
        const float *x = a->in[0]->data + r * k;
        float *y = a->out->data + r * k;
        float m = row_max(x, k), log_sum = (float)log(shifted_exp(x, m, y, k));
        for (int64_t j = 0; j < k; j++) y[j] = (x[j] - m) - log_sum;
    }
}

// dx = dy - softmax(x) * sum(dy), with softmax(x) = exp(y).
static void log_softmax_bwd(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const OpArgs *a = ((Job *)ctx)->a;
    int64_t k = tensor_c(a->out);
    for (int64_t r = begin; r < end; r++) {
        const float *y = a->out->data + r * k, *dy = a->out_grad->data + r * k;
        float *dx = a->in_grad[0]->data + r * k;
        double sum = 0.0;
        for (int64_t j = 0; j < k; j++) sum += dy[j];
        for (int64_t j = 0; j < k; j++) dx[j] += dy[j] - expf(y[j]) * (float)sum;
    }
}

static int per_row(const OpArgs *a, ParallelFn fn) {
    Job job = {a};
    cpu_parallel(a, tensor_n(a->out), fn, &job);
    return 0;
}

static int softmax_forward(const OpArgs *a) { return per_row(a, softmax_fwd); }
static int softmax_backward(const OpArgs *a) { return a->in_grad[0] ? per_row(a, softmax_bwd) : 0; }
static int log_softmax_forward(const OpArgs *a) { return per_row(a, log_softmax_fwd); }
static int log_softmax_backward(const OpArgs *a) { return a->in_grad[0] ? per_row(a, log_softmax_bwd) : 0; }

const OpImpl cpu_softmax = {.forward = softmax_forward, .backward = softmax_backward};
const OpImpl cpu_log_softmax = {.forward = log_softmax_forward, .backward = log_softmax_backward};
