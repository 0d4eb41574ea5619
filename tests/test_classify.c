// The classify task: its cross-entropy against Ultralytics itself and against finite
// differences, and its accuracy metrics against counts done by hand.
//
// tests/fixtures/yolov8-cls-loss.safetensors was written by scripts/reference/make_classify_fixtures.py:
// the classify fixture network (weights in yolov8-cls.safetensors) on four 64x64 images with
// fixed labels through Ultralytics 8.3.127's v8ClassificationLoss, in train mode with
// loss.backward() (the logits, the loss, the gradient of the logits and of a few parameters) and
// in eval mode (the logits, the softmax and the val loss).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "fixture_weights.h"
#include "io/safetensors.h"
#include "nn/model.h"
#include "tasks/classify/loss.h"
#include "tasks/classify/metrics.h"
#include "tasks/task.h"
#include "test.h"

static const char *LOSS_FIXTURE = "tests/fixtures/yolov8-cls-loss.safetensors";
static const char *WEIGHTS_FIXTURE = "tests/fixtures/yolov8-cls.safetensors";
static const char *MODEL_YAML = "tests/fixtures/yolov8n-cls.yaml";

// The tolerances of the detect parity tests: losses to 1e-5 relative, outputs to 1e-4 of
// max(1, |reference|), gradients to 1e-4 in relative L2 norm (the parameters' come through the
// whole backward pass, whose train-mode BN divides by small-batch deviations). Measured: losses
// 5e-8, the logits' gradient 4e-7, parameters 8e-6 at most; a gradient scaled by 1.001 fails all.
static const double LOSS_TOL = 1e-5, OUTPUT_TOL = 1e-4, GRAD_TOL = 1e-4;

static void expect_close(const char *what, const float *got, const float *want, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (!(fabs((double)got[i] - want[i]) <= OUTPUT_TOL * fmax(1.0, fabs(want[i])))) {
            test_fail(__FILE__, __LINE__, "%s[%lld] is %.9g, Ultralytics %.9g", what, (long long)i, got[i], want[i]);
            return;
        }
}

static void expect_loss(const char *what, double got, const float *want) {
    if (!want) return;
    double err = fabs(got - want[0]) / fabs(want[0]);
    if (!(err <= LOSS_TOL)) test_fail(__FILE__, __LINE__, "%s %.9g, Ultralytics %.9g (relative error %.3g)", what, got, want[0], err);
}

typedef struct {
    SafeTensors st;
    int batch, imgsz, nc;
    int labels[8];
} Fixture;

static int open_fixture(Fixture *f) {
    memset(f, 0, sizeof *f);
    TRY(safetensors_load(LOSS_FIXTURE, &f->st));
    const char *b = safetensors_metadata(&f->st, "batch"), *s = safetensors_metadata(&f->st, "imgsz"),
               *n = safetensors_metadata(&f->st, "nc");
    f->batch = b ? atoi(b) : 0;
    f->imgsz = s ? atoi(s) : 0;
    f->nc = n ? atoi(n) : 0;
    if (f->batch < 1 || f->batch > 8 || f->imgsz < 32 || f->nc < 2)
        return yolo_fail("%s: metadata batch, imgsz or nc missing or unexpected", LOSS_FIXTURE);
    const StTensor *t = safetensors_find(&f->st, "input.labels");
    if (!t || t->dtype != ST_F32 || t->numel != f->batch) return yolo_fail("%s: input.labels missing", LOSS_FIXTURE);
    float labels[8];
    safetensors_copy_f32(t, labels);
    for (int i = 0; i < f->batch; i++) f->labels[i] = (int)labels[i];
    return 0;
}

