// v8DetectionLoss against Ultralytics itself, and its gradient against finite differences.
//
// tests/fixtures/yolov8-detect-loss.safetensors was written by scripts/reference/make_fixtures.py:
// the detect fixture network (weights in yolov8-detect.safetensors) run in train mode on three
// 128x128 images with fixed targets through Ultralytics 8.3.127's v8DetectionLoss, then
// loss.sum().backward() as the trainer does. It holds the head outputs, the loss items, the
// assigner's fg_mask and target_scores, the gradient of every head output and parameter, and
// torch.topk results on rows of tied values.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/threadpool.h"
#include "fixture_weights.h"
#include "io/safetensors.h"
#include "nn/model.h"
#include "tasks/detect/assigner.h"
#include "tasks/detect/ciou.h"
#include "tasks/detect/loss.h"
#include "test.h"

static const char *LOSS_FIXTURE = "tests/fixtures/yolov8-detect-loss.safetensors";
static const char *WEIGHTS_FIXTURE = "tests/fixtures/yolov8-detect.safetensors";
static const char *MODEL_YAML = "tests/fixtures/yolov8n-detect.yaml";

static const DetectLossGains GAINS = {7.5f, 0.5f, 1.5f};
static const int STRIDES[3] = {8, 16, 32};
enum { NC = 3, LEVELS = 3 };

// Loss parts to 1e-5 relative, target scores to 1e-5: float32 against float32 with sums in other
// orders. Gradients to 1e-4 in relative L2 norm; the parameters' come through the whole backward
// pass, whose train-mode BN divides by small-batch deviations. Measured: parts 2e-7, scores 5e-7,
// head gradients 2e-7 from the fixture's outputs and 2e-6 from our forward, parameters 4e-5.
static const double PART_TOL = 1e-5, SCORE_TOL = 1e-5, GRAD_TOL = 1e-4;

// ---- fixture access ----

static int fixture_int(const SafeTensors *st, const char *key) {
    const char *text = safetensors_metadata(st, key);
    return text ? atoi(text) : 0;
}

// The fixture's targets as rows of image, class, cx, cy, w, h.
static float *fixture_targets(const SafeTensors *st, int *n) {
    int64_t count = 0;
    float *idx = fixture_f32(st, "targets.batch_idx", -1, &count);
    float *cls = idx ? fixture_f32(st, "targets.cls", count, NULL) : NULL;
    float *boxes = cls ? fixture_f32(st, "targets.bboxes", 4 * count, NULL) : NULL;
    float *rows = boxes ? malloc((size_t)count * 6 * sizeof *rows) : NULL;
    if (rows)
        for (int64_t i = 0; i < count; i++) {
            rows[6 * i] = idx[i];
            rows[6 * i + 1] = cls[i];
            memcpy(rows + 6 * i + 2, boxes + 4 * i, 4 * sizeof *rows);
        }
    free(idx);
    free(cls);
    free(boxes);
    *n = (int)count;
    return rows;
}

// ---- top-k ties ----

static int by_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

// torch.topk's choice among equal values on both of its CPU paths (nth_element for 336 values,
// partial_sort for 1344), on rows that are all zero or zero with a few, partly equal, positives.
TEST(detect_loss_topk_picks_ties_as_pytorch) {
    SafeTensors st;
    if (safetensors_load(LOSS_FIXTURE, &st) != 0) {
        test_fail(__FILE__, __LINE__, "%s", yolo_error());
        return;
    }
    const int lengths[2] = {336, 1344};
    for (int c = 0; c < 2; c++) {
        int n = lengths[c];
        char name[32];
        snprintf(name, sizeof name, "topk.%d.values", n);
        int64_t count = 0;
        float *values = fixture_f32(&st, name, -1, &count);
        int rows = (int)(count / n);
        snprintf(name, sizeof name, "topk.%d.indices", n);
        float *indices = values ? fixture_f32(&st, name, (int64_t)rows * TAL_TOPK, NULL) : NULL;
        TopkItem *items = malloc((size_t)n * sizeof *items);
        EXPECT(rows > 1 && items);
        for (int r = 0; indices && items && r < rows; r++) {
            for (int i = 0; i < n; i++) items[i] = (TopkItem){values[(int64_t)r * n + i], i};
            topk_select(items, n, TAL_TOPK);
            int got[TAL_TOPK], want[TAL_TOPK];
            for (int k = 0; k < TAL_TOPK; k++) {
                got[k] = items[k].index;
                want[k] = (int)indices[r * TAL_TOPK + k];
            }
            qsort(got, TAL_TOPK, sizeof *got, by_int);
            qsort(want, TAL_TOPK, sizeof *want, by_int);
            if (memcmp(got, want, sizeof got) != 0)
                test_fail(__FILE__, __LINE__, "n %d row %d: picked {%d, %d, %d, ..., %d}, torch {%d, %d, %d, ..., %d}", n, r, got[0],
                          got[1], got[2], got[9], want[0], want[1], want[2], want[9]);
        }
        free(items);
        free(values);
        free(indices);
    }
    safetensors_free(&st);
}

