// What the CUDA backend's files share: its state behind Backend.impl, and the *Check macros
// through which every CUDA runtime, cuBLAS and cuDNN call goes. A failed call becomes an error
// value (yolo_fail) naming the source file and line, the call, and the library's own words.
//
// Kernels run asynchronously, so a fault inside one surfaces at some later call. With
// YOLO_CUDA_SYNC=1 in the environment every launch is followed by a synchronisation and a check,
// so the error names the launch that caused it (slow; for debugging).
#ifndef YOLO_BACKEND_CUDA_INTERNAL_H
#define YOLO_BACKEND_CUDA_INTERNAL_H

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include "backend/backend.h"
#include "backend/cuda/algo_cache.h"
#include "backend/cuda/cublas_lazy.h"

typedef struct {
    int device;
    cudaStream_t stream; // every kernel, copy and library call of this backend, in order
    const CublasApi *blas; // cuBLAS, loaded on creation (cublas_lazy.h)
    cublasHandle_t cublas;
    cudnnHandle_t cudnn;
    bool sync_each;     // YOLO_CUDA_SYNC=1
    bool deterministic; // only deterministic cuDNN algorithms
    // cuDNN's scratch for convolutions: one block, replaced by a larger one when a plan needs
    // more, never shrunk, so steady-state training allocates nothing.
    void *conv_workspace;
    size_t conv_workspace_bytes;
    AlgoCache conv_plans; // ConvKey -> ConvPlan (cuda_conv.c)
} CudaBackend;

static inline CudaBackend *cuda_of(const OpArgs *a) { return (CudaBackend *)a->backend->impl; }
static inline CudaBackend *cuda_backend(const Backend *b) { return (CudaBackend *)b->impl; }

int cuda_check_(cudaError_t e, const char *call, const char *file, int line);
int cublas_check_(cublasStatus_t s, const char *call, const char *file, int line);
int cudnn_check_(cudnnStatus_t s, const char *call, const char *file, int line);
// After work was queued (rc is the queuing call's check): with sync_each, waits for it and checks
// the work itself.
int cuda_queued_(const CudaBackend *cb, int rc, const char *call, const char *file, int line);

#define cudaCheck(call) cuda_check_((call), #call, __FILE__, __LINE__)
#define cublasCheck(call) cublas_check_((call), #call, __FILE__, __LINE__)
#define cudnnCheck(call) cudnn_check_((call), #call, __FILE__, __LINE__)
// For calls that queue work on the stream: kernel launchers (which return cudaGetLastError()),
// cuBLAS and cuDNN computations, asynchronous copies.
#define launchCheck(cb, call) cuda_queued_((cb), cudaCheck(call), #call, __FILE__, __LINE__)
#define cublasQueued(cb, call) cuda_queued_((cb), cublasCheck(call), #call, __FILE__, __LINE__)
#define cudnnQueued(cb, call) cuda_queued_((cb), cudnnCheck(call), #call, __FILE__, __LINE__)

// The scratch of the graph's workspace an op asked for (workspace_bytes), as a device pointer.
static inline void *cuda_workspace(const OpArgs *a) { return a->workspace; }

// Makes the convolution workspace at least bytes large (cuda_conv.c).
int cuda_conv_workspace_reserve(CudaBackend *cb, size_t bytes);
// Frees the plans and the workspace (cuda_conv.c).
void cuda_conv_release(CudaBackend *cb);

// The op table entries, one file per family.
extern const OpImpl cuda_conv2d;
extern const OpImpl cuda_conv_transpose2d;
extern const OpImpl cuda_batchnorm2d;
extern const OpImpl cuda_batchnorm2d_silu;
extern const OpImpl cuda_linear;
extern const OpImpl cuda_silu;
extern const OpImpl cuda_sigmoid;
extern const OpImpl cuda_add;
extern const OpImpl cuda_dropout;
extern const OpImpl cuda_maxpool2d;
extern const OpImpl cuda_adaptive_avgpool2d;
extern const OpImpl cuda_upsample_nearest;
extern const OpImpl cuda_concat;
extern const OpImpl cuda_slice;
extern const OpImpl cuda_flatten;
extern const OpImpl cuda_softmax;
extern const OpImpl cuda_log_softmax;

#endif
