// v8SegmentationLoss against Ultralytics itself, its mask-term gradient against finite
// differences (of the head outputs, and of head parameters through the graph's backward pass),
// and the batches it is fed: overlap-map values numbering the targets in row order.
//
// tests/fixtures/yolov8-seg-loss.safetensors was written by scripts/reference/make_fixtures.py:
// the segment fixture network run in train mode on three 64x64 images, and Ultralytics 8.3.127's
// v8SegmentationLoss on its head outputs with polygon targets (overlap maps from
// polygons2masks_overlap), then loss.sum().backward(). It holds the head outputs, the targets and
// maps, the loss items (also with maps at mask_ratio 2), the assignment and the gradients of the
// levels, the mask coefficients and the prototypes.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/threadpool.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "fixture_weights.h"
#include "io/safetensors.h"
#include "nn/model.h"
#include "scratch.h"
#include "tasks/segment/loss.h"
#include "test.h"

static const char *LOSS_FIXTURE = "tests/fixtures/yolov8-seg-loss.safetensors";
static const char *WEIGHTS_FIXTURE = "tests/fixtures/yolov8-seg.safetensors";
static const char *MODEL_YAML = "tests/fixtures/yolov8n-seg.yaml";

static const DetectLossGains GAINS = {7.5f, 0.5f, 1.5f};
static const int STRIDES[3] = {8, 16, 32};
enum { NC = 3, LEVELS = 3, NM = 32 };

// As tests/test_detect_loss.c: parts to 1e-5 relative, gradients to 1e-4 in relative L2 norm.
// Measured: parts 3e-7, gradients of the levels, coefficients and prototypes 3e-7.
static const double PART_TOL = 1e-5, GRAD_TOL = 1e-4;

static void expect_part(const char *what, double got, float want) {
    double err = fabs(got - want) / fmax(fabs(want), 1e-12);
    if (!(err <= PART_TOL)) test_fail(__FILE__, __LINE__, "%s loss %.9g, Ultralytics %.9g (relative error %.3g)", what, got, want, err);
}

// ---- a head's tensors ----

// Owned buffers for the head outputs of one batch and their gradients, in our layout (the
// coefficients per level).
typedef struct {
    int batch, nm, side[LEVELS], proto_side;
    float *level[LEVELS], *coeff[LEVELS], *proto;
    float *level_grad[LEVELS], *coeff_grad[LEVELS], *proto_grad;
    Tensor tl[LEVELS], tc[LEVELS], tp, gl[LEVELS], gc[LEVELS], gp;
    const Tensor *levels[LEVELS], *coeffs[LEVELS];
    Tensor *level_grads[LEVELS], *coeff_grads[LEVELS];
    SegmentHead head;
    SegmentGrads grads;
} Head;

static void head_free(Head *h) {
    for (int i = 0; i < LEVELS; i++) {
        free(h->level[i]);
        free(h->coeff[i]);
        free(h->level_grad[i]);
        free(h->coeff_grad[i]);
    }
    free(h->proto);
    free(h->proto_grad);
}

// n_levels of sides size/stride; nc classes; nm coefficients.
static bool head_alloc(Head *h, int batch, int nc, int nm, int n_levels, const int *strides, int size) {
    memset(h, 0, sizeof *h);
    h->batch = batch;
    h->nm = nm;
    bool ok = true;
    for (int i = 0; i < n_levels; i++) {
        int s = h->side[i] = size / strides[i];
        Shape ls = shape_nchw(batch, 64 + nc, s, s), cs = shape_nchw(batch, nm, s, s);
        h->level[i] = calloc((size_t)shape_numel(ls), sizeof(float));
        h->level_grad[i] = calloc((size_t)shape_numel(ls), sizeof(float));
        h->coeff[i] = calloc((size_t)shape_numel(cs), sizeof(float));
        h->coeff_grad[i] = calloc((size_t)shape_numel(cs), sizeof(float));
        ok = ok && h->level[i] && h->level_grad[i] && h->coeff[i] && h->coeff_grad[i];
        h->tl[i] = tensor_view(h->level[i], ls);
        h->gl[i] = tensor_view(h->level_grad[i], ls);
        h->tc[i] = tensor_view(h->coeff[i], cs);
        h->gc[i] = tensor_view(h->coeff_grad[i], cs);
        h->levels[i] = &h->tl[i];
        h->coeffs[i] = &h->tc[i];
        h->level_grads[i] = &h->gl[i];
        h->coeff_grads[i] = &h->gc[i];
    }
    h->proto_side = 2 * h->side[0];
    Shape ps = shape_nchw(batch, nm, h->proto_side, h->proto_side);
    h->proto = calloc((size_t)shape_numel(ps), sizeof(float));
    h->proto_grad = calloc((size_t)shape_numel(ps), sizeof(float));
    ok = ok && h->proto && h->proto_grad;
    h->tp = tensor_view(h->proto, ps);
    h->gp = tensor_view(h->proto_grad, ps);
    h->head = (SegmentHead){h->levels, h->coeffs, &h->tp};
    h->grads = (SegmentGrads){h->level_grads, h->coeff_grads, &h->gp};
    if (!ok) {
        test_fail(__FILE__, __LINE__, "out of memory");
        head_free(h);
    }
    return ok;
}

