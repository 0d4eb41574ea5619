// Should the CPU backend's convolution use oneDNN instead of im2col + OpenBLAS SGEMM?
//
// For every yolov8n conv shape at batch 16, imgsz 320, this times, interleaved within each
// repetition so that load from other processes hits all variants alike:
//   base  im2col + cblas_sgemm, OpenBLAS pinned to 1 thread, samples split over OpenMP threads
//         (the engine's scheme: our pool splits the batch, BLAS stays single-threaded);
//   nchw  oneDNN with plain nchw/oihw memory (what the engine could call without changing layouts);
//   blk   oneDNN with format_tag_any (the primitive's preferred blocked layouts). Reorders are
//         excluded from the pass times and reported apart: that is what the engine pays at every
//         layer boundary unless every other kernel (BN, SiLU, concat, ...) also speaks blocked.
//   sgemm only  the baseline's GEMMs alone (im2col/col2im skipped): what a perfect im2col could reach.
// forward (training prop kind), backward-data and backward-weights each, at 1 and 2 threads.
// It also checks oneDNN's results against the im2col ones and oneDNN's run-to-run determinism.
// Semantics differ in one way that is not timed: the baseline accumulates gradients (+=, the
// engine's rule), oneDNN's backward primitives overwrite theirs, so the engine would pay one more
// add over dx and dw per call; the cost is about that of the dx-out reorder reported.
//
// Self-contained on purpose (no project headers): it must not depend on the conv2d kernel that
// is being written at the same time.
#include <cblas.h>
#include <dnnl.h>
#include <dnnl_debug.h>
#include <math.h>
#include <omp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH 16
#define MAX_THREADS 8
#define MAX_REPS 1000

#define DN(call)                                                                                                   \
    do {                                                                                                           \
        dnnl_status_t st_ = (call);                                                                                \
        if (st_ != dnnl_success) {                                                                                 \
            fprintf(stderr, "onednn_conv: %s:%d: %s failed: %s\n", __FILE__, __LINE__, #call,                      \
                    dnnl_status2str(st_));                                                                         \
            exit(1);                                                                                               \
        }                                                                                                          \
    } while (0)

typedef struct {
    int cin, cout, k, s, oh, ow, count;
} Layer;

// yolov8n's convolutions at imgsz 320 (output H x W), with how often each shape occurs per step.
static const Layer LAYERS[] = {
    {3, 16, 3, 2, 160, 160, 1},   {16, 32, 3, 2, 80, 80, 1},    {32, 32, 1, 1, 80, 80, 1},
    {16, 16, 3, 1, 80, 80, 2},    {48, 32, 1, 1, 80, 80, 1},    {32, 64, 3, 2, 40, 40, 1},
    {64, 64, 1, 1, 40, 40, 1},    {32, 32, 3, 1, 40, 40, 6},    {128, 64, 1, 1, 40, 40, 1},
    {64, 128, 3, 2, 20, 20, 1},   {128, 128, 1, 1, 20, 20, 1},  {64, 64, 3, 1, 20, 20, 8},
    {256, 128, 1, 1, 20, 20, 1},  {128, 256, 3, 2, 10, 10, 1},  {256, 256, 1, 1, 10, 10, 1},
    {128, 128, 3, 1, 10, 10, 4},  {384, 256, 1, 1, 10, 10, 2},  {256, 128, 1, 1, 10, 10, 1},
    {512, 256, 1, 1, 10, 10, 1},  {384, 128, 1, 1, 20, 20, 1},  {192, 128, 1, 1, 20, 20, 3},
    {192, 64, 1, 1, 40, 40, 1},   {96, 64, 1, 1, 40, 40, 1},    {64, 64, 3, 2, 20, 20, 1},
    {128, 128, 3, 2, 10, 10, 1},  {64, 64, 3, 1, 40, 40, 2},    {64, 80, 3, 1, 40, 40, 1},
    {80, 80, 3, 1, 40, 40, 1},    {64, 64, 1, 1, 40, 40, 1},    {80, 80, 1, 1, 40, 40, 1},
    {128, 64, 3, 1, 20, 20, 1},   {128, 80, 3, 1, 20, 20, 1},   {80, 80, 3, 1, 20, 20, 1},
    {64, 64, 1, 1, 20, 20, 1},    {80, 80, 1, 1, 20, 20, 1},    {256, 64, 3, 1, 10, 10, 1},
    {64, 64, 3, 1, 10, 10, 1},    {256, 80, 3, 1, 10, 10, 1},   {80, 80, 3, 1, 10, 10, 1},
    {64, 64, 1, 1, 10, 10, 1},    {80, 80, 1, 1, 10, 10, 1},
};
enum { N_LAYERS = (int)(sizeof LAYERS / sizeof LAYERS[0]) };

// V_GEMM is the baseline with im2col/col2im skipped (GEMMs on a stale column buffer): not a
// convolution, but the ceiling a better im2col could reach, to judge the baseline fairly.
enum { V_BASE, V_NCHW, V_BLK, V_GEMM, N_VAR };
enum { P_FWD, P_BWD_D, P_BWD_W, N_PASS };
// Reorder groups of the blocked variant: x in + y out (forward boundary), dy in + dx out (+ any
// extra copy a backward primitive wants in another layout), weights in + weight grad out.
enum { R_FWD_ACT, R_BWD_ACT, R_WEI, N_REO };
static const char *VAR_NAME[N_VAR] = {"im2col+sgemm", "oneDNN nchw", "oneDNN blocked", "sgemm only"};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *v, int n) {
    double tmp[MAX_REPS];
    memcpy(tmp, v, (size_t)n * sizeof *v);
    qsort(tmp, (size_t)n, sizeof *tmp, cmp_double);
    return n % 2 ? tmp[n / 2] : 0.5 * (tmp[n / 2 - 1] + tmp[n / 2]);
}

static double minimum(const double *v, int n) {
    double m = v[0];
    for (int i = 1; i < n; i++) m = v[i] < m ? v[i] : m;
    return m;
}

