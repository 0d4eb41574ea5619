// Convolutions on cuDNN: conv2d and conv_transpose2d, forward and both backward passes.
//
// Both ops are one cuDNN convolution problem seen from either side. conv2d maps its input x to
// its output y. A transposed conv is the adjoint of the conv that maps its output to its input,
// with the same weight [Cin, Cout/g, kh, kw] read as that conv's filter [K = Cin, C/g = Cout/g]:
//   conv_transpose2d forward      = that conv's backward-data
//   conv_transpose2d input grad   = that conv's forward (added into in_grad: beta = 1)
//   conv_transpose2d weight grad  = that conv's backward-filter, with the roles of x and dy swapped
// So a plan (descriptors and algorithms) is always about "the conv", whose input side is called
// x and output side y below, and only the bindings differ between the two ops.
//
// Plans are made once per problem (algo_cache.h's key) and kept until the backend is destroyed;
// each direction's algorithm is chosen the first time that direction runs (an eval-only graph
// never chooses backward ones) from cuDNN's heuristic ranking, keeping to fp32 arithmetic (the
// descriptor asks for FMA math: no TF32) and, when the backend is deterministic, to
// deterministic algorithms (backward-data and backward-filter have atomics-based ones). All
// directions share the backend's one workspace, grown when a choice needs more.
//
// The bias is added, and its gradient summed, by own kernels (yk_add_channel_bias,
// yk_channel_sums_add), whose gradient accumulates like every other.
#include <stdio.h>
#include <stdlib.h>

#include "backend/cuda/cuda_internal.h"
#include "backend/cuda/kernels.h"
#include "core/status.h"

// Most workspace one algorithm may take; faster algorithms that need more are passed over, so
// that one layer's choice cannot take the memory the activations need. Whether 1 GiB passes over
// anything worth having at batch 64, imgsz 640 is to be measured on a GPU.
#define CONV_WORKSPACE_LIMIT ((size_t)1 << 30)

typedef struct {
    cudnnTensorDescriptor_t x, y; // the conv's input and output sides
    cudnnFilterDescriptor_t w;
    cudnnConvolutionDescriptor_t conv;
    bool fwd_ready, bwd_data_ready, bwd_filter_ready;
    cudnnConvolutionFwdAlgo_t fwd;
    cudnnConvolutionBwdDataAlgo_t bwd_data;
    cudnnConvolutionBwdFilterAlgo_t bwd_filter;
    size_t fwd_bytes, bwd_data_bytes, bwd_filter_bytes;
    char name[160]; // for messages: "conv2d 2x3x5x6 -> 2x4x5x6 k3x3 s1x1 p1x1 d1x1 g1"
} ConvPlan;

static void plan_free(void *v) {
    ConvPlan *p = v;
    if (p->x) cudnnDestroyTensorDescriptor(p->x);
    if (p->y) cudnnDestroyTensorDescriptor(p->y);
    if (p->w) cudnnDestroyFilterDescriptor(p->w);
    if (p->conv) cudnnDestroyConvolutionDescriptor(p->conv);
    free(p);
}

void cuda_conv_release(CudaBackend *cb) {
    algo_cache_free(&cb->conv_plans, plan_free);
    cudaFree(cb->conv_workspace);
    cb->conv_workspace = NULL;
    cb->conv_workspace_bytes = 0;
}

int cuda_conv_workspace_reserve(CudaBackend *cb, size_t bytes) {
    if (bytes <= cb->conv_workspace_bytes) return 0;
    // Work queued on the stream may still use the old block.
    TRY(cudaCheck(cudaStreamSynchronize(cb->stream)));
    TRY(cudaCheck(cudaFree(cb->conv_workspace)));
    cb->conv_workspace = NULL;
    cb->conv_workspace_bytes = 0;
    cudaError_t e = cudaMalloc(&cb->conv_workspace, bytes);
    if (e != cudaSuccess) {
        cudaGetLastError();
        return yolo_fail("cannot allocate %.1f MiB of cuDNN workspace on GPU %d (%s): reduce batch or imgsz",
                         (double)bytes / 1048576.0, cb->device, cudaGetErrorString(e));
    }
    cb->conv_workspace_bytes = bytes;
    return 0;
}

