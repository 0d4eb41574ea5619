// The static graph: planning, forward/backward through several nodes, gradient accumulation.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "nn/graph.h"
#include "nn/reuse.h"
#include "test.h"

TEST(graph_forward_backward_through_shared_value) {
    // y = silu(x) + sigmoid(x): x feeds two consumers, so its gradient must accumulate both.
    Backend *b = backend_cpu_create(1);
    Graph *g = graph_create(b);
    int x = graph_input(g, "x", shape_nchw(1, 1, 1, 4), true);
    int s = graph_op(g, OP_SILU, &(OpParams){0}, &x, 1, "a");
    int t = graph_op(g, OP_SIGMOID, &(OpParams){0}, &x, 1, "b");
    int y = graph_op(g, OP_ADD, &(OpParams){0}, (int[]){s, t}, 2, "sum");
    EXPECT(y >= 0);
    EXPECT_OK(graph_plan(g, 0));
    float xs[4] = {-2.0f, -0.5f, 0.5f, 3.0f};
    memcpy(g->values[x].data.data, xs, sizeof xs);
    EXPECT_OK(graph_forward(g));
    graph_clear_activation_grads(g);
    for (int i = 0; i < 4; i++) g->values[y].grad.data[i] = 1.0f;
    EXPECT_OK(graph_backward(g));
    for (int i = 0; i < 4; i++) {
        double sg = 1.0 / (1.0 + exp(-xs[i]));
        EXPECT_NEAR(g->values[y].data.data[i], xs[i] * sg + sg, 1e-6);
        EXPECT_NEAR(g->values[x].grad.data[i], sg * (1 + xs[i] * (1 - sg)) + sg * (1 - sg), 1e-6);
    }
    graph_destroy(g);
    backend_destroy(b);
}

TEST(graph_rejects_parameter_as_input_and_late_nodes) {
    Backend *b = backend_cpu_create(1);
    Graph *g = graph_create(b);
    int x = graph_input(g, "x", shape_nchw(1, 2, 4, 4), false);
    OpParams conv = {.conv = {.cout = 2, .kh = 1, .kw = 1, .sh = 1, .sw = 1, .dh = 1, .dw = 1, .groups = 1}};
    graph_op(g, OP_CONV2D, &conv, &x, 1, "model.0.conv");
    int w = graph_find(g, "model.0.conv.weight");
    EXPECT(w >= 0 && g->values[w].kind == VALUE_PARAM);
    EXPECT_FAILS_WITH(graph_op(g, OP_SILU, &(OpParams){0}, &w, 1, "bad"), "is a parameter");
    graph_destroy(g);
    backend_destroy(b);
}

// A small network with every kind of wiring the YOLO models use: conv + BN + SiLU blocks, a
// channel split, a residual add, max-pool, upsample and concat. Returns the output value id.
static int build_mini_net(Graph *g, int batch, bool with_bn) {
    int x = graph_input(g, "images", shape_nchw(batch, 3, 8, 8), false);
    OpParams c3 = {.conv = {.cout = 8, .kh = 3, .kw = 3, .sh = 2, .sw = 2, .ph = 1, .pw = 1, .dh = 1, .dw = 1, .groups = 1}};
    OpParams c1 = {.conv = {.cout = 8, .kh = 1, .kw = 1, .sh = 1, .sw = 1, .dh = 1, .dw = 1, .groups = 1, .has_bias = 1}};
    OpParams bn = {.bn = {.eps = 1e-3f, .momentum = 0.03f}};
    OpParams none = {0};
    int h = graph_op(g, OP_CONV2D, &c3, &x, 1, "model.0.conv");
    if (with_bn) h = graph_op(g, OP_BATCHNORM2D, &bn, &h, 1, "model.0.bn");
    h = graph_op(g, OP_SILU, &none, &h, 1, "model.0.act");
    int a = graph_op(g, OP_SLICE, &(OpParams){.slice = {0, 4}}, &h, 1, "split.0");
    int b = graph_op(g, OP_SLICE, &(OpParams){.slice = {4, 8}}, &h, 1, "split.1");
    int sum = graph_op(g, OP_ADD, &none, (int[]){a, b}, 2, "residual");
    int pooled = graph_op(g, OP_MAXPOOL2D, &(OpParams){.pool = {.kh = 3, .kw = 3, .sh = 1, .sw = 1, .ph = 1, .pw = 1}}, &sum, 1, "pool");
    int down = graph_op(g, OP_MAXPOOL2D, &(OpParams){.pool = {.kh = 2, .kw = 2, .sh = 2, .sw = 2}}, &pooled, 1, "down");
    int up = graph_op(g, OP_UPSAMPLE_NEAREST, &(OpParams){.scale = 2}, &down, 1, "up");
    int cat = graph_op(g, OP_CONCAT, &none, (int[]){up, pooled}, 2, "cat");
    return graph_op(g, OP_CONV2D, &c1, &cat, 1, "model.1.conv");
}

