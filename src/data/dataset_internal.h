// What the dataset files share; internal to them. dataset.c loads a dataset's config (a YAML in
// dataset_yaml.c, a classify folder in dataset_classify.c); dataset_scan.c scans a split, listing
// its images (dataset_list.c) and checking each image and label file (dataset_check.c); the label
// cache is dataset_cache.c.
#ifndef YOLO_DATA_DATASET_INTERNAL_H
#define YOLO_DATA_DATASET_INTERNAL_H

#include <stdbool.h>

#include "data/dataset.h"
#include "io/path.h"

// The YAML keys of the splits, in SplitKind order ("train", "val", "test"); also the words of
// messages.
extern const char *const DATASET_SPLIT_KEYS[SPLIT_COUNT];

// dataset_yaml.c: data= as a dataset YAML (a path, or a name in the datasets directory or the
// shipped configs), downloading the dataset when its val split is missing and the YAML says how.
int dataset_yaml_load(const char *data, const char *datasets, DatasetConfig *cfg);

// dataset_classify.c: data= as a classify folder (a path or a name in the datasets directory);
// its classes are train/'s folders.
int dataset_classify_load(const char *data, const char *datasets, DatasetConfig *cfg);

// dataset_list.c: the image files under a folder, recursively (symlinks followed, hidden entries
// skipped, as Ultralytics' glob("**/*.*")); the visible folders directly in one; and one split
// source (a folder, an image, or a .txt list of images).
int dataset_list_images(const char *dir, PathList *out);
int dataset_list_subfolders(const char *dir, PathList *out);
int dataset_list_source(const char *src, PathList *out);

// dataset_check.c: the warnings of a scan, each "<file>: <problem>", printed at its end.
typedef struct {
    char **items;
    int n, cap;
} ScanWarnings;

char *scan_format_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int scan_warnings_take(ScanWarnings *w, char *s); // takes s; NULL (unformatted) is dropped
void scan_warnings_print(const ScanWarnings *w);  // the first WARNINGS_SHOWN, then a count
void scan_warnings_free(ScanWarnings *w);

// dataset_check.c: checks every listed image (its size, and its label file unless class_of gives
// each image's class) on threads; the kept ones move from `list` into `out` with the summary.
int scan_check_listing(const DatasetConfig *cfg, PathList *list, const int *class_of, DatasetSplit *out,
                       ScanWarnings *warnings);

// dataset_classify.c: a classify split, class folder by class folder.
int dataset_classify_scan(const DatasetConfig *cfg, SplitKind split, DatasetSplit *out, ScanWarnings *warnings);

#endif
