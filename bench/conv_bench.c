// Times the engine's conv2d on every conv layer shape of yolov8n: forward, then backward (input
// and weight gradients, as one training step needs them), called through the backend table as the
// graph calls it. Prints per shape the median times and GFLOP/s, then the whole network's conv
// time per training step, the images/s that conv alone would allow, and the fraction of the FP32
// peak (measured here with bench/peak.h, or given with --peak).
//
//   conv_bench [--threads N] [--batch B] [--imgsz S] [--reps R] [--peak GFLOPS] [--plain] [--shape I]
//
// --plain times the plain im2col + BLAS path (cpu_conv2d_im2col) instead of the backend's conv2d,
// which takes the packed path where it can; --shape I times only the I-th distinct shape (from 0).
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"
#include "backend/cpu/cpu_ops.h"
#include "core/rng.h"
#include "core/status.h"
#include "nn/op.h"
#include "peak.h"
#include "timing.h"

enum {
    BIAS = 1,  // Detect's last 1x1 convs are plain nn.Conv2d with a bias; Ultralytics' Conv has none
    IMAGE = 2, // the input is the image: training computes no gradient for it
};

typedef struct {
    int row; // row of yolov8.yaml (22 = Detect), to find the layer in the model
    int cin, cout, k, stride;
    int hw;    // output height = width at imgsz 320
    int count; // layers of this shape in that row
    int flags;
} ConvLayer;

// Every conv of yolov8n (nc = 80) in a training forward pass, from the yaml (shared/docs
// yolov8-spec.md 1.3 and 2). The DFL conv is left out: it is fixed and used only at inference.
static const ConvLayer YOLOV8N[] = {
    {0, 3, 16, 3, 2, 160, 1, IMAGE},
    {1, 16, 32, 3, 2, 80, 1, 0},
    {2, 32, 32, 1, 1, 80, 1, 0},   // C2f cv1
    {2, 16, 16, 3, 1, 80, 2, 0},   // C2f bottleneck
    {2, 48, 32, 1, 1, 80, 1, 0},   // C2f cv2
    {3, 32, 64, 3, 2, 40, 1, 0},
    {4, 64, 64, 1, 1, 40, 1, 0},
    {4, 32, 32, 3, 1, 40, 4, 0},
    {4, 128, 64, 1, 1, 40, 1, 0},
    {5, 64, 128, 3, 2, 20, 1, 0},
    {6, 128, 128, 1, 1, 20, 1, 0},
    {6, 64, 64, 3, 1, 20, 4, 0},
    {6, 256, 128, 1, 1, 20, 1, 0},
    {7, 128, 256, 3, 2, 10, 1, 0},
    {8, 256, 256, 1, 1, 10, 1, 0},
    {8, 128, 128, 3, 1, 10, 2, 0},
    {8, 384, 256, 1, 1, 10, 1, 0},
    {9, 256, 128, 1, 1, 10, 1, 0}, // SPPF cv1
    {9, 512, 256, 1, 1, 10, 1, 0}, // SPPF cv2
    {12, 384, 128, 1, 1, 20, 1, 0},
    {12, 64, 64, 3, 1, 20, 2, 0},
    {12, 192, 128, 1, 1, 20, 1, 0},
    {15, 192, 64, 1, 1, 40, 1, 0},
    {15, 32, 32, 3, 1, 40, 2, 0},
    {15, 96, 64, 1, 1, 40, 1, 0},
    {16, 64, 64, 3, 2, 20, 1, 0},
    {18, 192, 128, 1, 1, 20, 1, 0},
    {18, 64, 64, 3, 1, 20, 2, 0},
    {18, 192, 128, 1, 1, 20, 1, 0},
    {19, 128, 128, 3, 2, 10, 1, 0},
    {21, 384, 256, 1, 1, 10, 1, 0},
    {21, 128, 128, 3, 1, 10, 2, 0},
    {21, 384, 256, 1, 1, 10, 1, 0},
    // Detect, P3 (64 channels): box branch cv2, class branch cv3 (c2 = 64, c3 = 80).
    {22, 64, 64, 3, 1, 40, 2, 0},
    {22, 64, 80, 3, 1, 40, 1, 0},
    {22, 80, 80, 3, 1, 40, 1, 0},
    {22, 64, 64, 1, 1, 40, 1, BIAS},
    {22, 80, 80, 1, 1, 40, 1, BIAS},
    // P4 (128 channels)
    {22, 128, 64, 3, 1, 20, 1, 0},
    {22, 64, 64, 3, 1, 20, 1, 0},
    {22, 128, 80, 3, 1, 20, 1, 0},
    {22, 80, 80, 3, 1, 20, 1, 0},
    {22, 64, 64, 1, 1, 20, 1, BIAS},
    {22, 80, 80, 1, 1, 20, 1, BIAS},
    // P5 (256 channels)
    {22, 256, 64, 3, 1, 10, 1, 0},
    {22, 64, 64, 3, 1, 10, 1, 0},
    {22, 256, 80, 3, 1, 10, 1, 0},
    {22, 80, 80, 3, 1, 10, 1, 0},
    {22, 64, 64, 1, 1, 10, 1, BIAS},
    {22, 80, 80, 1, 1, 10, 1, BIAS},
};
enum { N_LAYERS = sizeof YOLOV8N / sizeof YOLOV8N[0], BASE_IMGSZ = 320 };

