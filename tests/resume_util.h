// Helpers of the resume tests (test_resume*.c): a tiny detect run on shapes8 and comparisons of
// run folders.
#ifndef YOLO_TESTS_RESUME_UTIL_H
#define YOLO_TESTS_RESUME_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/trainer.h"

// yolov8n on shapes8 (4 train images) at imgsz 64, 3 epochs of batch 4, under dir/runs and
// dir/datasets, with `workers` loader workers.
TrainOptions resume_tiny_detect(const char *dir, int workers);

// Every tensor of path_a with the same name, shape and bytes in path_b, and no other tensor in
// path_b; failures are reported as test failures.
void expect_same_tensors(const char *path_a, const char *path_b);

// results.csv of the two run folders equal in every column but time (the second).
void expect_same_results(const char *run_a, const char *run_b);

// Copies a file; false (and a test failure) if it cannot.
bool copy_file(const char *from, const char *to);

// "<dir>/runs/train/weights" created (a run folder to put a copied checkpoint in).
bool make_run_folder(const char *dir);

// A digest of every file under dir (paths relative to dir, and contents), to show that a refused
// command changed nothing on disk; *files counts them.
uint64_t folder_digest(const char *dir, int *files);

#endif
