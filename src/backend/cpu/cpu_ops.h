// The CPU backend's kernels, one OpImpl per op; cpu_backend.c puts them in the table.
#ifndef YOLO_BACKEND_CPU_OPS_H
#define YOLO_BACKEND_CPU_OPS_H

#include "backend/backend.h"

extern const OpImpl cpu_conv2d;
// The plain im2col + BLAS convolution that cpu_conv2d's packed path is tested against.
extern const OpImpl cpu_conv2d_im2col;
extern const OpImpl cpu_conv_transpose2d;
extern const OpImpl cpu_batchnorm2d;
extern const OpImpl cpu_silu;
extern const OpImpl cpu_sigmoid;
extern const OpImpl cpu_maxpool2d;
extern const OpImpl cpu_upsample_nearest;
extern const OpImpl cpu_concat;
extern const OpImpl cpu_slice;
extern const OpImpl cpu_add;
extern const OpImpl cpu_adaptive_avgpool2d;
extern const OpImpl cpu_flatten;
extern const OpImpl cpu_linear;
extern const OpImpl cpu_dropout;
extern const OpImpl cpu_softmax;
extern const OpImpl cpu_log_softmax;
extern const OpImpl cpu_batchnorm2d_silu;

// The host heap behind BackendMemory (cpu_memory.c).
extern const BackendMemory cpu_memory;

// Runs fn over [0, n) on the backend's threads (see core/threadpool.h for the determinism rule).
static inline void cpu_parallel(const OpArgs *a, int64_t n, ParallelFn fn, void *ctx) {
    pool_for(a->backend->pool, n, fn, ctx);
}

#endif
