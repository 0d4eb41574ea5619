// Classify datasets as torchvision's ImageFolder reads them: root/{train,val}/<class>/<images>,
// the classes being train/'s folders.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "data/dataset_internal.h"
#include "io/path.h"

int dataset_classify_load(const char *data, const char *datasets, DatasetConfig *cfg) {
    char candidate[DATASET_PATH_CAP];
    if (path_is_dir(data)) TRY(path_absolute(data, cfg->root, sizeof cfg->root));
    else if (data[0] != '/' && path_join(datasets, data, candidate, sizeof candidate) == 0 && path_is_dir(candidate))
        strcpy(cfg->root, candidate);
    else
        return yolo_fail("data=%s: no such folder here or in the datasets directory %s; a classify dataset is a folder with "
                         "train/<class>/ and val/<class>/ image folders",
                         data, datasets);
    const char *val = "val";
    char sub[DATASET_PATH_CAP];
    TRY(path_join(cfg->root, "train", sub, sizeof sub));
    if (!path_is_dir(sub))
        return yolo_fail("%s has no train/ folder; a classify dataset holds train/<class>/*.jpg and val/<class>/*.jpg",
                         cfg->root);
    TRY(path_join(cfg->root, "val", sub, sizeof sub));
    if (!path_is_dir(sub)) {
        val = "validation";
        TRY(path_join(cfg->root, "validation", sub, sizeof sub));
    }
    if (!path_is_dir(sub)) {
        // Ultralytics validates on test/ when there is no val/; so do we, saying so.
        val = "test";
        TRY(path_join(cfg->root, "test", sub, sizeof sub));
        if (!path_is_dir(sub))
            return yolo_fail("%s has no val/ (or validation/) folder; add one with the same class folders as train/", cfg->root);
        fprintf(stderr, "warning: %s: no val/ folder; validating on test/\n", cfg->root);
    }
    const char *splits[SPLIT_COUNT] = {"train", val, "test"};
    for (int s = 0; s < SPLIT_COUNT; s++) {
        TRY(path_join(cfg->root, splits[s], sub, sizeof sub));
        if (!path_is_dir(sub)) continue;
        cfg->sources[s] = calloc(1, sizeof *cfg->sources[s]);
        mallocCheck(cfg->sources[s]);
        strcpy(cfg->sources[s][0], sub);
        cfg->n_sources[s] = 1;
    }

    // Classes: train/'s folders in C-locale order (torchvision's ImageFolder sorts them too).
    // Hidden folders (.ipynb_checkpoints) are not classes, unlike in ImageFolder.
    PathList classes = {0};
    if (dataset_list_subfolders(cfg->sources[SPLIT_TRAIN][0], &classes) != 0) {
        path_list_free(&classes);
        return -1;
    }
    if (classes.n == 0)
        return yolo_fail("%s has no class folders; put each class's images in train/<class name>/", cfg->sources[SPLIT_TRAIN][0]);
    path_list_sort(&classes);
    cfg->names = classes.items; // ownership moves: the list's strings are the names
    cfg->nc = classes.n;
    cfg->text = strdup("");
    mallocCheck(cfg->text);
    return 0;
}

// Lists a classify split: class folder by class folder in class order, each sorted (the order
// of torchvision's ImageFolder). Folders that are not classes of train/ are reported and skipped.
int dataset_classify_scan(const DatasetConfig *cfg, SplitKind split, DatasetSplit *out, ScanWarnings *warnings) {
    const char *dir = cfg->sources[split][0];
    PathList list = {0}, folders = {0};
    int *class_of = NULL, rc = 0;
    for (int c = 0; c < cfg->nc && rc == 0; c++) {
        char class_dir[DATASET_PATH_CAP];
        if (snprintf(class_dir, sizeof class_dir, "%s/%s", dir, cfg->names[c]) >= (int)sizeof class_dir) {
            rc = yolo_fail("path too long: %s/%.80s...", dir, cfg->names[c]);
            break;
        }
        if (!path_is_dir(class_dir)) continue;
        PathList one = {0};
        rc = dataset_list_images(class_dir, &one);
        path_list_sort(&one);
        int *grown = rc ? NULL : realloc(class_of, ((size_t)list.n + (size_t)one.n + 1) * sizeof *class_of);
        if (!rc && !grown) rc = yolo_fail("out of memory listing %s", class_dir);
        if (grown) class_of = grown;
        for (int i = 0; rc == 0 && i < one.n; i++) {
            class_of[list.n] = c;
            rc = path_list_push(&list, one.items[i]);
        }
        path_list_free(&one);
    }
    if (rc == 0) rc = dataset_list_subfolders(dir, &folders);
    for (int i = 0; rc == 0 && i < folders.n; i++) {
        bool known = false;
        for (int c = 0; c < cfg->nc && !known; c++) known = !strcmp(folders.items[i], cfg->names[c]);
        if (!known)
            rc = scan_warnings_take(warnings, scan_format_warning("%s/%s: not a class of train/ (classes are the folders of %s); its "
                                                        "images are skipped",
                                                        dir, folders.items[i], cfg->sources[SPLIT_TRAIN][0]));
    }
    path_list_free(&folders);
    if (rc == 0 && list.n == 0)
        rc = yolo_fail("%s: no images in %s; put each class's images in %s/<class name>/", DATASET_SPLIT_KEYS[split], dir, dir);
    if (rc == 0) rc = scan_check_listing(cfg, &list, class_of, out, warnings);
    free(class_of);
    path_list_free(&list);
    return rc;
}
