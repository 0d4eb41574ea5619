// The CUDA entry points of a build without CUDA support (meson found no nvcc, cuBLAS or cuDNN, or
// -Dcuda=disabled): they answer that CUDA is not built in, so callers need no #if.
#include <stdio.h>

#include "backend/backend.h"
#include "backend/device.h"
#include "core/status.h"

void cuda_info_query(CudaInfo *info) {
    *info = (CudaInfo){.built = false};
    snprintf(info->why_none, sizeof info->why_none, "this yolo was built without CUDA support");
}

Backend *backend_cuda_create(const CudaOptions *options) {
    yolo_fail("GPU %d: this yolo was built without CUDA support (it is built when nvcc, cuBLAS and cuDNN are found, "
              "or with -Dcuda=enabled); use the CPU",
              options->device);
    return NULL;
}
