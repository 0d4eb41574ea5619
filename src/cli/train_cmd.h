#ifndef YOLO_CLI_TRAIN_CMD_H
#define YOLO_CLI_TRAIN_CMD_H

#include <stddef.h>

#include "cli/args.h"

// `yolo TASK train ...`: turns the parsed arguments into TrainOptions and runs the trainer.
// Returns the process exit code: 0 only when the run finished, 130/143 after an interrupt, 2 bad
// arguments, 1 it failed (the message in yolo_error()). The run folder goes into run_dir[cap]
// (NULL: not wanted; "" when none was made).
int train_command(const Args *a, char *run_dir, size_t cap);

#endif
