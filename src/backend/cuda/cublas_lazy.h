// cuBLAS, opened with dlopen when the CUDA backend first needs it instead of linked. Linking it
// would load libcublasLt into every run of yolo: measured here, 0.33 s and 210 MB of memory at
// startup before main, for every command, even `yolo version` and CPU training. cuDNN's library
// is a small loader of its own parts, and the CUDA runtime is small, so those two stay linked.
#ifndef YOLO_BACKEND_CUDA_CUBLAS_LAZY_H
#define YOLO_BACKEND_CUDA_CUBLAS_LAZY_H

#include <cublas_v2.h>

// The cuBLAS functions the backend calls, with cuBLAS's own signatures.
typedef struct {
    __typeof__(&cublasCreate_v2) create;
    __typeof__(&cublasDestroy_v2) destroy;
    __typeof__(&cublasSetStream_v2) set_stream;
    __typeof__(&cublasSetMathMode) set_math_mode;
    __typeof__(&cublasSgemm_v2) sgemm;
    __typeof__(&cublasGetStatusString) status_string;
    __typeof__(&cublasGetProperty) get_property;
} CublasApi;

// The loaded library (the soname of the cuBLAS major version this was built with), or NULL
// with a message naming the library and dlerror's reason. Loads once; safe from any thread.
const CublasApi *cublas_api(void);

#endif
