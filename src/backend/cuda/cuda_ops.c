// The CUDA backend's element-wise, pooling, channel-moving and softmax ops: argument unpacking
// around the kernels of k_elementwise.cu, k_pool.cu and k_reduce.cu. Semantics are the CPU
// backend's (cpu/*.c), including += into gradients and skipping gradients that are NULL.
#include "backend/cuda/cuda_internal.h"
#include "backend/cuda/kernels.h"
#include "core/status.h"

#define STREAM(a) (cuda_of(a)->stream)

static int64_t numel(const Tensor *t) { return tensor_numel(t); }

// ---- Activations and add -----------------------------------------------------------------------

static int silu_forward(const OpArgs *a) {
    return launchCheck(cuda_of(a), yk_silu_forward(STREAM(a), a->in[0]->data, a->out->data, numel(a->out)));
}

static int silu_backward(const OpArgs *a) {
    if (!a->in_grad[0]) return 0;
    return launchCheck(cuda_of(a), yk_silu_backward(STREAM(a), a->in[0]->data, a->out_grad->data, a->in_grad[0]->data,
                                                    numel(a->out)));
}

static int sigmoid_forward(const OpArgs *a) {
    return launchCheck(cuda_of(a), yk_sigmoid_forward(STREAM(a), a->in[0]->data, a->out->data, numel(a->out)));
}

static int sigmoid_backward(const OpArgs *a) {
    if (!a->in_grad[0]) return 0;
    return launchCheck(cuda_of(a), yk_sigmoid_backward(STREAM(a), a->out->data, a->out_grad->data, a->in_grad[0]->data,
                                                       numel(a->out)));
}

static int add_forward(const OpArgs *a) {
    return launchCheck(cuda_of(a),
                       yk_add_forward(STREAM(a), a->in[0]->data, a->in[1]->data, a->out->data, numel(a->out)));
}

// One launch per input, in order: when both inputs are the same value (x + x) its gradient gets
// dy twice, as on the CPU.
static int add_backward(const OpArgs *a) {
    for (int k = 0; k < 2; k++)
        if (a->in_grad[k])
            TRY(launchCheck(cuda_of(a), yk_accumulate(STREAM(a), a->in_grad[k]->data, a->out_grad->data, numel(a->out))));
    return 0;
}

// ---- Dropout: the CPU's Philox stream, so the masks are the same bits ----------------------------

static int dropout_active(const OpArgs *a) { return a->training && a->p.drop_p > 0.0f; }

static int copy_device(const OpArgs *a, float *dst, const float *src, int64_t n) {
    return launchCheck(cuda_of(a), cudaMemcpyAsync(dst, src, (size_t)n * sizeof(float), cudaMemcpyDeviceToDevice,
                                                    STREAM(a)));
}

static int dropout_forward(const OpArgs *a) {
    if (!dropout_active(a)) return copy_device(a, a->out->data, a->in[0]->data, numel(a->out));
    float scale = 1.0f / (1.0f - a->p.drop_p); // the CPU's expression, so the same float
    return launchCheck(cuda_of(a), yk_dropout_forward(STREAM(a), a->in[0]->data, a->out->data, numel(a->out),
                                                      a->rng_seed, a->rng_stream, a->p.drop_p, scale));
}

static int dropout_backward(const OpArgs *a) {
    if (!a->in_grad[0]) return 0;
    if (!dropout_active(a))
        return launchCheck(cuda_of(a), yk_accumulate(STREAM(a), a->in_grad[0]->data, a->out_grad->data, numel(a->out)));
    float scale = 1.0f / (1.0f - a->p.drop_p);
    return launchCheck(cuda_of(a), yk_dropout_backward(STREAM(a), a->out_grad->data, a->in_grad[0]->data, numel(a->out),
                                                       a->rng_seed, a->rng_stream, a->p.drop_p, scale));
}

// ---- Pooling and upsampling --------------------------------------------------------------------

static int64_t planes_of(const OpArgs *a) { return tensor_n(a->in[0]) * tensor_c(a->in[0]); }

