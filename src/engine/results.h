// results.csv: one row per epoch, Ultralytics' columns, values as "%.6g"; the header is written
// when the file is new, and a resumed run appends.
#ifndef YOLO_ENGINE_RESULTS_H
#define YOLO_ENGINE_RESULTS_H

int results_append(const char *path, const char *const *columns, int n, const double *values);

#endif