// ---- parity with Ultralytics ----

typedef struct {
    SafeTensors st;
    int batch, imgsz, n_targets;
    float *targets;
} LossFixture;

static int open_fixture(LossFixture *f) {
    memset(f, 0, sizeof *f);
    TRY(safetensors_load(LOSS_FIXTURE, &f->st));
    f->batch = fixture_int(&f->st, "batch");
    f->imgsz = fixture_int(&f->st, "imgsz");
    if (f->batch < 1 || f->imgsz < 32 || fixture_int(&f->st, "nc") != NC)
        return yolo_fail("%s: metadata batch, imgsz or nc missing or unexpected", LOSS_FIXTURE);
    f->targets = fixture_targets(&f->st, &f->n_targets);
    return f->targets ? 0 : yolo_fail("%s: targets missing", LOSS_FIXTURE);
}

static void close_fixture(LossFixture *f) {
    free(f->targets);
    safetensors_free(&f->st);
}

static void expect_part(const char *what, double got, float want) {
    double err = fabs((double)got - want) / fmax(fabs(want), 1e-12);
    if (!(err <= PART_TOL)) test_fail(__FILE__, __LINE__, "%s loss %.9g, Ultralytics %.9g (relative error %.3g)", what, got, want, err);
}

// Compares the parts, the assignment and (when given) the output gradients of the last compute.
static void expect_matches_fixture(const LossFixture *f, const DetectLoss *l, const DetectLossParts *parts,
                                   Tensor *const *grads) {
    float *items = fixture_f32(&f->st, "loss.items", 3, NULL);
    if (items) {
        expect_part("box", parts->box, items[0]);
        expect_part("cls", parts->cls, items[1]);
        expect_part("dfl", parts->dfl, items[2]);
    }
    free(items);

    int A = detect_loss_anchors(l);
    int64_t n = (int64_t)f->batch * A;
    float *fg = fixture_f32(&f->st, "assign.fg_mask", n, NULL);
    float *scores = fg ? fixture_f32(&f->st, "assign.target_scores", n * NC, NULL) : NULL;
    if (scores) {
        const uint8_t *our_fg = detect_loss_fg_mask(l);
        const int32_t *our_cls = detect_loss_target_class(l);
        const float *our_score = detect_loss_target_score(l);
        int fg_count = 0;
        for (int64_t i = 0; i < n; i++) {
            fg_count += fg[i] != 0.0f;
            if (our_fg[i] != (fg[i] != 0.0f))
                test_fail(__FILE__, __LINE__, "image %lld anchor %lld: foreground %d, Ultralytics %g", (long long)(i / A),
                          (long long)(i % A), our_fg[i], fg[i]);
            for (int c = 0; c < NC; c++) {
                float ours = our_cls[i] == c ? our_score[i] : 0.0f, want = scores[i * NC + c];
                if (!(fabsf(ours - want) <= SCORE_TOL))
                    test_fail(__FILE__, __LINE__, "image %lld anchor %lld class %d: target score %.9g, Ultralytics %.9g",
                              (long long)(i / A), (long long)(i % A), c, ours, want);
            }
        }
        EXPECT(parts->fg_anchors == fg_count);
    }
    free(fg);
    free(scores);

    for (int i = 0; grads && i < LEVELS; i++) {
        char name[32];
        snprintf(name, sizeof name, "grad.output.%d", i);
        int64_t numel = tensor_numel(grads[i]);
        float *want = fixture_f32(&f->st, name, numel, NULL);
        double err = want ? fixture_rel_l2(grads[i]->data, want, numel) : 0.0;
        if (!(err <= GRAD_TOL)) test_fail(__FILE__, __LINE__, "%s: relative L2 error %.3g", name, err);
        free(want);
    }
}

