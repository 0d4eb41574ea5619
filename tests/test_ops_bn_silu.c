// The fused batchnorm2d_silu op: gradient checks and thread invariance, and the same bits as a
// batchnorm2d node followed by a silu node (what module_conv built before the fusion) in every
// output, gradient and running statistic, in training and in eval, which is what keeps the
// whole-model parity and resume tests unchanged.
#include <stdio.h>
#include <string.h>

#include "core/rng.h"
#include "nn/graph.h"
#include "op_harness.h"
#include "test.h"

static const BatchNormParams BN = {.eps = 1e-3f, .momentum = 0.03f};

static OpSpec fused_spec(Shape s, int training) {
    return (OpSpec){.kind = OP_BATCHNORM2D_SILU, .n_in = 1, .in = {s}, .training = training, .p.bn = BN};
}

// Planes of 15 and 35 values (not multiples of the 8 summation lanes), and in the second shape
// more channels than threads split evenly.
TEST(grad_batchnorm2d_silu_train) {
    const Shape shapes[] = {shape_nchw(2, 3, 3, 5), shape_nchw(3, 5, 5, 7)};
    for (int k = 0; k < 2; k++) {
        OpSpec s = fused_spec(shapes[k], 1);
        gradcheck(&s, GRAD_DEFAULT);
        expect_thread_invariant(&s);
    }
}

TEST(grad_batchnorm2d_silu_eval) {
    const Shape shapes[] = {shape_nchw(2, 3, 3, 5), shape_nchw(1, 5, 1, 7)};
    for (int k = 0; k < 2; k++) {
        OpSpec s = fused_spec(shapes[k], 0);
        gradcheck(&s, GRAD_DEFAULT);
        expect_thread_invariant(&s);
    }
}

TEST(batchnorm2d_silu_train_rejects_single_value_per_channel) {
    Backend *b = backend_cpu_create(1);
    OpSpec s = fused_spec(shape_nchw(1, 2, 1, 1), 1);
    OpHarness h = {0};
    EXPECT_OK(harness_init(&h, &s, b, 7));
    EXPECT_FAILS_WITH(harness_forward(&h), "batchnorm2d_silu: training needs more than one value per channel");
    harness_free(&h);
    backend_destroy(b);
}

// ---- Against batchnorm2d + silu ----------------------------------------------------------------

typedef struct {
    Backend *backend;
    Graph *g;
    int x, out;
} Net;

// x -> batchnorm2d_silu "m.bn", or x -> batchnorm2d "m.bn" -> silu "m.act" as module_conv built it.
static int net_build(Net *n, bool fused, Shape s, int threads, bool x_grad, bool train_params) {
    n->backend = backend_cpu_create(threads);
    n->g = n->backend ? graph_create(n->backend) : NULL;
    if (!n->g) return -1;
    Graph *g = n->g;
    OpParams bn = {.bn = BN};
    TRY_ID(n->x = graph_input(g, "x", s, x_grad));
    if (fused) {
        TRY_ID(n->out = graph_op(g, OP_BATCHNORM2D_SILU, &bn, &n->x, 1, "m.bn"));
    } else {
        int z;
        TRY_ID(z = graph_op(g, OP_BATCHNORM2D, &bn, &n->x, 1, "m.bn"));
        TRY_ID(n->out = graph_op(g, OP_SILU, &(OpParams){0}, &z, 1, "m.act"));
    }
    TRY(graph_set_trainable(g, graph_find(g, "m.bn.weight"), train_params));
    TRY(graph_set_trainable(g, graph_find(g, "m.bn.bias"), train_params));
    return graph_plan(g, 0);
}

static void net_free(Net *n) {
    graph_destroy(n->g);
    backend_destroy(n->backend);
}

static Tensor *named(Net *n, const char *name) { return &n->g->values[graph_find(n->g, name)].data; }

// lo + (hi - lo) * uniform, from its own stream.
static void fill(Tensor *t, float lo, float hi, uint32_t stream) {
    for (int64_t i = 0; i < tensor_numel(t); i++)
        t->data[i] = lo + (hi - lo) * rng_uniform(17, rng_stream(RNG_TEST, 300, stream), (uint64_t)i);
}

// gamma of both signs, running statistics away from 0 and 1.
static void fill_state(Net *n) {
    fill(named(n, "m.bn.weight"), -1.5f, 1.5f, 1);
    fill(named(n, "m.bn.bias"), -1.0f, 1.0f, 2);
    fill(named(n, "m.bn.running_mean"), -0.5f, 0.5f, 3);
    fill(named(n, "m.bn.running_var"), 0.3f, 2.0f, 4);
}

// A forward and backward on this step's input and output gradient; parameter gradients
// accumulate over the steps.
static int net_step(Net *n, int training, uint32_t k) {
    n->g->training = training;
    fill(&n->g->values[n->x].data, -2.0f, 3.0f, 10 + k); // offset mean, both sides of SiLU's bend
    TRY(graph_forward(n->g));
    graph_clear_activation_grads(n->g);
    fill(&n->g->values[n->out].grad, -1.0f, 1.0f, 20 + k);
    return graph_backward(n->g);
}

