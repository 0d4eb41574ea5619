// What the .cu files share: launch geometry and the grid-stride loop.
#ifndef YOLO_BACKEND_CUDA_K_COMMON_CUH
#define YOLO_BACKEND_CUDA_K_COMMON_CUH

#include <cuda_runtime.h>
#include <stdint.h>

#include "backend/cuda/kernels.h"

enum { YK_THREADS = 256 };

// Blocks for a grid-stride loop over n items: enough to fill any current GPU, capped so the grid
// stays legal for any n (the loop covers the rest). At least one, so n = 0 launches harmlessly.
static inline unsigned yk_blocks(int64_t n) {
    int64_t b = (n + YK_THREADS - 1) / YK_THREADS;
    const int64_t cap = 1 << 20;
    return (unsigned)(b < 1 ? 1 : b > cap ? cap : b);
}

// for (i = this thread's first item; i < n; i += threads in the grid)
#define YK_FOR(i, n) \
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

#endif
