// BackendMemory, the hooks through which code moves data to and from a backend's memory, on the
// CPU backend (the CUDA backend's are checked on a GPU by tests/gpu), and arenas placed with them.
#include <stdint.h>
#include <stdlib.h>

#include "backend/backend.h"
#include "test.h"

TEST(cpu_backend_memory_hooks) {
    Backend *b = backend_cpu_create(1);
    EXPECT(b != NULL);
    if (!b) return;
    float *p = NULL;
    EXPECT_OK(backend_alloc(b, 100 * sizeof(float), (void **)&p));
    if (!p) {
        backend_destroy(b);
        return;
    }
    EXPECT((uintptr_t)p % ARENA_ALIGN == 0);
    int nonzero = 0;
    for (int i = 0; i < 100; i++) nonzero += p[i] != 0.0f;
    EXPECT(nonzero == 0);
    float host[100], back[100];
    for (int i = 0; i < 100; i++) host[i] = (float)i * 0.5f;
    EXPECT_OK(backend_upload(b, p, host, sizeof host));
    float *q = NULL;
    EXPECT_OK(backend_alloc(b, sizeof host, (void **)&q));
    EXPECT_OK(backend_copy(b, q, p, sizeof host));
    EXPECT_OK(backend_zero(b, p, 10 * sizeof(float)));
    EXPECT_OK(backend_synchronize(b));
    EXPECT_OK(backend_download(b, back, q, sizeof back));
    EXPECT(memcmp(back, host, sizeof host) == 0);
    EXPECT_OK(backend_download(b, back, p, sizeof back));
    EXPECT(back[9] == 0.0f && back[10] == 5.0f);
    backend_release(b, p);
    backend_release(b, q);
    backend_release(b, NULL);
    backend_destroy(b);
}

static int hook_allocs, hook_releases;
static int counting_alloc(void *ctx, size_t bytes, void **out) {
    hook_allocs++;
    return backend_alloc(ctx, bytes, out);
}
static void counting_release(void *ctx, void *block) {
    hook_releases++;
    backend_release(ctx, block);
}

TEST(arena_on_backend_memory) {
    Backend *b = backend_cpu_create(1);
    if (!b) {
        test_fail(__FILE__, __LINE__, "%s", yolo_error());
        return;
    }
    Arena a = arena_make_on("activations", backend_arena_memory(b));
    size_t off = arena_reserve(&a, 10);
    size_t off2 = arena_reserve(&a, 100);
    EXPECT(off == 0 && off2 == ARENA_ALIGN);
    EXPECT_OK(arena_commit(&a));
    EXPECT(a.base != NULL && ((unsigned char *)arena_at(&a, off2))[99] == 0);
    arena_release(&a);
    EXPECT(a.base == NULL && a.size == 0);

    hook_allocs = hook_releases = 0;
    Arena c = arena_make_on("gradients", (ArenaMemory){.alloc = counting_alloc, .release = counting_release, .ctx = b});
    arena_reserve(&c, 64);
    EXPECT_OK(arena_commit(&c));
    arena_release(&c);
    EXPECT(hook_allocs == 1 && hook_releases == 1);
    backend_destroy(b);
}

static int failing_alloc(void *ctx, size_t bytes, void **out) {
    (void)ctx;
    (void)out;
    return yolo_fail("cannot allocate %zu bytes on the test device", bytes);
}

TEST(arena_commit_names_the_arena_when_the_hook_fails) {
    Arena a = arena_make_on("optimizer slots", (ArenaMemory){.alloc = failing_alloc, .release = NULL});
    arena_reserve(&a, 128);
    EXPECT_FAILS_WITH(arena_commit(&a), "optimizer slots: cannot allocate 128 bytes on the test device");
    EXPECT(a.base == NULL);
    arena_release(&a);
}

// In a build without CUDA, asking for the CUDA backend is an error that says so; with CUDA and no
// GPU it is an error that says that (tests/gpu covers the GPU case).
TEST(cuda_backend_create_without_gpu_fails_cleanly) {
    Backend *b = backend_cuda_create(&(CudaOptions){.device = 0});
    if (b) { // a GPU is present: nothing to check here
        backend_destroy(b);
        return;
    }
    EXPECT(strstr(yolo_error(), "GPU 0") != NULL);
    yolo_error_clear();
}
