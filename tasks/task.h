// What a task (detect, segment, classify) gives the engine: its training criterion over the
// model's head outputs, its validation metrics and fitness, the names of the results.csv
// columns, and its predictions in a shared form (Prediction). The engine knows nothing about
// boxes, masks or classes beyond this interface.
#ifndef YOLO_TASKS_TASK_H
#define YOLO_TASKS_TASK_H

#include <stdbool.h>
#include <stdint.h>

#include "data/dataset.h"
#include "data/loader.h"
#include "engine/train_options.h"
#include "nn/graph.h"
#include "nn/model.h"

enum { TASK_MAX_LOSSES = 4, TASK_MAX_METRICS = 8, PREDICT_TOP_K = 5 };

// What `predict` keeps of the head outputs (Ultralytics' conf, iou, max_det, classes).
typedef struct {
    float conf;         // keep objects scoring above conf (classify keeps its top 5 whatever they score)
    double iou;         // NMS: suppress boxes overlapping a better one by more than iou
    int max_det;        // at most this many objects per image
    const int *classes; // keep only these classes (NULL: all); copied by predictor_create
    int n_classes;
} PredictOptions;

// One image's result in a form every task shares, in the coordinates of the network input (the
// letterboxed image): the engine maps it back to the original image, draws it and writes labels.
// The arrays belong to the predictor state and stay valid until its next predict call.
typedef struct {
    // detect, segment: n objects, best score first.
    int n;
    const float *boxes;  // [n][4]: x1, y1, x2, y2 in input pixels
    const float *scores; // [n]
    const int *classes;  // [n]
    // segment: n masks, each covering the whole input at mask_w x mask_h (a coarser grid than the
    // input is fine: the engine scales it); 0 and NULL for other tasks.
    int mask_w, mask_h;
    const uint8_t *masks; // [n][mask_h][mask_w]: 1 inside the object, 0 outside
    // classify: the n_top most probable classes, most probable first; 0 for other tasks.
    int n_top;
    int top_classes[PREDICT_TOP_K];
    float top_scores[PREDICT_TOP_K];
} Prediction;

typedef struct {
    const char *name; // "detect"
    int n_losses;
    const char *loss_names[TASK_MAX_LOSSES];     // "box_loss", ...: train/<name> and val/<name> columns
    int n_metrics;
    const char *metric_names[TASK_MAX_METRICS];  // "metrics/precision(B)", ...
    // Optional: the progress line's Instances for a batch. Ultralytics prints the rows of
    // batch["cls"]: objects for detect and segment, one label per image for classify. NULL: b->n_targets.
    int (*batch_instances)(const Batch *b);

    // Optional (NULL: any dataset): refuses, before anything is written, a dataset the task cannot
    // train on, naming it and what to use instead (segment: labels without polygons).
    int (*check_dataset)(const DatasetConfig *cfg, const DatasetSplit *train, const DatasetSplit *val);

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
    // Optional (NULL: the task has none): the plots of the last finished validation (confusion
    // matrix, metric curves) written into dir. The trainer calls it when training stops (after the
    // last validation) with plots=True; a validator made with plots=False may write nothing.
    int (*write_plots)(void *state, const char *dir);

    // Prediction (optional: NULL when the task has none yet; `yolo TASK predict` then says so, and
    // the validation plots show labels only). predict reads image `image` of the batch in g after
    // a forward pass in eval mode (any input size the model takes) and fills *out. The state holds
    // the options and scratch that grows with the input size; predict allocates only then. The
    // engine prepares the input (detect, segment: Ultralytics' auto letterbox; classify: the
    // centre crop, engine/predict_image.h), maps boxes and masks back to the image, draws them
    // (masks blended under the boxes; a classifier's top classes as text) and writes label files
    // (objects as class cx cy w h [conf], or with masks class and polygon; top classes as "score
    // name" lines).
    void *(*predictor_create)(const Model *m, const PredictOptions *o);
    int (*predict)(void *state, Graph *g, const Model *m, int image, Prediction *out);
    void (*predictor_destroy)(void *state);
} TaskImpl;

// The implementation of a task, or NULL when it is not built yet.
const TaskImpl *task_impl(TaskKind kind);

#endif
