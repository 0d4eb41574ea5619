// Dataset configs (spec §10, §6): data= as a YAML or a classify folder, the built-in datasets
// generated on first use, and the images/ -> labels/ rule. The other dataset_*.c files hold the
// parts (dataset_internal.h).
#include "data/dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "data/dataset_internal.h"
#include "data/shapes.h"

const char *const DATASET_SPLIT_KEYS[SPLIT_COUNT] = {"train", "val", "test"};

const char *datasets_dir(const char *override) {
    if (override && override[0]) return override;
    const char *env = getenv("YOLO_DATASETS_DIR");
    return env && env[0] ? env : "datasets";
}

int label_path_for(const char *image_path, char *out, size_t cap) {
    // The last "/images/" (Ultralytics uses rsplit); the extension is only a dot in the file name.
    const char *hit = NULL;
    for (const char *p = strstr(image_path, "/images/"); p; p = strstr(p + 1, "/images/")) hit = p;
    const char *base = strrchr(image_path, '/');
    base = base ? base + 1 : image_path;
    const char *dot = strrchr(base, '.');
    size_t stem = dot ? (size_t)(dot - image_path) : strlen(image_path);
    int n = hit ? snprintf(out, cap, "%.*s/labels/%.*s.txt", (int)(hit - image_path), image_path,
                           (int)(stem - (size_t)(hit + 8 - image_path)), hit + 8)
                : snprintf(out, cap, "%.*s.txt", (int)stem, image_path);
    if (n < 0 || (size_t)n >= cap) return yolo_fail("the label path of %.80s... is too long", image_path);
    return 0;
}

int dataset_config_load(const char *data, const char *datasets_dir_override, bool classify, DatasetConfig *cfg) {
    memset(cfg, 0, sizeof *cfg);
    if (!data || !data[0]) return yolo_fail("data= is empty; give a dataset YAML (detect, segment) or a folder (classify)");
    const char *datasets = datasets_dir(datasets_dir_override);
    // A built-in dataset is generated on first use under <datasets>/<name>, the root its shipped
    // YAML names; an existing folder is left as it is.
    if (shapes_is_builtin(data)) {
        char root[DATASET_PATH_CAP];
        size_t stem = strlen(data) - (strstr(data, ".yaml") ? 5 : 0);
        if (snprintf(root, sizeof root, "%s/%.*s", datasets, (int)stem, data) >= (int)sizeof root)
            return yolo_fail("datasets directory %s: path too long", datasets);
        if (shapes_generate(data, root) != 0) return yolo_fail("generating the built-in dataset %s", data);
    }
    int rc = classify ? dataset_classify_load(data, datasets, cfg) : dataset_yaml_load(data, datasets, cfg);
    cfg->classify = classify;
    if (rc != 0) dataset_config_free(cfg);
    return rc;
}

void dataset_config_free(DatasetConfig *cfg) {
    free(cfg->text);
    for (int s = 0; s < SPLIT_COUNT; s++) free(cfg->sources[s]);
    if (cfg->names)
        for (int i = 0; i < cfg->nc; i++) free(cfg->names[i]);
    free(cfg->names);
    memset(cfg, 0, sizeof *cfg);
}