// (a) The fixture's head outputs straight into the loss.
TEST(detect_loss_matches_ultralytics) {
    LossFixture f;
    if (open_fixture(&f) != 0) {
        test_fail(__FILE__, __LINE__, "%s", yolo_error());
        close_fixture(&f);
        return;
    }
    DetectLoss *l = detect_loss_create(NC, LEVELS, STRIDES, f.batch, f.imgsz, f.imgsz, GAINS);
    EXPECT(l != NULL);
    float *data[LEVELS] = {0}, *grad_data[LEVELS] = {0};
    Tensor outs[LEVELS], grads[LEVELS];
    const Tensor *out_ptrs[LEVELS];
    Tensor *grad_ptrs[LEVELS];
    bool ok = l != NULL;
    for (int i = 0; i < LEVELS; i++) {
        char name[32];
        snprintf(name, sizeof name, "output.%d", i);
        int64_t side = f.imgsz / STRIDES[i];
        Shape s = shape_nchw(f.batch, 64 + NC, side, side);
        data[i] = fixture_f32(&f.st, name, shape_numel(s), NULL);
        grad_data[i] = malloc((size_t)shape_numel(s) * sizeof(float));
        ok = ok && data[i] && grad_data[i];
        outs[i] = tensor_view(data[i], s);
        grads[i] = tensor_view(grad_data[i], s);
        out_ptrs[i] = &outs[i];
        grad_ptrs[i] = &grads[i];
    }
    DetectLossParts parts;
    if (ok) {
        EXPECT_OK(detect_loss_compute(l, out_ptrs, f.targets, f.n_targets, grad_ptrs, &parts));
        expect_matches_fixture(&f, l, &parts, grad_ptrs);
    }
    for (int i = 0; i < LEVELS; i++) {
        free(data[i]);
        free(grad_data[i]);
    }
    detect_loss_destroy(l);
    close_fixture(&f);
}

// (b) End to end: our network with the fixture's weights, a train-mode forward, the loss, and
// the backward pass; every parameter's gradient against PyTorch's.
TEST(detect_loss_parameter_gradients_match_ultralytics) {
    LossFixture f;
    SafeTensors weights = {0};
    ModelDef def = {0};
    Model m;
    Backend *b = backend_cpu_create(2);
    Graph *g = b ? graph_create(b) : NULL;
    DetectLoss *l = NULL;
    if (open_fixture(&f) != 0 || !g || safetensors_load(WEIGHTS_FIXTURE, &weights) != 0 ||
        model_yaml_load(MODEL_YAML, NULL, &def) != 0 ||
        model_build(g, &def, &(ModelOptions){.batch = f.batch, .imgsz = f.imgsz}, &m) != 0 || graph_plan(g, 0) != 0 ||
        fixture_load_weights(g, &weights, WEIGHTS_FIXTURE) != 0) {
        test_fail(__FILE__, __LINE__, "setup: %s", yolo_error());
        goto done;
    }
    EXPECT(m.n_levels == LEVELS && m.nc == NC);
    for (int i = 0; i < LEVELS; i++) EXPECT(m.strides[i] == STRIDES[i]);
    Value *in = &g->values[m.input];
    float *images = fixture_f32(&f.st, "input.images", shape_numel(in->shape), NULL);
    if (!images) goto done;
    memcpy(in->data.data, images, (size_t)shape_numel(in->shape) * sizeof *images);
    free(images);

    g->training = 1;
    EXPECT_OK(graph_forward(g));
    graph_clear_activation_grads(g);
    graph_clear_param_grads(g);
    const Tensor *outs[LEVELS];
    Tensor *grads[LEVELS];
    for (int i = 0; i < LEVELS; i++) {
        outs[i] = &g->values[m.outputs[i]].data;
        grads[i] = &g->values[m.outputs[i]].grad;
        EXPECT(grads[i]->data != NULL);
    }
    l = detect_loss_create(NC, LEVELS, STRIDES, f.batch, f.imgsz, f.imgsz, GAINS);
    if (l) detect_loss_set_pool(l, b->pool);
    DetectLossParts parts;
    if (!l || detect_loss_compute(l, outs, f.targets, f.n_targets, grads, &parts) != 0) {
        test_fail(__FILE__, __LINE__, "loss: %s", yolo_error());
        goto done;
    }
    expect_matches_fixture(&f, l, &parts, grads);
    EXPECT_OK(graph_backward(g));

    int compared = 0, in_fixture = 0;
    double worst = 0.0;
    const char *worst_name = "";
    for (int i = 0; i < g->n_values; i++) {
        const Value *v = &g->values[i];
        if (v->kind != VALUE_PARAM || !v->needs_grad) continue;
        char name[VALUE_NAME_CAP + 8];
        snprintf(name, sizeof name, "grad.%s", v->name);
        float *want = fixture_f32(&f.st, name, shape_numel(v->shape), NULL);
        if (!want) continue;
        double err = fixture_rel_l2(v->grad.data, want, shape_numel(v->shape));
        if (!(err <= worst)) {
            worst = err;
            worst_name = v->name;
        }
        compared++;
        free(want);
    }
    for (int i = 0; i < f.st.n_tensors; i++)
        in_fixture += !strncmp(f.st.tensors[i].name, "grad.", 5) && strncmp(f.st.tensors[i].name, "grad.output.", 12);
    EXPECT(compared == in_fixture && compared > 100);
    if (!(worst <= GRAD_TOL)) test_fail(__FILE__, __LINE__, "gradient of %s: relative L2 error %.3g", worst_name, worst);
done:
    detect_loss_destroy(l);
    safetensors_free(&weights);
    model_def_free(&def);
    graph_destroy(g);
    backend_destroy(b);
    close_fixture(&f);
}

