#ifndef YOLO_CLI_PREDICT_CMD_H
#define YOLO_CLI_PREDICT_CMD_H

#include "cli/args.h"

// `yolo TASK predict model=PATH.ckpt source=...`: the arguments checked and resolved (the
// checkpoint's imgsz where imgsz= is not given; conf 0.25), the source expanded, then the
// predictions (engine/predict_mode.h). Returns the exit code: 0 done, 2 bad arguments, 1 failed.
int predict_command(const Args *a);

#endif