// Ultralytics' figure for yolov8n at 640 (thop MACs x 2); conv MACs alone come within a few
// percent of it, which checks the table above.
#define ULTRALYTICS_GFLOPS_640 8.7
#define FLOP_CHECK_TOLERANCE 0.03

// One distinct shape and where it occurs; identical shapes are timed once and weighted by count.
typedef struct {
    ConvLayer layer;
    int count;
    char rows[48]; // yaml rows it occurs in: "6,12,18,22"
    int last_row;
} Distinct;

typedef struct {
    int threads, batch, imgsz, reps;
    double peak; // GFLOP/s; 0: measure
    bool plain;  // time cpu_conv2d_im2col
    int shape;   // only this distinct shape; -1: all
} Options;

// Forward multiply-adds of one layer at (batch, imgsz).
static double layer_macs(const ConvLayer *l, int batch, int imgsz) {
    double hw = (double)l->hw * imgsz / BASE_IMGSZ;
    return (double)batch * l->cout * hw * hw * l->cin * l->k * l->k;
}

// Backward does the weight gradient (as many MACs as forward) and, unless the input is the image,
// the input gradient (as many again).
static double layer_bwd_factor(const ConvLayer *l) { return (l->flags & IMAGE) ? 1.0 : 2.0; }

static int same_shape(const ConvLayer *a, const ConvLayer *b) {
    return a->cin == b->cin && a->cout == b->cout && a->k == b->k && a->stride == b->stride && a->hw == b->hw &&
           a->flags == b->flags;
}

// Merges identical shapes, in order of first appearance.
static int distinct_shapes(Distinct *out) {
    int n = 0;
    for (int i = 0; i < N_LAYERS; i++) {
        const ConvLayer *l = &YOLOV8N[i];
        int j = 0;
        while (j < n && !same_shape(&out[j].layer, l)) j++;
        if (j == n) {
            out[n++] = (Distinct){.layer = *l, .last_row = l->row};
            snprintf(out[j].rows, sizeof out[j].rows, "%d", l->row);
        } else if (out[j].last_row != l->row) {
            size_t len = strlen(out[j].rows);
            snprintf(out[j].rows + len, sizeof out[j].rows - len, ",%d", l->row);
            out[j].last_row = l->row;
        }
        out[j].count += l->count;
    }
    return n;
}

// Tensors of one conv call, owned here (the bench has no arena).
typedef struct {
    float *mem[8];
    int n_mem;
    Tensor x, dx, w, dw, b, db, y, dy;
    OpArgs a;
} ConvCase;

static int alloc_tensor(ConvCase *c, Tensor *t, Shape s, uint64_t stream) {
    float *data = aligned_alloc(64, ((size_t)shape_numel(s) * sizeof(float) + 63) / 64 * 64);
    mallocCheck(data);
    c->mem[c->n_mem++] = data;
    *t = tensor_view(data, s);
    // Random values in [-1, 1): zeros could let a kernel skip work the real network does.
    for (int64_t i = 0; i < shape_numel(s); i++) data[i] = 2.0f * rng_uniform(7, stream, (uint64_t)i) - 1.0f;
    return 0;
}