// ---- parity with Ultralytics ----

typedef struct {
    SafeTensors st;
    int batch, imgsz, n_targets;
    float *targets;
    uint8_t *masks, *masks_ratio2;
    Head h;
} Fixture;

static void fixture_close(Fixture *f) {
    free(f->targets);
    free(f->masks);
    free(f->masks_ratio2);
    head_free(&f->h);
    safetensors_free(&f->st);
}

static uint8_t *fixture_masks(const SafeTensors *st, const char *name, int64_t numel) {
    float *v = fixture_f32(st, name, numel, NULL);
    uint8_t *m = v ? malloc((size_t)numel) : NULL;
    for (int64_t i = 0; m && i < numel; i++) m[i] = (uint8_t)v[i];
    free(v);
    return m;
}

static bool fixture_open(Fixture *f) {
    memset(f, 0, sizeof *f);
    if (safetensors_load(LOSS_FIXTURE, &f->st) != 0) {
        test_fail(__FILE__, __LINE__, "%s", yolo_error());
        yolo_error_clear();
        return false;
    }
    const char *b = safetensors_metadata(&f->st, "batch"), *s = safetensors_metadata(&f->st, "imgsz");
    f->batch = b ? atoi(b) : 0;
    f->imgsz = s ? atoi(s) : 0;
    if (f->batch != 3 || f->imgsz != 64) {
        test_fail(__FILE__, __LINE__, "%s: batch %d, imgsz %d; want 3 and 64", LOSS_FIXTURE, f->batch, f->imgsz);
        return false;
    }
    int64_t n = 0;
    float *idx = fixture_f32(&f->st, "targets.batch_idx", -1, &n);
    float *cls = idx ? fixture_f32(&f->st, "targets.cls", n, NULL) : NULL;
    float *box = cls ? fixture_f32(&f->st, "targets.bboxes", 4 * n, NULL) : NULL;
    f->targets = box ? malloc((size_t)n * 6 * sizeof(float)) : NULL;
    for (int64_t i = 0; f->targets && i < n; i++) {
        f->targets[6 * i] = idx[i];
        f->targets[6 * i + 1] = cls[i];
        memcpy(f->targets + 6 * i + 2, box + 4 * i, 4 * sizeof(float));
    }
    f->n_targets = (int)n;
    free(idx);
    free(cls);
    free(box);
    int side = f->imgsz / 4;
    f->masks = fixture_masks(&f->st, "targets.masks", (int64_t)f->batch * side * side);
    f->masks_ratio2 = fixture_masks(&f->st, "targets.masks_ratio2", (int64_t)f->batch * 4 * side * side);
    if (!f->targets || !f->masks || !f->masks_ratio2 || !head_alloc(&f->h, f->batch, NC, NM, LEVELS, STRIDES, f->imgsz))
        return false;

    // The levels as stored; the coefficients [b, 32, anchors] split into the levels' planes.
    bool ok = true;
    int anchors = 0;
    for (int i = 0; i < LEVELS; i++) anchors += f->h.side[i] * f->h.side[i];
    float *coeffs = fixture_f32(&f->st, "output.coeffs", (int64_t)f->batch * NM * anchors, NULL);
    float *proto = fixture_f32(&f->st, "output.proto", tensor_numel(&f->h.tp), NULL);
    ok = coeffs && proto;
    for (int i = 0, start = 0; ok && i < LEVELS; i++) {
        char name[32];
        snprintf(name, sizeof name, "output.%d", i);
        float *level = fixture_f32(&f->st, name, tensor_numel(&f->h.tl[i]), NULL);
        ok = level != NULL;
        if (level) memcpy(f->h.level[i], level, (size_t)tensor_numel(&f->h.tl[i]) * sizeof(float));
        free(level);
        int hw = f->h.side[i] * f->h.side[i];
        for (int b = 0; b < f->batch; b++)
            for (int k = 0; k < NM; k++)
                memcpy(f->h.coeff[i] + ((size_t)b * NM + k) * hw, coeffs + ((size_t)b * NM + k) * anchors + start, hw * sizeof(float));
        start += hw;
    }
    if (proto) memcpy(f->h.proto, proto, (size_t)tensor_numel(&f->h.tp) * sizeof(float));
    free(coeffs);
    free(proto);
    return ok;
}

