// Run folders as Ultralytics names them: <project or runs/<task>>/<name or train>, then train2,
// train3, ... when the folder exists and exist_ok is false; weights/ inside.
#ifndef YOLO_ENGINE_RUN_DIR_H
#define YOLO_ENGINE_RUN_DIR_H

#include <stdbool.h>
#include <stddef.h>

int run_dir_create(const char *project, const char *task, const char *name, bool exist_ok, char *out, size_t cap);

#endif