static int set_tensor(cudnnTensorDescriptor_t d, Shape s) {
    return cudnnCheck(cudnnSetTensor4dDescriptor(d, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, (int)s.dim[0], (int)s.dim[1],
                                                 (int)s.dim[2], (int)s.dim[3]));
}

// Descriptors for the conv from shape xs to shape ys with k = ys's channels.
static int plan_init(ConvPlan *p, bool transpose, Shape xs, Shape ys, const ConvParams *q) {
    char a[48], b[48];
    snprintf(p->name, sizeof p->name, "%s %s -> %s k%dx%d s%dx%d p%dx%d d%dx%d g%d",
             transpose ? "conv_transpose2d" : "conv2d", shape_str(transpose ? ys : xs, a, sizeof a),
             shape_str(transpose ? xs : ys, b, sizeof b), q->kh, q->kw, q->sh, q->sw, q->ph, q->pw, q->dh, q->dw,
             q->groups);
    TRY(cudnnCheck(cudnnCreateTensorDescriptor(&p->x)));
    TRY(cudnnCheck(cudnnCreateTensorDescriptor(&p->y)));
    TRY(cudnnCheck(cudnnCreateFilterDescriptor(&p->w)));
    TRY(cudnnCheck(cudnnCreateConvolutionDescriptor(&p->conv)));
    TRY(set_tensor(p->x, xs));
    TRY(set_tensor(p->y, ys));
    TRY(cudnnCheck(cudnnSetFilter4dDescriptor(p->w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, (int)ys.dim[1],
                                              (int)xs.dim[1] / q->groups, q->kh, q->kw)));
    TRY(cudnnCheck(cudnnSetConvolution2dDescriptor(p->conv, q->ph, q->pw, q->sh, q->sw, q->dh, q->dw,
                                                   CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT)));
    TRY(cudnnCheck(cudnnSetConvolutionGroupCount(p->conv, q->groups)));
    TRY(cudnnCheck(cudnnSetConvolutionMathType(p->conv, CUDNN_FMA_MATH)));
    // cuDNN's idea of the output must be ours (op_infer's): a mismatch would mean reading or
    // writing outside the tensors.
    int dims[4];
    TRY(cudnnCheck(cudnnGetConvolution2dForwardOutputDim(p->conv, p->x, p->w, &dims[0], &dims[1], &dims[2], &dims[3])));
    for (int i = 0; i < 4; i++)
        if (dims[i] != ys.dim[i])
            return yolo_fail("%s: cuDNN computes output %dx%dx%dx%d for this window; the graph planned %s", p->name,
                             dims[0], dims[1], dims[2], dims[3], shape_str(ys, b, sizeof b));
    return 0;
}

// The plan for this op's problem, made on first use.
static int plan_for(const OpArgs *a, bool transpose, ConvPlan **out) {
    CudaBackend *cb = cuda_of(a);
    Shape in = a->in[0]->shape, outs = a->out->shape;
    Shape xs = transpose ? outs : in, ys = transpose ? in : outs;
    ConvKey key = conv_key_make(transpose, in, outs, &a->p.conv, cb->deterministic);
    *out = algo_cache_get(&cb->conv_plans, &key);
    if (*out) return 0;
    ConvPlan *p = calloc(1, sizeof *p);
    mallocCheck(p);
    if (plan_init(p, transpose, xs, ys, &a->p.conv) != 0 || algo_cache_put(&cb->conv_plans, &key, p) != 0) {
        plan_free(p);
        return -1;
    }
    *out = p;
    return 0;
}

static bool fp32_math(cudnnMathType_t m) { return m == CUDNN_FMA_MATH || m == CUDNN_DEFAULT_MATH; }

static int no_algorithm(const CudaBackend *cb, const ConvPlan *p, const char *direction) {
    return yolo_fail("%s: cuDNN offers no %s%s algorithm in fp32 within %.0f MiB of workspace; %s", p->name,
                     cb->deterministic ? "deterministic " : "", direction, (double)CONV_WORKSPACE_LIMIT / 1048576.0,
                     cb->deterministic ? "try deterministic=False or a smaller batch" : "try a smaller batch");
}

