// `yolo TASK train`: the epoch loop on a planned graph (spec §7) with validation, results.csv,
// checkpoints and early stopping. Returns 0 only when the run finished.
#ifndef YOLO_ENGINE_TRAINER_H
#define YOLO_ENGINE_TRAINER_H

#include "engine/train_options.h"

int train_run(const TrainOptions *o);

#endif
