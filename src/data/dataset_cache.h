// The label cache of a detect/segment split, as Ultralytics keeps one: `<labels dir>.cache`
// beside the labels folder holds the result of a scan (kept images, their sizes and parsed
// labels, the summary counts and the warnings) under a key that hashes every listed image's path
// and the sizes and mtimes of the image and label files. A cache is used only when its key
// matches and every length and value in it checks out; anything else is ignored and rewritten.
// Internal to the dataset files (dataset_scan.c).
#ifndef YOLO_DATA_DATASET_CACHE_H
#define YOLO_DATA_DATASET_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "data/dataset.h"

// Bumped whenever the file layout or what a scan decides changes (a decoder or label rule).
enum { LABEL_CACHE_VERSION = 1 };

// Where the cache of a split lives: the label folder of its first image plus ".cache"
// (ds/images/train/a.jpg -> ds/labels/train.cache). -1 when there is no such folder.
int label_cache_path(const char *first_image, char *out, size_t cap);

// The key of a listing: paths (sorted, all listed images, kept or not), the class count, and
// for each image and its label file the size and mtime (or "absent").
int label_cache_key(char *const *paths, int n, int nc, uint64_t *key);

// Loads a cache whose key is `key` into out (image_paths, width, height, labels, summary) and the
// warnings it recorded (each "<file>: <problem>"). Returns -1 with a message when the file is
// absent, stale or fails any check; out and the warnings are then left empty.
int label_cache_load(const char *path, uint64_t key, int nc, DatasetSplit *out, char ***warnings, int *n_warnings);

// Writes the cache atomically (a temporary file renamed over the old one).
int label_cache_save(const char *path, uint64_t key, const DatasetSplit *s, char *const *warnings, int n_warnings);

#endif