// Our gradient of the coefficients, per level, against the fixture's [b, 32, anchors].
static double coeff_grad_error(const Fixture *f, const Head *h, const float *want) {
    int anchors = 0;
    for (int i = 0; i < LEVELS; i++) anchors += h->side[i] * h->side[i];
    float *ours = malloc((size_t)f->batch * NM * anchors * sizeof(float));
    if (!ours) return INFINITY;
    for (int i = 0, start = 0; i < LEVELS; i++) {
        int hw = h->side[i] * h->side[i];
        for (int b = 0; b < f->batch; b++)
            for (int k = 0; k < NM; k++)
                memcpy(ours + ((size_t)b * NM + k) * anchors + start, h->coeff_grad[i] + ((size_t)b * NM + k) * hw, hw * sizeof(float));
        start += hw;
    }
    double err = fixture_rel_l2(ours, want, (int64_t)f->batch * NM * anchors);
    free(ours);
    return err;
}

TEST(segment_loss_matches_ultralytics) {
    Fixture f;
    if (!fixture_open(&f)) {
        fixture_close(&f);
        return;
    }
    SegmentLoss *l = segment_loss_create(NC, LEVELS, STRIDES, f.batch, f.imgsz, f.imgsz, GAINS);
    EXPECT(l != NULL);
    SegmentTargets t = {f.targets, f.n_targets, f.masks, f.imgsz / 4, f.imgsz / 4};
    SegmentLossParts parts;
    float *items = fixture_f32(&f.st, "loss.items", 4, NULL);
    if (l && items && segment_loss_compute(l, &f.h.head, &t, &f.h.grads, &parts) == 0) {
        expect_part("box", parts.box, items[0]);
        expect_part("seg", parts.seg, items[1]);
        expect_part("cls", parts.cls, items[2]);
        expect_part("dfl", parts.dfl, items[3]);

        // The assignment: foreground and target_gt_idx (Ultralytics counts targets per image).
        const DetectLoss *d = segment_loss_detect(l);
        int A = detect_loss_anchors(d);
        float *fg = fixture_f32(&f.st, "assign.fg_mask", (int64_t)f.batch * A, NULL);
        float *gt_idx = fixture_f32(&f.st, "assign.target_gt_idx", (int64_t)f.batch * A, NULL);
        int fg_count = 0, wrong = 0;
        for (int64_t i = 0; fg && gt_idx && i < (int64_t)f.batch * A; i++) {
            if (fg[i] == 0.0f) continue;
            fg_count++;
            int row = detect_loss_target_row(d)[i], k = 0;
            for (int r = 0; r < row; r++) k += (int64_t)f.targets[6 * r] == i / A;
            wrong += !detect_loss_fg_mask(d)[i] || k != (int)gt_idx[i];
        }
        EXPECT(fg_count == parts.fg_anchors && fg_count > 20 && wrong == 0);
        free(fg);
        free(gt_idx);

        for (int i = 0; i < LEVELS; i++) {
            char name[32];
            snprintf(name, sizeof name, "grad.output.%d", i);
            float *want = fixture_f32(&f.st, name, tensor_numel(&f.h.gl[i]), NULL);
            double err = want ? fixture_rel_l2(f.h.level_grad[i], want, tensor_numel(&f.h.gl[i])) : INFINITY;
            if (!(err <= GRAD_TOL)) test_fail(__FILE__, __LINE__, "%s: relative L2 error %.3g", name, err);
            free(want);
        }
        int64_t n_coeffs = 0;
        float *want = fixture_f32(&f.st, "grad.output.coeffs", -1, &n_coeffs);
        double err = want ? coeff_grad_error(&f, &f.h, want) : INFINITY;
        if (!(err <= GRAD_TOL)) test_fail(__FILE__, __LINE__, "coefficient gradients: relative L2 error %.3g", err);
        free(want);
        want = fixture_f32(&f.st, "grad.output.proto", tensor_numel(&f.h.gp), NULL);
        err = want ? fixture_rel_l2(f.h.proto_grad, want, tensor_numel(&f.h.gp)) : INFINITY;
        if (!(err <= GRAD_TOL)) test_fail(__FILE__, __LINE__, "prototype gradients: relative L2 error %.3g", err);
        free(want);
    } else {
        test_fail(__FILE__, __LINE__, "%s", yolo_error());
        yolo_error_clear();
    }
    free(items);

    // Maps at mask_ratio 2 (32x32) are resampled nearest to the 16x16 prototypes.
    items = fixture_f32(&f.st, "loss.items_ratio2", 4, NULL);
    t = (SegmentTargets){f.targets, f.n_targets, f.masks_ratio2, f.imgsz / 2, f.imgsz / 2};
    if (l && items && segment_loss_compute(l, &f.h.head, &t, NULL, &parts) == 0) {
        expect_part("seg (mask_ratio 2)", parts.seg, items[1]);
        expect_part("box (mask_ratio 2)", parts.box, items[0]);
    } else {
        test_fail(__FILE__, __LINE__, "mask_ratio 2: %s", yolo_error());
        yolo_error_clear();
    }
    free(items);
    segment_loss_destroy(l);
    fixture_close(&f);
}