static void fill_params(Graph *g, uint64_t seed) {
    for (int i = 0; i < g->n_values; i++) {
        Value *v = &g->values[i];
        if (v->kind != VALUE_PARAM) continue;
        for (int64_t k = 0; k < shape_numel(v->shape); k++)
            v->data.data[k] = 0.5f * (2.0f * rng_uniform(seed, rng_stream(RNG_TEST, (uint32_t)i, 0), (uint64_t)k) - 1.0f);
    }
}

static void fill_images(Graph *g, int input, int first_sample, uint64_t seed) {
    Value *v = &g->values[input];
    int64_t per = shape_numel(v->shape) / v->shape.dim[0];
    for (int64_t n = 0; n < v->shape.dim[0]; n++)
        for (int64_t k = 0; k < per; k++)
            v->data.data[n * per + k] = rng_uniform(seed, rng_stream(RNG_TEST, 100, (uint32_t)(first_sample + n)), (uint64_t)k);
}

// d(loss)/d(output) for sample rows [first, first + batch) of a fixed random tensor.
static void seed_output_grad(Graph *g, int out, int first_sample) {
    Value *v = &g->values[out];
    int64_t per = shape_numel(v->shape) / v->shape.dim[0];
    for (int64_t n = 0; n < v->shape.dim[0]; n++)
        for (int64_t k = 0; k < per; k++)
            v->grad.data[n * per + k] = 2.0f * rng_uniform(5, rng_stream(RNG_TEST, 200, (uint32_t)(first_sample + n)), (uint64_t)k) - 1.0f;
}

static int step(Graph *g, int out, int first_sample) {
    fill_images(g, 0, first_sample, 11);
    TRY(graph_forward(g));
    graph_clear_activation_grads(g);
    seed_output_grad(g, out, first_sample);
    return graph_backward(g);
}

TEST(graph_bits_do_not_depend_on_thread_count) {
    Graph *runs[2];
    Backend *backends[2];
    int outs[2];
    for (int t = 0; t < 2; t++) {
        backends[t] = backend_cpu_create(t + 1);
        runs[t] = graph_create(backends[t]);
        outs[t] = build_mini_net(runs[t], 3, true);
        bool ready = outs[t] >= 0 && graph_plan(runs[t], 1) == 0;
        if (ready) fill_params(runs[t], 3);
        if (!ready || step(runs[t], outs[t], 0) != 0) {
            test_fail(__FILE__, __LINE__, "%s", yolo_error());
            for (int k = 0; k <= t; k++) {
                graph_destroy(runs[k]);
                backend_destroy(backends[k]);
            }
            return;
        }
    }
    // Everything the step wrote: outputs, every gradient, BN running statistics.
    EXPECT(memcmp(runs[0]->activations.base, runs[1]->activations.base, runs[0]->activations.size) == 0);
    EXPECT(memcmp(runs[0]->activation_grads.base, runs[1]->activation_grads.base, runs[0]->activation_grads.size) == 0);
    EXPECT(memcmp(runs[0]->grads.base, runs[1]->grads.base, runs[0]->grads.size) == 0);
    EXPECT(memcmp(runs[0]->params.base, runs[1]->params.base, runs[0]->params.size) == 0);
    for (int t = 0; t < 2; t++) {
        graph_destroy(runs[t]);
        backend_destroy(backends[t]);
    }
}

