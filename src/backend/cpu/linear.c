// Fully connected layer: y = x W^T + b, x [N, in], W [out, in], b [out].
//
// Work is cut into blocks of BLOCK rows whose boundaries do not depend on the thread count, and
// each block is one GEMM: a given row is always computed by the same call, so the bits are the
// same for any number of threads. The weight gradient reduces over the batch; blocks split it
// over output features, so every block sums the whole batch inside one GEMM.
#include "backend/cpu/cpu_ops.h"
#include "backend/cpu/gemm.h"

enum { BLOCK = 16 };

typedef struct {
    const OpArgs *a;
} Job;

typedef struct {
    int n, in, out;
} Dims;

static Dims dims_of(const OpArgs *a) {
    return (Dims){.n = (int)tensor_n(a->in[0]), .in = (int)tensor_c(a->in[0]), .out = (int)tensor_c(a->out)};
}

static inline int64_t blocks(int64_t rows) { return (rows + BLOCK - 1) / BLOCK; }

// The rows [r0, r0 + *count) of block b out of `rows`.
static inline int block_rows(int64_t b, int rows, int *count) {
    int r0 = (int)b * BLOCK;
    *count = rows - r0 < BLOCK ? rows - r0 : BLOCK;
    return r0;
}

// Threads split over blocks of samples.
static void linear_fwd(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const OpArgs *a = ((Job *)ctx)->a;
    Dims d = dims_of(a);
    const float *bias = a->p.linear.has_bias ? a->param[1]->data : NULL;
    for (int64_t b = begin; b < end; b++) {
        int rows, r0 = block_rows(b, d.n, &rows);
        float *y = a->out->data + (int64_t)r0 * d.out;
        gemm(false, true, rows, d.out, d.in, 1.0f, a->in[0]->data + (int64_t)r0 * d.in, d.in, a->param[0]->data, d.in,
             0.0f, y, d.out);
        if (bias)
            for (int r = 0; r < rows; r++)
                for (int j = 0; j < d.out; j++) y[(int64_t)r * d.out + j] += bias[j];
    }
}

// dx += dy W, threads split over blocks of samples.
static void linear_bwd_input(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const OpArgs *a = ((Job *)ctx)->a;
    Dims d = dims_of(a);
    for (int64_t b = begin; b < end; b++) {
        int rows, r0 = block_rows(b, d.n, &rows);
        gemm(false, false, rows, d.in, d.out, 1.0f, a->out_grad->data + (int64_t)r0 * d.out, d.out,
             a->param[0]->data, d.in, 1.0f, a->in_grad[0]->data + (int64_t)r0 * d.in, d.in);
    }
}

// dW += dy^T x and db += sum over samples of dy, threads split over blocks of output features.
static void linear_bwd_params(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const OpArgs *a = ((Job *)ctx)->a;
    Dims d = dims_of(a);
    const float *dy = a->out_grad->data;
    Tensor *dw = a->param_grad[0], *db = a->p.linear.has_bias ? a->param_grad[1] : NULL;
    for (int64_t b = begin; b < end; b++) {
        int rows, o0 = block_rows(b, d.out, &rows);
        if (dw)
            gemm(true, false, rows, d.in, d.n, 1.0f, dy + o0, d.out, a->in[0]->data, d.in, 1.0f,
                 dw->data + (int64_t)o0 * d.in, d.in);
        if (db)
            for (int j = o0; j < o0 + rows; j++) {
                double sum = 0.0;
                for (int s = 0; s < d.n; s++) sum += dy[(int64_t)s * d.out + j];
                db->data[j] += (float)sum;
            }
    }
}

static int linear_forward(const OpArgs *a) {
    Job job = {a};
    cpu_parallel(a, blocks(tensor_n(a->in[0])), linear_fwd, &job);
    return 0;
}

static int linear_backward(const OpArgs *a) {
    Job job = {a};
    if (a->in_grad[0]) cpu_parallel(a, blocks(tensor_n(a->in[0])), linear_bwd_input, &job);
    if (a->param_grad[0] || (a->p.linear.has_bias && a->param_grad[1]))
        cpu_parallel(a, blocks(tensor_c(a->out)), linear_bwd_params, &job);
    return 0;
}

const OpImpl cpu_linear = {.forward = linear_forward, .backward = linear_backward};