static void case_free(ConvCase *c) {
    for (int i = 0; i < c->n_mem; i++) free(c->mem[i]);
    free(c->a.workspace);
    memset(c, 0, sizeof *c);
}

static int case_init(ConvCase *c, const ConvLayer *l, const Options *o, const Backend *backend) {
    memset(c, 0, sizeof *c);
    int hw_out = l->hw * o->imgsz / BASE_IMGSZ;
    int pad = l->k / 2; // autopad: "same" size at stride 1
    OpParams p = {.conv = {.cout = l->cout, .kh = l->k, .kw = l->k, .sh = l->stride, .sw = l->stride, .ph = pad,
                           .pw = pad, .dh = 1, .dw = 1, .groups = 1, .has_bias = (l->flags & BIAS) != 0}};
    Shape in = shape_nchw(o->batch, l->cin, (int64_t)hw_out * l->stride, (int64_t)hw_out * l->stride);
    OpShapes s;
    TRY(op_infer(OP_CONV2D, &p, 1, &in, &s));
    if (s.out.dim[2] != hw_out || s.out.dim[3] != hw_out)
        return yolo_fail("conv %d->%d k%d s%d: output %lldx%lld, expected %dx%d", l->cin, l->cout, l->k, l->stride,
                         (long long)s.out.dim[2], (long long)s.out.dim[3], hw_out, hw_out);
    c->a = (OpArgs){.kind = OP_CONV2D, .p = p, .n_in = 1, .training = 1, .backend = backend};
    TRY(alloc_tensor(c, &c->x, in, 1));
    TRY(alloc_tensor(c, &c->y, s.out, 2));
    TRY(alloc_tensor(c, &c->dy, s.out, 3));
    TRY(alloc_tensor(c, &c->w, s.param[0], 4));
    TRY(alloc_tensor(c, &c->dw, s.param[0], 5));
    c->a.in[0] = &c->x;
    c->a.out = &c->y;
    c->a.out_grad = &c->dy;
    c->a.param[0] = &c->w;
    c->a.param_grad[0] = &c->dw;
    if (!(l->flags & IMAGE)) {
        TRY(alloc_tensor(c, &c->dx, in, 6));
        c->a.in_grad[0] = &c->dx;
    }
    if (l->flags & BIAS) {
        TRY(alloc_tensor(c, &c->b, s.param[1], 7));
        TRY(alloc_tensor(c, &c->db, s.param[1], 8));
        c->a.param[1] = &c->b;
        c->a.param_grad[1] = &c->db;
    }
    c->a.workspace_bytes = backend_workspace(&c->a);
    if (c->a.workspace_bytes) {
        c->a.workspace = aligned_alloc(64, (c->a.workspace_bytes + 63) / 64 * 64);
        mallocCheck(c->a.workspace);
    }
    return 0;
}

// Median forward and backward milliseconds over o->reps calls, after one untimed call of each
// (first-touch page faults, caches, the pool's threads waking). Gradients are not zeroed between
// calls: backward accumulates, and the timing should be the kernel's alone.
static int time_layer(const ConvLayer *l, const Options *o, const Backend *backend, double *fwd_ms, double *bwd_ms) {
    ConvCase c;
    double *fwd = calloc((size_t)o->reps, sizeof *fwd), *bwd = calloc((size_t)o->reps, sizeof *bwd);
    int rc = -1;
    if (!fwd || !bwd) {
        yolo_fail("out of memory for %d repetitions", o->reps);
        goto done;
    }
    if (case_init(&c, l, o, backend) != 0) goto done_case; // frees what it allocated
    if (backend_forward(&c.a) != 0 || backend_backward(&c.a) != 0) goto done_case;
    for (int r = 0; r < o->reps; r++) {
        double t0 = peak_now();
        if (backend_forward(&c.a) != 0) goto done_case;
        double t1 = peak_now();
        if (backend_backward(&c.a) != 0) goto done_case;
        double t2 = peak_now();
        fwd[r] = 1e3 * (t1 - t0);
        bwd[r] = 1e3 * (t2 - t1);
    }
    *fwd_ms = median(fwd, o->reps);
    *bwd_ms = median(bwd, o->reps);
    rc = 0;
done_case:
    case_free(&c);
done:
    free(fwd);
    free(bwd);
    return rc;
}

