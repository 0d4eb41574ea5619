// The optimizers, clipping, LR schedule and EMA against Ultralytics 8.3.127 on PyTorch 1.13.
// tests/fixtures/optim.safetensors (scripts/reference/make_optim_fixtures.py) holds a few training
// steps of Ultralytics' own code on a tiny conv-BN-conv network; the replay tests run the same
// steps through our functions and require the same bits. The other tests check the rules by hand
// and against the reference values stored in the fixture's metadata.
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/optimizer.h"
#include "io/safetensors.h"
#include "nn/model.h"
#include "test.h"

#define FIXTURE "tests/fixtures/optim.safetensors"

static const char *metadata(const SafeTensors *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *metadata(const SafeTensors *st, const char *fmt, ...) {
    char key[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(key, sizeof key, fmt, ap);
    va_end(ap);
    const char *text = safetensors_metadata(st, key);
    if (!text) test_fail(__FILE__, __LINE__, "%s: no metadata \"%s\"", FIXTURE, key);
    return text ? text : "nan";
}

// Python reprs are the shortest strings that read back as the same double.
static double metadata_double(const SafeTensors *st, const char *key) { return strtod(metadata(st, "%s", key), NULL); }

// The network of make_optim_fixtures.py: conv(5->21, 3x3, no bias) -> BN -> conv(21->19, 1x1, bias),
// and a frozen parameter standing for DFL's weights.
static Graph *tiny_net(Backend *b, int slots) {
    Graph *g = graph_create(b);
    int x = graph_input(g, "images", shape_nchw(1, 5, 4, 4), false);
    OpParams c3 = {.conv = {.cout = 21, .kh = 3, .kw = 3, .sh = 1, .sw = 1, .ph = 1, .pw = 1, .dh = 1, .dw = 1, .groups = 1}};
    OpParams c1 = {.conv = {.cout = 19, .kh = 1, .kw = 1, .sh = 1, .sw = 1, .dh = 1, .dw = 1, .groups = 1, .has_bias = 1}};
    OpParams bn = {.bn = {.eps = 1e-5f, .momentum = 0.1f}};
    int h = graph_op(g, OP_CONV2D, &c3, &x, 1, "model.0.conv");
    h = graph_op(g, OP_BATCHNORM2D, &bn, &h, 1, "model.0.bn");
    h = graph_op(g, OP_CONV2D, &c1, &h, 1, "model.1");
    int frozen = graph_param(g, "model.2.conv.weight", shape_nchw(1, 16, 1, 1), false);
    if (h < 0 || frozen < 0 || graph_plan(g, slots) != 0) {
        test_fail(__FILE__, __LINE__, "building the test network: %s", yolo_error());
        yolo_error_clear();
        graph_destroy(g);
        return NULL;
    }
    return g;
}

// Copies "<prefix><name>" into value `name` of the graph (its data, or its gradient).
static void load(Graph *g, const SafeTensors *st, const char *prefix, const char *name, bool grad) {
    char key[160];
    snprintf(key, sizeof key, "%s%s", prefix, name);
    const StTensor *t = safetensors_find(st, key);
    int id = graph_find(g, name);
    if (!t || id < 0 || t->numel != tensor_numel(&g->values[id].data)) {
        test_fail(__FILE__, __LINE__, "%s: %s missing or not the size of %s", FIXTURE, key, name);
        return;
    }
    safetensors_copy_f32(t, grad ? g->values[id].grad.data : g->values[id].data.data);
}

// Counts the elements of got that differ in any bit from the fixture's tensor `key`, and reports
// the largest relative difference among them.
static int64_t count_differences(const SafeTensors *st, const char *key, const float *got, int64_t n, double *worst) {
    const StTensor *t = safetensors_find(st, key);
    if (!t || t->numel != n) {
        test_fail(__FILE__, __LINE__, "%s: %s missing or of the wrong size", FIXTURE, key);
        return n;
    }
    float *want = malloc((size_t)n * sizeof *want);
    if (!want) return n;
    safetensors_copy_f32(t, want);
    int64_t differ = 0;
    for (int64_t i = 0; i < n; i++)
        if (memcmp(&want[i], &got[i], sizeof(float)) != 0) {
            differ++;
            double rel = fabs((double)got[i] - want[i]) / fmax(fabs((double)want[i]), 1e-30);
            if (rel > *worst) *worst = rel;
        }
    free(want);
    return differ;
}

static const char *const TRAINABLE[] = {"model.0.conv.weight", "model.0.bn.weight", "model.0.bn.bias", "model.1.weight", "model.1.bias"};
static const char *const STATE[] = {"model.0.conv.weight", "model.0.bn.weight", "model.0.bn.bias", "model.0.bn.running_mean",
                                    "model.0.bn.running_var", "model.1.weight", "model.1.bias", "model.2.conv.weight"};
enum { N_TRAINABLE = sizeof TRAINABLE / sizeof *TRAINABLE, N_STATE = sizeof STATE / sizeof *STATE };

// Replays the fixture's run for one optimizer (key "sgd", "adam" or "adamw"): per iteration the
// epoch's schedule, warmup, the gradients, clipping, the step and (for SGD) the EMA, exactly as
// Ultralytics' trainer orders them, comparing every group hyperparameter, norm, parameter and
// EMA entry with PyTorch's.
static void replay(const char *key, OptimKind kind, bool with_ema) {
    SafeTensors st;
    if (safetensors_load(FIXTURE, &st) != 0) {
        test_fail(__FILE__, __LINE__, "%s", yolo_error());
        yolo_error_clear();
        return;
    }
    Backend *b = backend_cpu_create(1);
    Graph *g = tiny_net(b, optimizer_slots(kind));
    if (!g) {
        backend_destroy(b);
        safetensors_free(&st);
        return;
    }
    const int epochs = atoi(metadata(&st, "epochs")), nb = atoi(metadata(&st, "nb"));
    const int nw = atoi(metadata(&st, "nw")), steps = atoi(metadata(&st, "steps"));
    const double lrf = metadata_double(&st, "lrf"), momentum = metadata_double(&st, "momentum");
    for (int i = 0; i < N_STATE; i++) load(g, &st, "init.", STATE[i], false);

    Optimizer o;
    Ema ema = {0};
    EXPECT_OK(optimizer_init(&o, g, kind, metadata_double(&st, "lr0"), momentum, metadata_double(&st, "weight_decay")));
    if (with_ema) {
        EXPECT_OK(ema_init(&ema, g));
        ema.updates = atoi(metadata(&st, "ema_updates0"));
    }
    float norms[16] = {0};
    char name[160];
    snprintf(name, sizeof name, "%s.norm", key);
    const StTensor *norm_t = safetensors_find(&st, name);
    if (norm_t && norm_t->numel == steps && steps <= 16) safetensors_copy_f32(norm_t, norms);
    else test_fail(__FILE__, __LINE__, "%s: no %s", FIXTURE, name);

    int64_t param_diffs = 0, ema_diffs = 0, param_total = 0;
    double worst_param = 0, worst_ema = 0;
    for (int ni = 0; ni < steps; ni++) {
        const int epoch = ni / nb;
        const double lf = schedule_lf(epoch, epochs, lrf, false);
        if (ni % nb == 0) schedule_epoch(&o, lf);
        schedule_warmup(&o, ni, nw, lf, metadata_double(&st, "warmup_bias_lr"), metadata_double(&st, "warmup_momentum"), momentum);
        // Group hyperparameters: Ultralytics' values to the bit.
        const char *lrs = metadata(&st, "%s.lr.%d", key, ni);
        const double want_momentum = strtod(metadata(&st, "%s.momentum.%d", key, ni), NULL);
        for (int k = 0; k < OPTIM_GROUPS; k++) {
            char *end;
            double want = strtod(lrs, &end);
            lrs = end;
            if (o.group[k].lr != want) test_fail(__FILE__, __LINE__, "%s step %d group %d: lr %.17g, Ultralytics %.17g", key, ni, k, o.group[k].lr, want);
            if (o.group[k].momentum != want_momentum)
                test_fail(__FILE__, __LINE__, "%s step %d group %d: momentum %.17g, Ultralytics %.17g", key, ni, k, o.group[k].momentum, want_momentum);
        }
        // Forward's BN statistics, then the gradients.
        snprintf(name, sizeof name, "stats.%d.", ni);
        load(g, &st, name, "model.0.bn.running_mean", false);
        load(g, &st, name, "model.0.bn.running_var", false);
        snprintf(name, sizeof name, "grad.%d.", ni);
        for (int i = 0; i < N_TRAINABLE; i++) load(g, &st, name, TRAINABLE[i], true);

        double norm = optimizer_clip_grad_norm(g, 10.0);
        // Our norm sums in double; PyTorch's float reductions may land a rounding or two away
        // (here at the unclipped steps 2 and 4). At the clipped steps 1, 3 and 5 of this fixture
        // they agree, so the scaled gradients, and everything after, can be compared bit for bit;
        // elsewhere the clip coefficient may differ by one rounding.
        EXPECT_NEAR(norm / norms[ni], 1.0, 1e-6);
        optimizer_step(&o, g);
        graph_clear_param_grads(g);
        if (with_ema) ema_update(&ema, g);

        for (int i = 0; i < N_TRAINABLE; i++) {
            const Value *v = &g->values[graph_find(g, TRAINABLE[i])];
            snprintf(name, sizeof name, "%s.%d.%s", key, ni, TRAINABLE[i]);
            param_diffs += count_differences(&st, name, v->data.data, tensor_numel(&v->data), &worst_param);
            param_total += tensor_numel(&v->data);
        }
        for (int i = 0; with_ema && i < N_STATE; i++) {
            const Value *v = &g->values[graph_find(g, STATE[i])];
            snprintf(name, sizeof name, "%s.ema.%d.%s", key, ni, STATE[i]);
            ema_diffs += count_differences(&st, name, ema.values + v->data_offset / sizeof(float), tensor_numel(&v->data), &worst_ema);
        }
    }
    if (param_diffs)
        test_fail(__FILE__, __LINE__, "%s: %lld of %lld parameter values differ from PyTorch's (worst relative %.3g)", key,
                  (long long)param_diffs, (long long)param_total, worst_param);
    if (ema_diffs) test_fail(__FILE__, __LINE__, "%s: %lld EMA values differ from Ultralytics' (worst relative %.3g)", key, (long long)ema_diffs, worst_ema);
    // The frozen weight took no step.
    const Value *frozen = &g->values[graph_find(g, "model.2.conv.weight")];
    EXPECT(count_differences(&st, "init.model.2.conv.weight", frozen->data.data, 16, &worst_param) == 0);
    ema_free(&ema);
    optimizer_free(&o);
    graph_destroy(g);
    backend_destroy(b);
    safetensors_free(&st);
}

TEST(optim_sgd_nesterov_and_ema_match_pytorch) { replay("sgd", OPTIM_SGD, true); }
TEST(optim_adam_matches_pytorch) { replay("adam", OPTIM_ADAM, false); }
TEST(optim_adamw_matches_pytorch) { replay("adamw", OPTIM_ADAMW, false); }

TEST(optim_groups_on_yolov8n) {
    // Ultralytics logs "SGD(lr=0.01, momentum=0.9) with parameter groups 57 weight(decay=0.0),
    // 64 weight(decay=0.0005), 63 bias(decay=0.0)" for yolov8n; the 64 include DFL's frozen
    // weight, which takes no step (no .grad) and which our groups leave out.
    Backend *b = backend_cpu_create(1);
    Graph *g = graph_create(b);
    ModelDef def;
    Model m;
    EXPECT_OK(model_yaml_load("yolov8n.yaml", "configs/models", &def));
    EXPECT_OK(model_build(g, &def, &(ModelOptions){.nc = 80, .batch = 1, .imgsz = 64}, &m));
    EXPECT_OK(graph_plan(g, 1));
    Optimizer o;
    EXPECT_FAILS_WITH(optimizer_init(&o, g, OPTIM_ADAMW, 0.001, 0.9, 5e-4), "planned with 1 optimizer slots, this optimizer needs 2");
    EXPECT_FAILS_WITH(optimizer_init(&o, g, OPTIM_SGD, 0.01, 0.0, 5e-4), "needs momentum > 0");
    EXPECT_OK(optimizer_init(&o, g, OPTIM_SGD, 0.01, 0.9, 5e-4));
    EXPECT(o.n_params[0] == 63 && o.n_params[1] == 63 && o.n_params[2] == 57);
    // Sizes as PyTorch counts them for the trainable members of each group.
    const int64_t want_numel[OPTIM_GROUPS] = {5728, 3146160, 5296};
    for (int k = 0; k < OPTIM_GROUPS; k++) {
        int64_t numel = 0;
        for (int j = 0; j < o.n_params[k]; j++) {
            const Value *v = &g->values[o.params[k][j]];
            numel += tensor_numel(&v->data);
            const char *dot = strrchr(v->name, '.');
            if (k == 0) EXPECT(strcmp(dot, ".bias") == 0);
            if (k == 1) EXPECT(strcmp(dot, ".weight") == 0 && !strstr(v->name, ".bn."));
            if (k == 2) EXPECT(strstr(v->name, ".bn.weight") != NULL);
            EXPECT(v->needs_grad);
        }
        if (numel != want_numel[k]) test_fail(__FILE__, __LINE__, "group %d holds %lld values, want %lld", k, (long long)numel, (long long)want_numel[k]);
    }
    for (int k = 0; k < OPTIM_GROUPS; k++)
        for (int j = 0; j < o.n_params[k]; j++) EXPECT(o.params[k][j] != m.dfl);
    EXPECT(o.group[0].weight_decay == 0 && o.group[1].weight_decay == 5e-4 && o.group[2].weight_decay == 0);
    for (int k = 0; k < OPTIM_GROUPS; k++) EXPECT(o.group[k].initial_lr == 0.01 && o.group[k].lr == 0.01);
    optimizer_free(&o);
    model_def_free(&def);
    graph_destroy(g);
    backend_destroy(b);
}

TEST(optim_resolve_auto_and_names) {
    SafeTensors st;
    if (safetensors_load(FIXTURE, &st) != 0) {
        test_fail(__FILE__, __LINE__, "%s", yolo_error());
        yolo_error_clear();
        return;
    }
    const int ncs[] = {1, 3, 7, 80, 1000};
    for (size_t i = 0; i < sizeof ncs / sizeof *ncs; i++)
        for (int64_t iterations = 10000; iterations <= 10001; iterations++) {
            double lr0 = 0.01, momentum = 0.937, warmup_bias_lr = 0.1;
            OptimKind kind;
            EXPECT_OK(optimizer_resolve("auto", iterations, ncs[i], &lr0, &momentum, &warmup_bias_lr, &kind));
            char want_name[16];
            double want_lr, want_momentum, want_wbl;
            const char *text = metadata(&st, "auto.%d.%lld", ncs[i], (long long)iterations);
            if (sscanf(text, "%15s %lf %lf %lf", want_name, &want_lr, &want_momentum, &want_wbl) != 4) continue;
            EXPECT(kind == (strcmp(want_name, "SGD") == 0 ? OPTIM_SGD : OPTIM_ADAMW));
            if (lr0 != want_lr) test_fail(__FILE__, __LINE__, "auto nc=%d: lr0 %.17g, Ultralytics %.17g", ncs[i], lr0, want_lr);
            EXPECT(momentum == want_momentum && warmup_bias_lr == want_wbl);
        }
    double lr0 = 0.01, momentum = 0.937, warmup_bias_lr = 0.1;
    OptimKind kind;
    EXPECT_OK(optimizer_resolve("auto", 10000, 80, &lr0, &momentum, &warmup_bias_lr, &kind));
    EXPECT(kind == OPTIM_ADAMW && lr0 == 0.000119 && momentum == 0.9 && warmup_bias_lr == 0.0);
    EXPECT_OK(optimizer_resolve("auto", 10001, 80, &lr0, &momentum, &warmup_bias_lr, &kind));
    EXPECT(kind == OPTIM_SGD && lr0 == 0.01 && momentum == 0.9);
    // Named optimizers keep the user's values; Ultralytics folds their case.
    lr0 = 0.02, momentum = 0.95, warmup_bias_lr = 0.1;
    EXPECT_OK(optimizer_resolve("sgd", 5, 80, &lr0, &momentum, &warmup_bias_lr, &kind));
    EXPECT(kind == OPTIM_SGD && lr0 == 0.02 && momentum == 0.95 && warmup_bias_lr == 0.1);
    EXPECT_OK(optimizer_resolve("ADAMW", 5, 80, &lr0, &momentum, &warmup_bias_lr, &kind));
    EXPECT(kind == OPTIM_ADAMW);
    EXPECT_OK(optimizer_resolve("Adam", 5, 80, &lr0, &momentum, &warmup_bias_lr, &kind));
    EXPECT(kind == OPTIM_ADAM);
    // Ultralytics tests "auto" before folding case, so "Auto" is no optimizer there either.
    EXPECT_FAILS_WITH(optimizer_resolve("Auto", 5, 80, &lr0, &momentum, &warmup_bias_lr, &kind), "unknown optimizer=Auto");
    EXPECT_FAILS_WITH(optimizer_resolve("RMSProp", 5, 80, &lr0, &momentum, &warmup_bias_lr, &kind), "not implemented");
    safetensors_free(&st);
}

// A one-parameter network for hand-checked steps: a linear layer's weight.
static Graph *one_weight(Backend *b, int slots, int n) {
    Graph *g = graph_create(b);
    int x = graph_input(g, "x", shape_2d(1, n), false);
    int y = graph_op(g, OP_LINEAR, &(OpParams){.linear = {.out_features = 1}}, &x, 1, "fc");
    if (y < 0 || graph_plan(g, slots) != 0) {
        test_fail(__FILE__, __LINE__, "building a linear layer: %s", yolo_error());
        yolo_error_clear();
        graph_destroy(g);
        return NULL;
    }
    return g;
}

TEST(optim_adam_bias_correction_steps_1_to_5) {
    // With a constant gradient, bias correction makes every Adam step lr * g / (|g| + eps'): the
    // full lr from the first step on. Without it the first step would be lr * 0.1 / sqrt(0.001).
    Backend *b = backend_cpu_create(1);
    Graph *g = one_weight(b, 2, 4);
    if (!g) {
        backend_destroy(b);
        return;
    }
    Tensor *w = &g->values[graph_find(g, "fc.weight")].data, *gw = &g->values[graph_find(g, "fc.weight")].grad;
    const float grads[4] = {0.5f, -2.0f, 1e-3f, 0.0f};
    Optimizer o;
    EXPECT_OK(optimizer_init(&o, g, OPTIM_ADAM, 0.01, 0.9, 0.0));
    for (int step = 1; step <= 5; step++) {
        float before[4];
        memcpy(before, w->data, sizeof before);
        memcpy(gw->data, grads, sizeof grads);
        optimizer_step(&o, g);
        EXPECT(o.steps == step);
        for (int i = 0; i < 4; i++) {
            double want = grads[i] == 0 ? 0.0 : (grads[i] > 0 ? -0.01 : 0.01);
            EXPECT_NEAR(w->data[i] - before[i], want, 2e-7);
        }
    }
    optimizer_free(&o);
    graph_destroy(g);
    backend_destroy(b);
}

TEST(optim_adamw_decay_is_decoupled) {
    // Zero gradients: AdamW only shrinks the weights by (1 - lr*wd), rounded as PyTorch's float
    // multiply; Adam's L2 decay instead feeds wd*w through the moments, a step of about lr.
    Backend *b = backend_cpu_create(1);
    for (int adamw = 0; adamw <= 1; adamw++) {
        Graph *g = one_weight(b, 2, 3);
        if (!g) continue;
        Tensor *w = &g->values[graph_find(g, "fc.weight")].data;
        const float start[3] = {1.5f, -0.25f, 3.0f};
        memcpy(w->data, start, sizeof start);
        Optimizer o;
        EXPECT_OK(optimizer_init(&o, g, adamw ? OPTIM_ADAMW : OPTIM_ADAM, 0.1, 0.9, 0.05));
        EXPECT(o.n_params[1] == 1);
        optimizer_step(&o, g);
        for (int i = 0; i < 3; i++) {
            if (adamw) EXPECT(w->data[i] == start[i] * (float)(1 - 0.1 * 0.05));
            else EXPECT_NEAR(w->data[i], start[i] - (start[i] > 0 ? 0.1 : -0.1), 1e-6);
        }
        optimizer_free(&o);
        graph_destroy(g);
    }
    backend_destroy(b);
}

TEST(optim_clip_grad_norm) {
    Backend *b = backend_cpu_create(1);
    Graph *g = tiny_net(b, 1);
    if (!g) {
        backend_destroy(b);
        return;
    }
    // Gradients 3 and 4 in two tensors: norm 5. The frozen weight has no gradient to count.
    graph_clear_param_grads(g);
    Tensor *gw = &g->values[graph_find(g, "model.0.conv.weight")].grad;
    Tensor *gb = &g->values[graph_find(g, "model.1.bias")].grad;
    gw->data[7] = 3.0f;
    gb->data[2] = -4.0f;
    EXPECT(optimizer_clip_grad_norm(g, 10.0) == 5.0);
    EXPECT(gw->data[7] == 3.0f && gb->data[2] == -4.0f); // below max_norm: untouched
    EXPECT(optimizer_clip_grad_norm(g, 5.0) == 5.0);      // coefficient 5/(5+1e-6) < 1: scaled
    const float coef = (1.0f / (5.0f + 1e-6f)) * 5.0f;
    EXPECT(coef < 1.0f && gw->data[7] == 3.0f * coef && gb->data[2] == -4.0f * coef);
    EXPECT_NEAR(optimizer_clip_grad_norm(g, 1.0), 5.0, 1e-5);
    EXPECT_NEAR(gw->data[7], 0.6, 1e-6);
    EXPECT_NEAR(gb->data[2], -0.8, 1e-6);
    // A NaN gradient makes every gradient NaN, as PyTorch's clamp keeps the NaN coefficient.
    gw->data[0] = NAN;
    EXPECT(isnan(optimizer_clip_grad_norm(g, 10.0)));
    EXPECT(isnan(gb->data[2]) && isnan(gb->data[0]));
    graph_destroy(g);
    backend_destroy(b);
}

TEST(optim_schedule_lf) {
    EXPECT(schedule_lf(0, 100, 0.01, false) == 1.0);
    EXPECT(schedule_lf(100, 100, 0.01, false) == 0.01);
    EXPECT_NEAR(schedule_lf(99, 100, 0.01, false), 0.0199, 1e-15); // the last epoch's lr is lr0 * 0.0199
    EXPECT(schedule_lf(0, 100, 0.01, true) == 1.0);
    EXPECT_NEAR(schedule_lf(100, 100, 0.01, true), 0.01, 1e-15);
    EXPECT_NEAR(schedule_lf(50, 100, 0.01, true), 0.505, 1e-15);
    EXPECT(schedule_lf(150, 100, 0.01, false) == 0.01); // max(1 - e/E, 0) holds past the end
    SafeTensors st;
    if (safetensors_load(FIXTURE, &st) != 0) {
        test_fail(__FILE__, __LINE__, "%s", yolo_error());
        yolo_error_clear();
        return;
    }
    const int epochs[] = {0, 1, 37, 50, 99, 100};
    for (size_t i = 0; i < sizeof epochs / sizeof *epochs; i++)
        for (int cosine = 0; cosine <= 1; cosine++) {
            double want = strtod(metadata(&st, "lf.%s.%d", cosine ? "cosine" : "linear", epochs[i]), NULL);
            double got = schedule_lf(epochs[i], 100, 0.01, cosine);
            if (got != want) test_fail(__FILE__, __LINE__, "lf(%d) %s: %.17g, Ultralytics %.17g", epochs[i], cosine ? "cosine" : "linear", got, want);
        }
    safetensors_free(&st);
}

TEST(optim_warmup_interpolation) {
    Optimizer o = {.kind = OPTIM_SGD};
    for (int k = 0; k < OPTIM_GROUPS; k++) o.group[k].initial_lr = 0.01;
    const int64_t nw = 300;
    const double lf = 0.5; // target lr 0.005
    schedule_warmup(&o, 0, nw, lf, 0.1, 0.8, 0.937);
    EXPECT(o.group[0].lr == 0.1 && o.group[1].lr == 0.0 && o.group[2].lr == 0.0 && o.group[1].momentum == 0.8);
    schedule_warmup(&o, nw / 2, nw, lf, 0.1, 0.8, 0.937);
    EXPECT_NEAR(o.group[0].lr, 0.0525, 1e-15);
    EXPECT_NEAR(o.group[2].lr, 0.0025, 1e-15);
    EXPECT_NEAR(o.group[1].momentum, 0.8685, 1e-15);
    schedule_warmup(&o, nw, nw, lf, 0.1, 0.8, 0.937);
    for (int k = 0; k < OPTIM_GROUPS; k++) EXPECT(o.group[k].lr == 0.005 && o.group[k].momentum == 0.937);
    // Beyond warmup nothing changes (the epoch's schedule_epoch owns the lr).
    for (int k = 0; k < OPTIM_GROUPS; k++) o.group[k].lr = o.group[k].momentum = 42;
    schedule_warmup(&o, nw + 1, nw, lf, 0.1, 0.8, 0.937);
    schedule_warmup(&o, 5, -1, lf, 0.1, 0.8, 0.937); // warmup_epochs 0
    for (int k = 0; k < OPTIM_GROUPS; k++) EXPECT(o.group[k].lr == 42 && o.group[k].momentum == 42);
    schedule_epoch(&o, 0.25);
    for (int k = 0; k < OPTIM_GROUPS; k++) EXPECT(o.group[k].lr == 0.0025);
    // Adam groups have no momentum key: beta1 stays.
    o.kind = OPTIM_ADAMW;
    schedule_warmup(&o, 10, nw, lf, 0.0, 0.8, 0.937);
    EXPECT(o.group[1].momentum == 42 && o.group[0].lr < 0.005);
}

TEST(optim_accumulate_and_warmup_length) {
    SafeTensors st;
    if (safetensors_load(FIXTURE, &st) != 0) {
        test_fail(__FILE__, __LINE__, "%s", yolo_error());
        yolo_error_clear();
        return;
    }
    const int batches[] = {16, 24, 48, 5, 128}, nis[] = {0, 1, 37, 150, 225, 299, 300};
    for (size_t i = 0; i < sizeof batches / sizeof *batches; i++)
        for (size_t j = 0; j < sizeof nis / sizeof *nis; j++) {
            int want = atoi(metadata(&st, "accumulate.%d.%d", batches[i], nis[j]));
            int got = schedule_accumulate(nis[j], 300, 64, batches[i]);
            if (got != want) test_fail(__FILE__, __LINE__, "accumulate(ni %d, batch %d) = %d, Ultralytics %d", nis[j], batches[i], got, want);
        }
    // interp(150, [0, 300], [1, 4]) = 2.5 rounds to even 2; (37: 1.37 -> 1; 225: 3.25 -> 3).
    EXPECT(schedule_accumulate(150, 300, 64, 16) == 2);
    EXPECT(schedule_accumulate(0, 300, 64, 16) == 1);
    EXPECT(schedule_accumulate(300, 300, 64, 16) == 4);
    EXPECT(schedule_accumulate(301, 300, 64, 16) == 4);  // after warmup: round(nbs / batch)
    EXPECT(schedule_accumulate(301, 300, 64, 128) == 1); // max(round(0.5), 1)
    EXPECT(schedule_accumulate(301, 300, 64, 48) == 1);  // round(1.33)
    EXPECT(schedule_accumulate(7, -1, 64, 24) == 3);     // no warmup: round(2.67)

    const struct { double epochs; int nb; } cases[] = {{3.0, 10}, {3.0, 50}, {2.5, 41}, {2.5, 43}, {0.5, 201}, {0.0, 50}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        long long want = atoll(metadata(&st, "nw.%.1f.%d", cases[i].epochs, cases[i].nb));
        long long got = (long long)schedule_warmup_iters(cases[i].epochs, cases[i].nb);
        if (got != want) test_fail(__FILE__, __LINE__, "warmup(%g epochs, nb %d) = %lld, Ultralytics %lld", cases[i].epochs, cases[i].nb, got, want);
    }
    EXPECT(schedule_warmup_iters(2.5, 41) == 102); // round(102.5): halves to even
    safetensors_free(&st);
}

TEST(optim_ema_ramp_and_buffers) {
    SafeTensors st;
    if (safetensors_load(FIXTURE, &st) != 0) {
        test_fail(__FILE__, __LINE__, "%s", yolo_error());
        yolo_error_clear();
        return;
    }
    Backend *b = backend_cpu_create(1);
    Graph *g = tiny_net(b, 0);
    if (!g) {
        backend_destroy(b);
        safetensors_free(&st);
        return;
    }
    for (int i = 0; i < g->n_values; i++)
        if (g->values[i].kind == VALUE_PARAM || g->values[i].kind == VALUE_BUFFER)
            for (int64_t k = 0; k < tensor_numel(&g->values[i].data); k++) g->values[i].data.data[k] = 1.0f;
    Ema e;
    EXPECT_OK(ema_init(&e, g));
    EXPECT(e.updates == 0 && e.decay == 0.9999 && e.tau == 2000);
    const int64_t updates[] = {1, 100, 2000, 10000};
    for (size_t i = 0; i < sizeof updates / sizeof *updates; i++) {
        double want = strtod(metadata(&st, "ema.d.%lld", (long long)updates[i]), NULL);
        if (ema_decay_at(&e, updates[i]) != want)
            test_fail(__FILE__, __LINE__, "d(%lld) = %.17g, Ultralytics %.17g", (long long)updates[i], ema_decay_at(&e, updates[i]), want);
    }
    EXPECT_NEAR(ema_decay_at(&e, 2000), 0.9999 * (1 - exp(-1.0)), 1e-15);
    // Every float of the state is averaged, the BN running statistics and the frozen weight too.
    for (int i = 0; i < g->n_values; i++)
        if (g->values[i].kind == VALUE_PARAM || g->values[i].kind == VALUE_BUFFER)
            for (int64_t k = 0; k < tensor_numel(&g->values[i].data); k++) g->values[i].data.data[k] = 3.0f;
    e.updates = 1999;
    ema_update(&e, g);
    EXPECT(e.updates == 2000);
    const double d = ema_decay_at(&e, 2000);
    const float want = 1.0f * (float)d + 3.0f * (float)(1 - d);
    const char *names[] = {"model.0.bn.running_mean", "model.0.bn.running_var", "model.0.conv.weight", "model.2.conv.weight"};
    for (int i = 0; i < 4; i++) {
        const Value *v = &g->values[graph_find(g, names[i])];
        EXPECT(e.values[v->data_offset / sizeof(float)] == want);
    }
    EXPECT_NEAR(want, 1.7359, 1e-4);
    ema_free(&e);
    graph_destroy(g);
    backend_destroy(b);
    safetensors_free(&st);
}
