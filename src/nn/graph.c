#include "nn/graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/status.h"
#include "nn/reuse.h"

Graph *graph_create(const Backend *backend) {
    Graph *g = calloc(1, sizeof *g);
    if (!g) {
        yolo_fail("out of memory creating a graph");
        return NULL;
    }
    g->backend = backend;
    g->params = arena_make("parameters");
    g->grads = arena_make("gradients");
    g->optim = arena_make("optimizer slots");
    g->activations = arena_make("activations");
    g->activation_grads = arena_make("activation gradients");
    g->workspace = arena_make("workspace");
    g->training = 1;
    return g;
}

void graph_destroy(Graph *g) {
    if (!g) return;
    arena_release(&g->params);
    arena_release(&g->grads);
    arena_release(&g->optim);
    arena_release(&g->activations);
    arena_release(&g->activation_grads);
    arena_release(&g->workspace);
    free(g->values);
    free(g->nodes);
    free(g);
}

static int add_value(Graph *g, ValueKind kind, const char *name, Shape shape) {
    if (g->planned) return yolo_fail("graph: cannot add \"%s\" after memory was planned", name);
    if (g->n_values == g->cap_values) {
        int cap = g->cap_values ? 2 * g->cap_values : 256;
        Value *grown = realloc(g->values, (size_t)cap * sizeof *grown);
        mallocCheck(grown);
        g->values = grown;
        g->cap_values = cap;
    }
    Value *v = &g->values[g->n_values];
    *v = (Value){.kind = kind, .shape = shape};
    snprintf(v->name, sizeof v->name, "%s", name);
    return g->n_values++;
}

int graph_input(Graph *g, const char *name, Shape shape, bool needs_grad) {
    int id = add_value(g, VALUE_INPUT, name, shape);
    if (id >= 0) g->values[id].needs_grad = needs_grad;
    return id;
}

int graph_param(Graph *g, const char *name, Shape shape, bool trainable) {
    int id = add_value(g, VALUE_PARAM, name, shape);
    if (id >= 0) g->values[id].needs_grad = trainable;
    return id;
}

static int add_node(Graph *g) {
    if (g->n_nodes == g->cap_nodes) {
        int cap = g->cap_nodes ? 2 * g->cap_nodes : 256;
        Node *grown = realloc(g->nodes, (size_t)cap * sizeof *grown);
        mallocCheck(grown);
        g->nodes = grown;
        g->cap_nodes = cap;
    }
    memset(&g->nodes[g->n_nodes], 0, sizeof g->nodes[0]);
    return g->n_nodes++;
}

static int named_value(Graph *g, ValueKind kind, const char *prefix, const char *suffix, Shape shape) {
    char name[VALUE_NAME_CAP];
    if (snprintf(name, sizeof name, "%s%s%s", prefix, prefix[0] ? "." : "", suffix) >= (int)sizeof name)
        return yolo_fail("graph: value name \"%s.%s\" is too long", prefix, suffix);
    return add_value(g, kind, name, shape);
}

