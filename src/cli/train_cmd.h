#ifndef YOLO_CLI_TRAIN_CMD_H
#define YOLO_CLI_TRAIN_CMD_H

#include "cli/args.h"

// `yolo TASK train ...`: turns the parsed arguments into TrainOptions and runs the trainer.
// Returns the process exit code: 0 only when the run finished, 130/143 after an interrupt.
int train_command(const Args *a);

#endif
