// Counter-based random numbers (Philox-4x32-10, Salmon et al. 2011). A draw is a pure function of
// (seed, stream, counter): there is no generator state that advances with time, thread count or
// the order in which samples are processed, which is what makes exact resume possible.
//
// Streams name a purpose and its coordinates, e.g. rng_stream(RNG_AUGMENT, epoch, image_index);
// the counter then numbers the draws inside that stream.
#ifndef YOLO_CORE_RNG_H
#define YOLO_CORE_RNG_H

#include <stdint.h>

typedef struct {
    uint32_t v[4];
} RngBlock;

// Who draws: each purpose gets its own streams so that adding draws to one never shifts another.
typedef enum {
    RNG_INIT = 1,    // weight initialisation
    RNG_SHUFFLE = 2, // epoch order
    RNG_AUGMENT = 3, // per-sample augmentation
    RNG_DROPOUT = 4, // dropout masks
    RNG_DATASET = 5, // the built-in synthetic datasets (data/shapes.c)
    RNG_TEST = 15,   // tests
} RngPurpose;

// Packs (purpose, a, b) into a stream id without collisions for a < 2^24 and b < 2^32.
static inline uint64_t rng_stream(RngPurpose purpose, uint32_t a, uint32_t b) {
    return ((uint64_t)purpose << 56) | ((uint64_t)(a & 0xFFFFFFu) << 32) | b;
}

// The block of four 32-bit words at (seed, stream, counter).
RngBlock philox4x32_10(uint64_t seed, uint64_t stream, uint64_t counter);

// The i-th uniform float in [0, 1) of a stream (24 random bits, so exactly representable).
float rng_uniform(uint64_t seed, uint64_t stream, uint64_t i);
// The i-th standard normal of a stream (Box-Muller on draws 2i and 2i+1's block).
float rng_normal(uint64_t seed, uint64_t stream, uint64_t i);
// The i-th 32-bit word of a stream.
uint32_t rng_u32(uint64_t seed, uint64_t stream, uint64_t i);

// A reader that walks the counter of one stream: state is explicit and restartable from
// (seed, stream, next).
typedef struct {
    uint64_t seed, stream, next;
} RngCursor;

static inline RngCursor rng_cursor(uint64_t seed, uint64_t stream) {
    return (RngCursor){.seed = seed, .stream = stream, .next = 0};
}
static inline float rng_next_uniform(RngCursor *c) { return rng_uniform(c->seed, c->stream, c->next++); }
// Uniform in [lo, hi).
static inline float rng_next_range(RngCursor *c, float lo, float hi) {
    return lo + (hi - lo) * rng_next_uniform(c);
}

#endif
