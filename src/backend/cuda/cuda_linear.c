// Fully connected layer on cuBLAS: y = x W^T + b with x [N, in], W [out, in], b [out].
//
// cuBLAS is column-major; a row-major [r, c] matrix is the column-major [c, r] one, its
// transpose. So every product below is written for the transposes: y^T = W x^T becomes
// gemm(T, N) of W (stored in x out) and x (in x N), and so on. beta = 1 makes the gradient GEMMs
// add into what the gradients hold (the op table's += contract). The handle's math mode is
// cuBLAS's default, full fp32 (no TF32), set when the backend is created. cuBLAS is called
// through cb->blas (cublas_lazy.h).
#include "backend/cuda/cuda_internal.h"
#include "backend/cuda/kernels.h"
#include "core/status.h"

typedef struct {
    int n, in, out;
} Dims;

static Dims dims_of(const OpArgs *a) {
    return (Dims){.n = (int)tensor_n(a->in[0]), .in = (int)tensor_c(a->in[0]), .out = (int)tensor_c(a->out)};
}

static const float ONE = 1.0f, ZERO = 0.0f;

static int linear_forward(const OpArgs *a) {
    CudaBackend *cb = cuda_of(a);
    Dims d = dims_of(a);
    TRY(cublasQueued(cb, cb->blas->sgemm(cb->cublas, CUBLAS_OP_T, CUBLAS_OP_N, d.out, d.n, d.in, &ONE, a->param[0]->data,
                                     d.in, a->in[0]->data, d.in, &ZERO, a->out->data, d.out)));
    if (!a->p.linear.has_bias) return 0;
    return launchCheck(cb, yk_add_channel_bias(cb->stream, a->out->data, a->param[1]->data, d.n, d.out, 1));
}

static int linear_backward(const OpArgs *a) {
    CudaBackend *cb = cuda_of(a);
    Dims d = dims_of(a);
    const float *dy = a->out_grad->data;
    // dx += dy W: dx^T [in x N] += W^T [in x out] dy^T [out x N].
    if (a->in_grad[0])
        TRY(cublasQueued(cb, cb->blas->sgemm(cb->cublas, CUBLAS_OP_N, CUBLAS_OP_N, d.in, d.n, d.out, &ONE, a->param[0]->data,
                                         d.in, dy, d.out, &ONE, a->in_grad[0]->data, d.in)));
    // dW += dy^T x: dW^T [in x out] += x^T [in x N] dy [N x out].
    if (a->param_grad[0])
        TRY(cublasQueued(cb, cb->blas->sgemm(cb->cublas, CUBLAS_OP_N, CUBLAS_OP_T, d.in, d.out, d.n, &ONE, a->in[0]->data,
                                         d.in, dy, d.out, &ONE, a->param_grad[0]->data, d.in)));
    // db += the sum of dy over samples: dy as [N, out, 1] summed per "channel".
    if (a->p.linear.has_bias && a->param_grad[1])
        TRY(launchCheck(cb, yk_channel_sums_add(cb->stream, dy, d.n, d.out, 1, a->param_grad[1]->data)));
    return 0;
}

const OpImpl cuda_linear = {.forward = linear_forward, .backward = linear_backward};