// ---- synthetic cases ----

// Two 32x32 images, levels of stride 8 and 16 (20 anchors), 2 classes, 3 coefficients (prototypes
// 8x8), three boxes and overlap maps that number them: image 0's boxes overlap, and the map gives
// the overlap to the smaller one (value 2), as the largest-first painting does.
static const int SMALL_STRIDES[2] = {8, 16};
static const float SMALL_TARGETS[3][6] = {
    {0, 0, 0.40f, 0.45f, 0.50f, 0.60f}, {0, 1, 0.70f, 0.30f, 0.35f, 0.40f}, {1, 1, 0.50f, 0.50f, 0.80f, 0.70f}};

static void small_masks(uint8_t masks[2][8][8]) {
    memset(masks, 0, 2 * 8 * 8);
    for (int y = 0; y < 8; y++)
        for (int x = 0; x < 8; x++) {
            float px = (float)x + 0.5f, py = (float)y + 0.5f; // pixel centres in map units (8 = image)
            if (fabsf(px - 3.2f) < 1.6f && fabsf(py - 3.6f) < 2.0f) masks[0][y][x] = 1;
            if (fabsf(px - 5.6f) < 1.2f && fabsf(py - 2.4f) < 1.4f) masks[0][y][x] = 2;
            if ((px - 4.0f) * (px - 4.0f) / 9.0f + (py - 4.0f) * (py - 4.0f) / 6.0f < 1.0f) masks[1][y][x] = 1;
        }
}

// Box logits falling with the bin plus noise (predicted boxes of the targets' scale), class logits
// around -1, coefficients and prototypes of unit scale.
static bool small_head(Head *h, int batch, int nm, uint64_t seed) {
    if (!head_alloc(h, batch, 2, nm, 2, SMALL_STRIDES, 32)) return false;
    for (int i = 0; i < 2; i++) {
        int64_t hw = (int64_t)h->side[i] * h->side[i], n = tensor_numel(&h->tl[i]);
        for (int64_t e = 0; e < n; e++) {
            int64_t ch = e / hw % 66;
            float noise = rng_normal(seed, rng_stream(RNG_TEST, 2, (uint32_t)i), (uint64_t)e);
            h->level[i][e] = ch < 64 ? -0.35f * (float)(ch % 16) + 0.8f * noise : 1.5f * noise - 1.0f;
        }
        n = tensor_numel(&h->tc[i]);
        for (int64_t e = 0; e < n; e++) h->coeff[i][e] = rng_normal(seed, rng_stream(RNG_TEST, 3, (uint32_t)i), (uint64_t)e);
    }
    int64_t n = tensor_numel(&h->tp);
    for (int64_t e = 0; e < n; e++) h->proto[e] = rng_normal(seed, rng_stream(RNG_TEST, 4, 0), (uint64_t)e);
    return true;
}