static float *alloc_f(size_t n) {
    // 64-byte alignment: what both OpenBLAS and oneDNN like; size rounded up as aligned_alloc requires.
    size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    float *p = aligned_alloc(64, bytes ? bytes : 64);
    if (!p) {
        fprintf(stderr, "onednn_conv: out of memory (%zu bytes)\n", bytes);
        exit(1);
    }
    memset(p, 0, bytes); // touch every page now, not inside a timed pass
    return p;
}

// Deterministic uniform [-scale, scale) fill (splitmix64), so every run sees the same data.
static void fill(float *p, size_t n, uint64_t seed, float scale) {
    uint64_t z = seed;
    for (size_t i = 0; i < n; i++) {
        z += 0x9E3779B97F4A7C15ull;
        uint64_t r = z;
        r = (r ^ (r >> 30)) * 0xBF58476D1CE4E5B9ull;
        r = (r ^ (r >> 27)) * 0x94D049BB133111EBull;
        r ^= r >> 31;
        p[i] = scale * ((float)(r >> 40) * (2.0f / 16777216.0f) - 1.0f);
    }
}

// ---------------------------------------------------------------------------------------------
// Baseline: im2col + SGEMM, one sample per GEMM, samples split over threads.

typedef struct {
    int c, h, w, k, s, p, oh, ow;
} Geo;

// col[(ci*k + ky)*k + kx][oy*ow + ox] = x[ci][oy*s - p + ky][ox*s - p + kx], 0 outside.
static void im2col(const float *x, const Geo *g, float *col) {
    const int ohw = g->oh * g->ow;
    for (int ci = 0; ci < g->c; ci++)
        for (int ky = 0; ky < g->k; ky++)
            for (int kx = 0; kx < g->k; kx++) {
                float *row = col + (size_t)((ci * g->k + ky) * g->k + kx) * (size_t)ohw;
                for (int oy = 0; oy < g->oh; oy++) {
                    float *r = row + (size_t)oy * (size_t)g->ow;
                    const int iy = oy * g->s - g->p + ky;
                    if (iy < 0 || iy >= g->h) {
                        memset(r, 0, (size_t)g->ow * sizeof *r);
                        continue;
                    }
                    const float *xr = x + ((size_t)ci * (size_t)g->h + (size_t)iy) * (size_t)g->w;
                    for (int ox = 0; ox < g->ow; ox++) {
                        const int ix = ox * g->s - g->p + kx;
                        r[ox] = (ix >= 0 && ix < g->w) ? xr[ix] : 0.0f;
                    }
                }
            }
}

// The adjoint of im2col: dx += scatter(col).
static void col2im_add(const float *col, const Geo *g, float *dx) {
    const int ohw = g->oh * g->ow;
    for (int ci = 0; ci < g->c; ci++)
        for (int ky = 0; ky < g->k; ky++)
            for (int kx = 0; kx < g->k; kx++) {
                const float *row = col + (size_t)((ci * g->k + ky) * g->k + kx) * (size_t)ohw;
                for (int oy = 0; oy < g->oh; oy++) {
                    const int iy = oy * g->s - g->p + ky;
                    if (iy < 0 || iy >= g->h) continue;
                    const float *r = row + (size_t)oy * (size_t)g->ow;
                    float *dr = dx + ((size_t)ci * (size_t)g->h + (size_t)iy) * (size_t)g->w;
                    for (int ox = 0; ox < g->ow; ox++) {
                        const int ix = ox * g->s - g->p + kx;
                        if (ix >= 0 && ix < g->w) dr[ix] += r[ox];
                    }
                }
            }
}

typedef struct {
    Geo g;
    int cout, ckk, ohw;
    bool direct;           // 1x1 stride 1: the input already is the column matrix
    float *col[MAX_THREADS]; // per-thread im2col scratch
    float *dwp[MAX_THREADS]; // per-thread weight-grad partials (summed in thread order: deterministic)
} Base;

// gemm_only: skip im2col/col2im (V_GEMM); results are then meaningless, only the time counts.
static void base_fwd(const Base *b, int nt, bool gemm_only, const float *x, const float *w, float *y) {
    const size_t xs = (size_t)b->g.c * (size_t)b->g.h * (size_t)b->g.w, ys = (size_t)b->cout * (size_t)b->ohw;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int n = 0; n < BATCH; n++) {
        const float *cm = x + (size_t)n * xs;
        if (!b->direct) {
            if (!gemm_only) im2col(cm, &b->g, b->col[omp_get_thread_num()]);
            cm = b->col[omp_get_thread_num()];
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b->cout, b->ohw, b->ckk, 1.0f, w, b->ckk, cm, b->ohw,
                    0.0f, y + (size_t)n * ys, b->ohw);
    }
}

// dx += conv^T(dy): the engine's backward accumulates into gradients.
static void base_bwd_data(const Base *b, int nt, bool gemm_only, const float *dy, const float *w, float *dx) {
    const size_t xs = (size_t)b->g.c * (size_t)b->g.h * (size_t)b->g.w, ys = (size_t)b->cout * (size_t)b->ohw;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int n = 0; n < BATCH; n++) {
        if (b->direct) {
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, b->ckk, b->ohw, b->cout, 1.0f, w, b->ckk,
                        dy + (size_t)n * ys, b->ohw, 1.0f, dx + (size_t)n * xs, b->ohw);
        } else {
            float *col = b->col[omp_get_thread_num()];
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, b->ckk, b->ohw, b->cout, 1.0f, w, b->ckk,
                        dy + (size_t)n * ys, b->ohw, 0.0f, col, b->ohw);
            if (!gemm_only) col2im_add(col, &b->g, dx + (size_t)n * xs);
        }
    }
}