static void usage(void) {
    fprintf(stderr, "usage: conv_bench [--threads N] [--batch B] [--imgsz S] [--reps R] [--peak GFLOPS] [--plain] "
                    "[--shape I]\n"
                    "  defaults: threads = online cores, batch 16, imgsz 320 (a multiple of 32), reps 5;\n"
                    "  without --peak the FP32 FMA peak is measured on the same number of threads\n");
}

static int parse_options(int argc, char **argv, Options *o) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    *o = (Options){.threads = cores > 0 ? (int)cores : 1, .batch = 16, .imgsz = BASE_IMGSZ, .reps = 5, .shape = -1};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--plain") == 0) {
            o->plain = true;
            continue;
        }
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) return -1;
        char *end;
        double x = strtod(v, &end);
        if (*end != '\0' || !(x >= 0) || x > 1e9 || (x == 0 && strcmp(argv[i], "--shape") != 0)) return -1;
        if (strcmp(argv[i], "--threads") == 0) o->threads = (int)x;
        else if (strcmp(argv[i], "--batch") == 0) o->batch = (int)x;
        else if (strcmp(argv[i], "--imgsz") == 0) o->imgsz = (int)x;
        else if (strcmp(argv[i], "--reps") == 0) o->reps = (int)x;
        else if (strcmp(argv[i], "--peak") == 0) o->peak = x;
        else if (strcmp(argv[i], "--shape") == 0) o->shape = (int)x;
        else return -1;
        i++;
    }
    // Strides go to 32, and the table's sizes are at 320: any multiple of 32 scales exactly.
    if (o->imgsz % 32 != 0 || o->threads < 1 || o->threads > PEAK_MAX_THREADS || o->batch < 1 || o->reps < 1)
        return -1;
    return 0;
}

// Conv forward FLOPs of the table at 640, batch 1, against Ultralytics' figure.
static int flop_check(void) {
    double flops = 0.0;
    int layers = 0;
    for (int i = 0; i < N_LAYERS; i++) {
        flops += YOLOV8N[i].count * 2.0 * layer_macs(&YOLOV8N[i], 1, 640);
        layers += YOLOV8N[i].count;
    }
    double rel = flops * 1e-9 / ULTRALYTICS_GFLOPS_640 - 1.0;
    int ok = rel < FLOP_CHECK_TOLERANCE && rel > -FLOP_CHECK_TOLERANCE;
    printf("FLOP check: %d conv layers, forward at imgsz 640 batch 1 = %.3f GFLOP (2 x MACs); "
           "Ultralytics reports %.1f for yolov8n: %+.1f%% -> %s\n",
           layers, flops * 1e-9, ULTRALYTICS_GFLOPS_640, 100.0 * rel, ok ? "ok" : "MISMATCH, the layer table is wrong");
    return ok ? 0 : -1;
}