static double total(const SegmentLossParts *p, int batch) { return batch * (p->box + p->seg + p->cls + p->dfl); }

// d(batch * total)/d(coefficients and prototypes) against central differences, the assignment held
// fixed: every coefficient and prototype element. Only the mask term depends on them.
TEST(segment_loss_gradient_matches_finite_differences) {
    uint8_t masks[2][8][8];
    small_masks(masks);
    Head h;
    if (!small_head(&h, 2, 3, 11)) return;
    SegmentLoss *l = segment_loss_create(2, 2, SMALL_STRIDES, 2, 32, 32, GAINS);
    SegmentTargets t = {&SMALL_TARGETS[0][0], 3, &masks[0][0][0], 8, 8};
    SegmentLossParts parts;
    if (l && segment_loss_assign(l, &h.head, &t) == 0 && segment_loss_evaluate(l, &h.head, &h.grads, &parts) == 0) {
        EXPECT(parts.fg_anchors > 0 && parts.seg > 0);
        float *values[3] = {h.coeff[0], h.coeff[1], h.proto}, *grads[3] = {h.coeff_grad[0], h.coeff_grad[1], h.proto_grad};
        int64_t counts[3] = {tensor_numel(&h.tc[0]), tensor_numel(&h.tc[1]), tensor_numel(&h.tp)};
        double worst = 0.0, largest = 0.0;
        int nonzero = 0;
        for (int v = 0; v < 3; v++)
            for (int64_t e = 0; e < counts[v]; e++) {
                largest = fmax(largest, fabs(grads[v][e]));
                nonzero += grads[v][e] != 0.0f;
            }
        for (int v = 0; v < 3; v++)
            for (int64_t e = 0; e < counts[v]; e++) {
                float x = values[v][e], up = x + 1e-2f, down = x - 1e-2f;
                SegmentLossParts pu, pd;
                values[v][e] = up;
                int rc = segment_loss_evaluate(l, &h.head, NULL, &pu);
                values[v][e] = down;
                rc |= segment_loss_evaluate(l, &h.head, NULL, &pd);
                values[v][e] = x;
                EXPECT(rc == 0);
                double fd = (total(&pu, 2) - total(&pd, 2)) / ((double)up - down);
                worst = fmax(worst, fabs(fd - grads[v][e]));
            }
        // Most elements take part: the boxes cover much of the 8x8 maps, and every foreground
        // anchor's coefficients do. Measured: 9e-6 of the largest gradient (step truncation and
        // float32 BCE terms); a wrong factor, sign or pixel anywhere gives 1e-2 or more.
        EXPECT(nonzero > 100);
        if (!(worst <= 5e-5 * largest))
            test_fail(__FILE__, __LINE__, "gradient differs from finite differences by %.3g (largest gradient %.3g)", worst, largest);
    } else {
        test_fail(__FILE__, __LINE__, "%s", yolo_error());
        yolo_error_clear();
    }
    segment_loss_destroy(l);
    head_free(&h);
}

// Images shared among 3 threads give the same bits as one thread: parts and every gradient.
TEST(segment_loss_is_independent_of_thread_count) {
    uint8_t masks[2][8][8];
    small_masks(masks);
    Head h;
    if (!small_head(&h, 2, 4, 5)) return;
    SegmentLoss *l = segment_loss_create(2, 2, SMALL_STRIDES, 2, 32, 32, GAINS);
    ThreadPool *pool = pool_create(3);
    SegmentTargets t = {&SMALL_TARGETS[0][0], 3, &masks[0][0][0], 8, 8};
    SegmentLossParts p1, p2;
    float *first[5] = {0};
    float *grads[5] = {h.level_grad[0], h.level_grad[1], h.coeff_grad[0], h.coeff_grad[1], h.proto_grad};
    size_t bytes[5] = {(size_t)tensor_numel(&h.gl[0]) * 4, (size_t)tensor_numel(&h.gl[1]) * 4, (size_t)tensor_numel(&h.gc[0]) * 4,
                       (size_t)tensor_numel(&h.gc[1]) * 4, (size_t)tensor_numel(&h.gp) * 4};
    if (l && pool && segment_loss_compute(l, &h.head, &t, &h.grads, &p1) == 0) {
        for (int i = 0; i < 5; i++) {
            first[i] = malloc(bytes[i]);
            if (first[i]) memcpy(first[i], grads[i], bytes[i]);
            memset(grads[i], 0xff, bytes[i]); // NaN: every element must be written again
        }
        segment_loss_set_pool(l, pool);
        EXPECT_OK(segment_loss_compute(l, &h.head, &t, &h.grads, &p2));
        EXPECT(p1.box == p2.box && p1.seg == p2.seg && p1.cls == p2.cls && p1.dfl == p2.dfl && p1.seg > 0);
        for (int i = 0; i < 5; i++) EXPECT(first[i] && !memcmp(first[i], grads[i], bytes[i]));
    } else {
        test_fail(__FILE__, __LINE__, "%s", yolo_error());
        yolo_error_clear();
    }
    for (int i = 0; i < 5; i++) free(first[i]);
    pool_destroy(pool);
    segment_loss_destroy(l);
    head_free(&h);
}