// (a) The fixture's logits straight into the loss: the loss and the gradient of the logits.
TEST(classify_loss_matches_ultralytics) {
    Fixture f;
    if (open_fixture(&f) != 0) {
        test_fail(__FILE__, __LINE__, "%s", yolo_error());
        safetensors_free(&f.st);
        return;
    }
    int64_t n = (int64_t)f.batch * f.nc;
    float *logits = fixture_f32(&f.st, "output.logits", n, NULL), *want = fixture_f32(&f.st, "grad.output.logits", n, NULL);
    float *loss = fixture_f32(&f.st, "loss", 1, NULL), *grad = malloc((size_t)n * sizeof *grad);
    if (logits && want && loss && grad) {
        double got;
        EXPECT_OK(classify_loss(logits, f.labels, f.batch, f.nc, grad, &got));
        expect_loss("train loss", got, loss);
        double err = fixture_rel_l2(grad, want, n);
        if (!(err <= GRAD_TOL)) test_fail(__FILE__, __LINE__, "gradient of the logits: relative L2 error %.3g", err);
        // Without a gradient buffer the loss is the same.
        double again;
        EXPECT_OK(classify_loss(logits, f.labels, f.batch, f.nc, NULL, &again));
        EXPECT(again == got);
    }
    free(logits);
    free(want);
    free(loss);
    free(grad);
    safetensors_free(&f.st);
}

typedef struct {
    Backend *b;
    Graph *g;
    ModelDef def;
    Model m;
    SafeTensors weights;
} Net;

static void net_free(Net *n) {
    safetensors_free(&n->weights);
    model_def_free(&n->def);
    graph_destroy(n->g);
    backend_destroy(n->b);
}

// The fixture network with its weights and the fixture's images, planned for training or (keep
// the logits) for inference.
static int net_make(Net *n, const Fixture *f, bool training) {
    memset(n, 0, sizeof *n);
    n->b = backend_cpu_create(2);
    n->g = n->b ? graph_create(n->b) : NULL;
    if (!n->g) return -1;
    TRY(safetensors_load(WEIGHTS_FIXTURE, &n->weights));
    TRY(model_yaml_load(MODEL_YAML, NULL, &n->def));
    TRY(model_build(n->g, &n->def, &(ModelOptions){.batch = f->batch, .imgsz = f->imgsz}, &n->m));
    if (training) TRY(graph_plan(n->g, 0));
    else TRY(graph_plan_inference(n->g, &n->m.logits, 1));
    TRY(fixture_load_weights(n->g, &n->weights, WEIGHTS_FIXTURE));
    Value *in = &n->g->values[n->m.input];
    const StTensor *images = safetensors_find(&f->st, "input.images");
    if (!images || images->dtype != ST_F32 || images->numel != shape_numel(in->shape))
        return yolo_fail("%s: input.images missing or not of the input's size", LOSS_FIXTURE);
    safetensors_copy_f32(images, in->data.data);
    n->g->training = training;
    return graph_forward(n->g);
}