// dw += sum_n dy_n * col_n^T. im2col is redone here: the engine does not keep columns across passes.
static void base_bwd_weights(const Base *b, int nt, bool gemm_only, const float *x, const float *dy, float *dw) {
    const size_t xs = (size_t)b->g.c * (size_t)b->g.h * (size_t)b->g.w, ys = (size_t)b->cout * (size_t)b->ohw;
    const size_t ws = (size_t)b->cout * (size_t)b->ckk;
#pragma omp parallel num_threads(nt)
    {
        const int t = omp_get_thread_num();
        float *acc = nt == 1 ? dw : b->dwp[t];
        if (nt > 1) memset(acc, 0, ws * sizeof *acc);
#pragma omp for schedule(static)
        for (int n = 0; n < BATCH; n++) {
            const float *cm = x + (size_t)n * xs;
            if (!b->direct) {
                if (!gemm_only) im2col(cm, &b->g, b->col[t]);
                cm = b->col[t];
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b->cout, b->ckk, b->ohw, 1.0f, dy + (size_t)n * ys,
                        b->ohw, cm, b->ohw, 1.0f, acc, b->ckk);
        }
    }
    if (nt > 1)
        for (int t = 0; t < nt; t++)
            for (size_t i = 0; i < ws; i++) dw[i] += b->dwp[t][i];
}

// ---------------------------------------------------------------------------------------------
// oneDNN.

typedef struct {
    dnnl_primitive_t p;
    dnnl_memory_t from, to;
} Reorder;

typedef struct {
    dnnl_primitive_t fwd, bwd_d, bwd_w;
    // Argument memories; in the blocked variant several point at the same object when the
    // primitives agree on a layout (as they would share one tensor in an end-to-end pipeline).
    dnnl_memory_t src, wei, dst;      // forward
    dnnl_memory_t ddst_d, wei_d, dsrc; // backward data
    dnnl_memory_t src_w, ddst_w, dwei; // backward weights
    bool owns[9];                      // which of the nine the variant allocated (to destroy once)
    Reorder reo[N_REO][3];             // blocked only: boundary reorders, grouped as R_*
    char impl[N_PASS][64];
    char fmt[6][32]; // src, wei, dst (fwd) ; wei (bwd-d), diff src, diff wei
    bool mismatch_act; // an activation or its gradient wanted in two layouts (a reorder inside the pipeline)
    bool mismatch_wei; // backward-data wants weights in another layout than forward (a cheap extra reorder)
    dnnl_memory_t plain[6]; // blocked only: wrappers of the plain buffers the reorders use
} Dnn;

static dnnl_engine_t g_eng;
static dnnl_stream_t g_stream;

// A memory format as oneDNN names it: dims a, b, c, d outermost first, upper case when blocked,
// then the inner blocks ("aBcd8b" is nChw8c, "ABcd8b8a" is OIhw8i8o).
static void fmt_str(const dnnl_memory_desc_t *md, char *out, size_t cap) {
    if (md->format_kind != dnnl_blocked) {
        snprintf(out, cap, "%s", dnnl_fmt_kind2str(md->format_kind));
        return;
    }
    const dnnl_blocking_desc_t *bd = &md->format_desc.blocking;
    int order[DNNL_MAX_NDIMS];
    for (int i = 0; i < md->ndims; i++) order[i] = i;
    for (int i = 0; i < md->ndims; i++) // stable selection by decreasing stride
        for (int j = i + 1; j < md->ndims; j++)
            if (bd->strides[order[j]] > bd->strides[order[i]]) {
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
    size_t len = 0;
    for (int i = 0; i < md->ndims && len + 1 < cap; i++) {
        bool blocked = false;
        for (int b = 0; b < bd->inner_nblks; b++) blocked |= bd->inner_idxs[b] == order[i];
        out[len++] = (char)((blocked ? 'A' : 'a') + order[i]);
    }
    out[len] = 0;
    for (int b = 0; b < bd->inner_nblks && len + 1 < cap; b++)
        len += (size_t)snprintf(out + len, cap - len, "%d%c", (int)bd->inner_blks[b], (char)('a' + bd->inner_idxs[b]));
}

static void impl_name(const_dnnl_primitive_desc_t pd, char *out, size_t cap) {
    const char *s = NULL;
    DN(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &s));
    snprintf(out, cap, "%s", s ? s : "?");
}

static dnnl_memory_t mem_for(const dnnl_memory_desc_t *md, void *handle) {
    dnnl_memory_t m;
    DN(dnnl_memory_create(&m, md, g_eng, handle ? handle : DNNL_MEMORY_ALLOCATE));
    return m;
}

static const dnnl_memory_desc_t *md_of(const_dnnl_memory_t m) {
    const dnnl_memory_desc_t *md;
    DN(dnnl_memory_get_memory_desc(m, &md));
    return md;
}

static float *data_of(const_dnnl_memory_t m) {
    void *h;
    DN(dnnl_memory_get_data_handle(m, &h));
    return h;
}

static Reorder make_reorder(dnnl_memory_t from, dnnl_memory_t to) {
    Reorder r = {NULL, from, to};
    if (from == to || dnnl_memory_desc_equal(md_of(from), md_of(to))) return r; // nothing to pay
    dnnl_primitive_desc_t pd;
    DN(dnnl_reorder_primitive_desc_create(&pd, md_of(from), g_eng, md_of(to), g_eng, NULL));
    DN(dnnl_primitive_create(&r.p, pd));
    DN(dnnl_primitive_desc_destroy(pd));
    return r;
}

static void run_reorder(const Reorder *r) {
    if (!r->p) return;
    dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, r->from}, {DNNL_ARG_TO, r->to}};
    DN(dnnl_primitive_execute(r->p, g_stream, 2, a));
    DN(dnnl_stream_wait(g_stream));
}

typedef struct {
    dnnl_memory_desc_t x, w, y; // plain nchw / oihw / nchw
} PlainMd;

// Plain memory handles the blocked variant reorders from / to.
typedef struct {
    float *x, *w, *dy; // inputs (shared by every variant)
    float *y, *dx, *dw; // this variant's outputs in plain layout
} PlainBuf;