// No targets: the mask term is 0 and its gradients are zeros (written, not left as they were).
TEST(segment_loss_without_targets_has_no_mask_term) {
    uint8_t masks[2][8][8] = {{{0}}};
    Head h;
    if (!small_head(&h, 2, 3, 3)) return;
    SegmentLoss *l = segment_loss_create(2, 2, SMALL_STRIDES, 2, 32, 32, GAINS);
    SegmentTargets t = {NULL, 0, &masks[0][0][0], 8, 8};
    memset(h.proto_grad, 0xff, (size_t)tensor_numel(&h.gp) * sizeof(float));
    memset(h.coeff_grad[1], 0xff, (size_t)tensor_numel(&h.gc[1]) * sizeof(float));
    SegmentLossParts parts;
    if (l && segment_loss_compute(l, &h.head, &t, &h.grads, &parts) == 0) {
        EXPECT(parts.seg == 0.0 && parts.box == 0.0 && parts.fg_anchors == 0 && parts.cls > 0);
        int nonzero = 0;
        for (int64_t e = 0; e < tensor_numel(&h.gp); e++) nonzero += h.proto_grad[e] != 0.0f;
        for (int64_t e = 0; e < tensor_numel(&h.gc[1]); e++) nonzero += h.coeff_grad[1][e] != 0.0f;
        EXPECT(nonzero == 0);
    } else {
        test_fail(__FILE__, __LINE__, "%s", yolo_error());
        yolo_error_clear();
    }
    segment_loss_destroy(l);
    head_free(&h);
}

TEST(segment_loss_rejects_bad_inputs) {
    uint8_t masks[2][8][8];
    small_masks(masks);
    Head h, other;
    if (!small_head(&h, 2, 3, 1)) return;
    SegmentLoss *l = segment_loss_create(2, 2, SMALL_STRIDES, 2, 32, 32, GAINS);
    EXPECT(l != NULL);
    SegmentLossParts parts;
    SegmentTargets t = {&SMALL_TARGETS[0][0], 3, &masks[0][0][0], 8, 8};
    EXPECT_FAILS_WITH(segment_loss_evaluate(l, &h.head, NULL, &parts), "evaluate needs a successful assign first");
    SegmentTargets no_masks = {&SMALL_TARGETS[0][0], 3, NULL, 0, 0};
    EXPECT_FAILS_WITH(segment_loss_compute(l, &h.head, &no_masks, NULL, &parts), "no overlap masks in the batch");
    masks[1][4][4] = 2; // image 1 has one target
    EXPECT_FAILS_WITH(segment_loss_compute(l, &h.head, &t, NULL, &parts), "image 1's mask has value 2 but the image has 1 targets");
    small_masks(masks);
    // Prototypes of another coefficient count than the coefficients.
    if (small_head(&other, 2, 4, 1)) {
        SegmentHead mixed = {h.levels, h.coeffs, &other.tp};
        EXPECT_FAILS_WITH(segment_loss_compute(l, &mixed, &t, NULL, &parts), "mask coefficients of level 0 is [2x3x4x4], want contiguous [2x4x4x4]");
        head_free(&other);
    }
    SegmentHead detect_only = {h.levels, NULL, NULL};
    EXPECT_FAILS_WITH(segment_loss_compute(l, &detect_only, &t, NULL, &parts), "is the model a segment model?");
    EXPECT_OK(segment_loss_compute(l, &h.head, &t, &h.grads, &parts));
    h.proto[27] = NAN; // image 0, channel 0, pixel (3, 3): inside the first box
    EXPECT_FAILS_WITH(segment_loss_compute(l, &h.head, &t, &h.grads, &parts), "mask loss is not finite");
    segment_loss_destroy(l);
    head_free(&h);
}

