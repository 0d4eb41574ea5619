#include "core/rng.h"

#include <math.h>

// Constants from the Philox paper (Random123).
enum {
    PHILOX_M0 = 0xD2511F53u,
    PHILOX_M1 = 0xCD9E8D57u,
    PHILOX_W0 = 0x9E3779B9u,
    PHILOX_W1 = 0xBB67AE85u,
};

static inline void philox_round(uint32_t ctr[4], const uint32_t key[2]) {
    uint64_t p0 = (uint64_t)PHILOX_M0 * ctr[0];
    uint64_t p1 = (uint64_t)PHILOX_M1 * ctr[2];
    uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
    uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
    uint32_t next[4] = {hi1 ^ ctr[1] ^ key[0], lo1, hi0 ^ ctr[3] ^ key[1], lo0};
    for (int i = 0; i < 4; i++) ctr[i] = next[i];
}

RngBlock philox4x32_10(uint64_t seed, uint64_t stream, uint64_t counter) {
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    uint32_t ctr[4] = {(uint32_t)counter, (uint32_t)(counter >> 32), (uint32_t)stream, (uint32_t)(stream >> 32)};
    for (int round = 0; round < 10; round++) {
        philox_round(ctr, key);
        key[0] += PHILOX_W0;
        key[1] += PHILOX_W1;
    }
    return (RngBlock){{ctr[0], ctr[1], ctr[2], ctr[3]}};
}

uint32_t rng_u32(uint64_t seed, uint64_t stream, uint64_t i) {
    return philox4x32_10(seed, stream, i / 4).v[i % 4];
}

float rng_uniform(uint64_t seed, uint64_t stream, uint64_t i) {
    return (float)(rng_u32(seed, stream, i) >> 8) * (1.0f / 16777216.0f);
}

float rng_normal(uint64_t seed, uint64_t stream, uint64_t i) {
    RngBlock b = philox4x32_10(seed, stream, i);
    // u1 in (0, 1] so the log is finite; u2 in [0, 1).
    double u1 = ((double)(b.v[0] >> 8) + 1.0) / 16777216.0;
    double u2 = (double)(b.v[1] >> 8) / 16777216.0;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}