// Each direction: cuDNN's ranking -> AlgoCandidate -> conv_algo_pick -> the exact workspace.
static int choose_fwd(CudaBackend *cb, ConvPlan *p) {
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    AlgoCandidate c[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int n = 0;
    TRY(cudnnCheck(cudnnGetConvolutionForwardAlgorithm_v7(cb->cudnn, p->x, p->w, p->conv, p->y,
                                                          CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n, perf)));
    for (int i = 0; i < n; i++)
        c[i] = (AlgoCandidate){.algo = perf[i].algo, .ok = perf[i].status == CUDNN_STATUS_SUCCESS,
                               .deterministic = perf[i].determinism == CUDNN_DETERMINISTIC,
                               .fp32_math = fp32_math(perf[i].mathType), .workspace = perf[i].memory};
    int pick = conv_algo_pick(c, n, cb->deterministic, CONV_WORKSPACE_LIMIT);
    if (pick < 0) return no_algorithm(cb, p, "forward");
    p->fwd = perf[pick].algo;
    TRY(cudnnCheck(cudnnGetConvolutionForwardWorkspaceSize(cb->cudnn, p->x, p->w, p->conv, p->y, p->fwd, &p->fwd_bytes)));
    p->fwd_ready = true;
    return cuda_conv_workspace_reserve(cb, p->fwd_bytes);
}

static int choose_bwd_data(CudaBackend *cb, ConvPlan *p) {
    cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    AlgoCandidate c[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    int n = 0;
    TRY(cudnnCheck(cudnnGetConvolutionBackwardDataAlgorithm_v7(cb->cudnn, p->w, p->y, p->conv, p->x,
                                                               CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &n, perf)));
    for (int i = 0; i < n; i++)
        c[i] = (AlgoCandidate){.algo = perf[i].algo, .ok = perf[i].status == CUDNN_STATUS_SUCCESS,
                               .deterministic = perf[i].determinism == CUDNN_DETERMINISTIC,
                               .fp32_math = fp32_math(perf[i].mathType), .workspace = perf[i].memory};
    int pick = conv_algo_pick(c, n, cb->deterministic, CONV_WORKSPACE_LIMIT);
    if (pick < 0) return no_algorithm(cb, p, "backward-data");
    p->bwd_data = perf[pick].algo;
    TRY(cudnnCheck(cudnnGetConvolutionBackwardDataWorkspaceSize(cb->cudnn, p->w, p->y, p->conv, p->x, p->bwd_data,
                                                                &p->bwd_data_bytes)));
    p->bwd_data_ready = true;
    return cuda_conv_workspace_reserve(cb, p->bwd_data_bytes);
}

static int choose_bwd_filter(CudaBackend *cb, ConvPlan *p) {
    cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    AlgoCandidate c[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    int n = 0;
    TRY(cudnnCheck(cudnnGetConvolutionBackwardFilterAlgorithm_v7(cb->cudnn, p->x, p->y, p->conv, p->w,
                                                                 CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &n, perf)));
    for (int i = 0; i < n; i++)
        c[i] = (AlgoCandidate){.algo = perf[i].algo, .ok = perf[i].status == CUDNN_STATUS_SUCCESS,
                               .deterministic = perf[i].determinism == CUDNN_DETERMINISTIC,
                               .fp32_math = fp32_math(perf[i].mathType), .workspace = perf[i].memory};
    int pick = conv_algo_pick(c, n, cb->deterministic, CONV_WORKSPACE_LIMIT);
    if (pick < 0) return no_algorithm(cb, p, "backward-filter");
    p->bwd_filter = perf[pick].algo;
    TRY(cudnnCheck(cudnnGetConvolutionBackwardFilterWorkspaceSize(cb->cudnn, p->x, p->y, p->conv, p->w, p->bwd_filter,
                                                                  &p->bwd_filter_bytes)));
    p->bwd_filter_ready = true;
    return cuda_conv_workspace_reserve(cb, p->bwd_filter_bytes);
}

static const float ONE = 1.0f, ZERO = 0.0f;

// out = beta * out + conv(in)  (the conv's forward: x side to y side)
static int run_fwd(CudaBackend *cb, ConvPlan *p, const float *x, const float *w, float *y, const float *beta) {
    if (!p->fwd_ready) TRY(choose_fwd(cb, p));
    return cudnnQueued(cb, cudnnConvolutionForward(cb->cudnn, &ONE, p->x, x, p->w, w, p->conv, p->fwd, cb->conv_workspace,
                                                   p->fwd_bytes, beta, p->y, y));
}

// dx = beta * dx + conv^T(dy)  (the conv's backward-data: y side to x side)
static int run_bwd_data(CudaBackend *cb, ConvPlan *p, const float *w, const float *dy, float *dx, const float *beta) {
    if (!p->bwd_data_ready) TRY(choose_bwd_data(cb, p));
    return cudnnQueued(cb, cudnnConvolutionBackwardData(cb->cudnn, &ONE, p->w, w, p->y, dy, p->conv, p->bwd_data,
                                                        cb->conv_workspace, p->bwd_data_bytes, beta, p->x, dx));
}

// dw += the filter gradient of the conv for input x and output gradient dy.
static int run_bwd_filter(CudaBackend *cb, ConvPlan *p, const float *x, const float *dy, float *dw) {
    if (!p->bwd_filter_ready) TRY(choose_bwd_filter(cb, p));
    return cudnnQueued(cb, cudnnConvolutionBackwardFilter(cb->cudnn, &ONE, p->x, x, p->y, dy, p->conv, p->bwd_filter,
                                                          cb->conv_workspace, p->bwd_filter_bytes, &ONE, p->w, dw));
}

static int add_bias(const OpArgs *a) {
    if (!a->p.conv.has_bias) return 0;
    const Tensor *y = a->out;
    return launchCheck(cuda_of(a), yk_add_channel_bias(cuda_of(a)->stream, y->data, a->param[1]->data, tensor_n(y),
                                                       tensor_c(y), tensor_h(y) * tensor_w(y)));
}

static int bias_grad(const OpArgs *a) {
    if (!a->p.conv.has_bias || !a->param_grad[1]) return 0;
    const Tensor *dy = a->out_grad;
    return launchCheck(cuda_of(a), yk_channel_sums_add(cuda_of(a)->stream, dy->data, tensor_n(dy), tensor_c(dy),
                                                       tensor_h(dy) * tensor_w(dy), a->param_grad[1]->data));
}

static int conv2d_forward(const OpArgs *a) {
    ConvPlan *p;
    TRY(plan_for(a, false, &p));
    TRY(run_fwd(cuda_of(a), p, a->in[0]->data, a->param[0]->data, a->out->data, &ZERO));
    return add_bias(a);
}

static int conv2d_backward(const OpArgs *a) {
    ConvPlan *p;
    TRY(plan_for(a, false, &p));
    CudaBackend *cb = cuda_of(a);
    if (a->in_grad[0]) TRY(run_bwd_data(cb, p, a->param[0]->data, a->out_grad->data, a->in_grad[0]->data, &ONE));
    if (a->param_grad[0]) TRY(run_bwd_filter(cb, p, a->in[0]->data, a->out_grad->data, a->param_grad[0]->data));
    return bias_grad(a);
}

static int convt_forward(const OpArgs *a) {
    ConvPlan *p;
    TRY(plan_for(a, true, &p));
    TRY(run_bwd_data(cuda_of(a), p, a->param[0]->data, a->in[0]->data, a->out->data, &ZERO));
    return add_bias(a);
}

static int convt_backward(const OpArgs *a) {
    ConvPlan *p;
    TRY(plan_for(a, true, &p));
    CudaBackend *cb = cuda_of(a);
    if (a->in_grad[0]) TRY(run_fwd(cb, p, a->out_grad->data, a->param[0]->data, a->in_grad[0]->data, &ONE));
    if (a->param_grad[0]) TRY(run_bwd_filter(cb, p, a->out_grad->data, a->in[0]->data, a->param_grad[0]->data));
    return bias_grad(a);
}

const OpImpl cuda_conv2d = {.forward = conv2d_forward, .backward = conv2d_backward};
const OpImpl cuda_conv_transpose2d = {.forward = convt_forward, .backward = convt_backward};