// ---- through the network ----

// The fixture network with its weights, a train-mode forward on seeded images, the loss on the
// fixture's targets and masks, and the backward pass: the gradients of parameters that feed only
// the mask term (the last coefficient convolutions, the prototype branch) against central
// differences of the loss over whole forward passes, the assignment held fixed. This checks that
// the criterion's coefficient and prototype gradients reach the graph and flow back through it.
TEST(segment_loss_reaches_the_head_parameters) {
    Fixture f;
    SafeTensors weights = {0};
    ModelDef def = {0};
    Model m;
    Backend *b = backend_cpu_create(2);
    Graph *g = b ? graph_create(b) : NULL;
    SegmentLoss *l = NULL;
    if (!fixture_open(&f) || !g || safetensors_load(WEIGHTS_FIXTURE, &weights) != 0 || model_yaml_load(MODEL_YAML, NULL, &def) != 0 ||
        model_build(g, &def, &(ModelOptions){.batch = f.batch, .imgsz = f.imgsz}, &m) != 0 || graph_plan(g, 0) != 0 ||
        fixture_load_weights(g, &weights, WEIGHTS_FIXTURE) != 0) {
        test_fail(__FILE__, __LINE__, "setup: %s", yolo_error());
        yolo_error_clear();
        goto done;
    }
    EXPECT(m.head == HEAD_SEGMENT && m.n_levels == LEVELS);
    Value *in = &g->values[m.input];
    for (int64_t e = 0; e < shape_numel(in->shape); e++)
        in->data.data[e] = 0.5f + 0.25f * rng_normal(9, rng_stream(RNG_TEST, 5, 0), (uint64_t)e);
    const Tensor *levels[LEVELS], *coeffs[LEVELS];
    Tensor *level_grads[LEVELS], *coeff_grads[LEVELS];
    for (int i = 0; i < LEVELS; i++) {
        levels[i] = &g->values[m.outputs[i]].data;
        coeffs[i] = &g->values[m.coeffs[i]].data;
        level_grads[i] = &g->values[m.outputs[i]].grad;
        coeff_grads[i] = &g->values[m.coeffs[i]].grad;
    }
    SegmentHead head = {levels, coeffs, &g->values[m.proto].data};
    SegmentGrads grads = {level_grads, coeff_grads, &g->values[m.proto].grad};
    SegmentTargets t = {f.targets, f.n_targets, f.masks, f.imgsz / 4, f.imgsz / 4};
    l = segment_loss_create(NC, LEVELS, STRIDES, f.batch, f.imgsz, f.imgsz, GAINS);
    SegmentLossParts parts;
    g->training = 1;
    if (!l || graph_forward(g) != 0 || segment_loss_assign(l, &head, &t) != 0) {
        test_fail(__FILE__, __LINE__, "%s", yolo_error());
        yolo_error_clear();
        goto done;
    }
    graph_clear_activation_grads(g);
    graph_clear_param_grads(g);
    EXPECT_OK(segment_loss_evaluate(l, &head, &grads, &parts));
    EXPECT(parts.fg_anchors > 0 && parts.seg > 0);
    EXPECT_OK(graph_backward(g));

    // A few elements of each parameter, with a step of 1% of the parameter's scale.
    static const char *names[] = {"model.22.cv4.0.2.weight", "model.22.cv4.1.2.bias", "model.22.cv4.1.0.conv.weight",
                                  "model.22.proto.cv3.conv.weight", "model.22.proto.upsample.weight", "model.22.proto.cv1.bn.weight"};
    int checked = 0;
    for (size_t n = 0; n < sizeof names / sizeof *names; n++) {
        int id = graph_find(g, names[n]);
        if (id < 0) {
            test_fail(__FILE__, __LINE__, "no parameter %s", names[n]);
            continue;
        }
        Value *v = &g->values[id];
        int64_t count = shape_numel(v->shape);
        double scale = 0.0;
        for (int64_t e = 0; e < count; e++) scale = fmax(scale, fabs(v->data.data[e]));
        for (int k = 0; k < 4; k++) {
            int64_t e = count * (2 * k + 1) / 8;
            float x = v->data.data[e], step = (float)(0.01 * fmax(scale, 1e-3));
            SegmentLossParts pu, pd;
            v->data.data[e] = x + step;
            int rc = graph_forward(g) | segment_loss_evaluate(l, &head, NULL, &pu);
            v->data.data[e] = x - step;
            rc |= graph_forward(g) | segment_loss_evaluate(l, &head, NULL, &pd);
            v->data.data[e] = x;
            EXPECT(rc == 0);
            double fd = (total(&pu, f.batch) - total(&pd, f.batch)) / (2.0 * step), got = v->grad.data[e];
            // float32 forward passes: measured up to 4e-4 of the gradient (1.5e-4 absolute). A lost
            // factor (batch, area, pixel count) or a gradient that never arrives is far outside.
            EXPECT(got != 0.0);
            if (!(fabs(fd - got) <= 2e-3 * fabs(fd) + 3e-4))
                test_fail(__FILE__, __LINE__, "%s[%lld]: gradient %.6g, finite difference %.6g", names[n], (long long)e, got, fd);
            checked++;
        }
    }
    EXPECT(checked == 24);
done:
    segment_loss_destroy(l);
    safetensors_free(&weights);
    model_def_free(&def);
    graph_destroy(g);
    backend_destroy(b);
    fixture_close(&f);
}