int graph_op(Graph *g, OpKind kind, const OpParams *p, const int *inputs, int n_in, const char *name) {
    if (!name || !name[0]) return yolo_fail("graph: every %s node needs a name", op_name(kind));
    if (n_in < 0 || n_in > OP_MAX_INPUTS) return yolo_fail("graph: %s \"%s\" has %d inputs", op_name(kind), name, n_in);
    Shape in_shapes[OP_MAX_INPUTS];
    for (int i = 0; i < n_in; i++) {
        if (inputs[i] < 0 || inputs[i] >= g->n_values) return yolo_fail("graph: %s \"%s\": input %d does not exist", op_name(kind), name, i);
        ValueKind k = g->values[inputs[i]].kind;
        if (k != VALUE_INPUT && k != VALUE_ACTIVATION)
            return yolo_fail("graph: %s \"%s\": input %d is a parameter, not a tensor of the forward pass", op_name(kind), name, i);
        in_shapes[i] = g->values[inputs[i]].shape;
    }
    OpShapes shapes;
    if (op_infer(kind, p, n_in, in_shapes, &shapes) != 0) return yolo_fail("building \"%s\"", name);

    static const char *const PARAM_SUFFIX[OP_MAX_PARAMS] = {"weight", "bias"};
    static const char *const BUFFER_SUFFIX[OP_MAX_BUFFERS] = {"running_mean", "running_var"};
    int params[OP_MAX_PARAMS], buffers[OP_MAX_BUFFERS], saved[OP_MAX_SAVED];
    for (int j = 0; j < shapes.n_params; j++) {
        TRY_ID(params[j] = named_value(g, VALUE_PARAM, name, PARAM_SUFFIX[j], shapes.param[j]));
        g->values[params[j]].needs_grad = true;
    }
    for (int j = 0; j < shapes.n_buffers; j++) TRY_ID(buffers[j] = named_value(g, VALUE_BUFFER, name, BUFFER_SUFFIX[j], shapes.buffer[j]));
    for (int j = 0; j < shapes.n_saved; j++) TRY_ID(saved[j] = named_value(g, VALUE_SAVED, name, "saved", shapes.saved[j]));
    int out;
    TRY_ID(out = named_value(g, VALUE_ACTIVATION, name, op_name(kind), shapes.out));

    int id;
    TRY_ID(id = add_node(g));
    Node *node = &g->nodes[id];
    node->kind = kind;
    node->p = *p;
    node->n_in = n_in;
    memcpy(node->in, inputs, (size_t)n_in * sizeof *inputs);
    node->out = out;
    node->n_params = shapes.n_params;
    memcpy(node->param, params, (size_t)shapes.n_params * sizeof *params);
    node->n_buffers = shapes.n_buffers;
    memcpy(node->buffer, buffers, (size_t)shapes.n_buffers * sizeof *buffers);
    node->n_saved = shapes.n_saved;
    memcpy(node->saved, saved, (size_t)shapes.n_saved * sizeof *saved);
    return out;
}

int graph_set_trainable(Graph *g, int value, bool trainable) {
    if (g->planned) return yolo_fail("graph: trainability must be set before planning");
    if (value < 0 || value >= g->n_values || g->values[value].kind != VALUE_PARAM)
        return yolo_fail("graph: value %d is not a parameter", value);
    g->values[value].needs_grad = trainable;
    return 0;
}

int graph_find(const Graph *g, const char *name) {
    for (int i = 0; i < g->n_values; i++)
        if (strcmp(g->values[i].name, name) == 0) return i;
    return -1;
}

// Which arenas hold a value's data and gradient.
static Arena *data_arena(Graph *g, ValueKind kind) {
    return kind == VALUE_PARAM || kind == VALUE_BUFFER ? &g->params : &g->activations;
}

static Arena *grad_arena(Graph *g, ValueKind kind) { return kind == VALUE_PARAM ? &g->grads : &g->activation_grads; }

static void bind_args(Graph *g, Node *node) {
    OpArgs *a = &node->args;
    Value *v = g->values;
    *a = (OpArgs){.kind = node->kind, .p = node->p, .n_in = node->n_in, .backend = g->backend};
    for (int i = 0; i < node->n_in; i++) {
        a->in[i] = &v[node->in[i]].data;
        a->in_grad[i] = v[node->in[i]].needs_grad ? &v[node->in[i]].grad : NULL;
    }
    a->out = &v[node->out].data;
    a->out_grad = v[node->out].needs_grad ? &v[node->out].grad : NULL;
    for (int j = 0; j < node->n_params; j++) {
        a->param[j] = &v[node->param[j]].data;
        a->param_grad[j] = v[node->param[j]].needs_grad ? &v[node->param[j]].grad : NULL;
    }
    for (int j = 0; j < node->n_buffers; j++) a->buffer[j] = &v[node->buffer[j]].data;
    for (int j = 0; j < node->n_saved; j++) a->saved[j] = &v[node->saved[j]].data;
}