// ---- CIoU ----

TEST(detect_loss_ciou_known_value) {
    // Two 2x2 boxes offset by (1, 1): IoU 1/7, centre distance^2 2 over enclosing diagonal^2 18,
    // equal aspect ratios (v = 0): CIoU = 1/7 - 1/9 = 2/63.
    const float a[4] = {0, 0, 2, 2}, b[4] = {1, 1, 3, 3};
    const double ad[4] = {0, 0, 2, 2}, bd[4] = {1, 1, 3, 3};
    EXPECT_NEAR(ciou_f32(a, b), 2.0 / 63.0, 1e-6);
    EXPECT_NEAR(ciou_fixed_alpha(ad, bd, ciou_alpha(ad, bd), NULL), 2.0 / 63.0, 1e-6);
    EXPECT_NEAR(ciou_f32(a, a), 1.0, 1e-6);
}

static void random_box(RngCursor *r, double box[4]) {
    box[0] = rng_next_range(r, 0.0f, 10.0f);
    box[1] = rng_next_range(r, 0.0f, 10.0f);
    box[2] = box[0] + rng_next_range(r, 0.2f, 8.0f);
    box[3] = box[1] + rng_next_range(r, 0.2f, 8.0f);
}

// The gradient with respect to b1 at fixed alpha against central differences in double, over
// overlapping, nested and disjoint pairs of all aspect ratios; and the float32 value against the
// double one.
TEST(detect_loss_ciou_gradient_matches_finite_differences) {
    RngCursor r = rng_cursor(7, rng_stream(RNG_TEST, 1, 0));
    int checked = 0;
    for (int trial = 0; trial < 500; trial++) {
        double b1[4], b2[4], grad[4];
        random_box(&r, b1);
        random_box(&r, b2);
        // Away from the kinks of min and max (a coordinate of one box equal to one of the other).
        double gap = INFINITY;
        for (int i = 0; i < 4; i++)
            for (int j = i % 2; j < 4; j += 2) gap = fmin(gap, fabs(b1[i] - b2[j]));
        if (gap < 1e-3) continue;
        double alpha = ciou_alpha(b1, b2);
        ciou_fixed_alpha(b1, b2, alpha, grad);
        for (int i = 0; i < 4; i++) {
            const double h = 1e-6;
            double up[4], down[4];
            memcpy(up, b1, sizeof up);
            memcpy(down, b1, sizeof down);
            up[i] += h;
            down[i] -= h;
            double fd = (ciou_fixed_alpha(up, b2, alpha, NULL) - ciou_fixed_alpha(down, b2, alpha, NULL)) / (2 * h);
            if (!(fabs(fd - grad[i]) <= 1e-7 + 1e-6 * fabs(fd)))
                test_fail(__FILE__, __LINE__, "trial %d coordinate %d: gradient %.9g, finite difference %.9g", trial, i, grad[i], fd);
        }
        // The float32 value (the assigner's) against the double one on the same float inputs.
        float f1[4], f2[4];
        for (int i = 0; i < 4; i++) {
            f1[i] = (float)b1[i];
            f2[i] = (float)b2[i];
            b1[i] = f1[i];
            b2[i] = f2[i];
        }
        EXPECT_NEAR(ciou_f32(f1, f2), ciou_fixed_alpha(b1, b2, ciou_alpha(b1, b2), NULL), 2e-6);
        checked++;
    }
    EXPECT(checked > 400);
}