// ---- the batches the loss is fed ----

// Loader batches of shapes8-seg, mosaic and not: in each image, the pixels of mask value k + 1 lie
// inside the box of that image's k-th target (the map numbers the targets in row order), and every
// target owns some pixels unless it is tiny.
TEST(segment_batch_masks_number_the_targets_in_row_order) {
    char dir[256];
    if (!scratch_make(dir, sizeof dir, "seg-masks")) return;
    char datasets[300];
    snprintf(datasets, sizeof datasets, "%s/datasets", dir);
    DatasetConfig cfg;
    DatasetSplit split = {0};
    if (dataset_config_load("shapes8-seg.yaml", datasets, false, &cfg) != 0 || dataset_scan(&cfg, SPLIT_TRAIN, &split) != 0) {
        test_fail(__FILE__, __LINE__, "%s", yolo_error());
        yolo_error_clear();
        scratch_remove(dir);
        return;
    }
    EXPECT(split.has_polygons);
    LoaderOptions o = {.task = TASK_SEGMENT, .train = true, .batch = 4, .imgsz = 64, .seed = 3, .epochs = 3, .close_mosaic = 1,
                       .mask_ratio = 4, .fraction = 1.0f,
                       .aug = {.imgsz = 64, .hsv_h = 0.015f, .hsv_s = 0.7f, .hsv_v = 0.4f, .translate = 0.1f, .scale = 0.5f,
                               .fliplr = 0.5f, .mosaic = 1.0f}};
    Loader *ld = loader_create(&split, &o);
    int outside = 0, owned = 0, objects = 0;
    for (int epoch = 0; ld && epoch < 3; epoch++) {
        Batch bt;
        if (loader_get(ld, epoch, 0, &bt) != 0) break;
        int mw = bt.w / 4, mh = bt.h / 4;
        for (int i = 0; i < bt.size; i++) {
            const uint8_t *map = bt.masks + (size_t)i * mw * mh;
            int k = 0;
            for (int r = 0; r < bt.n_targets; r++) {
                const float *row = bt.targets + 6 * r;
                if ((int)row[0] != i) continue;
                // The box on the map grid, a pixel of slack for the rasteriser's rounding.
                float x1 = (row[2] - row[4] / 2) * mw - 1, x2 = (row[2] + row[4] / 2) * mw + 1;
                float y1 = (row[3] - row[5] / 2) * mh - 1, y2 = (row[3] + row[5] / 2) * mh + 1;
                int pixels = 0;
                for (int y = 0; y < mh; y++)
                    for (int x = 0; x < mw; x++) {
                        if (map[y * mw + x] != k + 1) continue;
                        pixels++;
                        outside += x + 0.5f < x1 || x + 0.5f > x2 || y + 0.5f < y1 || y + 0.5f > y2;
                    }
                objects++;
                owned += pixels > 0 || row[4] * mw * row[5] * mh < 4;
                k++;
            }
        }
    }
    EXPECT(ld && objects > 10 && outside == 0 && owned == objects);
    loader_destroy(ld);
    dataset_split_free(&split);
    dataset_config_free(&cfg);
    scratch_remove(dir);
}
