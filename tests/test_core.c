// Core pieces: the counter-based RNG, arenas, the thread pool, error messages.
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "core/rng.h"
#include "core/status.h"
#include "core/threadpool.h"
#include "test.h"

// Known-answer vectors of Philox-4x32-10 published with Random123 (kat_vectors).
TEST(rng_philox_known_answers) {
    RngBlock zero = philox4x32_10(0, 0, 0);
    EXPECT(zero.v[0] == 0x6627e8d5u && zero.v[1] == 0xe169c58du && zero.v[2] == 0xbc57ac4cu && zero.v[3] == 0x9b00dbd8u);
    RngBlock ones = philox4x32_10(UINT64_MAX, UINT64_MAX, UINT64_MAX);
    EXPECT(ones.v[0] == 0x408f276du && ones.v[1] == 0x41c83b0eu && ones.v[2] == 0xa20bc7c6u && ones.v[3] == 0x6d5451fdu);
    RngBlock pi = philox4x32_10(0x299f31d0a4093822ull, 0x0370734413198a2eull, 0x85a308d3243f6a88ull);
    EXPECT(pi.v[0] == 0xd16cfe09u && pi.v[1] == 0x94fdccebu && pi.v[2] == 0x5001e420u && pi.v[3] == 0x24126ea1u);
}

TEST(rng_uniform_is_pure_and_spread) {
    uint64_t stream = rng_stream(RNG_AUGMENT, 3, 17);
    double sum = 0.0;
    for (uint64_t i = 0; i < 10000; i++) {
        float u = rng_uniform(42, stream, i);
        EXPECT(u >= 0.0f && u < 1.0f);
        sum += u;
    }
    EXPECT_NEAR(sum / 10000.0, 0.5, 0.02);
    // Same coordinates, same value; another stream or seed, another value.
    EXPECT(rng_uniform(42, stream, 5) == rng_uniform(42, stream, 5));
    EXPECT(rng_uniform(42, stream, 5) != rng_uniform(42, rng_stream(RNG_AUGMENT, 3, 18), 5));
    EXPECT(rng_uniform(42, stream, 5) != rng_uniform(43, stream, 5));
    RngCursor c = rng_cursor(42, stream);
    rng_next_uniform(&c);
    EXPECT(rng_next_uniform(&c) == rng_uniform(42, stream, 1));
}

TEST(rng_normal_moments) {
    double sum = 0.0, sq = 0.0;
    for (uint64_t i = 0; i < 20000; i++) {
        double x = rng_normal(7, rng_stream(RNG_INIT, 0, 0), i);
        sum += x;
        sq += x * x;
    }
    EXPECT_NEAR(sum / 20000.0, 0.0, 0.03);
    EXPECT_NEAR(sq / 20000.0, 1.0, 0.04);
}

TEST(arena_reserves_aligned_offsets_and_commits_once) {
    Arena a = arena_make("test");
    size_t first = arena_reserve(&a, 10);
    size_t second = arena_reserve(&a, 100);
    EXPECT(first == 0);
    EXPECT(second % ARENA_ALIGN == 0 && second >= 10);
    EXPECT_OK(arena_commit(&a));
    EXPECT(((uintptr_t)arena_at(&a, second)) % ARENA_ALIGN == 0);
    EXPECT(((char *)arena_at(&a, second))[99] == 0);
    arena_release(&a);
}

typedef struct {
    int hits[1000];
    int thread_seen[4];
} PoolProbe;

static void mark(void *ctx, int64_t begin, int64_t end, int thread) {
    PoolProbe *probe = ctx;
    for (int64_t i = begin; i < end; i++) probe->hits[i]++;
    probe->thread_seen[thread] = 1;
}

TEST(threadpool_covers_every_index_once) {
    for (int threads = 1; threads <= 3; threads++) {
        ThreadPool *pool = pool_create(threads);
        EXPECT(pool != NULL && pool_threads(pool) == threads);
        for (int round = 0; round < 50; round++) {
            PoolProbe probe = {0};
            pool_for(pool, 1000, mark, &probe);
            int bad = 0;
            for (int i = 0; i < 1000; i++) bad += probe.hits[i] != 1;
            EXPECT(bad == 0);
            for (int t = 0; t < threads; t++) EXPECT(probe.thread_seen[t]);
        }
        pool_destroy(pool);
    }
}

TEST(errors_wrap_context_outermost_first) {
    yolo_error_clear();
    yolo_fail("line 3: bad value");
    yolo_fail("reading a.yaml");
    EXPECT(strcmp(yolo_error(), "reading a.yaml: line 3: bad value") == 0);
    yolo_error_clear();
    EXPECT(yolo_error()[0] == '\0');
}
