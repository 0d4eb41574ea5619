// What a task (detect, segment, classify) gives the engine: its training criterion over the
// model's head outputs, its validation metrics and fitness, and the names of the results.csv
// columns. The engine knows nothing about boxes, masks or classes beyond this interface.
#ifndef YOLO_TASKS_TASK_H
#define YOLO_TASKS_TASK_H

#include <stdbool.h>

#include "data/dataset.h"
#include "data/loader.h"
#include "engine/train_options.h"
#include "nn/graph.h"
#include "nn/model.h"

enum { TASK_MAX_LOSSES = 4, TASK_MAX_METRICS = 8 };

typedef struct {
    const char *name; // "detect"
    int n_losses;
    const char *loss_names[TASK_MAX_LOSSES];     // "box_loss", ...: train/<name> and val/<name> columns
    int n_metrics;
    const char *metric_names[TASK_MAX_METRICS];  // "metrics/precision(B)", ...
    // Optional: the progress line's Instances for a batch. Ultralytics prints the rows of
    // batch["cls"]: objects for detect and segment, one label per image for classify. NULL: b->n_targets.
    int (*batch_instances)(const Batch *b);

    // The training loss on a forward pass of g: fills losses[n_losses] (per-image values, as
    // logged), and with backward writes d(loss)/d(head outputs) into the outputs' gradients
    // (which the caller has cleared). max_h, max_w: the largest input the criterion will see.
    // pool: threads the criterion may use (results do not depend on it).
    void *(*criterion_create)(const Model *m, int max_batch, int max_h, int max_w, const TrainOptions *o, ThreadPool *pool);
    int (*criterion)(void *state, Graph *g, const Model *m, const Batch *b, bool backward, double *losses);
    void (*criterion_destroy)(void *state);

    // Validation: batches after a forward pass in eval mode, then the metrics (n_metrics values)
    // and the fitness that picks best.ckpt; print_table prints the per-class table.
    void *(*validator_create)(const Model *m, const DatasetConfig *cfg, const DatasetSplit *split, const TrainOptions *o);
    int (*validate_batch)(void *state, Graph *g, const Model *m, const Batch *b);
    int (*validate_finish)(void *state, double *metrics, double *fitness, bool print_table);
    void (*validator_destroy)(void *state);
} TaskImpl;

// The implementation of a task, or NULL when it is not built yet.
const TaskImpl *task_impl(TaskKind kind);

#endif