// ---- synthetic cases ----

typedef struct {
    int n_levels;
    float *data[DETECT_MAX_LEVELS], *grad_data[DETECT_MAX_LEVELS];
    Tensor out[DETECT_MAX_LEVELS], grad[DETECT_MAX_LEVELS];
    const Tensor *outs[DETECT_MAX_LEVELS];
    Tensor *grads[DETECT_MAX_LEVELS];
} Case;

static void case_free(Case *c) {
    for (int i = 0; i < c->n_levels; i++) {
        free(c->data[i]);
        free(c->grad_data[i]);
    }
}

// Head outputs of `size` x `size` images: box logits falling with the bin (distances of a few
// bins, so predicted boxes are of the targets' scale) plus noise, class logits around -1.
static bool case_make(Case *c, int batch, int nc, int n_levels, const int *strides, int size, uint64_t seed) {
    memset(c, 0, sizeof *c);
    c->n_levels = n_levels;
    bool ok = true;
    for (int i = 0; i < n_levels; i++) {
        int side = size / strides[i];
        Shape s = shape_nchw(batch, 64 + nc, side, side);
        int64_t hw = (int64_t)side * side, n = shape_numel(s);
        c->data[i] = malloc((size_t)n * sizeof(float));
        c->grad_data[i] = malloc((size_t)n * sizeof(float));
        ok = ok && c->data[i] && c->grad_data[i];
        if (!ok) continue;
        for (int64_t e = 0; e < n; e++) {
            int64_t ch = e / hw % (64 + nc);
            float noise = rng_normal(seed, rng_stream(RNG_TEST, 2, (uint32_t)i), (uint64_t)e);
            c->data[i][e] = ch < 64 ? -0.35f * (float)(ch % 16) + 0.8f * noise : 1.5f * noise - 1.0f;
        }
        c->out[i] = tensor_view(c->data[i], s);
        c->grad[i] = tensor_view(c->grad_data[i], s);
        c->outs[i] = &c->out[i];
        c->grads[i] = &c->grad[i];
    }
    if (!ok) {
        test_fail(__FILE__, __LINE__, "out of memory");
        case_free(c);
    }
    return ok;
}

static double total(const DetectLossParts *p, int batch) { return batch * (p->box + p->cls + p->dfl); }

// The analytic gradient against central differences of batch * (box + cls + dfl), with the
// assignment and CIoU's alpha held fixed as Ultralytics detaches them: two images of 32x32, levels of stride 8 and
// 16 (20 anchors), two classes, three boxes. Every output element is checked.
TEST(detect_loss_gradient_matches_finite_differences) {
    const int strides[2] = {8, 16};
    const float targets[3][6] = {{0, 0, 0.40f, 0.45f, 0.50f, 0.60f}, {0, 1, 0.70f, 0.30f, 0.35f, 0.40f}, {1, 1, 0.50f, 0.50f, 0.80f, 0.70f}};
    Case c;
    if (!case_make(&c, 2, 2, 2, strides, 32, 11)) return;
    DetectLoss *l = detect_loss_create(2, 2, strides, 2, 32, 32, GAINS);
    DetectLossParts parts;
    EXPECT(l != NULL);
    if (l && detect_loss_assign(l, c.outs, &targets[0][0], 3) == 0 && detect_loss_evaluate(l, c.outs, c.grads, &parts) == 0) {
        EXPECT(parts.fg_anchors > 0 && parts.box > 0 && parts.dfl > 0);
        double worst = 0.0, largest = 0.0;
        for (int i = 0; i < c.n_levels; i++) {
            int64_t n = tensor_numel(&c.out[i]);
            for (int64_t e = 0; e < n; e++) largest = fmax(largest, fabs(c.grad_data[i][e]));
        }
        for (int i = 0; i < c.n_levels; i++) {
            int64_t n = tensor_numel(&c.out[i]);
            for (int64_t e = 0; e < n; e++) {
                float x = c.data[i][e], up = x + 1e-2f, down = x - 1e-2f;
                DetectLossParts pu, pd;
                c.data[i][e] = up;
                int rc = detect_loss_evaluate(l, c.outs, NULL, &pu);
                c.data[i][e] = down;
                rc |= detect_loss_evaluate(l, c.outs, NULL, &pd);
                c.data[i][e] = x;
                EXPECT(rc == 0);
                double fd = (total(&pu, 2) - total(&pd, 2)) / ((double)up - down);
                worst = fmax(worst, fabs(fd - c.grad_data[i][e]));
            }
        }
        // Measured 9e-6: step truncation and the float32 BCE terms. A wrong factor, sign or
        // channel anywhere gives 1e-2 or more.
        if (!(worst <= 5e-5 * largest))
            test_fail(__FILE__, __LINE__, "gradient differs from finite differences by %.3g (largest gradient %.3g)", worst, largest);
    } else {
        test_fail(__FILE__, __LINE__, "%s", yolo_error());
    }
    detect_loss_destroy(l);
    case_free(&c);
}