static int64_t bit_mismatches(const Tensor *a, const Tensor *b) {
    if (!a->data || !b->data) return (a->data != NULL) != (b->data != NULL);
    int64_t bad = 0;
    for (int64_t i = 0; i < tensor_numel(a); i++) bad += memcmp(&a->data[i], &b->data[i], sizeof(float)) != 0;
    return bad;
}

static void expect_same_bits(const Tensor *a, const Tensor *b, const char *what, const char *config) {
    int64_t bad = bit_mismatches(a, b);
    if (bad) test_fail(__FILE__, __LINE__, "%s: %s differs from batchnorm2d + silu in %lld elements", config, what, (long long)bad);
}

// Every shape, mode, thread count and choice of wanted gradients: output, input gradient,
// gamma and beta gradients (accumulated over two steps) and running statistics, bit for bit.
TEST(batchnorm2d_silu_has_the_bits_of_batchnorm2d_then_silu) {
    const Shape shapes[] = {shape_nchw(3, 5, 7, 9), shape_nchw(2, 4, 16, 16), shape_nchw(2, 3, 1, 1), shape_nchw(4, 2, 3, 1)};
    const struct { bool x_grad, params; } wants[] = {{true, true}, {false, true}, {true, false}};
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
        for (int training = 0; training <= 1; training++)
            for (int threads = 1; threads <= 2; threads++)
                for (size_t w = 0; w < sizeof wants / sizeof wants[0]; w++) {
                    char config[128], buf[64];
                    snprintf(config, sizeof config, "%s, training %d, %d threads, input grad %d, param grads %d",
                             shape_str(shapes[si], buf, sizeof buf), training, threads, wants[w].x_grad, wants[w].params);
                    Net fused = {0}, split = {0};
                    if (net_build(&fused, true, shapes[si], threads, wants[w].x_grad, wants[w].params) != 0 ||
                        net_build(&split, false, shapes[si], 1, wants[w].x_grad, wants[w].params) != 0) {
                        test_fail(__FILE__, __LINE__, "%s: %s", config, yolo_error());
                        yolo_error_clear();
                        net_free(&fused);
                        net_free(&split);
                        continue;
                    }
                    fill_state(&fused);
                    fill_state(&split);
                    for (uint32_t k = 0; k < 2; k++) {
                        EXPECT_OK(net_step(&fused, training, k));
                        EXPECT_OK(net_step(&split, training, k));
                    }
                    Graph *f = fused.g, *s = split.g;
                    expect_same_bits(&f->values[fused.out].data, &s->values[split.out].data, "output", config);
                    expect_same_bits(&f->values[fused.x].grad, &s->values[split.x].grad, "input gradient", config);
                    static const char *const state[] = {"m.bn.running_mean", "m.bn.running_var"};
                    for (int j = 0; j < 2; j++) expect_same_bits(named(&fused, state[j]), named(&split, state[j]), state[j], config);
                    static const char *const params[] = {"m.bn.weight", "m.bn.bias"};
                    for (int j = 0; j < 2; j++) {
                        const Value *pf = &f->values[graph_find(f, params[j])], *ps = &s->values[graph_find(s, params[j])];
                        expect_same_bits(&pf->grad, &ps->grad, params[j], config);
                    }
                    // Not vacuous: what was asked for was computed.
                    if (wants[w].x_grad) EXPECT(f->values[fused.x].grad.data[0] != 0.0f);
                    if (wants[w].params) EXPECT(f->values[graph_find(f, "m.bn.bias")].grad.data[0] != 0.0f);
                    net_free(&fused);
                    net_free(&split);
                }
}

// The point of the fusion: no BN output and no gradient of it among the planned activations. And
// planning treats the node as BN: the running variance starts at 1 (PyTorch's reset).
TEST(batchnorm2d_silu_plans_no_bn_output) {
    Shape s = shape_nchw(2, 4, 16, 16);
    size_t bytes = (size_t)shape_numel(s) * sizeof(float);
    Net fused = {0}, split = {0};
    if (net_build(&fused, true, s, 1, true, true) == 0 && net_build(&split, false, s, 1, true, true) == 0) {
        EXPECT(split.g->activations.size - fused.g->activations.size == bytes);
        EXPECT(split.g->activation_grads.size - fused.g->activation_grads.size == bytes);
        const Tensor *var = named(&fused, "m.bn.running_var");
        for (int64_t c = 0; c < tensor_numel(var); c++) EXPECT(var->data[c] == 1.0f);
    } else {
        test_fail(__FILE__, __LINE__, "%s", yolo_error());
        yolo_error_clear();
    }
    net_free(&fused);
    net_free(&split);
}
