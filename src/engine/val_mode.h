// `yolo TASK val`: a model's metrics on a dataset split, with the validation pass the trainer
// runs (engine/evaluate.h) and the task's validator; prints the per-class table and the time per
// image, and writes runs/<task>/val* with metrics.json and, with plots, the first batches' label
// and prediction mosaics.
#ifndef YOLO_ENGINE_VAL_MODE_H
#define YOLO_ENGINE_VAL_MODE_H

#include <stdbool.h>
#include <stdint.h>

#include "data/dataset.h"
#include "engine/inference_model.h"
#include "engine/train_options.h"
#include "tasks/task.h"

typedef struct {
    TaskKind task;
    char data[OPTION_TEXT_CAP];         // the dataset (the caller resolves a missing data=)
    char datasets_dir[OPTION_TEXT_CAP]; // "" = YOLO_DATASETS_DIR or ./datasets
    SplitKind split;
    int imgsz, batch, workers, max_det, mask_ratio;
    int threads; // compute threads (0: every core)
    float conf;
    double iou;
    bool plots, verbose, exist_ok;
    uint64_t seed; // a YAML model's initialisation
    char project[OPTION_TEXT_CAP], name[OPTION_TEXT_CAP];
    char run_dir[4096]; // out: the folder written ("" when none was)
    double metrics[TASK_MAX_METRICS], fitness; // out: the task's metrics (metric_names order)
} ValOptions;

// Validates the opened model (inference_model_open) with o. Every check on the dataset and the
// model comes before the run folder is made: a failure there writes nothing. -1 with a message.
int val_run(ValOptions *o, InferenceModel *im);

#endif
