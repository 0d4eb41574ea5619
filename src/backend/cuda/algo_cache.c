#include "backend/cuda/algo_cache.h"

#include <stdlib.h>
#include <string.h>

#include "core/status.h"

ConvKey conv_key_make(bool transpose, Shape x, Shape y, const ConvParams *p, bool deterministic) {
    ConvKey k;
    memset(&k, 0, sizeof k);
    int i = 0;
    k.v[i++] = transpose;
    k.v[i++] = deterministic;
    for (int d = 0; d < 4; d++) k.v[i++] = d < x.ndim ? x.dim[d] : 1;
    for (int d = 0; d < 4; d++) k.v[i++] = d < y.ndim ? y.dim[d] : 1;
    const int window[] = {p->kh, p->kw, p->sh, p->sw, p->ph, p->pw, p->dh, p->dw, p->groups};
    for (size_t w = 0; w < sizeof window / sizeof window[0]; w++) k.v[i++] = window[w];
    // has_bias and cout are left out: the bias is added by a separate kernel, and cout is y's
    // channel count.
    return k;
}

bool conv_key_equal(const ConvKey *a, const ConvKey *b) { return memcmp(a->v, b->v, sizeof a->v) == 0; }

// splitmix64's finaliser over the words, chained: every bit of every word moves the hash.
uint64_t conv_key_hash(const ConvKey *k) {
    uint64_t h = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < CONV_KEY_WORDS; i++) {
        uint64_t z = h ^ (uint64_t)k->v[i];
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        h = z ^ (z >> 31);
    }
    return h;
}

// The slot holding k, or the empty slot where it would go. cap is a power of two.
static size_t slot_of(const AlgoCache *c, const ConvKey *k) {
    size_t mask = c->cap - 1, s = (size_t)conv_key_hash(k) & mask;
    while (c->values[s] && !conv_key_equal(&c->keys[s], k)) s = (s + 1) & mask;
    return s;
}

void *algo_cache_get(const AlgoCache *c, const ConvKey *k) { return c->cap ? c->values[slot_of(c, k)] : NULL; }

static int grow(AlgoCache *c) {
    AlgoCache bigger = {.cap = c->cap ? 2 * c->cap : 64};
    bigger.keys = calloc(bigger.cap, sizeof *bigger.keys);
    bigger.values = calloc(bigger.cap, sizeof *bigger.values);
    if (!bigger.keys || !bigger.values) {
        free(bigger.keys);
        free(bigger.values);
        return yolo_fail("out of memory growing the convolution plan cache to %zu entries", bigger.cap);
    }
    for (size_t s = 0; s < c->cap; s++) {
        if (!c->values[s]) continue;
        size_t t = slot_of(&bigger, &c->keys[s]);
        bigger.keys[t] = c->keys[s];
        bigger.values[t] = c->values[s];
    }
    bigger.count = c->count;
    free(c->keys);
    free(c->values);
    *c = bigger;
    return 0;
}

int algo_cache_put(AlgoCache *c, const ConvKey *k, void *value) {
    if (2 * (c->count + 1) > c->cap) TRY(grow(c));
    size_t s = slot_of(c, k);
    c->keys[s] = *k;
    c->values[s] = value;
    c->count++;
    return 0;
}

void algo_cache_free(AlgoCache *c, void (*free_value)(void *)) {
    for (size_t s = 0; s < c->cap; s++)
        if (c->values[s] && free_value) free_value(c->values[s]);
    free(c->keys);
    free(c->values);
    *c = (AlgoCache){0};
}

int conv_algo_pick(const AlgoCandidate *cands, int n, bool deterministic, size_t workspace_limit) {
    for (int i = 0; i < n; i++) {
        const AlgoCandidate *a = &cands[i];
        if (a->ok && a->fp32_math && a->workspace <= workspace_limit && (a->deterministic || !deterministic)) return i;
    }
    return -1;
}
