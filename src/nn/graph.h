// A static graph of op nodes, built once per (model, batch, imgsz). Building records values and
// nodes with shapes only; graph_plan() then lays out every tensor in one arena per lifetime
// class and allocates each arena once. Forward runs the nodes in order, backward in reverse;
// neither allocates.
//
// Gradients: graph_clear_activation_grads() zeroes the gradients of activations (each backward
// needs fresh ones); the caller then writes d(loss)/d(output) into the grad of each output it
// differentiates and calls graph_backward(). Parameter gradients are only ever added to, so
// several micro-batches accumulate until graph_clear_param_grads() (the optimizer's job).
#ifndef YOLO_NN_GRAPH_H
#define YOLO_NN_GRAPH_H

#include <stdbool.h>
#include <stdint.h>

#include "backend/backend.h"
#include "core/arena.h"
#include "nn/op.h"

enum { VALUE_NAME_CAP = 96 };

typedef enum {
    VALUE_INPUT,      // fed by the caller each step (images)
    VALUE_PARAM,      // trained or frozen weights
    VALUE_BUFFER,     // persistent state that is not trained (BN running statistics)
    VALUE_ACTIVATION, // an op's output
    VALUE_SAVED,      // what an op's forward keeps for its backward
} ValueKind;

typedef struct {
    ValueKind kind;
    char name[VALUE_NAME_CAP]; // parameters and buffers: the PyTorch state-dict name
    Shape shape;
    bool needs_grad; // params: trainable; inputs: asked for; activations: derived when planning
    Tensor data, grad; // grad.data is NULL when no gradient is kept
    size_t data_offset, grad_offset;
} Value;

typedef struct {
    OpKind kind;
    OpParams p;
    int n_in, in[OP_MAX_INPUTS];
    int out;
    int n_params, param[OP_MAX_PARAMS];
    int n_buffers, buffer[OP_MAX_BUFFERS];
    int n_saved, saved[OP_MAX_SAVED];
    OpArgs args; // bound by graph_plan
} Node;

typedef struct {
    const Backend *backend;
    Value *values;
    int n_values, cap_values;
    Node *nodes;
    int n_nodes, cap_nodes;
    // One allocation per lifetime class.
    Arena params;          // parameters and buffers: live for the whole run, checkpointed
    Arena grads;           // gradients of trainable parameters, accumulated across micro-batches
    Arena optim;           // n_optim_slots copies of the gradient layout (momentum, Adam moments)
    Arena activations;     // inputs, op outputs and saved tensors of one step
    Arena activation_grads;
    Arena workspace;       // scratch shared by all kernel calls
    int n_optim_slots;
    bool planned;
    int training;
    int batch_capacity; // the batch the memory was planned for
} Graph;

Graph *graph_create(const Backend *backend);
void graph_destroy(Graph *g);

// Building. Each returns the new value's id, or -1 with a message.
int graph_input(Graph *g, const char *name, Shape shape, bool needs_grad);
// A parameter used by no node here (DFL's fixed weights: kept for the state dict and for
// inference). Returns its id.
int graph_param(Graph *g, const char *name, Shape shape, bool trainable);
// Adds a node whose parameters (if the op has any) are created and named "<name>.weight" and
// "<name>.bias" (BN buffers "<name>.running_mean", "<name>.running_var"). Returns the output.
int graph_op(Graph *g, OpKind kind, const OpParams *p, const int *inputs, int n_in, const char *name);
// Marks a parameter frozen (DFL's fixed weights) or trainable again. Before planning.
int graph_set_trainable(Graph *g, int value, bool trainable);
// The id of the value with this name, or -1.
int graph_find(const Graph *g, const char *name);

// Lays out and allocates all memory; n_optim_slots optimizer tensors per trainable parameter.
int graph_plan(Graph *g, int n_optim_slots);

// A forward-only plan: nothing is trained (no gradients, no optimizer slots), runs in eval mode,
// and activations share memory once dead; only the `keep` values (the outputs the caller reads)
// and the inputs stay valid after graph_forward.
int graph_plan_inference(Graph *g, const int *keep, int n_keep);

// Runs the next steps on the first `batch` samples only (1..the planned batch): every input and
// activation takes that leading size, so a smaller last batch of an epoch needs no new graph.
int graph_set_batch(Graph *g, int batch);

int graph_forward(Graph *g);
void graph_clear_activation_grads(Graph *g);
void graph_clear_param_grads(Graph *g);
int graph_backward(Graph *g);

// Optimizer slot k of a trainable parameter (same shape as the parameter).
Tensor graph_optim_slot(const Graph *g, int value, int k);
// Dropout masks are drawn from (seed, node, step): set before each forward.
void graph_set_rng(Graph *g, uint64_t seed, uint32_t step);

#endif
