#include "backend/cuda/cublas_lazy.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#include "core/status.h"

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)
#define CUBLAS_SONAME "libcublas.so." STRINGIFY(CUBLAS_VER_MAJOR)

static CublasApi api;
static char failure[512]; // why loading failed, "" when it worked
static pthread_once_t once = PTHREAD_ONCE_INIT;

// dlsym returns void *; converting it to a function pointer is what POSIX specifies dlsym for.
#define RESOLVE(field, symbol)                                                                      \
    do {                                                                                            \
        void *p = dlsym(lib, symbol);                                                               \
        if (!p) {                                                                                   \
            snprintf(failure, sizeof failure, "%s has no %s: %s", CUBLAS_SONAME, symbol, dlerror()); \
            return;                                                                                 \
        }                                                                                           \
        *(void **)&api.field = p;                                                                   \
    } while (0)

static void load(void) {
    // Kept open for the life of the process: the library cannot be unloaded while handles exist,
    // and nothing is gained by unloading it at exit.
    void *lib = dlopen(CUBLAS_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(failure, sizeof failure, "cannot load %s (%s); install the CUDA toolkit's cuBLAS or add its lib "
                 "folder to LD_LIBRARY_PATH", CUBLAS_SONAME, dlerror());
        return;
    }
    RESOLVE(create, "cublasCreate_v2");
    RESOLVE(destroy, "cublasDestroy_v2");
    RESOLVE(set_stream, "cublasSetStream_v2");
    RESOLVE(set_math_mode, "cublasSetMathMode");
    RESOLVE(sgemm, "cublasSgemm_v2");
    RESOLVE(status_string, "cublasGetStatusString");
    RESOLVE(get_property, "cublasGetProperty");
}

const CublasApi *cublas_api(void) {
    pthread_once(&once, load);
    if (failure[0]) {
        yolo_fail("%s", failure);
        return NULL;
    }
    return &api;
}