// Forward-only graphs share activation memory between tensors whose lifetimes do not overlap:
// an op output lives from its node to its last reader (to the end for the kept outputs), a saved
// tensor only at its node (nothing runs backward), inputs for the whole run.
static int plan_inference_activations(Graph *g, const int *keep, int n_keep) {
    int n = g->n_values;
    size_t *bytes = calloc((size_t)n, sizeof *bytes), *offsets = calloc((size_t)n, sizeof *offsets);
    int *birth = calloc((size_t)n, sizeof *birth), *death = calloc((size_t)n, sizeof *death);
    int rc = 0;
    if (!bytes || !offsets || !birth || !death) rc = yolo_fail("out of memory planning graph memory");
    for (int i = 0; rc == 0 && i < n; i++) {
        ValueKind kind = g->values[i].kind;
        bool activation = kind == VALUE_INPUT || kind == VALUE_ACTIVATION || kind == VALUE_SAVED;
        bytes[i] = activation ? (size_t)shape_numel(g->values[i].shape) * sizeof(float) : 0;
        birth[i] = 0;
        death[i] = kind == VALUE_INPUT ? g->n_nodes : 0;
    }
    for (int k = 0; rc == 0 && k < g->n_nodes; k++) {
        const Node *node = &g->nodes[k];
        birth[node->out] = death[node->out] = k;
        for (int j = 0; j < node->n_saved; j++) birth[node->saved[j]] = death[node->saved[j]] = k;
        for (int j = 0; j < node->n_in; j++)
            if (g->values[node->in[j]].kind != VALUE_INPUT && death[node->in[j]] < k) death[node->in[j]] = k;
    }
    for (int j = 0; rc == 0 && j < n_keep; j++) death[keep[j]] = g->n_nodes;
    size_t total = 0;
    if (rc == 0) rc = plan_reuse(n, bytes, birth, death, ARENA_ALIGN, offsets, &total);
    for (int i = 0; rc == 0 && i < n; i++)
        if (bytes[i]) g->values[i].data_offset = offsets[i];
    if (rc == 0) arena_reserve(&g->activations, total);
    free(bytes);
    free(offsets);
    free(birth);
    free(death);
    return rc;
}

// Lays out every arena and allocates each once. inference: no gradients, activations shared.
static int plan(Graph *g, int n_optim_slots, bool inference, const int *keep, int n_keep) {
    if (g->planned) return yolo_fail("graph: memory is already planned");
    for (int i = 0; i < g->n_nodes; i++) {
        const OpImpl *impl = &g->backend->op[g->nodes[i].kind];
        if (!impl->forward || !impl->backward)
            return yolo_fail("the %s backend has no %s kernel", g->backend->name, op_name(g->nodes[i].kind));
    }
    if (inference)
        for (int i = 0; i < g->n_values; i++) g->values[i].needs_grad = false;
    // An output needs a gradient when any input or parameter upstream of it does.
    for (int i = 0; i < g->n_nodes; i++) {
        Node *node = &g->nodes[i];
        bool needs = false;
        for (int k = 0; k < node->n_in; k++) needs |= g->values[node->in[k]].needs_grad;
        for (int k = 0; k < node->n_params; k++) needs |= g->values[node->param[k]].needs_grad;
        g->values[node->out].needs_grad = needs;
    }
    for (int i = 0; i < g->n_values; i++) {
        Value *v = &g->values[i];
        size_t bytes = (size_t)shape_numel(v->shape) * sizeof(float);
        v->data = v->grad = tensor_view(NULL, v->shape); // shapes for the workspace queries below
        if (!inference || data_arena(g, v->kind) == &g->params) v->data_offset = arena_reserve(data_arena(g, v->kind), bytes);
        if (v->needs_grad && v->kind != VALUE_BUFFER && v->kind != VALUE_SAVED)
            v->grad_offset = arena_reserve(grad_arena(g, v->kind), bytes);
    }
    if (inference) TRY(plan_inference_activations(g, keep, n_keep));
    size_t workspace = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        bind_args(g, &g->nodes[i]);
        size_t need = backend_workspace(&g->nodes[i].args);
        if (need > workspace) workspace = need;
    }
    arena_reserve(&g->workspace, workspace);
    g->n_optim_slots = n_optim_slots;
    arena_reserve(&g->optim, g->grads.size * (size_t)n_optim_slots);

    TRY(arena_commit(&g->params));
    TRY(arena_commit(&g->grads));
    TRY(arena_commit(&g->optim));
    TRY(arena_commit(&g->activations));
    TRY(arena_commit(&g->activation_grads));
    TRY(arena_commit(&g->workspace));
    for (int i = 0; i < g->n_values; i++) {
        Value *v = &g->values[i];
        v->data = tensor_view(arena_at(data_arena(g, v->kind), v->data_offset), v->shape);
        bool has_grad = v->needs_grad && v->kind != VALUE_BUFFER && v->kind != VALUE_SAVED;
        v->grad = tensor_view(has_grad ? arena_at(grad_arena(g, v->kind), v->grad_offset) : NULL, v->shape);
    }
    for (int i = 0; i < g->n_nodes; i++) {
        bind_args(g, &g->nodes[i]);
        g->nodes[i].args.workspace = g->workspace.base;
        g->nodes[i].args.workspace_bytes = g->workspace.size;
    }
    // BN running variance starts at 1 (PyTorch's reset_running_stats).
    for (int i = 0; i < g->n_nodes; i++)
        if (op_is_batchnorm(g->nodes[i].kind)) {
            Tensor *var = &g->values[g->nodes[i].buffer[1]].data;
            for (int64_t k = 0; k < tensor_numel(var); k++) var->data[k] = 1.0f;
        }
    g->batch_capacity = g->values[0].shape.ndim ? (int)g->values[0].shape.dim[0] : 0;
    g->planned = true;
    return 0;
}

