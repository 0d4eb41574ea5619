// The ops of the engine: what each one computes (its kind and parameters), the shapes it
// produces, and the argument block a backend kernel receives. Kernels live in src/backend/*; this
// file knows nothing about how an op is computed.
//
// Conventions every backend follows:
// - Tensors are NCHW fp32, contiguous. 2-D tensors are [rows, features].
// - forward writes `out` (and `saved`, and in training BN's running `buffer`s).
// - backward ACCUMULATES: in_grad[i] += dL/d in[i], param_grad[j] += dL/d param[j]. A NULL grad
//   pointer means that gradient is not wanted (frozen parameter, graph input). Accumulation is
//   what lets a value feed several consumers and lets micro-batches sum into one step.
#ifndef YOLO_NN_OP_H
#define YOLO_NN_OP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/tensor.h"

typedef enum {
    OP_CONV2D,           // in: x; params: weight [Cout, Cin/g, kh, kw], optional bias [Cout]
    OP_CONV_TRANSPOSE2D, // in: x; params: weight [Cin, Cout/g, kh, kw], optional bias [Cout]
    OP_BATCHNORM2D,      // in: x; params: gamma, beta [C]; buffers: running mean, var [C]
    OP_SILU,
    OP_SIGMOID,
    OP_MAXPOOL2D,           // -inf padding
    OP_UPSAMPLE_NEAREST,    // integer scale
    OP_CONCAT,              // along channels (dim 1), inputs in order
    OP_SLICE,               // channels [c0, c1) of dim 1: C2f's split, one node per piece
    OP_ADD,                 // two inputs of equal shape
    OP_ADAPTIVE_AVGPOOL2D,  // to out_h x out_w with PyTorch's bin edges
    OP_FLATTEN,             // [N, C, H, W] -> [N, C*H*W]
    OP_LINEAR,              // in: x [N, in]; params: weight [out, in], optional bias [out]
    OP_DROPOUT,             // inverted dropout; identity when not training
    OP_SOFTMAX,             // over the last dim of a 2-D tensor
    OP_LOG_SOFTMAX,         // over the last dim of a 2-D tensor
    // SiLU(batchnorm2d(x)) in one node, Ultralytics' Conv after its convolution: batchnorm2d's
    // params, buffers and saved tensors, and no stored BN output (backward recomputes it from x).
    OP_BATCHNORM2D_SILU,
    OP_COUNT
} OpKind;

typedef struct {
    int cout; // output channels
    int kh, kw, sh, sw, ph, pw, dh, dw, groups;
    int has_bias;
} ConvParams;

typedef struct {
    float eps, momentum; // PyTorch convention: running = (1 - momentum) * running + momentum * batch
} BatchNormParams;

typedef struct {
    int kh, kw, sh, sw, ph, pw;
} PoolParams;

typedef union {
    ConvParams conv;           // conv2d, conv_transpose2d
    BatchNormParams bn;        // batchnorm2d, batchnorm2d_silu
    PoolParams pool;           // maxpool2d
    int scale;                 // upsample_nearest
    struct { int c0, c1; } slice;
    struct { int out_h, out_w; } adaptive;
    struct { int out_features, has_bias; } linear;
    float drop_p;              // dropout
} OpParams;

enum { OP_MAX_INPUTS = 16, OP_MAX_PARAMS = 2, OP_MAX_BUFFERS = 2, OP_MAX_SAVED = 2 };

// Shapes an op produces from its input shapes and parameters.
typedef struct {
    Shape out;
    int n_params;
    Shape param[OP_MAX_PARAMS];
    int n_buffers;
    Shape buffer[OP_MAX_BUFFERS];
    int n_saved; // tensors forward keeps for backward (BN's batch mean and inverse std, ...)
    Shape saved[OP_MAX_SAVED];
} OpShapes;

typedef struct Backend Backend;

// Everything one kernel call needs; built once per graph node when memory is planned.
typedef struct {
    OpKind kind;
    OpParams p;
    int n_in;
    const Tensor *in[OP_MAX_INPUTS];
    Tensor *in_grad[OP_MAX_INPUTS];
    Tensor *out;
    const Tensor *out_grad;
    Tensor *param[OP_MAX_PARAMS];
    Tensor *param_grad[OP_MAX_PARAMS];
    Tensor *buffer[OP_MAX_BUFFERS]; // persistent, not trained: BN running statistics
    Tensor *saved[OP_MAX_SAVED];
    void *workspace; // scratch for this call only, shared by all nodes of a graph
    size_t workspace_bytes;
    int training;
    uint64_t rng_seed, rng_stream; // dropout draws rng_uniform(seed, stream, element index)
    const Backend *backend;
} OpArgs;

const char *op_name(OpKind kind);

// The ops that normalise a batch (batchnorm2d alone or fused with SiLU): param 0 is gamma, param 1
// beta, buffer 0 the running mean and buffer 1 the running variance.
bool op_is_batchnorm(OpKind kind);

// Checks the inputs and parameters of an op and fills its shapes; returns -1 with a message that
// names the op and the offending shape or value.
int op_infer(OpKind kind, const OpParams *p, int n_in, const Shape *in, OpShapes *shapes);

#endif
