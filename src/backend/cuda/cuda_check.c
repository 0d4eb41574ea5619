// The *Check macros' reporting (cuda_internal.h).
#include <stdio.h>

#include "backend/cuda/cuda_internal.h"
#include "core/status.h"

int cuda_check_(cudaError_t e, const char *call, const char *file, int line) {
    if (e == cudaSuccess) return 0;
    return yolo_fail("%s:%d: %s: %s (%s)", file, line, call, cudaGetErrorString(e), cudaGetErrorName(e));
}

int cublas_check_(cublasStatus_t s, const char *call, const char *file, int line) {
    if (s == CUBLAS_STATUS_SUCCESS) return 0;
    // A status can only come from a loaded cuBLAS, so cublas_api() is there.
    const CublasApi *api = cublas_api();
    return yolo_fail("%s:%d: %s: cuBLAS %s", file, line, call, api ? api->status_string(s) : "error");
}

int cudnn_check_(cudnnStatus_t s, const char *call, const char *file, int line) {
    if (s == CUDNN_STATUS_SUCCESS) return 0;
    // cuDNN 9 keeps a longer explanation of the last failure than the status name.
    char detail[512] = "";
#if CUDNN_MAJOR >= 9
    cudnnGetLastErrorString(detail, sizeof detail);
#endif
    return yolo_fail("%s:%d: %s: cuDNN %s%s%s", file, line, call, cudnnGetErrorString(s), detail[0] ? ": " : "", detail);
}

int cuda_queued_(const CudaBackend *cb, int rc, const char *call, const char *file, int line) {
    if (rc != 0 || !cb->sync_each) return rc;
    cudaError_t e = cudaStreamSynchronize(cb->stream);
    if (e == cudaSuccess) e = cudaGetLastError();
    if (e == cudaSuccess) return 0;
    return yolo_fail("%s:%d: %s failed while running (YOLO_CUDA_SYNC=1 waited for it): %s (%s)", file, line, call,
                     cudaGetErrorString(e), cudaGetErrorName(e));
}
