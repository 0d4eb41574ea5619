// The op table a backend fills. The graph calls only through it, so a new backend (CUDA) adds
// kernels without touching graph code. Every backend's results are tested against the CPU's
// plain path, which is the reference.
#ifndef YOLO_BACKEND_BACKEND_H
#define YOLO_BACKEND_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
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

// Memory where a backend's tensors live: the host heap for the CPU backend, device memory for the
// CUDA backend (whose copies and fills are queued on its stream, in order with its kernels). Each
// hook returns 0, or -1 with a message naming the size and the fix.
typedef struct {
    int (*alloc)(const Backend *b, size_t bytes, void **out); // zero-filled, ARENA_ALIGN-aligned
    void (*release)(const Backend *b, void *block);           // NULL is allowed
    int (*upload)(const Backend *b, void *dst, const void *host_src, size_t bytes);
    int (*download)(const Backend *b, void *host_dst, const void *src, size_t bytes); // complete on return
    int (*copy)(const Backend *b, void *dst, const void *src, size_t bytes);          // within the backend
    int (*zero)(const Backend *b, void *dst, size_t bytes);
    int (*synchronize)(const Backend *b); // waits for queued work and reports its errors
} BackendMemory;

struct Backend {
    const char *name;
    Device device;
    OpImpl op[OP_COUNT];
    ThreadPool *pool; // the CPU backend's workers
    BackendMemory mem;
    void *impl;                     // the backend's own state (the CUDA backend's handles and caches)
    void (*destroy_impl)(Backend *); // frees impl; called by backend_destroy
};

// The CPU backend with n_threads worker threads (the caller included). Returns NULL with a
// message when threads cannot be started.
Backend *backend_cpu_create(int n_threads);
void backend_destroy(Backend *backend);

// The CUDA backend on GPU `device` (cuda/cuda_backend.c). deterministic picks only deterministic
// cuDNN algorithms. Returns NULL with a message when this build has no CUDA support, no GPU is
// visible, or the GPU cannot be initialised.
typedef struct {
    int device;
    bool deterministic;
} CudaOptions;
Backend *backend_cuda_create(const CudaOptions *options);

static inline int backend_alloc(const Backend *b, size_t bytes, void **out) { return b->mem.alloc(b, bytes, out); }
static inline void backend_release(const Backend *b, void *block) { b->mem.release(b, block); }
static inline int backend_upload(const Backend *b, void *dst, const void *src, size_t bytes) {
    return b->mem.upload(b, dst, src, bytes);
}
static inline int backend_download(const Backend *b, void *dst, const void *src, size_t bytes) {
    return b->mem.download(b, dst, src, bytes);
}
static inline int backend_copy(const Backend *b, void *dst, const void *src, size_t bytes) {
    return b->mem.copy(b, dst, src, bytes);
}
static inline int backend_zero(const Backend *b, void *dst, size_t bytes) { return b->mem.zero(b, dst, bytes); }
static inline int backend_synchronize(const Backend *b) { return b->mem.synchronize(b); }

// Arena hooks that put an arena's block in the backend's memory (arena_make_on).
static inline int backend_arena_alloc_(void *ctx, size_t bytes, void **out) { return backend_alloc(ctx, bytes, out); }
static inline void backend_arena_release_(void *ctx, void *block) { backend_release(ctx, block); }
static inline ArenaMemory backend_arena_memory(const Backend *b) {
    return (ArenaMemory){.alloc = backend_arena_alloc_, .release = backend_arena_release_, .ctx = (void *)b};
}

static inline int backend_forward(const OpArgs *a) { return a->backend->op[a->kind].forward(a); }
static inline int backend_backward(const OpArgs *a) { return a->backend->op[a->kind].backward(a); }
static inline size_t backend_workspace(const OpArgs *a) {
    size_t (*ws)(const OpArgs *) = a->backend->op[a->kind].workspace_bytes;
    return ws ? ws(a) : 0;
}

#endif