// Images shared among 3 threads give the same bits as one thread: parts, assignment, gradients.
TEST(detect_loss_is_independent_of_thread_count) {
    const float targets[6][6] = {{1, 2, 0.5f, 0.5f, 0.6f, 0.7f},    {0, 0, 0.3f, 0.35f, 0.4f, 0.5f}, {0, 2, 0.4f, 0.4f, 0.3f, 0.3f},
                                 {3, 1, 0.2f, 0.8f, 0.1f, 0.1f},    {0, 1, 0.7f, 0.7f, 0.35f, 0.25f}, {3, 0, 0.6f, 0.4f, 0.5f, 0.2f}};
    Case c;
    if (!case_make(&c, 4, NC, LEVELS, STRIDES, 64, 5)) return;
    DetectLoss *l = detect_loss_create(NC, LEVELS, STRIDES, 4, 64, 64, GAINS);
    ThreadPool *pool = pool_create(3);
    EXPECT(l && pool);
    int64_t n_anchors = 64 + 16 + 4, n = 4 * n_anchors;
    float *first[LEVELS] = {0};
    uint8_t *fg = malloc((size_t)n);
    float *score = malloc((size_t)n * sizeof *score);
    DetectLossParts p1, p2;
    if (l && pool && fg && score && detect_loss_compute(l, c.outs, &targets[0][0], 6, c.grads, &p1) == 0) {
        EXPECT(p1.fg_anchors > 0);
        memcpy(fg, detect_loss_fg_mask(l), (size_t)n);
        memcpy(score, detect_loss_target_score(l), (size_t)n * sizeof *score);
        for (int i = 0; i < LEVELS; i++) {
            size_t bytes = (size_t)tensor_numel(&c.grad[i]) * sizeof(float);
            first[i] = malloc(bytes);
            if (first[i]) memcpy(first[i], c.grad_data[i], bytes);
            memset(c.grad_data[i], 0xff, bytes); // NaN: every element must be written again
        }
        detect_loss_set_pool(l, pool);
        EXPECT_OK(detect_loss_compute(l, c.outs, &targets[0][0], 6, c.grads, &p2));
        EXPECT(p1.box == p2.box && p1.cls == p2.cls && p1.dfl == p2.dfl && p1.fg_anchors == p2.fg_anchors);
        EXPECT(!memcmp(fg, detect_loss_fg_mask(l), (size_t)n));
        EXPECT(!memcmp(score, detect_loss_target_score(l), (size_t)n * sizeof *score));
        for (int i = 0; i < LEVELS; i++)
            EXPECT(first[i] && !memcmp(first[i], c.grad_data[i], (size_t)tensor_numel(&c.grad[i]) * sizeof(float)));
    } else {
        test_fail(__FILE__, __LINE__, "setup: %s", yolo_error());
    }
    for (int i = 0; i < LEVELS; i++) free(first[i]);
    free(fg);
    free(score);
    pool_destroy(pool);
    detect_loss_destroy(l);
    case_free(&c);
}

