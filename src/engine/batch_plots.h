// The batch mosaics of a run folder (src/plot/mosaic.h), as Ultralytics writes them with
// plots=True: train_batch0..2.jpg (the first three training batches, labels on the augmented
// images) and val_batch0..2_labels.jpg / val_batch0..2_pred.jpg (the first three validation
// batches with their labels, and with the model's predictions).
#ifndef YOLO_ENGINE_BATCH_PLOTS_H
#define YOLO_ENGINE_BATCH_PLOTS_H

#include "data/dataset.h"
#include "data/loader.h"
#include "engine/evaluate.h"
#include "tasks/task.h"

enum { BATCH_PLOTS = 3 };

// <dir>/train_batch<k>.jpg for batch k of b (split: the file names).
int plot_train_batch(const char *dir, int k, const Batch *b, const DatasetSplit *split, char *const *names, int nc,
                     int mask_ratio);

// The validation plots, as an EvalBatchHook (engine/evaluate.h) with this as its context.
typedef struct {
    const char *dir;
    const TaskImpl *task;
    const DatasetSplit *split;
    char *const *names;
    int nc;
    int mask_ratio;
    void *predictor; // the task's, made on first use (NULL when the task has no predict hook)
} ValPlots;

int plot_val_batch(void *val_plots, int k, const Batch *b, Graph *g, const Model *m);
void val_plots_free(ValPlots *p);

#endif