// Without BN, each sample's loss depends on that sample only, so parameter gradients of a batch
// of 4 equal those of two batches of 2 accumulated into the same buffers. With BN in train mode
// they do not: the batch statistics couple the samples (see backend/cpu/batchnorm.c).
TEST(graph_micro_batches_accumulate_to_the_full_batch) {
    Backend *b = backend_cpu_create(2);
    Graph *full = graph_create(b), *half = graph_create(b);
    int out_full = build_mini_net(full, 4, false), out_half = build_mini_net(half, 2, false);
    if (out_full < 0 || out_half < 0 || graph_plan(full, 0) != 0 || graph_plan(half, 0) != 0) {
        test_fail(__FILE__, __LINE__, "%s", yolo_error());
        graph_destroy(full);
        graph_destroy(half);
        backend_destroy(b);
        return;
    }
    fill_params(full, 3);
    fill_params(half, 3);
    EXPECT_OK(step(full, out_full, 0));
    EXPECT_OK(step(half, out_half, 0));
    EXPECT_OK(step(half, out_half, 2));
    EXPECT(full->grads.size == half->grads.size);
    const float *gf = (const float *)full->grads.base, *gh = (const float *)half->grads.base;
    int bad = 0;
    for (size_t i = 0; i < full->grads.size / sizeof(float); i++)
        bad += !(fabsf(gf[i] - gh[i]) <= 1e-5f + 1e-5f * fabsf(gf[i]));
    EXPECT(bad == 0);
    graph_destroy(full);
    graph_destroy(half);
    backend_destroy(b);
}

static double weighted_output(Graph *g, int out) {
    double sum = 0.0;
    Value *v = &g->values[out];
    for (int64_t k = 0; k < shape_numel(v->shape); k++) sum += (double)v->data.data[k] * v->grad.data[k];
    return sum;
}

// The graph's backward wiring (order, accumulation into shared values, parameter routing) checked
// by central differences on a sample of every parameter's elements.
TEST(graph_gradients_match_finite_differences) {
    Backend *b = backend_cpu_create(1);
    Graph *g = graph_create(b);
    int out = build_mini_net(g, 2, true);
    if (out < 0 || graph_plan(g, 0) != 0) {
        test_fail(__FILE__, __LINE__, "%s", yolo_error());
        graph_destroy(g);
        backend_destroy(b);
        return;
    }
    fill_params(g, 3);
    EXPECT_OK(step(g, out, 0));
    // Small: a BN weight moves a whole channel, and a larger step lets max-pool windows change
    // their winner (a kink), which is not what this test is about.
    const float eps = 1e-3f;
    for (int i = 0; i < g->n_values; i++) {
        Value *v = &g->values[i];
        if (v->kind != VALUE_PARAM) continue;
        int64_t n = shape_numel(v->shape);
        for (int64_t k = 0; k < n; k += 1 + n / 5) {
            float keep = v->data.data[k];
            v->data.data[k] = keep + eps;
            EXPECT_OK(graph_forward(g));
            double plus = weighted_output(g, out);
            v->data.data[k] = keep - eps;
            EXPECT_OK(graph_forward(g));
            double minus = weighted_output(g, out);
            v->data.data[k] = keep;
            double numeric = (plus - minus) / (2.0 * eps);
            if (!(fabs(numeric - v->grad.data[k]) <= 5e-3 + 3e-2 * fabs(numeric)))
                test_fail(__FILE__, __LINE__, "%s[%lld]: numeric %.6g, analytic %.6g", v->name, (long long)k, numeric,
                          (double)v->grad.data[k]);
        }
    }
    graph_destroy(g);
    backend_destroy(b);
}

