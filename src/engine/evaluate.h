// Forward-only passes with fixed weights, shared by the trainer's validation (the EMA weights,
// every epoch), `yolo TASK val` (a checkpoint's weights) and `yolo TASK predict`: a graph per
// input shape, built on first use and kept, and the validation pass over a loader with the
// task's validator (tasks/task.h).
#ifndef YOLO_ENGINE_EVALUATE_H
#define YOLO_ENGINE_EVALUATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/loader.h"
#include "nn/graph.h"
#include "nn/model.h"
#include "tasks/task.h"

enum { EVAL_MAX_SHAPES = 16 };

// A forward-only graph for one input shape, holding a copy of the weights.
typedef struct {
    int h, w;
    Graph *g;
    Model m;
    int64_t weights_pass; // the generation of the weights g holds (copied once per generation)
    uint64_t last_used;
} EvalGraph;

typedef struct {
    Backend *backend;
    const ModelDef *def;
    int nc, batch, imgsz;
    size_t params_size; // the weights' layout: every graph's params arena has this size
    EvalGraph graphs[EVAL_MAX_SHAPES];
    int n;
    uint64_t uses;
} EvalGraphs;

// Graphs of the model def (nc classes) for batches up to `batch`; params_size is the byte size of
// the weights they will take (the params arena of the graph they come from).
void eval_graphs_init(EvalGraphs *e, Backend *backend, const ModelDef *def, int nc, int batch, int imgsz,
                      size_t params_size);
// The graph for h x w inputs holding `weights` (params-arena bytes) of generation `pass`: built on
// first use, the least recently used one giving way once EVAL_MAX_SHAPES are kept (predict sees
// a shape per aspect ratio); the weights are copied in when its generation differs. NULL with a
// message when it cannot be built.
EvalGraph *eval_graph_for(EvalGraphs *e, int h, int w, const void *weights, int64_t pass);
void eval_graphs_free(EvalGraphs *e);

// Copies a batch's images into the graph's input and runs the next steps at its size.
int eval_copy_batch_images(Graph *g, const Model *m, const Batch *b);

// Seconds spent per phase: loading and letterboxing (pre-process), the forward pass
// (inference), the task's decoding, NMS and matching (post-process), over `images` images.
typedef struct {
    double preprocess, inference, postprocess;
    int images;
} EvalTimes;

// Called after the validator has seen batch k, with the graph still holding its outputs (the
// validation plots). Returns 0, or -1 with a message to stop the pass.
typedef int (*EvalBatchHook)(void *ctx, int k, const Batch *b, Graph *g, const Model *m);

typedef struct {
    const TaskImpl *task;
    void *validator;
    void *criterion;       // the task's criterion for the validation losses; NULL: none
    const void *weights;   // params-arena bytes
    int64_t pass;          // their generation (the trainer's EMA changes between passes)
    bool verbose;          // the progress line
    bool table;            // the per-class table after the "all" row
    EvalBatchHook on_batch; // NULL: none
    void *ctx;
} EvalPass;

// One pass over every batch of loader (epoch 0): losses (n_losses means, when p->criterion),
// metrics (n_metrics) and fitness from the validator, and the time per phase when times is not
// NULL.
int evaluate(EvalGraphs *e, Loader *loader, const EvalPass *p, double *losses, double *metrics, double *fitness,
             EvalTimes *times);

#endif
