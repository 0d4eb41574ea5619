// Helpers of the training and resume tests (test_trainer.c, test_modes.c, test_resume*.c,
// test_segment_train.c, test_classify_train.c): a tiny detect run on shapes8 that the other
// tasks' tiny runs start from, the exact-resume check of any task, and what a run folder holds.
#ifndef YOLO_TESTS_RESUME_UTIL_H
#define YOLO_TESTS_RESUME_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/trainer.h"

// yolov8n on shapes8 (4 train images) at imgsz 64, 3 epochs of batch 4, under dir/runs and
// dir/datasets, with `workers` loader workers.
TrainOptions resume_tiny_detect(const char *dir, int workers);

// A tiny run of one task in scratch folder `dir` (runs in dir/runs/train, datasets in
// dir/datasets) with `workers` loader threads.
typedef TrainOptions (*TinyRun)(const char *dir, int workers);

// The exact-resume check (shared/docs/checkpoint-and-resume.md, Exactness): trains `epochs` in one
// go (workers=0) and as a run interrupted after `stop` epochs or, mid-epoch, after `stop_batches`
// micro-batches (workers=1), then resumed (workers=2), and compares the two run folders:
// last.ckpt bitwise, results.csv but for the time column. save_minutes > 0 adds periodic
// mid-epoch saves to the interrupted run, which must change nothing. The finished run then
// refuses to resume at the same epochs=.
void expect_task_resume_exact(TinyRun make, int batch, int epochs, int stop, int stop_batches, double save_minutes);

// Every tensor of path_a with the same name, shape and bytes in path_b, and no other tensor in
// path_b; failures are reported as test failures.
void expect_same_tensors(const char *path_a, const char *path_b);

// results.csv of the two run folders equal in every column but time (the second).
void expect_same_results(const char *run_a, const char *run_b);

// The lines of a text file, the first copied to `first` when it is not NULL; -1 when it cannot be
// read.
int count_lines(const char *path, char *first, size_t cap);

// args.yaml, last.ckpt, last.prev.ckpt and best.ckpt in run folder `run`; a test failure for each
// one missing.
void expect_run_files(const char *run);

// Copies a file; false (and a test failure) if it cannot.
bool copy_file(const char *from, const char *to);

// "<dir>/runs/train/weights" created (a run folder to put a copied checkpoint in).
bool make_run_folder(const char *dir);

// A digest of every file under dir (paths relative to dir, and contents), to show that a refused
// command changed nothing on disk; *files counts them.
uint64_t folder_digest(const char *dir, int *files);

#endif
