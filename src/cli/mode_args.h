// What `yolo TASK val` and `yolo TASK predict` share in reading their arguments: the keys a mode
// takes (any other given key is refused rather than ignored), the CPU-only device, and the values
// a checkpoint's run trained with (imgsz, data), which stand in for keys not given, as
// Ultralytics' model overrides do.
#ifndef YOLO_CLI_MODE_ARGS_H
#define YOLO_CLI_MODE_ARGS_H

#include "cli/args.h"
#include "data/loader.h"

// -1 naming the first given key that is not in keys (NULL-terminated) and listing those that are.
int mode_args_check_keys(const Args *a, const char *mode, const char *const *keys);
// -1 unless device is unset or cpu.
int mode_args_check_device(const Args *a);
TaskKind mode_args_task(const Args *a);

// The arguments a checkpoint's run trained with, from its args.yaml text (train_args). Returns a
// malloc'ed Args (free()), or NULL with a message.
Args *mode_args_from_training(const char *train_args, const char *origin);

#endif
