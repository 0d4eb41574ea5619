// Run folders as Ultralytics names them: <project or runs/<task>>/<name or train>, then train2,
// train3, ... when the folder exists and exist_ok is false.
#ifndef YOLO_ENGINE_RUN_DIR_H
#define YOLO_ENGINE_RUN_DIR_H

#include <stdbool.h>
#include <stddef.h>

// A training run's folder (mode name "train"), with weights/ inside.
int run_dir_create(const char *project, const char *task, const char *name, bool exist_ok, char *out, size_t cap);

// The folder of a val or predict run: <project or runs/<task>>/<name or mode>, numbered the same
// way, created with its parents (no weights/).
int run_dir_new(const char *project, const char *task, const char *name, const char *mode, bool exist_ok, char *out,
                size_t cap);

// Takes the run folder's lock (<run_dir>/weights/.lock, flock: the kernel drops it when the process
// dies) into *fd, which the caller closes when the run ends; -1 with a message when another
// process holds it.
int run_dir_lock(const char *run_dir, int *fd);

#endif