// Builds the three primitives. blocked=false: every memory nchw/oihw, wrapping the caller's buffers.
// blocked=true: format_tag_any; library-allocated memories plus reorders from/to the plain buffers.
// Must be called with the OpenMP thread count the primitives will run at: oneDNN sizes its work
// split by omp_get_max_threads() at creation.
static void dnn_init(Dnn *d, const Layer *L, const PlainMd *pm, bool blocked, const PlainBuf *pb) {
    memset(d, 0, sizeof *d);
    const int p = L->k / 2;
    dnnl_dims_t strides = {L->s, L->s}, pad = {p, p};
    dnnl_memory_desc_t x_any, w_any, y_any;
    const dnnl_memory_desc_t *xm = &pm->x, *wm = &pm->w, *ym = &pm->y;
    if (blocked) {
        DN(dnnl_memory_desc_init_by_tag(&x_any, 4, pm->x.dims, dnnl_f32, dnnl_format_tag_any));
        DN(dnnl_memory_desc_init_by_tag(&w_any, 4, pm->w.dims, dnnl_f32, dnnl_format_tag_any));
        DN(dnnl_memory_desc_init_by_tag(&y_any, 4, pm->y.dims, dnnl_f32, dnnl_format_tag_any));
        xm = &x_any, wm = &w_any, ym = &y_any;
    }
    dnnl_convolution_desc_t cd;
    dnnl_primitive_desc_t fpd, dpd, wpd;
    // Direct algorithm: winograd is AVX-512-only in oneDNN 2.6, and "auto" would only pick direct here.
    DN(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_training, dnnl_convolution_direct, xm, wm, NULL, ym,
                                          strides, pad, pad));
    DN(dnnl_primitive_desc_create(&fpd, &cd, NULL, g_eng, NULL));
    DN(dnnl_convolution_backward_data_desc_init(&cd, dnnl_convolution_direct, xm, wm, ym, strides, pad, pad));
    DN(dnnl_primitive_desc_create(&dpd, &cd, NULL, g_eng, fpd));
    DN(dnnl_convolution_backward_weights_desc_init(&cd, dnnl_convolution_direct, xm, wm, NULL, ym, strides, pad,
                                                   pad));
    DN(dnnl_primitive_desc_create(&wpd, &cd, NULL, g_eng, fpd));
    impl_name(fpd, d->impl[P_FWD], sizeof d->impl[0]);
    impl_name(dpd, d->impl[P_BWD_D], sizeof d->impl[0]);
    impl_name(wpd, d->impl[P_BWD_W], sizeof d->impl[0]);

    const dnnl_memory_desc_t *mds[9] = {
        dnnl_primitive_desc_query_md(fpd, dnnl_query_src_md, 0),
        dnnl_primitive_desc_query_md(fpd, dnnl_query_weights_md, 0),
        dnnl_primitive_desc_query_md(fpd, dnnl_query_dst_md, 0),
        dnnl_primitive_desc_query_md(dpd, dnnl_query_diff_dst_md, 0),
        dnnl_primitive_desc_query_md(dpd, dnnl_query_weights_md, 0),
        dnnl_primitive_desc_query_md(dpd, dnnl_query_diff_src_md, 0),
        dnnl_primitive_desc_query_md(wpd, dnnl_query_src_md, 0),
        dnnl_primitive_desc_query_md(wpd, dnnl_query_diff_dst_md, 0),
        dnnl_primitive_desc_query_md(wpd, dnnl_query_diff_weights_md, 0),
    };
    fmt_str(mds[0], d->fmt[0], sizeof d->fmt[0]);
    fmt_str(mds[1], d->fmt[1], sizeof d->fmt[0]);
    fmt_str(mds[2], d->fmt[2], sizeof d->fmt[0]);
    fmt_str(mds[4], d->fmt[3], sizeof d->fmt[0]);
    fmt_str(mds[5], d->fmt[4], sizeof d->fmt[0]);
    fmt_str(mds[8], d->fmt[5], sizeof d->fmt[0]);
    dnnl_memory_t *slot[9] = {&d->src, &d->wei, &d->dst, &d->ddst_d, &d->wei_d, &d->dsrc, &d->src_w, &d->ddst_w,
                              &d->dwei};
    if (!blocked) {
        void *h[9] = {pb->x, pb->w, pb->y, pb->dy, pb->w, pb->dx, pb->x, pb->dy, pb->dw};
        for (int i = 0; i < 9; i++) {
            *slot[i] = mem_for(mds[i], h[i]);
            d->owns[i] = true;
        }
    } else {
        // The plain buffers' wrappers: a primitive that picks the plain layout for a tensor reads
        // or writes the caller's buffer directly, with no reorder (as the engine would).
        dnnl_memory_t px = mem_for(&pm->x, pb->x), pw = mem_for(&pm->w, pb->w), pdy = mem_for(&pm->y, pb->dy);
        dnnl_memory_t py = mem_for(&pm->y, pb->y), pdx = mem_for(&pm->x, pb->dx), pdw = mem_for(&pm->w, pb->dw);
        dnnl_memory_t plain[9] = {px, pw, py, pdy, pw, pdx, px, pdy, pdw};
        // Otherwise share one memory between primitives that agree on the layout of the same
        // tensor: dy between both backward passes, x between forward and backward-weights, w
        // between forward and backward-data. Disagreement costs an extra reorder, counted below.
        static const int same_as[9] = {-1, -1, -1, -1, 1, -1, 0, 3, -1};
        for (int i = 0; i < 9; i++) {
            const int j = same_as[i];
            if (dnnl_memory_desc_equal(mds[i], md_of(plain[i]))) {
                *slot[i] = plain[i];
            } else if (j >= 0 && dnnl_memory_desc_equal(mds[i], mds[j])) {
                *slot[i] = *slot[j];
            } else {
                *slot[i] = mem_for(mds[i], NULL);
                d->owns[i] = true;
            }
            if (j >= 0 && !dnnl_memory_desc_equal(mds[i], mds[j])) {
                if (i == 4) d->mismatch_wei = true;
                else d->mismatch_act = true;
            }
        }
        // A gradient in another layout than its activation also costs a reorder between layers.
        if (!dnnl_memory_desc_equal(mds[3], mds[2]) || !dnnl_memory_desc_equal(mds[5], mds[0])) d->mismatch_act = true;
        d->reo[R_FWD_ACT][0] = make_reorder(px, d->src);
        d->reo[R_FWD_ACT][1] = make_reorder(d->dst, py);
        // Only when backward-weights wants x in another layout: a second copy made when x arrives.
        d->reo[R_FWD_ACT][2] = d->src_w != d->src ? make_reorder(px, d->src_w) : (Reorder){0};
        d->reo[R_BWD_ACT][0] = make_reorder(pdy, d->ddst_d);
        d->reo[R_BWD_ACT][1] = make_reorder(d->dsrc, pdx);
        // Only when backward-weights disagrees: a second copy of dy in its own layout.
        d->reo[R_BWD_ACT][2] = d->ddst_w != d->ddst_d ? make_reorder(pdy, d->ddst_w) : (Reorder){0};
        d->reo[R_WEI][0] = make_reorder(pw, d->wei);
        d->reo[R_WEI][1] = make_reorder(d->dwei, pdw);
        d->reo[R_WEI][2] = d->wei_d != d->wei ? make_reorder(pw, d->wei_d) : (Reorder){0};
        // The plain wrappers must outlive the reorders that name them.
        dnnl_memory_t keep[6] = {px, pw, pdy, py, pdx, pdw};
        memcpy(d->plain, keep, sizeof keep);
    }
    DN(dnnl_primitive_create(&d->fwd, fpd));
    DN(dnnl_primitive_create(&d->bwd_d, dpd));
    DN(dnnl_primitive_create(&d->bwd_w, wpd));
    DN(dnnl_primitive_desc_destroy(fpd));
    DN(dnnl_primitive_desc_destroy(dpd));
    DN(dnnl_primitive_desc_destroy(wpd));
}

