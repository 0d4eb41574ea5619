// SiLU(batchnorm2d(x)) as one op: Ultralytics' Conv is conv -> BN -> SiLU, and fusing the last
// two saves the BN output (and its gradient) that two nodes would keep for every layer, plus a
// write and a read of it in each direction. Forward keeps what BN keeps (per-channel mean and
// invstd in saved[]); backward recomputes z = BN(x) from x.
//
// Every formula is the one batchnorm.c and activation.c use, in the same order, with the
// statistics and the lane-structured sums of batchnorm_lanes.h, so the results are the bits of a
// batchnorm2d node followed by a silu node (tests/test_ops_nn.c compares them bit for bit).
//
// Threads split over channels, as for BN. Backward needs dz = dL/dz twice per channel (for the
// channel sums, then for dx); each thread keeps its channel's dz in its slice of the workspace
// rather than computing the sigmoid twice: SiLU is bound by the sigmoid's division, and
// recomputing it made the backward of yolov8n's 57 pairs (batch 16, imgsz 320, 2 threads) about
// 1.5x slower than storing dz (bench/bn_silu_bench).
#include "backend/cpu/batchnorm_lanes.h"
#include "backend/cpu/vmath.h"
#include "core/status.h"

typedef struct {
    const OpArgs *a;
} Job;

// y = SiLU((x - mean) * scale + shift) over channel c: batchnorm.c's channel_normalise, then
// activation.c's silu_fwd.
VM_CLONES static void channel_normalise_silu(const OpArgs *a, Layout l, int64_t c) {
    float mean = a->saved[0]->data[c];
    float scale = a->saved[1]->data[c] * a->param[0]->data[c], shift = a->param[1]->data[c];
    for (int64_t s = 0; s < l.n; s++) {
        const float *restrict x = a->in[0]->data + plane_at(l, s, c);
        float *restrict y = a->out->data + plane_at(l, s, c);
        for (int64_t i = 0; i < l.hw; i++) {
            float z = (x[i] - mean) * scale + shift;
            y[i] = z * vm_sigmoidf(z);
        }
    }
}

static void fused_fwd(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    const OpArgs *a = ((Job *)ctx)->a;
    Layout l = layout_of(a->in[0]);
    for (int64_t c = begin; c < end; c++) {
        bn_channel_stats(a, l, c);
        channel_normalise_silu(a, l, c);
    }
}

// dz = dL/dz over one plane, z = x * scale + shift recomputed as forward did: activation.c's
// silu_bwd. Two nodes accumulate it into BN's freshly zeroed output gradient; 0.0f + keeps that
// addition, which turns a -0 into +0, so that even zeros have the two nodes' bits.
static inline void plane_silu_grad(const float *restrict x, const float *restrict dy, int64_t hw, float mean,
                                   float scale, float shift, float *restrict dz) {
    for (int64_t i = 0; i < hw; i++) {
        float z = (x[i] - mean) * scale + shift;
        float s = vm_sigmoidf(z);
        dz[i] = 0.0f + dy[i] * s * (1.0f + z * (1.0f - s));
    }
}

// Channel c's dz into dz[0 .. count) (plane after plane), and its sums of dz and dz * xhat:
// batchnorm.c's channel_grad_sums with dz in place of dy.
VM_CLONES static void channel_grad_sums(const OpArgs *a, Layout l, int64_t c, float *restrict dz, double *total_dz,
                                        double *total_dz_xhat) {
    float mean = a->saved[0]->data[c], invstd = a->saved[1]->data[c];
    float scale = invstd * a->param[0]->data[c], shift = a->param[1]->data[c];
    double sum_dz[LANES] = {0}, sum_dz_xhat[LANES] = {0};
    for (int64_t s = 0; s < l.n; s++) {
        const float *x = a->in[0]->data + plane_at(l, s, c), *dy = a->out_grad->data + plane_at(l, s, c);
        float *d = dz + s * l.hw;
        plane_silu_grad(x, dy, l.hw, mean, scale, shift, d);
        add_sum(d, l.hw, sum_dz);
        add_dy_xhat(x, d, l.hw, mean, invstd, sum_dz_xhat);
    }
    *total_dz = lanes_total(sum_dz);
    *total_dz_xhat = lanes_total(sum_dz_xhat);
}

// dL/dx for channel c from its dz: batchnorm.c's channel_input_grad.
VM_CLONES static void channel_input_grad(const OpArgs *a, Layout l, int64_t c, const float *restrict dz,
                                         double sum_dz, double sum_dz_xhat) {
    float mean = a->saved[0]->data[c], invstd = a->saved[1]->data[c];
    float k = a->param[0]->data[c] * invstd;
    float mean_dz = a->training ? (float)(sum_dz / (double)l.count) : 0.0f;
    float mean_dz_xhat = a->training ? (float)(sum_dz_xhat / (double)l.count) : 0.0f;
    for (int64_t s = 0; s < l.n; s++) {
        const float *restrict x = a->in[0]->data + plane_at(l, s, c);
        const float *restrict d = dz + s * l.hw;
        float *restrict dx = a->in_grad[0]->data + plane_at(l, s, c);
        for (int64_t i = 0; i < l.hw; i++) {
            float xhat = (x[i] - mean) * invstd;
            dx[i] += k * (d[i] - mean_dz - xhat * mean_dz_xhat);
        }
    }
}

static void fused_bwd(void *ctx, int64_t begin, int64_t end, int thread) {
    const OpArgs *a = ((Job *)ctx)->a;
    Layout l = layout_of(a->in[0]);
    float *dz = (float *)a->workspace + (int64_t)thread * l.count;
    for (int64_t c = begin; c < end; c++) {
        double total_dz, total_dz_xhat;
        channel_grad_sums(a, l, c, dz, &total_dz, &total_dz_xhat);
        if (a->param_grad[0]) a->param_grad[0]->data[c] += (float)total_dz_xhat;
        if (a->param_grad[1]) a->param_grad[1]->data[c] += (float)total_dz;
        if (a->in_grad[0]) channel_input_grad(a, l, c, dz, total_dz, total_dz_xhat);
    }
}

static int fused_forward(const OpArgs *a) {
    TRY(bn_check_batch(a));
    Job job = {a};
    cpu_parallel(a, tensor_c(a->in[0]), fused_fwd, &job);
    return 0;
}

static int fused_backward(const OpArgs *a) {
    if (!a->in_grad[0] && !a->param_grad[0] && !a->param_grad[1]) return 0;
    Job job = {a};
    cpu_parallel(a, tensor_c(a->in[0]), fused_bwd, &job);
    return 0;
}

// One channel's dz per thread. A node whose output needs no gradient never runs backward (a
// forward-only plan), and needs none.
static size_t fused_workspace_bytes(const OpArgs *a) {
    if (!a->out_grad) return 0;
    return (size_t)(pool_threads(a->backend->pool) * layout_of(a->in[0]).count) * sizeof(float);
}

const OpImpl cpu_batchnorm2d_silu = {
    .forward = fused_forward, .backward = fused_backward, .workspace_bytes = fused_workspace_bytes};