// (b) End to end through the task: our network with the fixture's weights, a train-mode forward,
// CLASSIFY_TASK's criterion (which also checks the batch's labels reach the loss), the backward
// pass, and the parameters' gradients against PyTorch's.
TEST(classify_parameter_gradients_match_ultralytics) {
    Fixture f;
    Net n = {0};
    if (open_fixture(&f) != 0 || net_make(&n, &f, true) != 0) {
        test_fail(__FILE__, __LINE__, "setup: %s", yolo_error());
        goto done;
    }
    EXPECT(n.m.head == HEAD_CLASSIFY && n.m.nc == f.nc);
    const TaskImpl *task = task_impl(TASK_CLASSIFY);
    EXPECT(task && !strcmp(task->name, "classify") && task->n_losses == 1);
    if (!task) goto done;
    int64_t numel = (int64_t)f.batch * f.nc;
    float *want = fixture_f32(&f.st, "output.logits", numel, NULL);
    if (want) expect_close("train logits", n.g->values[n.m.logits].data.data, want, numel);
    free(want);

    graph_clear_activation_grads(n.g);
    graph_clear_param_grads(n.g);
    Batch batch = {.size = f.batch, .h = f.imgsz, .w = f.imgsz, .class_index = f.labels};
    void *criterion = task->criterion_create(&n.m, f.batch, f.imgsz, f.imgsz, NULL, n.b->pool);
    double loss = 0.0;
    EXPECT(criterion != NULL);
    if (!criterion || task->criterion(criterion, n.g, &n.m, &batch, true, &loss) != 0) {
        test_fail(__FILE__, __LINE__, "criterion: %s", yolo_error());
        if (criterion) task->criterion_destroy(criterion);
        goto done;
    }
    task->criterion_destroy(criterion);
    float *want_loss = fixture_f32(&f.st, "loss", 1, NULL);
    expect_loss("train loss", loss, want_loss);
    free(want_loss);
    float *want_grad = fixture_f32(&f.st, "grad.output.logits", numel, NULL);
    double err = want_grad ? fixture_rel_l2(n.g->values[n.m.logits].grad.data, want_grad, numel) : 0.0;
    if (!(err <= GRAD_TOL)) test_fail(__FILE__, __LINE__, "gradient of the logits: relative L2 error %.3g", err);
    free(want_grad);
    EXPECT_OK(graph_backward(n.g));

    int compared = 0, in_fixture = 0;
    for (int i = 0; i < f.st.n_tensors; i++) {
        const char *name = f.st.tensors[i].name;
        if (strncmp(name, "grad.", 5) != 0 || !strcmp(name, "grad.output.logits")) continue;
        in_fixture++;
        int id = graph_find(n.g, name + 5);
        if (id < 0 || n.g->values[id].kind != VALUE_PARAM || !n.g->values[id].needs_grad) {
            test_fail(__FILE__, __LINE__, "%s: no trainable parameter %s in our graph", name, name + 5);
            continue;
        }
        const Value *v = &n.g->values[id];
        float *w = fixture_f32(&f.st, name, shape_numel(v->shape), NULL);
        if (!w) continue;
        double e = fixture_rel_l2(v->grad.data, w, shape_numel(v->shape));
        if (!(e <= GRAD_TOL)) test_fail(__FILE__, __LINE__, "gradient of %s: relative L2 error %.3g", v->name, e);
        compared++;
        free(w);
    }
    EXPECT(compared == in_fixture && compared >= 8);
done:
    net_free(&n);
    safetensors_free(&f.st);
}

// (c) Validation as Ultralytics runs it: eval mode (BN with running statistics), the val loss on
// the logits, and the ranking of the softmax giving the same top1 as ours on the logits.
TEST(classify_eval_logits_loss_and_accuracy_match_ultralytics) {
    Fixture f;
    Net n = {0};
    if (open_fixture(&f) != 0 || net_make(&n, &f, false) != 0) {
        test_fail(__FILE__, __LINE__, "setup: %s", yolo_error());
        goto done;
    }
    const TaskImpl *task = task_impl(TASK_CLASSIFY);
    int64_t numel = (int64_t)f.batch * f.nc;
    const float *ours = n.g->values[n.m.logits].data.data;
    float *want = fixture_f32(&f.st, "eval.logits", numel, NULL), *probs = fixture_f32(&f.st, "eval.probs", numel, NULL);
    if (want) expect_close("eval logits", ours, want, numel);
    Batch batch = {.size = f.batch, .h = f.imgsz, .w = f.imgsz, .class_index = f.labels};
    void *criterion = task->criterion_create(&n.m, f.batch, f.imgsz, f.imgsz, NULL, n.b->pool);
    double loss = 0.0;
    EXPECT(criterion && task->criterion(criterion, n.g, &n.m, &batch, false, &loss) == 0);
    if (criterion) task->criterion_destroy(criterion);
    float *want_loss = fixture_f32(&f.st, "eval.loss", 1, NULL);
    expect_loss("val loss", loss, want_loss);
    free(want_loss);
    if (probs) {
        ClassifyMetrics from_probs, from_logits;
        EXPECT_OK(classify_metrics_init(&from_probs, f.nc));
        EXPECT_OK(classify_metrics_init(&from_logits, f.nc));
        EXPECT_OK(classify_metrics_add(&from_probs, probs, f.labels, f.batch));
        EXPECT_OK(classify_metrics_add(&from_logits, ours, f.labels, f.batch));
        EXPECT(from_probs.top1 == from_logits.top1 && from_probs.top5 == from_logits.top5);
        classify_metrics_free(&from_probs);
        classify_metrics_free(&from_logits);
    }
    free(want);
    free(probs);
done:
    net_free(&n);
    safetensors_free(&f.st);
}