// No boxes in the batch: every anchor is background, the normaliser is 1, and only the class
// loss remains: sum of softplus(x) over all class logits, with gradient sigmoid(x) * gain * batch.
TEST(detect_loss_without_targets_is_all_background) {
    const int strides[2] = {8, 16};
    Case c;
    if (!case_make(&c, 2, 2, 2, strides, 32, 3)) return;
    DetectLoss *l = detect_loss_create(2, 2, strides, 2, 32, 32, GAINS);
    DetectLossParts parts;
    if (l && detect_loss_compute(l, c.outs, NULL, 0, c.grads, &parts) == 0) {
        EXPECT(parts.box == 0.0 && parts.dfl == 0.0 && parts.fg_anchors == 0);
        double softplus = 0.0;
        for (int i = 0; i < 2; i++) {
            int64_t n = tensor_numel(&c.out[i]), hw = tensor_h(&c.out[i]) * tensor_w(&c.out[i]);
            for (int64_t e = 0; e < n; e++) {
                double x = c.data[i][e], want = 0.0;
                if (e / hw % 66 >= 64) {
                    softplus += log1p(exp(x));
                    want = GAINS.cls * 2 / (1.0 + exp(-x));
                }
                EXPECT_NEAR(c.grad_data[i][e], want, 1e-6);
            }
        }
        EXPECT_NEAR(parts.cls, GAINS.cls * softplus, 1e-6 * softplus);
    } else {
        test_fail(__FILE__, __LINE__, "%s", yolo_error());
    }
    detect_loss_destroy(l);
    case_free(&c);
}

TEST(detect_loss_rejects_bad_inputs) {
    const int strides[2] = {8, 16};
    yolo_error_clear();
    EXPECT(detect_loss_create(0, 2, strides, 2, 32, 32, GAINS) == NULL && strstr(yolo_error(), "nc 0"));
    yolo_error_clear();
    EXPECT(detect_loss_create(2, 2, strides, 2, 40, 32, GAINS) == NULL && strstr(yolo_error(), "multiple of the largest stride 16"));
    yolo_error_clear();

    Case c, wide;
    if (!case_make(&c, 2, 2, 2, strides, 32, 1)) return;
    DetectLoss *l = detect_loss_create(2, 2, strides, 2, 32, 32, GAINS);
    EXPECT(l != NULL);
    if (!l) {
        case_free(&c);
        return;
    }
    DetectLossParts parts;
    const float bad_class[6] = {0, 2, 0.5f, 0.5f, 0.2f, 0.2f}, bad_image[6] = {2, 0, 0.5f, 0.5f, 0.2f, 0.2f};
    const float bad_box[6] = {0, 0, 0.5f, NAN, 0.2f, 0.2f}, good[6] = {0, 1, 0.5f, 0.5f, 0.3f, 0.4f};
    EXPECT_FAILS_WITH(detect_loss_evaluate(l, c.outs, NULL, &parts), "evaluate needs a successful assign first");
    EXPECT_FAILS_WITH(detect_loss_compute(l, c.outs, bad_class, 1, NULL, &parts), "target 0 has image 0 and class 2; want image 0..1 and class 0..1");
    EXPECT_FAILS_WITH(detect_loss_compute(l, c.outs, bad_image, 1, NULL, &parts), "target 0 has image 2");
    EXPECT_FAILS_WITH(detect_loss_compute(l, c.outs, bad_box, 1, NULL, &parts), "target 0 has a non-finite box value");
    // Outputs of a 3-class head given to a 2-class loss; a batch larger than created for.
    if (case_make(&wide, 3, 3, 2, strides, 32, 1)) {
        EXPECT_FAILS_WITH(detect_loss_compute(l, wide.outs, good, 1, NULL, &parts), "exceeds the 2 images");
        wide.out[0].shape.dim[0] = 2;
        wide.out[1].shape.dim[0] = 2;
        EXPECT_FAILS_WITH(detect_loss_compute(l, wide.outs, good, 1, NULL, &parts),
                          "output of level 0 is [2x67x4x4], want contiguous [2x66x4x4]");
        case_free(&wide);
    }
    EXPECT_OK(detect_loss_compute(l, c.outs, good, 1, c.grads, &parts));
    c.data[1][64 * 4] = NAN; // a class logit: the loss turns NaN and says so
    EXPECT_FAILS_WITH(detect_loss_compute(l, c.outs, good, 1, c.grads, &parts), "detect loss is not finite");
    detect_loss_destroy(l);
    case_free(&c);
}
