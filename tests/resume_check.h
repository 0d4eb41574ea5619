// The exact-resume check for any task's tiny run (shared/docs/checkpoint-and-resume.md,
// Exactness): a run trained in one go against the same run interrupted and resumed, compared
// tensor by tensor and row by row. (The detect resume tests keep their own helpers.)
#ifndef YOLO_TESTS_RESUME_CHECK_H
#define YOLO_TESTS_RESUME_CHECK_H

#include "engine/trainer.h"

// A tiny run of one task in scratch folder `dir` (runs in dir/runs/train, datasets in
// dir/datasets) with `workers` loader threads.
typedef TrainOptions (*TinyRun)(const char *dir, int workers);

// Trains `epochs` in one go (workers=0) and as a run interrupted (workers=2) after `stop` epochs
// or, mid-epoch, after `stop_batches` micro-batches, then resumed, and compares the two run
// folders: last.ckpt bitwise, results.csv but for the time column. save_minutes > 0 adds
// periodic mid-epoch saves to the interrupted run, which must change nothing. The finished run
// then refuses to resume at the same epochs=.
void expect_task_resume_exact(TinyRun make, int batch, int epochs, int stop, int stop_batches, double save_minutes);

#endif
