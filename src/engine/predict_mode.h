// `yolo TASK predict`: runs a model on each image of a source one at a time (Ultralytics' batch
// of 1), with the task's prediction hook (tasks/task.h); prints a line per image and the time per
// image split into pre-process, inference and post-process; writes the annotated images (JPEG)
// into runs/<task>/predict*, and with save_txt a YOLO label file per image with objects.
#ifndef YOLO_ENGINE_PREDICT_MODE_H
#define YOLO_ENGINE_PREDICT_MODE_H

#include <stdbool.h>

#include "data/loader.h"
#include "data/source.h"
#include "engine/inference_model.h"
#include "engine/train_options.h"
#include "tasks/task.h"

typedef struct {
    TaskKind task;
    PredictOptions keep; // conf, iou, max_det, classes
    int imgsz;
    int threads;      // compute threads (0: every core)
    bool save;        // the annotated images
    bool save_txt, save_conf; // labels/<stem>.txt: class cx cy w h [conf], normalised
    bool show_labels, show_conf;
    int line_width;   // 0: from each image's size
    bool verbose, exist_ok;
    char project[OPTION_TEXT_CAP], name[OPTION_TEXT_CAP];
    char run_dir[4096]; // out: the folder written ("" when nothing was)
} PredictRunOptions;

// Predicts every image of src with the opened model (inference_model_open). The images are
// checked readable (their headers) before the run folder is made. -1 with a message.
int predict_run(PredictRunOptions *o, InferenceModel *im, const SourceList *src);

#endif
