// `yolo TASK train`: the epoch loop on a planned graph (spec §7) with validation, results.csv,
// checkpoints and early stopping. Returns 0 when the run finished, -1 on failure (yolo_error()),
// and 130 or 143 (the shell's status for SIGINT, SIGTERM) when a signal stopped it after saving
// last.ckpt at the exact position.
#ifndef YOLO_ENGINE_TRAINER_H
#define YOLO_ENGINE_TRAINER_H

#include "engine/train_options.h"

int train_run(const TrainOptions *o);

#endif
