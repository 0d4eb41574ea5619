// The pure-C half of the CUDA backend's convolution planning, built and unit-tested in every
// build: the key that names one convolution problem, a table from keys to the backend's plans
// (descriptors and the algorithms chosen for them), and the rule that picks an algorithm from
// cuDNN's ranked candidates.
//
// A plan is made once per key and reused by every later call, so cuDNN's algorithm search runs
// once per shape (Darknet re-ran it at every resize). The key holds everything that changes the
// problem or the choice: direction of the op (conv or transposed conv), both activation shapes,
// the window, groups, and whether only deterministic algorithms are allowed.
#ifndef YOLO_BACKEND_CUDA_ALGO_CACHE_H
#define YOLO_BACKEND_CUDA_ALGO_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/tensor.h"
#include "nn/op.h"

enum { CONV_KEY_WORDS = 20 };

typedef struct {
    int64_t v[CONV_KEY_WORDS];
} ConvKey;

// x is the op's input and y its output (for a transposed conv as well: the key records which).
ConvKey conv_key_make(bool transpose, Shape x, Shape y, const ConvParams *p, bool deterministic);
bool conv_key_equal(const ConvKey *a, const ConvKey *b);
uint64_t conv_key_hash(const ConvKey *k);

// Open addressing, linear probing, at most half full. Values are owned by the caller, who frees
// them through algo_cache_free's callback.
typedef struct {
    ConvKey *keys;
    void **values; // NULL marks an empty slot
    size_t cap, count;
} AlgoCache;

// The value stored for k, or NULL.
void *algo_cache_get(const AlgoCache *c, const ConvKey *k);
// Stores value (not NULL) for k, which must not be present yet. -1 with a message when memory is short.
int algo_cache_put(AlgoCache *c, const ConvKey *k, void *value);
// Calls free_value (when not NULL) on every value and empties the cache.
void algo_cache_free(AlgoCache *c, void (*free_value)(void *));

// One of cuDNN's ranked answers for an algorithm query, reduced to what the choice needs.
typedef struct {
    int algo;
    bool ok;            // cuDNN can run it for this problem (status success)
    bool deterministic; // the same bits on every run
    bool fp32_math;     // full fp32 arithmetic (no TF32 or fp16 tensor-core rounding)
    size_t workspace;   // bytes it needs
} AlgoCandidate;

// The index in cands (ranked fastest first) of the first candidate that runs, keeps fp32 math,
// fits in workspace_limit bytes and, when asked, is deterministic; -1 when none qualifies.
int conv_algo_pick(const AlgoCandidate *cands, int n, bool deterministic, size_t workspace_limit);

#endif