static void copy_params(Graph *to, const Graph *from) {
    EXPECT(to->params.size == from->params.size);
    if (to->params.size == from->params.size) memcpy(to->params.base, from->params.base, to->params.size);
}

// A forward-only plan shares activation memory yet computes the same bits as the training plan
// in eval mode; only the kept outputs survive the forward pass.
TEST(graph_inference_plan_reuses_memory_with_the_same_outputs) {
    Backend *b = backend_cpu_create(2);
    Graph *train = graph_create(b), *infer = graph_create(b);
    int out_t = build_mini_net(train, 3, true), out_i = build_mini_net(infer, 3, true);
    EXPECT_OK(graph_plan(train, 0));
    EXPECT_OK(graph_plan_inference(infer, &out_i, 1));
    fill_params(train, 3);
    copy_params(infer, train);
    train->training = 0;
    fill_images(train, 0, 0, 11);
    fill_images(infer, 0, 0, 11);
    EXPECT_OK(graph_forward(train));
    EXPECT_OK(graph_forward(infer));
    Value *a = &train->values[out_t], *c = &infer->values[out_i];
    EXPECT(memcmp(a->data.data, c->data.data, (size_t)shape_numel(a->shape) * sizeof(float)) == 0);
    EXPECT(infer->activations.size < train->activations.size / 2);
    EXPECT(infer->grads.size == 0 && infer->activation_grads.size == 0);
    graph_destroy(train);
    graph_destroy(infer);
    backend_destroy(b);
}

// graph_set_batch runs fewer samples in the same memory; in eval mode each sample's output is
// independent of the others, so it must equal the full batch's.
TEST(graph_set_batch_runs_a_smaller_batch) {
    Backend *b = backend_cpu_create(1);
    Graph *g = graph_create(b);
    int out = build_mini_net(g, 3, true);
    EXPECT_OK(graph_plan_inference(g, &out, 1));
    fill_params(g, 3);
    fill_images(g, 0, 0, 11);
    EXPECT_OK(graph_forward(g));
    Value *v = &g->values[out];
    int64_t per = shape_numel(v->shape) / 3;
    float *full = malloc(sizeof(float) * (size_t)per * 3);
    memcpy(full, v->data.data, sizeof(float) * (size_t)per * 3);
    EXPECT_OK(graph_set_batch(g, 2));
    memset(v->data.data, 0, sizeof(float) * (size_t)per * 3);
    EXPECT_OK(graph_forward(g));
    EXPECT(memcmp(full, v->data.data, sizeof(float) * (size_t)per * 2) == 0);
    EXPECT_FAILS_WITH(graph_set_batch(g, 4), "batch 4 is outside the planned 1..3");
    free(full);
    graph_destroy(g);
    backend_destroy(b);
}

// Tensors alive at the same step never share bytes; a chain reuses memory.
TEST(graph_reuse_plan_keeps_live_tensors_apart) {
    enum { N = 6 };
    size_t bytes[N] = {100, 64, 64, 200, 10, 64}, offsets[N], total;
    int birth[N] = {0, 1, 2, 3, 3, 4}, death[N] = {5, 2, 3, 4, 5, 5};
    EXPECT_OK(plan_reuse(N, bytes, birth, death, 64, offsets, &total));
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++) {
            bool together = birth[i] <= death[j] && birth[j] <= death[i];
            bool overlap = offsets[i] < offsets[j] + bytes[j] && offsets[j] < offsets[i] + bytes[i];
            if (together && overlap) test_fail(__FILE__, __LINE__, "tensors %d and %d overlap", i, j);
        }
    EXPECT(total < 128 + 64 + 64 + 256 + 64 + 64); // less than no reuse at all
}
