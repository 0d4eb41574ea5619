// What the two batch-norm kernels share (batchnorm.c, and batchnorm_silu.c, which fuses BN with
// the SiLU after it): the per-channel layout, the lane-structured sums in double and the choice of
// statistics. Both call the same code, so the fused op adds the same numbers in the same order as
// BN alone and their results can be compared bit for bit (tests/test_ops_nn.c).
//
// Sums run in LANES partial sums (element i of a plane goes to lane i % LANES) that are added up in
// a fixed order at the end: the lanes are what lets the loops vectorise, and since they are spelled
// out in C, both VM_CLONES clones and every thread count add the same numbers in the same order.
#ifndef YOLO_BACKEND_CPU_BATCHNORM_LANES_H
#define YOLO_BACKEND_CPU_BATCHNORM_LANES_H

#include "backend/cpu/cpu_ops.h"

// Eight lanes are two AVX2 registers of doubles per sum: enough independent additions to keep up
// with the speed memory delivers a channel.
enum { LANES = 8 };

// The (N, H, W) layout of one channel: n planes of hw values, `stride` apart.
typedef struct {
    int64_t n, hw, stride, count;
} Layout;

static inline Layout layout_of(const Tensor *x) {
    int64_t hw = tensor_h(x) * tensor_w(x);
    return (Layout){.n = tensor_n(x), .hw = hw, .stride = tensor_c(x) * hw, .count = tensor_n(x) * hw};
}

// Plane s of channel c.
static inline int64_t plane_at(Layout l, int64_t s, int64_t c) { return s * l.stride + c * l.hw; }

_Static_assert(LANES == 8, "lanes_total adds eight lanes");

static inline double lanes_total(const double *acc) {
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

// acc[lane] += the plane's elements in that lane.
static inline void add_sum(const float *restrict p, int64_t hw, double *restrict acc) {
    int64_t i = 0;
    for (; i + LANES <= hw; i += LANES)
        for (int j = 0; j < LANES; j++) acc[j] += (double)p[i + j];
    for (int j = 0; i + j < hw; j++) acc[j] += (double)p[i + j];
}

// acc[lane] += the squared deviations from m of the plane's elements in that lane.
static inline void add_sq_dev(const float *restrict p, int64_t hw, double m, double *restrict acc) {
    int64_t i = 0;
    for (; i + LANES <= hw; i += LANES)
        for (int j = 0; j < LANES; j++) {
            double d = (double)p[i + j] - m;
            acc[j] += d * d;
        }
    for (int j = 0; i + j < hw; j++) {
        double d = (double)p[i + j] - m;
        acc[j] += d * d;
    }
}

// acc[lane] += dy * xhat over the plane's elements in that lane, xhat = (x - mean) * invstd. A
// separate loop from the sum of dy (which reads dy again, from cache): GCC vectorises a loop with
// one lane array but not one that updates two.
static inline void add_dy_xhat(const float *restrict x, const float *restrict dy, int64_t hw, float mean,
                               float invstd, double *restrict acc) {
    int64_t i = 0;
    for (; i + LANES <= hw; i += LANES)
        for (int j = 0; j < LANES; j++) acc[j] += (double)dy[i + j] * (double)((x[i + j] - mean) * invstd);
    for (int j = 0; i + j < hw; j++) acc[j] += (double)dy[i + j] * (double)((x[i + j] - mean) * invstd);
}

// Fails (naming the op and the input's shape) when training would divide by count - 1 = 0.
int bn_check_batch(const OpArgs *a);

// Picks the statistics channel c is normalised with (the batch's in training, the running ones in
// eval), records mean and invstd in saved[0] and saved[1] and, in training, moves the running
// statistics towards the batch's (batchnorm.c).
void bn_channel_stats(const OpArgs *a, Layout l, int64_t c);

#endif
