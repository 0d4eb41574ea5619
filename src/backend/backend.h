// The op table a backend fills. The graph calls only through it, so a new backend (CUDA) adds
// kernels without touching graph code. Every backend's results are tested against the CPU's
// plain path, which is the reference.
#ifndef YOLO_BACKEND_BACKEND_H
#define YOLO_BACKEND_BACKEND_H

#include <stddef.h>

#include "core/tensor.h"
#include "core/threadpool.h"
#include "nn/op.h"

typedef struct {
    int (*forward)(const OpArgs *args);
    int (*backward)(const OpArgs *args);
    // Scratch bytes one call needs (forward or backward, whichever is larger); args has shapes
    // and params set but no data. NULL means none.
    size_t (*workspace_bytes)(const OpArgs *args);
} OpImpl;

struct Backend {
    const char *name;
    Device device;
    OpImpl op[OP_COUNT];
    ThreadPool *pool; // the CPU backend's workers
};

// The CPU backend with n_threads worker threads (the caller included). Returns NULL with a
// message when threads cannot be started.
Backend *backend_cpu_create(int n_threads);
void backend_destroy(Backend *backend);

static inline int backend_forward(const OpArgs *a) { return a->backend->op[a->kind].forward(a); }
static inline int backend_backward(const OpArgs *a) { return a->backend->op[a->kind].backward(a); }
static inline size_t backend_workspace(const OpArgs *a) {
    size_t (*ws)(const OpArgs *) = a->backend->op[a->kind].workspace_bytes;
    return ws ? ws(a) : 0;
}

#endif