static YkPool pool_of(const OpArgs *a) {
    const PoolParams *q = &a->p.pool;
    YkPool g = {.h = tensor_h(a->in[0]), .w = tensor_w(a->in[0]), .oh = tensor_h(a->out), .ow = tensor_w(a->out),
                .kh = q->kh, .kw = q->kw, .sh = q->sh, .sw = q->sw, .ph = q->ph, .pw = q->pw};
    return g;
}

static int maxpool_forward(const OpArgs *a) {
    return launchCheck(cuda_of(a), yk_maxpool_forward(STREAM(a), a->in[0]->data, a->out->data, planes_of(a), pool_of(a)));
}

// Backward finds each window's maximum again (into the workspace) instead of keeping it from
// forward, as the CPU backend does.
static int maxpool_backward(const OpArgs *a) {
    if (!a->in_grad[0]) return 0;
    return launchCheck(cuda_of(a), yk_maxpool_backward(STREAM(a), a->in[0]->data, a->out_grad->data, a->in_grad[0]->data,
                                                       (int32_t *)cuda_workspace(a), planes_of(a), pool_of(a)));
}

static size_t maxpool_workspace_bytes(const OpArgs *a) { return (size_t)numel(a->out) * sizeof(int32_t); }

static int avgpool_forward(const OpArgs *a) {
    return launchCheck(cuda_of(a), yk_avgpool_forward(STREAM(a), a->in[0]->data, a->out->data, planes_of(a),
                                                      tensor_h(a->in[0]), tensor_w(a->in[0]), tensor_h(a->out),
                                                      tensor_w(a->out)));
}

static int avgpool_backward(const OpArgs *a) {
    if (!a->in_grad[0]) return 0;
    return launchCheck(cuda_of(a), yk_avgpool_backward(STREAM(a), a->out_grad->data, a->in_grad[0]->data, planes_of(a),
                                                       tensor_h(a->in[0]), tensor_w(a->in[0]), tensor_h(a->out),
                                                       tensor_w(a->out)));
}

static int upsample_forward(const OpArgs *a) {
    return launchCheck(cuda_of(a), yk_upsample_forward(STREAM(a), a->in[0]->data, a->out->data, planes_of(a),
                                                       tensor_h(a->in[0]), tensor_w(a->in[0]), a->p.scale));
}

static int upsample_backward(const OpArgs *a) {
    if (!a->in_grad[0]) return 0;
    return launchCheck(cuda_of(a), yk_upsample_backward(STREAM(a), a->out_grad->data, a->in_grad[0]->data, planes_of(a),
                                                        tensor_h(a->in[0]), tensor_w(a->in[0]), a->p.scale));
}

// ---- Channel blocks: concat, slice, flatten ----------------------------------------------------
// A channel block of every sample is one strided 2-D copy (a row per sample).

static int64_t plane_size(const Tensor *t) { return tensor_h(t) * tensor_w(t); }

static int copy_rows(const OpArgs *a, float *dst, int64_t dst_pitch, const float *src, int64_t src_pitch, int64_t width,
                     int64_t rows) {
    return launchCheck(cuda_of(a), cudaMemcpy2DAsync(dst, (size_t)dst_pitch * sizeof(float), src,
                                                      (size_t)src_pitch * sizeof(float), (size_t)width * sizeof(float),
                                                      (size_t)rows, cudaMemcpyDeviceToDevice, STREAM(a)));
}

static int concat_forward(const OpArgs *a) {
    int64_t hw = plane_size(a->out), cout = tensor_c(a->out), c0 = 0, n = tensor_n(a->out);
    for (int i = 0; i < a->n_in; i++) {
        int64_t ci = tensor_c(a->in[i]);
        TRY(copy_rows(a, a->out->data + c0 * hw, cout * hw, a->in[i]->data, ci * hw, ci * hw, n));
        c0 += ci;
    }
    return 0;
}

