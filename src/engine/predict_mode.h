// `yolo TASK predict`: runs a model on each image of a source one at a time (Ultralytics' batch
// of 1), with the task's prediction hook (tasks/task.h); prints a line per image and the time per
// image split into pre-process, inference and post-process; writes the annotated images (JPEG)
// into runs/<task>/predict*, and with save_txt a label file per image with results, in Ultralytics'
// formats.
#ifndef YOLO_ENGINE_PREDICT_MODE_H
#define YOLO_ENGINE_PREDICT_MODE_H

#include <stdbool.h>

#include "data/loader.h"
#include "data/source.h"
#include "engine/inference_model.h"
#include "engine/train_options.h"
#include "tasks/task.h"

// One image's result as a caller of predict_run sees it (the C API's callback): the task's
// Prediction (in the network input's pixels), its boxes mapped to the original image, and the
// mapping itself (original = (input - pad) / gain), for masks.
typedef struct {
    const char *path;
    int index, count;    // image index of count in the source
    int w, h;            // the original image
    const Prediction *r; // n, scores, classes, masks, top classes
    const float *boxes;  // [r->n][4]: x1, y1, x2, y2 in the original image's pixels, clipped
    int in_w, in_h;      // the network input
    double gain;
    int pad_x, pad_y;
    double pre, infer, post; // seconds
    const char *run_dir;     // "" when nothing is saved
    int nc;
    char *const *names;      // [nc], or NULL when the checkpoint records none
} PredictedImage;

// Returns 0 to go on, 1 to stop after this image (not a failure), -1 to fail with a message.
typedef int (*PredictImageFn)(void *ctx, const PredictedImage *img);

typedef struct {
    TaskKind task;
    PredictOptions keep; // conf, iou, max_det, classes
    int imgsz;
    int threads;      // compute threads (0: every core)
    bool save;        // the annotated images
    // labels/<stem>.txt, normalised: class cx cy w h [conf] per box, class x1 y1 x2 y2 ... [conf]
    // per mask (its polygon), "score name" per top class.
    bool save_txt, save_conf;
    bool show_labels, show_conf;
    int line_width;   // 0: from each image's size
    bool verbose, exist_ok;
    char project[OPTION_TEXT_CAP], name[OPTION_TEXT_CAP];
    char run_dir[4096]; // out: the folder written ("" when nothing was)
    PredictImageFn on_image; // NULL: none; called after each image is done (printed and saved)
    void *on_image_ctx;
} PredictRunOptions;

// Predicts every image of src with the opened model (inference_model_open). The images are
// checked readable (their headers) before the run folder is made. -1 with a message.
int predict_run(PredictRunOptions *o, InferenceModel *im, const SourceList *src);

#endif