// All logits equal: the loss is log(nc) and the gradient (1/nc - onehot) / batch, exactly
// representable for nc = 4 and batch 2.
TEST(classify_loss_known_value) {
    const float logits[8] = {0.5f, 0.5f, 0.5f, 0.5f, -3, -3, -3, -3};
    const int labels[2] = {2, 0};
    float grad[8];
    double loss;
    EXPECT_OK(classify_loss(logits, labels, 2, 4, grad, &loss));
    EXPECT_NEAR(loss, log(4.0), 1e-15);
    const float want[8] = {0.125f, 0.125f, -0.375f, 0.125f, -0.375f, 0.125f, 0.125f, 0.125f};
    for (int i = 0; i < 8; i++) EXPECT(grad[i] == want[i]);
    // A large logit does not overflow: the loss of a confident right answer is ~0, of a confident
    // wrong one the logit gap.
    const float sure[3] = {1000.0f, 0.0f, 0.0f};
    EXPECT_OK(classify_loss(sure, &(int){0}, 1, 3, NULL, &loss));
    EXPECT(loss >= 0.0 && loss < 1e-300);
    EXPECT_OK(classify_loss(sure, &(int){1}, 1, 3, NULL, &loss));
    EXPECT_NEAR(loss, 1000.0, 1e-9);
}

TEST(classify_loss_rejects_bad_inputs) {
    const float logits[3] = {0, 1, 2};
    double loss;
    EXPECT_FAILS_WITH(classify_loss(logits, &(int){3}, 1, 3, NULL, &loss), "image 0 of the batch has class 3, outside 0..2");
    EXPECT_FAILS_WITH(classify_loss(logits, &(int){-1}, 1, 3, NULL, &loss), "has class -1");
    EXPECT_FAILS_WITH(classify_loss(logits, &(int){0}, 0, 3, NULL, &loss), "batch 0 and nc 3 must be >= 1");
}

// The analytic gradient against central differences of the loss, every logit of a batch of 3
// over 7 classes with logits drawn in [-4, 4).
TEST(classify_loss_gradient_matches_finite_differences) {
    enum { B = 3, NCLS = 7 };
    float logits[B * NCLS], grad[B * NCLS];
    const int labels[B] = {6, 0, 3};
    for (int i = 0; i < B * NCLS; i++) logits[i] = 8.0f * rng_uniform(17, rng_stream(RNG_TEST, 7, 0), (uint64_t)i) - 4.0f;
    double loss;
    EXPECT_OK(classify_loss(logits, labels, B, NCLS, grad, &loss));
    double worst = 0.0, largest = 0.0;
    for (int i = 0; i < B * NCLS; i++) {
        float x = logits[i], up = x + 1e-2f, down = x - 1e-2f;
        double lu, ld;
        logits[i] = up;
        EXPECT_OK(classify_loss(logits, labels, B, NCLS, NULL, &lu));
        logits[i] = down;
        EXPECT_OK(classify_loss(logits, labels, B, NCLS, NULL, &ld));
        logits[i] = x;
        double fd = (lu - ld) / ((double)up - down);
        worst = fmax(worst, fabs(fd - grad[i]));
        largest = fmax(largest, fabs(grad[i]));
    }
    // The step's truncation error is ~h^2/6 times the third derivative, below 1e-5 here; float
    // rounding of the gradient 1e-8. A wrong sign, factor or class gives 1e-2 or more.
    if (!(worst <= 1e-4 * largest))
        test_fail(__FILE__, __LINE__, "gradient differs from finite differences by %.3g (largest gradient %.3g)", worst, largest);
}

