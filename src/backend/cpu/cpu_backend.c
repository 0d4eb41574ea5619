#include <stdlib.h>

#include "backend/cpu/cpu_ops.h"
#include "backend/cpu/gemm.h"
#include "core/status.h"

Backend *backend_cpu_create(int n_threads) {
    Backend *b = calloc(1, sizeof *b);
    if (!b) {
        yolo_fail("out of memory creating the CPU backend");
        return NULL;
    }
    b->name = "cpu";
    b->device = DEVICE_CPU;
    b->mem = cpu_memory;
    b->pool = pool_create(n_threads);
    if (!b->pool) {
        free(b);
        yolo_fail("cannot start %d CPU threads", n_threads);
        return NULL;
    }
    gemm_init();
    b->op[OP_CONV2D] = cpu_conv2d;
    b->op[OP_CONV_TRANSPOSE2D] = cpu_conv_transpose2d;
    b->op[OP_BATCHNORM2D] = cpu_batchnorm2d;
    b->op[OP_SILU] = cpu_silu;
    b->op[OP_SIGMOID] = cpu_sigmoid;
    b->op[OP_MAXPOOL2D] = cpu_maxpool2d;
    b->op[OP_UPSAMPLE_NEAREST] = cpu_upsample_nearest;
    b->op[OP_CONCAT] = cpu_concat;
    b->op[OP_SLICE] = cpu_slice;
    b->op[OP_ADD] = cpu_add;
    b->op[OP_ADAPTIVE_AVGPOOL2D] = cpu_adaptive_avgpool2d;
    b->op[OP_FLATTEN] = cpu_flatten;
    b->op[OP_LINEAR] = cpu_linear;
    b->op[OP_DROPOUT] = cpu_dropout;
    b->op[OP_SOFTMAX] = cpu_softmax;
    b->op[OP_LOG_SOFTMAX] = cpu_log_softmax;
    b->op[OP_BATCHNORM2D_SILU] = cpu_batchnorm2d_silu;
    return b;
}

void backend_destroy(Backend *b) {
    if (!b) return;
    if (b->destroy_impl) b->destroy_impl(b);
    pool_destroy(b->pool);
    free(b);
}
