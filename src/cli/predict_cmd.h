#ifndef YOLO_CLI_PREDICT_CMD_H
#define YOLO_CLI_PREDICT_CMD_H

#include "cli/args.h"
#include "engine/predict_mode.h"

// `yolo TASK predict model=PATH.ckpt source=...`: the arguments checked and resolved (the
// checkpoint's imgsz where imgsz= is not given; conf 0.25), the source expanded, then the
// predictions (engine/predict_mode.h). Returns the exit code: 0 done, 2 bad arguments, 1 failed
// (the message in yolo_error()). on_image (NULL: none) is called with each image's result.
int predict_command(const Args *a, PredictImageFn on_image, void *ctx);

#endif
