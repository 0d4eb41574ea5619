// What the CUDA runtime reports: library versions, the driver, and each visible GPU. A machine
// without a driver or a GPU is an answer, not an error: cudaGetDeviceCount fails there (no
// libcuda, or no device) and the reason is kept for the message.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>
#include <stdio.h>

#include "backend/cuda/cublas_lazy.h"
#include "backend/device.h"
#include "core/status.h"

void cuda_info_query(CudaInfo *info) {
    *info = (CudaInfo){.built = true};
    cudaRuntimeGetVersion(&info->runtime_version);
    // Without an installed driver this succeeds and reports 0.
    if (cudaDriverGetVersion(&info->driver_version) != cudaSuccess) info->driver_version = 0;
    int major = 0, minor = 0, patch = 0;
    const CublasApi *blas = cublas_api(); // 0.3 s the first time: only checks and device= ask
    if (blas) {
        blas->get_property(MAJOR_VERSION, &major);
        blas->get_property(MINOR_VERSION, &minor);
        blas->get_property(PATCH_LEVEL, &patch);
    } else {
        yolo_error_clear(); // reported as version 0 ("not loadable")
    }
    info->cublas_version = 10000 * major + 100 * minor + patch;
    // cudnnGetVersion gives 10000 * major + 100 * minor + patch from cuDNN 9 (1000 * major before).
    info->cudnn_version = (int)cudnnGetVersion();
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        // Without a driver the runtime says the driver is "insufficient"; say what is missing.
        snprintf(info->why_none, sizeof info->why_none, "%s%s: %s",
                 info->driver_version == 0 ? "no NVIDIA driver is installed; " : "", cudaGetErrorName(e),
                 cudaGetErrorString(e));
        cudaGetLastError(); // not sticky, but leave no error behind for the next call to find
        return;
    }
    if (count == 0) {
        snprintf(info->why_none, sizeof info->why_none, "the driver reports no GPU");
        return;
    }
    info->n_gpus = count < DEVICE_MAX_GPUS ? count : DEVICE_MAX_GPUS;
    for (int i = 0; i < info->n_gpus; i++) {
        struct cudaDeviceProp prop;
        GpuInfo *g = &info->gpu[i];
        if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) {
            snprintf(g->name, sizeof g->name, "(properties unavailable)");
            cudaGetLastError();
            continue;
        }
        snprintf(g->name, sizeof g->name, "%s", prop.name);
        g->memory_bytes = prop.totalGlobalMem;
        g->cc_major = prop.major;
        g->cc_minor = prop.minor;
    }
}
