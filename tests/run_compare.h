// Exact-resume checks shared by the tasks' tests (shared/docs/checkpoint-and-resume.md,
// Exactness): a run trained in one go against the same run interrupted and resumed.
#ifndef YOLO_TESTS_RUN_COMPARE_H
#define YOLO_TESTS_RUN_COMPARE_H

#include "engine/trainer.h"

// A tiny run's options writing under dir (project dir/runs, datasets dir/datasets), with the
// given loader workers.
typedef TrainOptions (*TinyRun)(const char *dir, int workers);

// Every tensor of a with the same name, shape and bytes in b, and no other tensor in b.
void expect_same_tensors(const char *path_a, const char *path_b);
// results.csv with the time column (the second) cut out of every line (malloc'd; NULL if unreadable).
char *results_without_time(const char *path);

// Trains `epochs` in one go (workers=0) and as a run interrupted (workers=2) after `stop` epochs
// or, mid-epoch, after `stop_batches` micro-batches, then resumed, and compares the two run
// folders: last.ckpt bit for bit and results.csv but the time column. save_minutes > 0 adds
// periodic mid-epoch saves to the interrupted run, which must change nothing.
void expect_resume_exact(TinyRun make, int batch, int epochs, int stop, int stop_batches, double save_minutes);

#endif