static void dnn_free(Dnn *d) {
    dnnl_memory_t m[9] = {d->src, d->wei, d->dst, d->ddst_d, d->wei_d, d->dsrc, d->src_w, d->ddst_w, d->dwei};
    for (int i = 0; i < 9; i++)
        if (d->owns[i]) DN(dnnl_memory_destroy(m[i]));
    for (int g = 0; g < N_REO; g++)
        for (int i = 0; i < 3; i++)
            if (d->reo[g][i].p) DN(dnnl_primitive_destroy(d->reo[g][i].p));
    for (int i = 0; i < 6; i++)
        if (d->plain[i]) DN(dnnl_memory_destroy(d->plain[i]));
    DN(dnnl_primitive_destroy(d->fwd));
    DN(dnnl_primitive_destroy(d->bwd_d));
    DN(dnnl_primitive_destroy(d->bwd_w));
}

static void dnn_pass(const Dnn *d, int pass) {
    dnnl_exec_arg_t a[3];
    const_dnnl_primitive_t p;
    if (pass == P_FWD) {
        p = d->fwd;
        a[0] = (dnnl_exec_arg_t){DNNL_ARG_SRC, d->src};
        a[1] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, d->wei};
        a[2] = (dnnl_exec_arg_t){DNNL_ARG_DST, d->dst};
    } else if (pass == P_BWD_D) {
        p = d->bwd_d;
        a[0] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_DST, d->ddst_d};
        a[1] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, d->wei_d};
        a[2] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_SRC, d->dsrc};
    } else {
        p = d->bwd_w;
        a[0] = (dnnl_exec_arg_t){DNNL_ARG_SRC, d->src_w};
        a[1] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_DST, d->ddst_w};
        a[2] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_WEIGHTS, d->dwei};
    }
    DN(dnnl_primitive_execute(p, g_stream, 3, a));
    DN(dnnl_stream_wait(g_stream));
}

// Brings the blocked variant's inputs in from the plain buffers (untimed).
static void dnn_load_inputs(const Dnn *d) {
    run_reorder(&d->reo[R_FWD_ACT][0]);
    run_reorder(&d->reo[R_FWD_ACT][2]);
    run_reorder(&d->reo[R_BWD_ACT][0]);
    run_reorder(&d->reo[R_BWD_ACT][2]);
    run_reorder(&d->reo[R_WEI][0]);
    run_reorder(&d->reo[R_WEI][2]);
}

static double time_reorders(const Dnn *d, int group) {
    double t0 = now_s();
    for (int i = 0; i < 3; i++) run_reorder(&d->reo[group][i]);
    return now_s() - t0;
}

// ---------------------------------------------------------------------------------------------

static double max_rel(const float *a, const float *ref, size_t n) {
    double md = 0, mr = 0;
    for (size_t i = 0; i < n; i++) {
        double dd = fabs((double)a[i] - (double)ref[i]), r = fabs((double)ref[i]);
        if (dd > md) md = dd;
        if (r > mr) mr = r;
    }
    return mr > 0 ? md / mr : md;
}

// The machine is shared: the load average before and after says how much to trust a run.
static void print_load(const char *when) {
    FILE *f = fopen("/proc/loadavg", "r");
    char buf[128] = "?";
    if (f) {
        if (!fgets(buf, sizeof buf, f)) buf[0] = 0;
        fclose(f);
    }
    buf[strcspn(buf, "\n")] = 0;
    printf("load average at %s: %s\n", when, buf);
}

static void print_totals(const char *what, double tot_flop, int nthr, const int *thr,
                         double tot[MAX_THREADS][N_VAR][N_PASS], double tot_reo[MAX_THREADS][N_REO]) {
    printf("\nTOTAL per training step, %s, count-weighted; %.2f GFLOP per pass\n", what, tot_flop * 1e-9);
    printf("%-16s %3s | %9s %7s | %9s %7s | %9s %7s | %9s\n", "variant", "thr", "fwd ms", "GFLOP/s", "bwd-d ms",
           "GFLOP/s", "bwd-w ms", "GFLOP/s", "sum ms");
    for (int ti = 0; ti < nthr; ti++) {
        for (int v = 0; v < N_VAR; v++) {
            const double *m = tot[ti][v];
            printf("%-16s %3d | %9.1f %7.1f | %9.1f %7.1f | %9.1f %7.1f | %9.1f\n", VAR_NAME[v], thr[ti], m[0],
                   tot_flop / m[0] * 1e-6, m[1], tot_flop / m[1] * 1e-6, m[2], tot_flop / m[2] * 1e-6,
                   m[0] + m[1] + m[2]);
        }
        const double *rr = tot_reo[ti];
        const double *bl = tot[ti][V_BLK];
        printf("%-16s %3d | reorders: x in + y out %.1f ms, dy in + dx out %.1f ms, weights %.1f ms; "
               "blocked + all reorders %.1f ms\n",
               "  blocked reo", thr[ti], rr[0], rr[1], rr[2], bl[0] + bl[1] + bl[2] + rr[0] + rr[1] + rr[2]);
    }
}