// Inputs in order, one launch each: a value concatenated with itself gets its blocks added in
// input order, as on the CPU.
static int concat_backward(const OpArgs *a) {
    int64_t hw = plane_size(a->out), cout = tensor_c(a->out), c0 = 0, n = tensor_n(a->out);
    for (int i = 0; i < a->n_in; i++) {
        int64_t ci = tensor_c(a->in[i]);
        if (a->in_grad[i])
            TRY(launchCheck(cuda_of(a), yk_accumulate_rows(STREAM(a), a->in_grad[i]->data, ci * hw,
                                                           a->out_grad->data + c0 * hw, cout * hw, ci * hw, n)));
        c0 += ci;
    }
    return 0;
}

static int slice_forward(const OpArgs *a) {
    int64_t hw = plane_size(a->out), cout = tensor_c(a->out), cin = tensor_c(a->in[0]);
    return copy_rows(a, a->out->data, cout * hw, a->in[0]->data + a->p.slice.c0 * hw, cin * hw, cout * hw,
                     tensor_n(a->out));
}

static int slice_backward(const OpArgs *a) {
    if (!a->in_grad[0]) return 0;
    int64_t hw = plane_size(a->out), cout = tensor_c(a->out), cin = tensor_c(a->in[0]);
    return launchCheck(cuda_of(a), yk_accumulate_rows(STREAM(a), a->in_grad[0]->data + a->p.slice.c0 * hw, cin * hw,
                                                      a->out_grad->data, cout * hw, cout * hw, tensor_n(a->out)));
}

static int flatten_forward(const OpArgs *a) { return copy_device(a, a->out->data, a->in[0]->data, numel(a->out)); }

static int flatten_backward(const OpArgs *a) {
    if (!a->in_grad[0]) return 0;
    return launchCheck(cuda_of(a), yk_accumulate(STREAM(a), a->in_grad[0]->data, a->out_grad->data, numel(a->out)));
}

// ---- Softmax -----------------------------------------------------------------------------------

static int softmax_rows(const OpArgs *a, int take_log) {
    return launchCheck(cuda_of(a), yk_softmax_forward(STREAM(a), a->in[0]->data, a->out->data, tensor_n(a->out),
                                                      tensor_c(a->out), take_log));
}

static int softmax_rows_backward(const OpArgs *a, int take_log) {
    if (!a->in_grad[0]) return 0;
    return launchCheck(cuda_of(a), yk_softmax_backward(STREAM(a), a->out->data, a->out_grad->data, a->in_grad[0]->data,
                                                       tensor_n(a->out), tensor_c(a->out), take_log));
}

static int softmax_forward(const OpArgs *a) { return softmax_rows(a, 0); }
static int softmax_backward(const OpArgs *a) { return softmax_rows_backward(a, 0); }
static int log_softmax_forward(const OpArgs *a) { return softmax_rows(a, 1); }
static int log_softmax_backward(const OpArgs *a) { return softmax_rows_backward(a, 1); }

const OpImpl cuda_silu = {.forward = silu_forward, .backward = silu_backward};
const OpImpl cuda_sigmoid = {.forward = sigmoid_forward, .backward = sigmoid_backward};
const OpImpl cuda_add = {.forward = add_forward, .backward = add_backward};
const OpImpl cuda_dropout = {.forward = dropout_forward, .backward = dropout_backward};
const OpImpl cuda_maxpool2d = {.forward = maxpool_forward, .backward = maxpool_backward,
                               .workspace_bytes = maxpool_workspace_bytes};
const OpImpl cuda_adaptive_avgpool2d = {.forward = avgpool_forward, .backward = avgpool_backward};
const OpImpl cuda_upsample_nearest = {.forward = upsample_forward, .backward = upsample_backward};
const OpImpl cuda_concat = {.forward = concat_forward, .backward = concat_backward};
const OpImpl cuda_slice = {.forward = slice_forward, .backward = slice_backward};
const OpImpl cuda_flatten = {.forward = flatten_forward, .backward = flatten_backward};
const OpImpl cuda_softmax = {.forward = softmax_forward, .backward = softmax_backward};
const OpImpl cuda_log_softmax = {.forward = log_softmax_forward, .backward = log_softmax_backward};