int main(int argc, char **argv) {
    Options o;
    if (parse_options(argc, argv, &o) != 0) {
        usage();
        return 2;
    }
    if (flop_check() != 0) return 1;
    Backend *backend = backend_cpu_create(o.threads);
    if (!backend) {
        fprintf(stderr, "conv_bench: %s\n", yolo_error());
        return 1;
    }
    if (o.plain) backend->op[OP_CONV2D] = cpu_conv2d_im2col;
    if (!backend->op[OP_CONV2D].forward || !backend->op[OP_CONV2D].backward) {
        fprintf(stderr, "conv_bench: the %s backend has no conv2d %s kernel yet (placeholder); nothing to time\n",
                backend->name, backend->op[OP_CONV2D].forward ? "backward" : "forward");
        backend_destroy(backend);
        return 1;
    }
    const char *peak_how = "given";
    if (o.peak <= 0) {
        o.peak = peak_measure(o.threads, 1.0, NULL, NULL);
        if (o.peak < 0) {
            backend_destroy(backend);
            return 1;
        }
        peak_how = "measured";
    }

    Distinct shapes[N_LAYERS];
    int n = distinct_shapes(shapes);
    if (o.shape >= n) {
        fprintf(stderr, "conv_bench: --shape %d: there are %d distinct shapes (0..%d)\n", o.shape, n, n - 1);
        backend_destroy(backend);
        return 2;
    }
    if (o.shape >= 0) {
        shapes[0] = shapes[o.shape];
        n = 1;
    }
    printf("conv2d fwd+bwd (%s path), yolov8n layer shapes: batch %d, imgsz %d, %d thread%s, median of %d after 1 "
           "warm-up\n",
           o.plain ? "plain im2col + BLAS" : "backend's", o.batch, o.imgsz, o.threads, o.threads == 1 ? "" : "s", o.reps);
    printf("%-12s %-22s %3s %9s %9s %9s %9s %6s\n", "rows", "Cin->Cout k s HxW", "n", "fwd ms", "bwd ms", "fwd GF/s",
           "bwd GF/s", "step%");
    double fwd_ms[N_LAYERS], bwd_ms[N_LAYERS], fwd_total = 0.0, bwd_total = 0.0;
    double fwd_flops = 0.0, bwd_flops = 0.0;
    int layers = 0;
    for (int i = 0; i < n; i++) {
        const ConvLayer *l = &shapes[i].layer;
        if (time_layer(l, &o, backend, &fwd_ms[i], &bwd_ms[i]) != 0) {
            fprintf(stderr, "conv_bench: %d->%d k%d s%d: %s\n", l->cin, l->cout, l->k, l->stride, yolo_error());
            backend_destroy(backend);
            return 1;
        }
        int cnt = shapes[i].count;
        double f = 2.0 * layer_macs(l, o.batch, o.imgsz);
        fwd_flops += cnt * f;
        bwd_flops += cnt * f * layer_bwd_factor(l);
        fwd_total += cnt * fwd_ms[i];
        bwd_total += cnt * bwd_ms[i];
        layers += cnt;
    }
    double step_ms = fwd_total + bwd_total;
    for (int i = 0; i < n; i++) {
        const ConvLayer *l = &shapes[i].layer;
        int hw = l->hw * o.imgsz / BASE_IMGSZ;
        char shape[48];
        snprintf(shape, sizeof shape, "%d->%d k%d s%d %dx%d%s%s", l->cin, l->cout, l->k, l->stride, hw, hw,
                 (l->flags & BIAS) ? " +b" : "", (l->flags & IMAGE) ? " img" : "");
        double f = 2.0 * layer_macs(l, o.batch, o.imgsz);
        printf("%-12s %-22s %3d %9.2f %9.2f %9.1f %9.1f %6.1f\n", shapes[i].rows, shape, shapes[i].count, fwd_ms[i],
               bwd_ms[i], f / (fwd_ms[i] * 1e6), f * layer_bwd_factor(l) / (bwd_ms[i] * 1e6),
               100.0 * shapes[i].count * (fwd_ms[i] + bwd_ms[i]) / step_ms);
    }
    double rate = (fwd_flops + bwd_flops) / (step_ms * 1e6);
    printf("total: %d conv layers, %.1f GFLOP fwd + %.1f GFLOP bwd per step: fwd %.1f ms + bwd %.1f ms = %.1f ms\n",
           layers, fwd_flops * 1e-9, bwd_flops * 1e-9, fwd_total, bwd_total, step_ms);
    printf("  conv alone: %.2f images/s; %.1f GFLOP/s = %.1f%% of the %s peak %.1f GFLOP/s (%d thread%s)\n",
           o.batch / (step_ms * 1e-3), rate, 100.0 * rate / o.peak, peak_how, o.peak, o.threads,
           o.threads == 1 ? "" : "s");
    printf("  (img: the input is the image, so backward computes the weight gradient only; +b: with bias)\n");
    backend_destroy(backend);
    return 0;
}