static bool parse_layers(const char *s, bool *on) {
    for (int i = 0; i < N_LAYERS; i++) on[i] = false;
    while (*s) {
        char *end;
        long a = strtol(s, &end, 10), b = a;
        if (end == s) return false;
        if (*end == '-') {
            s = end + 1;
            b = strtol(s, &end, 10);
            if (end == s) return false;
        }
        if (a < 0 || b >= N_LAYERS || a > b) return false;
        for (long i = a; i <= b; i++) on[i] = true;
        s = end;
        if (*s == ',') s++;
        else if (*s) return false;
    }
    return true;
}

static void usage(void) {
    fprintf(stderr,
            "usage: onednn_conv [--reps N] [--threads LIST] [--layers LIST]\n"
            "  --reps N        timed repetitions per pass, median reported (default 5)\n"
            "  --threads LIST  thread counts, comma separated, interleaved in one run (default 1,2)\n"
            "  --layers LIST   layer indices 0..%d, e.g. 0,3,7-9 (default all)\n",
            N_LAYERS - 1);
}

int main(int argc, char **argv) {
    int reps = 5, nthr = 0, thr[MAX_THREADS];
    bool on[N_LAYERS];
    for (int i = 0; i < N_LAYERS; i++) on[i] = true;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
            reps = atoi(argv[++i]);
            if (reps < 1 || reps > MAX_REPS) return usage(), 2;
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            const char *s = argv[++i];
            nthr = 0;
            while (*s && nthr < MAX_THREADS) {
                char *end;
                long t = strtol(s, &end, 10);
                if (end == s || t < 1 || t > MAX_THREADS) return usage(), 2;
                thr[nthr++] = (int)t;
                s = *end == ',' ? end + 1 : end;
            }
        } else if (!strcmp(argv[i], "--layers") && i + 1 < argc) {
            if (!parse_layers(argv[++i], on)) return usage(), 2;
        } else {
            return usage(), 2;
        }
    }
    if (nthr == 0) thr[nthr++] = 1, thr[nthr++] = 2;
    int maxt = 0;
    for (int i = 0; i < nthr; i++) maxt = thr[i] > maxt ? thr[i] : maxt;

    openblas_set_num_threads(1); // the engine's rule: BLAS single-threaded, parallelism outside it
    const dnnl_version_t *v = dnnl_version();
    printf("oneDNN %d.%d.%d (cpu runtime %s), effective ISA: %s\n", v->major, v->minor, v->patch,
           dnnl_runtime2str(v->cpu_runtime), dnnl_cpu_isa2str(dnnl_get_effective_cpu_isa()));
    printf("OpenBLAS core: %s; config: %s\n", openblas_get_corename(), openblas_get_config());
    print_load("start");
    printf("batch %d, imgsz 320, %d reps (median), threads:", BATCH, reps);
    for (int i = 0; i < nthr; i++) printf(" %d", thr[i]);
    printf("\ntimes in ms per call; blk = oneDNN blocked layouts without reorders; reo = blocked variant's boundary "
           "reorders (x in + y out | dy in + dx out | w in + dw out); sgemm-only = baseline without im2col/col2im "
           "(fwd, bwd-d, bwd-w)\n\n");

    DN(dnnl_engine_create(&g_eng, dnnl_cpu, 0));
    DN(dnnl_stream_create(&g_stream, g_eng, dnnl_stream_default_flags));

    // tot[t][v][pass]: count-weighted ms; flops[pass] the same for all.
    // tot_min: the same from each pass's fastest rep, less sensitive to other processes on a shared machine.
    double tot[MAX_THREADS][N_VAR][N_PASS] = {{{0}}}, tot_reo[MAX_THREADS][N_REO] = {{0}}, tot_flop = 0;
    double tot_min[MAX_THREADS][N_VAR][N_PASS] = {{{0}}}, tot_reo_min[MAX_THREADS][N_REO] = {{0}};
    double worst_rel[N_VAR][N_PASS] = {{0}};
    int det_checked = 0, det_bad[N_VAR] = {0}, tinv_checked = 0, tinv_bad[N_VAR] = {0};
    int n_mismatch = 0, n_mismatch_w = 0, n_layers = 0;

    for (int li = 0; li < N_LAYERS; li++) {
        if (!on[li]) continue;
        const Layer *L = &LAYERS[li];
        n_layers++;
        const int h = L->oh * L->s, w = L->ow * L->s;
        const size_t nx = (size_t)BATCH * (size_t)L->cin * (size_t)h * (size_t)w;
        const size_t ny = (size_t)BATCH * (size_t)L->cout * (size_t)L->oh * (size_t)L->ow;
        const size_t nw = (size_t)L->cout * (size_t)L->cin * (size_t)L->k * (size_t)L->k;
        const double flop = 2.0 * (double)ny * (double)L->cin * L->k * L->k; // per pass

        PlainMd pm;
        dnnl_dims_t dx = {BATCH, L->cin, h, w}, dw = {L->cout, L->cin, L->k, L->k},
                    dy = {BATCH, L->cout, L->oh, L->ow};
        DN(dnnl_memory_desc_init_by_tag(&pm.x, 4, dx, dnnl_f32, dnnl_nchw));
        DN(dnnl_memory_desc_init_by_tag(&pm.w, 4, dw, dnnl_f32, dnnl_oihw));
        DN(dnnl_memory_desc_init_by_tag(&pm.y, 4, dy, dnnl_f32, dnnl_nchw));

        float *x = alloc_f(nx), *wt = alloc_f(nw), *gy = alloc_f(ny);
        fill(x, nx, 1000u + (uint64_t)li, 1.0f);
        fill(wt, nw, 2000u + (uint64_t)li, 1.0f / sqrtf((float)(L->cin * L->k * L->k)));
        fill(gy, ny, 3000u + (uint64_t)li, 1.0f);
        PlainBuf pb[N_VAR];
        for (int v = 0; v < N_VAR; v++) pb[v] = (PlainBuf){x, wt, gy, alloc_f(ny), alloc_f(nx), alloc_f(nw)};

        Base base = {.g = {L->cin, h, w, L->k, L->s, L->k / 2, L->oh, L->ow},
                     .cout = L->cout,
                     .ckk = L->cin * L->k * L->k,
                     .ohw = L->oh * L->ow,
                     .direct = L->k == 1 && L->s == 1};
        for (int t = 0; t < maxt; t++) {
            base.col[t] = base.direct ? NULL : alloc_f((size_t)base.ckk * (size_t)base.ohw);
            base.dwp[t] = alloc_f(nw);
        }

        Dnn dn[MAX_THREADS][2]; // [thread index][0 nchw, 1 blocked]
        for (int ti = 0; ti < nthr; ti++) {
            omp_set_num_threads(thr[ti]);
            dnn_init(&dn[ti][0], L, &pm, false, &pb[V_NCHW]);
            dnn_init(&dn[ti][1], L, &pm, true, &pb[V_BLK]);
            dnn_load_inputs(&dn[ti][1]);
        }

        // Timing: rep -1 warms up (first touch, OpenMP team creation); passes of all variants
        // and thread counts interleave within each rep.
        static double samp[MAX_THREADS][N_VAR][N_PASS][MAX_REPS], samp_r[MAX_THREADS][N_REO][MAX_REPS];
        for (int r = -1; r < reps; r++) {
            for (int ti = 0; ti < nthr; ti++) {
                const int t = thr[ti];
                omp_set_num_threads(t);
                double t0, tm[N_VAR][N_PASS], trg[N_REO];
                t0 = now_s(), base_fwd(&base, t, false, x, wt, pb[V_BASE].y), tm[V_BASE][P_FWD] = now_s() - t0;
                t0 = now_s(), base_fwd(&base, t, true, x, wt, pb[V_GEMM].y), tm[V_GEMM][P_FWD] = now_s() - t0;
                t0 = now_s(), dnn_pass(&dn[ti][0], P_FWD), tm[V_NCHW][P_FWD] = now_s() - t0;
                t0 = now_s(), dnn_pass(&dn[ti][1], P_FWD), tm[V_BLK][P_FWD] = now_s() - t0;
                t0 = now_s(), base_bwd_data(&base, t, false, gy, wt, pb[V_BASE].dx);
                tm[V_BASE][P_BWD_D] = now_s() - t0;
                t0 = now_s(), base_bwd_data(&base, t, true, gy, wt, pb[V_GEMM].dx);
                tm[V_GEMM][P_BWD_D] = now_s() - t0;
                t0 = now_s(), dnn_pass(&dn[ti][0], P_BWD_D), tm[V_NCHW][P_BWD_D] = now_s() - t0;
                t0 = now_s(), dnn_pass(&dn[ti][1], P_BWD_D), tm[V_BLK][P_BWD_D] = now_s() - t0;
                t0 = now_s(), base_bwd_weights(&base, t, false, x, gy, pb[V_BASE].dw);
                tm[V_BASE][P_BWD_W] = now_s() - t0;
                t0 = now_s(), base_bwd_weights(&base, t, true, x, gy, pb[V_GEMM].dw);
                tm[V_GEMM][P_BWD_W] = now_s() - t0;
                t0 = now_s(), dnn_pass(&dn[ti][0], P_BWD_W), tm[V_NCHW][P_BWD_W] = now_s() - t0;
                t0 = now_s(), dnn_pass(&dn[ti][1], P_BWD_W), tm[V_BLK][P_BWD_W] = now_s() - t0;
                for (int g = 0; g < N_REO; g++) trg[g] = time_reorders(&dn[ti][1], g);
                if (r < 0) continue;
                for (int v = 0; v < N_VAR; v++)
                    for (int p = 0; p < N_PASS; p++) samp[ti][v][p][r] = tm[v][p] * 1e3;
                for (int g = 0; g < N_REO; g++) samp_r[ti][g][r] = trg[g] * 1e3;
            }
        }

        printf("L%-2d %3d->%-3d k%d s%d %3dx%-3d x%d   %.2f GFLOP/pass\n", li, L->cin, L->cout, L->k, L->s, L->oh,
               L->ow, L->count, flop * 1e-9);
        const Dnn *b = &dn[nthr - 1][1];
        printf("    impl nchw: fwd %s, bwd-d %s, bwd-w %s\n", dn[nthr - 1][0].impl[0], dn[nthr - 1][0].impl[1],
               dn[nthr - 1][0].impl[2]);
        printf("    impl blk : fwd %s, bwd-d %s, bwd-w %s; "
               "src %s wei %s dst %s | bwd-d wei %s diff_src %s | dwei %s%s\n",
               b->impl[0], b->impl[1], b->impl[2], b->fmt[0], b->fmt[1], b->fmt[2], b->fmt[3], b->fmt[4], b->fmt[5],
               b->mismatch_act ? "  (activation/gradient layouts differ)" : "");
        n_mismatch += b->mismatch_act;
        n_mismatch_w += b->mismatch_wei;
        for (int ti = 0; ti < nthr; ti++) {
            double m[N_VAR][N_PASS], mr[N_REO];
            for (int v = 0; v < N_VAR; v++)
                for (int p = 0; p < N_PASS; p++) {
                    m[v][p] = median(samp[ti][v][p], reps);
                    tot[ti][v][p] += L->count * m[v][p];
                    tot_min[ti][v][p] += L->count * minimum(samp[ti][v][p], reps);
                }
            for (int g = 0; g < N_REO; g++) {
                mr[g] = median(samp_r[ti][g], reps);
                tot_reo[ti][g] += L->count * mr[g];
                tot_reo_min[ti][g] += L->count * minimum(samp_r[ti][g], reps);
            }
            printf("    t=%d  fwd %7.2f %7.2f %7.2f | bwd-d %7.2f %7.2f %7.2f | bwd-w %7.2f %7.2f %7.2f"
                   "  (base nchw blk) | reo %.2f %.2f %.3f | sgemm-only %.2f %.2f %.2f\n",
                   thr[ti], m[0][0], m[1][0], m[2][0], m[0][1], m[1][1], m[2][1], m[0][2], m[1][2], m[2][2], mr[0],
                   mr[1], mr[2], m[V_GEMM][0], m[V_GEMM][1], m[V_GEMM][2]);
        }
        tot_flop += L->count * flop;

        // Numerics, at the largest thread count: baseline (accumulating, so zero its grads first)
        // is the reference; the blocked results are reordered back to plain layout.
        {
            const int ti = nthr - 1, t = thr[ti];
            omp_set_num_threads(t);
            memset(pb[V_BASE].dx, 0, nx * sizeof(float));
            memset(pb[V_BASE].dw, 0, nw * sizeof(float));
            base_fwd(&base, t, false, x, wt, pb[V_BASE].y);
            base_bwd_data(&base, t, false, gy, wt, pb[V_BASE].dx);
            base_bwd_weights(&base, t, false, x, gy, pb[V_BASE].dw);
            for (int k = 0; k < 2; k++)
                for (int p = 0; p < N_PASS; p++) dnn_pass(&dn[ti][k], p);
            run_reorder(&dn[ti][1].reo[R_FWD_ACT][1]);
            run_reorder(&dn[ti][1].reo[R_BWD_ACT][1]);
            run_reorder(&dn[ti][1].reo[R_WEI][1]);
            for (int v = V_NCHW; v <= V_BLK; v++) {
                double e[N_PASS] = {max_rel(pb[v].y, pb[V_BASE].y, ny), max_rel(pb[v].dx, pb[V_BASE].dx, nx),
                                    max_rel(pb[v].dw, pb[V_BASE].dw, nw)};
                for (int p = 0; p < N_PASS; p++)
                    if (e[p] > worst_rel[v][p]) worst_rel[v][p] = e[p];
                printf("    check %-5s vs im2col (max|diff|/max|ref|): y %.1e  dx %.1e  dw %.1e\n",
                       v == V_NCHW ? "nchw" : "blk", e[0], e[1], e[2]);
            }
        }

        // Determinism: at 2 threads, fwd + bwd-d + bwd-w twice on the same inputs, compare every bit
        // of the library-side outputs. Then, when 1 thread was also run, compare 1 vs 2 threads.
        {
            int t2 = -1, t1 = -1;
            for (int ti = 0; ti < nthr; ti++) {
                if (thr[ti] == 2) t2 = ti;
                if (thr[ti] == 1) t1 = ti;
            }
            if (t2 >= 0) {
                det_checked++;
                if (t1 >= 0) tinv_checked++;
                for (int k = 0; k < 2; k++) {
                    const Dnn *d = &dn[t2][k];
                    dnnl_memory_t outs[3] = {d->dst, d->dsrc, d->dwei};
                    float *copy[3];
                    size_t sz[3];
                    bool same = true, tsame = true;
                    omp_set_num_threads(2);
                    for (int p = 0; p < N_PASS; p++) dnn_pass(d, p);
                    for (int o = 0; o < 3; o++) {
                        sz[o] = dnnl_memory_desc_get_size(md_of(outs[o]));
                        copy[o] = malloc(sz[o]);
                        memcpy(copy[o], data_of(outs[o]), sz[o]);
                        memset(data_of(outs[o]), 0xff, sz[o]); // NaN: a pass that skips elements shows up
                    }
                    for (int p = 0; p < N_PASS; p++) dnn_pass(d, p);
                    for (int o = 0; o < 3; o++) same &= memcmp(copy[o], data_of(outs[o]), sz[o]) == 0;
                    if (t1 >= 0) {
                        const Dnn *d1 = &dn[t1][k];
                        dnnl_memory_t o1[3] = {d1->dst, d1->dsrc, d1->dwei};
                        omp_set_num_threads(1);
                        for (int p = 0; p < N_PASS; p++) dnn_pass(d1, p);
                        for (int o = 0; o < 3; o++)
                            tsame &= sz[o] == dnnl_memory_desc_get_size(md_of(o1[o])) &&
                                     memcmp(copy[o], data_of(o1[o]), sz[o]) == 0;
                        tinv_bad[V_NCHW + k] += !tsame;
                    }
                    for (int o = 0; o < 3; o++) free(copy[o]);
                    det_bad[V_NCHW + k] += !same;
                    printf("    determinism %-5s: 2 threads run-to-run %s", k ? "blk" : "nchw",
                           same ? "identical" : "DIFFERENT");
                    if (t1 >= 0) printf("; 1 vs 2 threads %s", tsame ? "identical" : "different");
                    printf("\n");
                }
            }
        }

        for (int ti = 0; ti < nthr; ti++) {
            dnn_free(&dn[ti][0]);
            dnn_free(&dn[ti][1]);
        }
        for (int t = 0; t < maxt; t++) free(base.col[t]), free(base.dwp[t]);
        for (int v = 0; v < N_VAR; v++) free(pb[v].y), free(pb[v].dx), free(pb[v].dw);
        free(x), free(wt), free(gy);
        fflush(stdout);
    }

    print_totals("median of reps", tot_flop, nthr, thr, tot, tot_reo);
    print_totals("fastest rep (min)", tot_flop, nthr, thr, tot_min, tot_reo_min);
    printf("\nworst max|diff|/max|ref| vs im2col over layers: "
           "nchw y %.1e dx %.1e dw %.1e; blk y %.1e dx %.1e dw %.1e\n",
           worst_rel[1][0], worst_rel[1][1], worst_rel[1][2], worst_rel[2][0], worst_rel[2][1], worst_rel[2][2]);
    if (det_checked)
        printf("determinism at 2 threads, %d layers: nchw %d differing, blk %d differing", det_checked,
               det_bad[V_NCHW], det_bad[V_BLK]);
    if (tinv_checked)
        printf("; 1 vs 2 threads: nchw %d of %d differ, blk %d of %d differ", tinv_bad[V_NCHW], tinv_checked,
               tinv_bad[V_BLK], tinv_checked);
    printf("\nblocked variant, of %d layers: %d want an activation or gradient in two layouts, %d want weights in "
           "two layouts (forward vs backward-data)\n",
           n_layers, n_mismatch, n_mismatch_w);
    print_load("end");

    DN(dnnl_stream_destroy(g_stream));
    DN(dnnl_engine_destroy(g_eng));
    return 0;
}
