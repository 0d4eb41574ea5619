#include "core/arena.h"

#include <stdlib.h>
#include <string.h>

#include "core/status.h"

Arena arena_make(const char *name) { return (Arena){.name = name}; }

Arena arena_make_on(const char *name, ArenaMemory mem) { return (Arena){.name = name, .mem = mem}; }

size_t arena_reserve(Arena *a, size_t bytes) {
    size_t offset = a->size;
    a->size += (bytes + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
    return offset;
}

int arena_commit(Arena *a) {
    if (a->size == 0) return 0;
    if (a->mem.alloc) {
        void *block = NULL;
        if (a->mem.alloc(a->mem.ctx, a->size, &block) != 0) return yolo_fail("%s", a->name);
        a->base = block;
        return 0;
    }
    a->base = aligned_alloc(ARENA_ALIGN, a->size);
    if (a->base == NULL)
        return yolo_fail("cannot allocate %.1f MiB for %s: reduce batch or imgsz", (double)a->size / 1048576.0,
                         a->name);
    memset(a->base, 0, a->size);
    return 0;
}

void arena_release(Arena *a) {
    if (a->mem.release) {
        if (a->base) a->mem.release(a->mem.ctx, a->base);
    } else {
        free(a->base);
    }
    a->base = NULL;
    a->size = 0;
}
