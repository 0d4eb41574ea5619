// Datasets as Ultralytics reads them. Detect and segment: a dataset YAML (path, train, val, test,
// names/nc) whose splits are image folders, .txt lists of images, or lists of these, with labels
// found by the images/ -> labels/ rule. In a .txt list, relative lines are relative to the list's
// folder (Ultralytics: only "./" lines; others fall back to the current directory, as there).
// Classify: a folder root/{train,val}/<class>/<images>; classes are train/'s visible folders.
//
// Relative dataset roots resolve against the datasets directory: `datasets_dir` argument, else
// the YOLO_DATASETS_DIR environment variable, else ./datasets.
#ifndef YOLO_DATA_DATASET_H
#define YOLO_DATA_DATASET_H

#include <stdbool.h>
#include <stdint.h>

#include "data/labels.h"

typedef enum { SPLIT_TRAIN, SPLIT_VAL, SPLIT_TEST, SPLIT_COUNT } SplitKind;

enum { DATASET_PATH_CAP = 4096 };

typedef struct {
    char yaml_path[DATASET_PATH_CAP]; // the file read ("" for a classify folder)
    char *text;                       // the YAML verbatim (checkpoints keep it); "" for classify
    char root[DATASET_PATH_CAP];      // resolved dataset root, absolute
    // Each split: n_sources[s] resolved folders, .txt lists or image files (0: the split is absent).
    // Paths are absolute but not canonical: symlinks and ".." stay, so the images/ -> labels/
    // rule sees the layout the user wrote.
    int n_sources[SPLIT_COUNT];
    char (*sources[SPLIT_COUNT])[DATASET_PATH_CAP];
    int nc;
    char **names; // [nc]
    bool classify; // a class-folder dataset
} DatasetConfig;

// The datasets directory in force (argument, YOLO_DATASETS_DIR, or "datasets").
const char *datasets_dir(const char *override);

// Reads a dataset YAML (`data=coco8.yaml`: a path, or a name looked up in the datasets directory
// and then in configs/datasets) or, for classify, a folder (path or name under the datasets
// directory). Errors name the file, the key and the value, and what to do.
int dataset_config_load(const char *data, const char *datasets_dir_override, bool classify, DatasetConfig *cfg);
void dataset_config_free(DatasetConfig *cfg);

// How a scan went: kept images and what was skipped, by reason, for the summary line.
// images_found = images_kept + bad_images + unreadable_labels + the sum of bad_labels.
typedef struct {
    int images_found;
    int images_kept;
    int backgrounds;       // kept, no objects
    int missing_labels;    // kept as backgrounds
    int bad_images;        // unreadable, truncated, too small, or a format we cannot decode
    int unreadable_labels; // the label file exists but cannot be read (permissions, a folder)
    int bad_labels[LABEL_KIND_COUNT]; // rejected by labels_parse, by problem ([LABEL_OK] stays 0)
    int duplicate_rows;    // dropped rows, files kept
    int instances;
    bool from_cache;       // read from the label cache: no image or label file was opened
} ScanSummary;

// One split, scanned: every usable image with its size and labels (or class index).
typedef struct {
    int n;
    char **image_paths;   // [n], sorted as Ultralytics sorts them
    int *width, *height;  // [n], upright size
    Labels *labels;       // [n] (detect/segment)
    int *class_index;     // [n] (classify)
    bool has_polygons;    // every labelled image has polygon labels
    ScanSummary summary;
    uint64_t fingerprint; // XXH3 of the image list, sizes and label contents: notices a changed dataset
} DatasetSplit;

// Scans a split: lists images, reads their sizes, parses their labels, prints one warning per
// skipped file to stderr ("warning: <file>: <problem>", the first 20, then a count) and a
// summary to stdout ("train: 128 images, 2 backgrounds, 0 corrupt"), and keeps a label cache
// next to the labels (`<labels dir>.cache`) that is reused while the image and label files are
// unchanged (same paths, sizes and mtimes). A split with no usable image is an error.
int dataset_scan(const DatasetConfig *cfg, SplitKind split, DatasetSplit *out);
void dataset_split_free(DatasetSplit *s);

// "ds/images/train/a.jpg" -> "ds/labels/train/a.txt": the last "/images/" becomes "/labels/"
// and the extension ".txt". Returns -1 when the result does not fit.
int label_path_for(const char *image_path, char *out, size_t cap);

#endif