int graph_plan(Graph *g, int n_optim_slots) { return plan(g, n_optim_slots, false, NULL, 0); }

int graph_plan_inference(Graph *g, const int *keep, int n_keep) {
    TRY(plan(g, 0, true, keep, n_keep));
    g->training = 0;
    return 0;
}

int graph_set_batch(Graph *g, int batch) {
    if (!g->planned || batch < 1 || batch > g->batch_capacity)
        return yolo_fail("graph: batch %d is outside the planned 1..%d", batch, g->batch_capacity);
    for (int i = 0; i < g->n_values; i++) {
        Value *v = &g->values[i];
        if (v->kind != VALUE_INPUT && v->kind != VALUE_ACTIVATION) continue;
        v->data.shape.dim[0] = batch;
        v->grad.shape.dim[0] = batch;
    }
    return 0;
}

int graph_forward(Graph *g) {
    if (!g->planned) return yolo_fail("graph: plan memory before running forward");
    for (int i = 0; i < g->n_nodes; i++) {
        g->nodes[i].args.training = g->training;
        if (backend_forward(&g->nodes[i].args) != 0) return yolo_fail("forward of %s node %d", op_name(g->nodes[i].kind), i);
    }
    return 0;
}

void graph_clear_activation_grads(Graph *g) {
    if (g->activation_grads.base) memset(g->activation_grads.base, 0, g->activation_grads.size);
}

void graph_clear_param_grads(Graph *g) {
    if (g->grads.base) memset(g->grads.base, 0, g->grads.size);
}

int graph_backward(Graph *g) {
    if (!g->planned) return yolo_fail("graph: plan memory before running backward");
    for (int i = g->n_nodes - 1; i >= 0; i--) {
        Node *node = &g->nodes[i];
        if (!node->args.out_grad) continue; // nothing upstream wants a gradient
        if (backend_backward(&node->args) != 0) return yolo_fail("backward of %s node %d", op_name(node->kind), i);
    }
    return 0;
}

Tensor graph_optim_slot(const Graph *g, int value, int k) {
    const Value *v = &g->values[value];
    return tensor_view((float *)arena_at(&g->optim, (size_t)k * g->grads.size + v->grad_offset), v->shape);
}

void graph_set_rng(Graph *g, uint64_t seed, uint32_t step) {
    for (int i = 0; i < g->n_nodes; i++) {
        g->nodes[i].args.rng_seed = seed;
        g->nodes[i].args.rng_stream = rng_stream(RNG_DROPOUT, (uint32_t)i, step);
    }
}
