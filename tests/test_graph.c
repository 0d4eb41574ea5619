// The static graph: planning, forward/backward through several nodes, gradient accumulation.
#include <math.h>
#include <string.h>

#include "nn/graph.h"
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
