#ifndef YOLO_CLI_VAL_CMD_H
#define YOLO_CLI_VAL_CMD_H

#include "cli/args.h"
#include "engine/val_mode.h"

// `yolo TASK val model=PATH.ckpt [data=...] ...`: the arguments checked and resolved (a
// checkpoint's own dataset and imgsz where data= and imgsz= are not given; conf 0.001), then the
// validation (engine/val_mode.h). Returns the exit code: 0 done, 2 bad arguments, 1 it failed
// (the message in yolo_error()). done (NULL: not wanted) receives the options it ran with and
// their results: run_dir, metrics, fitness.
int val_command(const Args *a, ValOptions *done);

#endif
