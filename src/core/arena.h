// One allocation per lifetime class (parameters, gradients, optimizer slots, activations,
// workspace). Planning reserves aligned offsets; commit allocates the whole block once; after that
// nothing in a training step allocates. Offsets, not pointers, are handed out while planning so a
// plan can be laid out before the memory exists.
#ifndef YOLO_CORE_ARENA_H
#define YOLO_CORE_ARENA_H

#include <stddef.h>

enum { ARENA_ALIGN = 64 }; // a cache line, and the widest SIMD load

// Where an arena's block lives. All NULL (arena_make's) means host memory from aligned_alloc; a
// backend supplies hooks for its own memory (backend_arena_memory in backend/backend.h), so the
// same planning puts a graph's arenas on a GPU. base is then a device address: only that backend's
// kernels and copies may dereference it.
typedef struct {
    int (*alloc)(void *ctx, size_t bytes, void **out); // zero-filled, ARENA_ALIGN-aligned; -1 with a message
    void (*release)(void *ctx, void *block);
    void *ctx;
} ArenaMemory;

typedef struct {
    const char *name; // for messages: "activations"
    char *base;       // NULL until committed
    size_t size;      // bytes reserved so far (final after commit)
    ArenaMemory mem;  // where commit allocates
} Arena;

Arena arena_make(const char *name);
// An arena whose block comes from mem instead of the host heap.
Arena arena_make_on(const char *name, ArenaMemory mem);
// Reserves bytes (rounded up to ARENA_ALIGN) and returns their offset. Only before commit.
size_t arena_reserve(Arena *a, size_t bytes);
// Allocates the reserved size once, zero-filled. Returns -1 with a message if memory is short.
int arena_commit(Arena *a);
static inline void *arena_at(const Arena *a, size_t offset) { return a->base + offset; }
void arena_release(Arena *a);

#endif