// Six images over 6 classes (top5 is the best five) counted by hand:
//   image 0, label 2: highest score          -> top1, top5
//   image 1, label 0: 2nd highest            -> top5
//   image 2, label 5: 5th highest            -> top5
//   image 3, label 1: 6th highest (lowest)   -> neither
//   image 4, label 3: tied for 1st with class 1; class 1 sorts first -> top5 only
//   image 5, label 1: tied for 1st with class 3; class 1 sorts first -> top1, top5
// top1 = 2/6, top5 = 5/6, fitness = 7/12.
TEST(classify_metrics_count_top1_and_top5_by_hand) {
    const float scores[6][6] = {
        {0.1f, 0.2f, 0.9f, 0.0f, 0.3f, 0.4f},  {0.8f, 0.1f, 0.2f, 0.9f, 0.3f, 0.4f},
        {0.6f, 0.5f, 0.4f, 0.3f, 0.2f, 0.25f}, {0.6f, -1.0f, 0.4f, 0.3f, 0.2f, 0.1f},
        {0.1f, 0.7f, 0.2f, 0.7f, 0.3f, 0.4f},  {0.1f, 0.7f, 0.2f, 0.7f, 0.3f, 0.4f},
    };
    const int labels[6] = {2, 0, 5, 1, 3, 1};
    EXPECT(classify_rank(scores[0], 6, 2) == 0);
    EXPECT(classify_rank(scores[1], 6, 0) == 1);
    EXPECT(classify_rank(scores[2], 6, 5) == 4);
    EXPECT(classify_rank(scores[3], 6, 1) == 5);
    EXPECT(classify_rank(scores[4], 6, 3) == 1);
    EXPECT(classify_rank(scores[5], 6, 1) == 0);
    ClassifyMetrics m;
    EXPECT_OK(classify_metrics_init(&m, 6));
    EXPECT(m.topk == 5);
    EXPECT_OK(classify_metrics_add(&m, &scores[0][0], labels, 4)); // two batches add up
    EXPECT_OK(classify_metrics_add(&m, &scores[4][0], labels + 4, 2));
    double top1, top5, fitness;
    classify_metrics_summary(&m, &top1, &top5, &fitness);
    EXPECT(m.images == 6 && m.top1 == 2 && m.top5 == 5);
    EXPECT_NEAR(top1, 2.0 / 6.0, 1e-15);
    EXPECT_NEAR(top5, 5.0 / 6.0, 1e-15);
    EXPECT_NEAR(fitness, 7.0 / 12.0, 1e-15);
    // Per class: class 1 has images 3 (wrong) and 5 (right).
    EXPECT(m.class_images[1] == 2 && m.class_top1[1] == 1 && m.class_top5[1] == 1);
    EXPECT(m.class_images[4] == 0);
    EXPECT_FAILS_WITH(classify_metrics_add(&m, &scores[0][0], &(int){6}, 1), "has class 6, outside 0..5");
    classify_metrics_reset(&m);
    classify_metrics_summary(&m, &top1, &top5, &fitness);
    EXPECT(m.images == 0 && top1 == 0.0 && top5 == 0.0 && m.class_images[1] == 0);
    classify_metrics_free(&m);
}

// Fewer than five classes: top5 is top-nc, which every image passes. NaN scores never count.
TEST(classify_metrics_with_few_classes_and_nan) {
    ClassifyMetrics m;
    EXPECT_OK(classify_metrics_init(&m, 3));
    EXPECT(m.topk == 3);
    const float scores[3][3] = {{0.0f, 1.0f, 2.0f}, {NAN, 1.0f, 2.0f}, {0.0f, NAN, 2.0f}};
    const int labels[3] = {0, 2, 1};
    EXPECT_OK(classify_metrics_add(&m, &scores[0][0], labels, 3));
    // Image 0: last of 3, in top-3. Image 1: the NaN ranks first, the label second. Image 2: the
    // label's own NaN is last (rank nc), outside even top-nc.
    EXPECT(classify_rank(scores[1], 3, 2) == 1 && classify_rank(scores[2], 3, 1) == 3);
    EXPECT(m.top1 == 0 && m.top5 == 2);
    classify_metrics_free(&m);
    EXPECT_FAILS_WITH(classify_metrics_init(&m, 0), "nc 0 must be >= 1");
}
