// Nearest-neighbour upsampling by an integer scale: out[y][x] = in[y / s][x / s].
#include <string.h>

#include "backend/cpu/cpu_ops.h"

typedef struct {
    const OpArgs *a;
} Job;

// Threads split over (sample, channel) planes. Each input row is widened into the first of its s
// output rows, which the other s - 1 copy.
static void upsample_fwd(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const OpArgs *a = ((Job *)ctx)->a;
    int s = a->p.scale;
    int64_t h = tensor_h(a->in[0]), w = tensor_w(a->in[0]), ow = w * s;
    for (int64_t plane = begin; plane < end; plane++) {
        const float *x = a->in[0]->data + plane * h * w;
        float *y = a->out->data + plane * h * w * s * s;
        for (int64_t iy = 0; iy < h; iy++) {
            float *out = y + iy * s * ow;
            for (int64_t ix = 0; ix < w; ix++)
                for (int k = 0; k < s; k++) out[ix * s + k] = x[iy * w + ix];
            for (int k = 1; k < s; k++) memcpy(out + k * ow, out, (size_t)ow * sizeof(float));
        }
    }
}

// Each input pixel sums its s x s block in row-major order: a fixed order for any thread count.
static void upsample_bwd(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const OpArgs *a = ((Job *)ctx)->a;
    int s = a->p.scale;
    int64_t h = tensor_h(a->in[0]), w = tensor_w(a->in[0]), ow = w * s;
    for (int64_t plane = begin; plane < end; plane++) {
        const float *dy = a->out_grad->data + plane * h * w * s * s;
        float *dx = a->in_grad[0]->data + plane * h * w;
        for (int64_t iy = 0; iy < h; iy++)
            for (int64_t ix = 0; ix < w; ix++) {
                float sum = 0.0f;
                for (int dy_ = 0; dy_ < s; dy_++)
                    for (int dx_ = 0; dx_ < s; dx_++) sum += dy[(iy * s + dy_) * ow + ix * s + dx_];
                dx[iy * w + ix] += sum;
            }
    }
}

static int run(const OpArgs *a, ParallelFn fn) {
    Job job = {a};
    cpu_parallel(a, tensor_n(a->in[0]) * tensor_c(a->in[0]), fn, &job);
    return 0;
}

static int upsample_forward(const OpArgs *a) { return run(a, upsample_fwd); }
static int upsample_backward(const OpArgs *a) { return a->in_grad[0] ? run(a, upsample_bwd) : 0; }

const OpImpl cpu_upsample_nearest = {.forward = upsample_forward, .backward = upsample_backward};
