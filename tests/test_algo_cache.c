// The CUDA backend's convolution plan cache and algorithm choice, which are plain C: keys must
// tell apart every problem that needs its own plan, the table must keep every entry as it grows,
// and the pick must honour determinism, fp32 math and the workspace limit.
#include <stdlib.h>

#include "backend/cuda/algo_cache.h"
#include "test.h"

static ConvParams conv3x3(void) {
    return (ConvParams){.cout = 16, .kh = 3, .kw = 3, .sh = 1, .sw = 1, .ph = 1, .pw = 1, .dh = 1, .dw = 1, .groups = 1};
}

TEST(conv_key_tells_problems_apart) {
    ConvParams p = conv3x3();
    Shape x = shape_nchw(2, 8, 32, 32), y = shape_nchw(2, 16, 32, 32);
    ConvKey base = conv_key_make(false, x, y, &p, true);
    ConvKey same = conv_key_make(false, x, y, &p, true);
    EXPECT(conv_key_equal(&base, &same) && conv_key_hash(&base) == conv_key_hash(&same));
    // Each change alone must give another key.
    ConvKey other[12];
    int n = 0;
    other[n++] = conv_key_make(true, x, y, &p, true);
    other[n++] = conv_key_make(false, x, y, &p, false);
    other[n++] = conv_key_make(false, shape_nchw(3, 8, 32, 32), shape_nchw(3, 16, 32, 32), &p, true);
    other[n++] = conv_key_make(false, shape_nchw(2, 8, 32, 16), shape_nchw(2, 16, 32, 16), &p, true);
    other[n++] = conv_key_make(false, x, shape_nchw(2, 8, 32, 32), &p, true);
    ConvParams q[] = {p, p, p, p, p, p, p};
    q[0].kh = 1;
    q[1].sw = 2;
    q[2].ph = 0;
    q[3].dw = 2;
    q[4].groups = 2;
    q[5].kw = 5;
    q[6].pw = 2;
    for (int i = 0; i < 7; i++) other[n++] = conv_key_make(false, x, y, &q[i], true);
    for (int i = 0; i < n; i++) {
        if (conv_key_equal(&base, &other[i])) test_fail(__FILE__, __LINE__, "change %d gives the same key", i);
        for (int j = 0; j < i; j++)
            if (conv_key_equal(&other[i], &other[j])) test_fail(__FILE__, __LINE__, "changes %d and %d collide", i, j);
    }
    // The bias is added by its own kernel: with or without one, convolutions share a plan.
    ConvParams biased = p;
    biased.has_bias = 1;
    ConvKey with_bias = conv_key_make(false, x, y, &biased, true);
    EXPECT(conv_key_equal(&base, &with_bias));
}

static int frees;
static void count_free(void *v) {
    frees++;
    free(v);
}

TEST(algo_cache_keeps_every_entry_while_growing) {
    AlgoCache c = {0};
    ConvParams p = conv3x3();
    EXPECT(algo_cache_get(&c, &(ConvKey){{0}}) == NULL);
    enum { N = 500 }; // several doublings from the first 64 slots
    for (int i = 0; i < N; i++) {
        ConvKey k = conv_key_make(i % 2, shape_nchw(1 + i / 2, 8, 16, 16), shape_nchw(1 + i / 2, 16, 16, 16), &p, false);
        EXPECT(algo_cache_get(&c, &k) == NULL);
        int *v = malloc(sizeof *v);
        *v = i;
        EXPECT_OK(algo_cache_put(&c, &k, v));
    }
    EXPECT(c.count == N && c.cap >= 2 * N);
    for (int i = 0; i < N; i++) {
        ConvKey k = conv_key_make(i % 2, shape_nchw(1 + i / 2, 8, 16, 16), shape_nchw(1 + i / 2, 16, 16, 16), &p, false);
        const int *v = algo_cache_get(&c, &k);
        if (!v || *v != i) test_fail(__FILE__, __LINE__, "entry %d lost or mixed up", i);
    }
    frees = 0;
    algo_cache_free(&c, count_free);
    EXPECT(frees == N && c.cap == 0 && c.count == 0);
}

TEST(conv_algo_pick_rules) {
    // Ranked fastest first, as cuDNN returns them.
    AlgoCandidate c[] = {
        {.algo = 7, .ok = false, .deterministic = true, .fp32_math = true, .workspace = 0},       // cannot run
        {.algo = 6, .ok = true, .deterministic = true, .fp32_math = false, .workspace = 0},       // TF32
        {.algo = 5, .ok = true, .deterministic = false, .fp32_math = true, .workspace = 100},     // atomics
        {.algo = 4, .ok = true, .deterministic = true, .fp32_math = true, .workspace = 1 << 30},  // too big
        {.algo = 3, .ok = true, .deterministic = true, .fp32_math = true, .workspace = 1000},
    };
    EXPECT(conv_algo_pick(c, 5, false, 1 << 20) == 2);
    EXPECT(conv_algo_pick(c, 5, true, 1 << 20) == 4);
    EXPECT(conv_algo_pick(c, 5, true, (size_t)1 << 31) == 3);
    EXPECT(conv_algo_pick(c, 5, true, 999) == -1);
    EXPECT(conv_algo_pick(c, 0, false, 1 << 20) == -1);
}
