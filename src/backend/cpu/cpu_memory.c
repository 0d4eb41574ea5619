// The CPU backend's memory: the host heap. Copies are memcpy and there is nothing to wait for;
// the hooks exist so that code written against BackendMemory runs unchanged on either backend.
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu_ops.h"
#include "core/status.h"

static int cpu_alloc(const Backend *b, size_t bytes, void **out) {
    (void)b;
    size_t rounded = (bytes + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
    *out = aligned_alloc(ARENA_ALIGN, rounded ? rounded : ARENA_ALIGN);
    if (!*out) return yolo_fail("cannot allocate %.1f MiB of host memory: reduce batch or imgsz", (double)bytes / 1048576.0);
    memset(*out, 0, rounded);
    return 0;
}

static void cpu_release(const Backend *b, void *block) {
    (void)b;
    free(block);
}

static int cpu_copy(const Backend *b, void *dst, const void *src, size_t bytes) {
    (void)b;
    if (bytes) memcpy(dst, src, bytes);
    return 0;
}

static int cpu_zero(const Backend *b, void *dst, size_t bytes) {
    (void)b;
    if (bytes) memset(dst, 0, bytes);
    return 0;
}

static int cpu_synchronize(const Backend *b) {
    (void)b;
    return 0;
}

const BackendMemory cpu_memory = {.alloc = cpu_alloc, .release = cpu_release, .upload = cpu_copy,
                                  .download = cpu_copy, .copy = cpu_copy, .zero = cpu_zero,
                                  .synchronize = cpu_synchronize};
