// Dataset YAMLs as Ultralytics reads them (check_det_dataset): path, train, val (or validation),
// test, names or nc, channels and download; every error names the file, the line and the key.
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "core/status.h"
#include "data/dataset_internal.h"
#include "data/download.h"
#include "io/config_dir.h"
#include "io/path.h"

#define YAML_FILE_LIMIT ((size_t)16 << 20)

typedef struct {
    yaml_document_t *doc;
    const char *file;
} Yaml;

static yaml_node_t *yaml_at(const Yaml *y, int index) { return yaml_document_get_node(y->doc, index); }

static int line_of(const yaml_node_t *n) { return (int)n->start_mark.line + 1; }

static const char *scalar_of(const yaml_node_t *n) {
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

// YAML's null: absent, empty, ~ or null, unquoted ("test:  # optional" is a null).
static bool is_null(const yaml_node_t *n) {
    if (!n) return true;
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return false;
    const char *s = scalar_of(n);
    return !s[0] || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

static const char *node_kind(const yaml_node_t *n) {
    return n->type == YAML_SEQUENCE_NODE ? "a list" : n->type == YAML_MAPPING_NODE ? "a map" : "null";
}

// A whole-string integer in [lo, hi]; false otherwise.
static bool parse_long(const char *s, long lo, long hi, long *out) {
    if (!s) return false;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!s[0] || isspace((unsigned char)s[0]) || *end != '\0' || errno || v < lo || v > hi) return false;
    *out = v;
    return true;
}

static int yaml_int(const Yaml *y, const yaml_node_t *n, const char *key, long lo, long hi, int *out) {
    long v;
    if (!parse_long(scalar_of(n), lo, hi, &v))
        return yolo_fail("%s:%d: `%s: %s` must be an integer from %ld to %ld", y->file, line_of(n), key,
                         scalar_of(n) ? scalar_of(n) : node_kind(n), lo, hi);
    *out = (int)v;
    return 0;
}

static int set_names_from_list(const Yaml *y, const yaml_node_t *n, DatasetConfig *cfg) {
    int count = (int)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (count == 0)
        return yolo_fail("%s:%d: `names` is empty; list one name per class, e.g. names: [cat, dog]", y->file, line_of(n));
    cfg->names = calloc((size_t)count, sizeof *cfg->names);
    mallocCheck(cfg->names);
    cfg->nc = count;
    for (int i = 0; i < count; i++) {
        const yaml_node_t *item = yaml_at(y, n->data.sequence.items.start[i]);
        if (is_null(item) || !scalar_of(item))
            return yolo_fail("%s:%d: names[%d] must be a name, got %s", y->file, line_of(item), i, node_kind(item));
        cfg->names[i] = strdup(scalar_of(item));
        mallocCheck(cfg->names[i]);
    }
    return 0;
}

// {0: person, 1: bicycle}: keys are class indices (quoted ones too), exactly 0..n-1.
static int set_names_from_map(const Yaml *y, const yaml_node_t *n, DatasetConfig *cfg) {
    int count = (int)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    if (count == 0)
        return yolo_fail("%s:%d: `names` is empty; map each class index to a name, e.g. names: {0: cat, 1: dog}", y->file,
                         line_of(n));
    cfg->names = calloc((size_t)count, sizeof *cfg->names);
    mallocCheck(cfg->names);
    cfg->nc = count;
    for (int i = 0; i < count; i++) {
        const yaml_node_pair_t *p = &n->data.mapping.pairs.start[i];
        const yaml_node_t *key = yaml_at(y, p->key), *value = yaml_at(y, p->value);
        long index;
        if (!parse_long(scalar_of(key), 0, count - 1, &index))
            return yolo_fail("%s:%d: `names` key %s is not a class index from 0 to %d; number the %d classes 0 to %d "
                             "without gaps",
                             y->file, line_of(key), scalar_of(key) ? scalar_of(key) : node_kind(key), count - 1, count,
                             count - 1);
        if (cfg->names[index])
            return yolo_fail("%s:%d: class %ld is named twice in `names`; give each index one name", y->file, line_of(key),
                             index);
        if (is_null(value) || !scalar_of(value))
            return yolo_fail("%s:%d: names[%ld] must be a name, got %s", y->file, line_of(value), index, node_kind(value));
        cfg->names[index] = strdup(scalar_of(value));
        mallocCheck(cfg->names[index]);
    }
    return 0;
}

// root/value, or root/value[3:] when that does not exist and value starts with "../" (for YAMLs
// written for a root one level up). When neither exists the first is kept, so the scan's error
// names the path the YAML asked for.
static int resolve_split_path(const char *root, const char *value, char *out) {
    TRY(path_join(root, value, out, DATASET_PATH_CAP));
    if (!path_exists(out) && !strncmp(value, "../", 3)) {
        char alt[DATASET_PATH_CAP];
        TRY(path_join(root, value + 3, alt, sizeof alt));
        if (path_exists(alt)) strcpy(out, alt);
    }
    return 0;
}

// A split value: a path or a list of paths (the ../ rule applies to each).
static int set_split(const Yaml *y, const yaml_node_t *v, const char *key, DatasetConfig *cfg, SplitKind split) {
    if (is_null(v)) return 0;
    if (v->type == YAML_MAPPING_NODE)
        return yolo_fail("%s:%d: `%s` must be a path or a list of paths, not a map", y->file, line_of(v), key);
    bool list = v->type == YAML_SEQUENCE_NODE;
    int count = list ? (int)(v->data.sequence.items.top - v->data.sequence.items.start) : 1;
    if (count == 0) return 0;
    cfg->sources[split] = calloc((size_t)count, sizeof *cfg->sources[split]);
    mallocCheck(cfg->sources[split]);
    for (int i = 0; i < count; i++) {
        const yaml_node_t *item = list ? yaml_at(y, v->data.sequence.items.start[i]) : v;
        if (is_null(item) || !scalar_of(item))
            return yolo_fail("%s:%d: `%s` entries must be paths, got %s", y->file, line_of(item), key, node_kind(item));
        TRY(resolve_split_path(cfg->root, scalar_of(item), cfg->sources[split][i]));
        cfg->n_sources[split] = i + 1;
    }
    return 0;
}

typedef struct {
    const yaml_node_t *path, *train, *val, *validation, *test, *names, *nc, *channels, *download;
} DatasetKeys;

static int set_splits(const Yaml *y, const DatasetKeys *k, DatasetConfig *cfg) {
    const yaml_node_t *val = !is_null(k->val) ? k->val : k->validation;
    TRY(set_split(y, k->train, "train", cfg, SPLIT_TRAIN));
    TRY(set_split(y, val, val == k->validation && k->validation ? "validation" : "val", cfg, SPLIT_VAL));
    TRY(set_split(y, k->test, "test", cfg, SPLIT_TEST));
    return 0;
}

static const char *first_missing(const DatasetConfig *cfg, SplitKind split) {
    for (int i = 0; i < cfg->n_sources[split]; i++)
        if (!path_exists(cfg->sources[split][i])) return cfg->sources[split][i];
    return NULL;
}

// Ultralytics' rule (check_det_dataset): when a val path is missing and the YAML has `download:`,
// the dataset is fetched into the datasets directory and the split paths are resolved again.
static int download_if_missing(const Yaml *y, const DatasetKeys *k, const char *datasets, DatasetConfig *cfg) {
    const char *missing = first_missing(cfg, SPLIT_VAL);
    if (!missing || !k->download || is_null(k->download)) return 0;
    const char *spec = scalar_of(k->download);
    if (!spec)
        return yolo_fail("%s:%d: `download` must be a URL, got %s", y->file, line_of(k->download), node_kind(k->download));
    fprintf(stderr, "warning: dataset %s: images not found, missing path %s\n", y->file, missing);
    char root[DATASET_PATH_CAP];
    if (dataset_download(spec, datasets, root, sizeof root) != 0) return yolo_fail("%s:%d", y->file, line_of(k->download));
    for (int s = 0; s < SPLIT_COUNT; s++) {
        free(cfg->sources[s]);
        cfg->sources[s] = NULL;
        cfg->n_sources[s] = 0;
    }
    TRY(set_splits(y, k, cfg));
    if ((missing = first_missing(cfg, SPLIT_VAL)) != NULL)
        return yolo_fail("%s: the download unpacked to %s, but val is still missing (%s); make `path:` name the dataset "
                         "folder (path: %s)", y->file, root, missing, root);
    return 0;
}

static int parse_dataset_yaml(const Yaml *y, const char *datasets, DatasetConfig *cfg) {
    const yaml_node_t *top = yaml_document_get_root_node(y->doc);
    if (!top || top->type != YAML_MAPPING_NODE)
        return yolo_fail("%s: a dataset YAML is a map with path, train, val and names (see configs/datasets/)", y->file);
    DatasetKeys k = {0};
    for (const yaml_node_pair_t *p = top->data.mapping.pairs.start; p < top->data.mapping.pairs.top; p++) {
        const char *key = scalar_of(yaml_at(y, p->key));
        const yaml_node_t *value = yaml_at(y, p->value);
        if (!key) continue;
        // Other keys (roboflow, ...) belong to other tools.
        if (!strcmp(key, "path")) k.path = value;
        else if (!strcmp(key, "train")) k.train = value;
        else if (!strcmp(key, "val")) k.val = value;
        else if (!strcmp(key, "validation")) k.validation = value;
        else if (!strcmp(key, "test")) k.test = value;
        else if (!strcmp(key, "names")) k.names = value;
        else if (!strcmp(key, "nc")) k.nc = value;
        else if (!strcmp(key, "channels")) k.channels = value;
        else if (!strcmp(key, "download")) k.download = value;
    }
    if (k.channels && !is_null(k.channels)) {
        int channels = 0;
        TRY(yaml_int(y, k.channels, "channels", 1, 1 << 16, &channels));
        if (channels != 3)
            return yolo_fail("%s:%d: `channels: %d` is not supported: only 3-channel (RGB) images are; remove `channels`",
                             y->file, line_of(k.channels), channels);
    }

    int nc = 0;
    if (k.nc && !is_null(k.nc)) TRY(yaml_int(y, k.nc, "nc", 1, 1000000, &nc));
    if (k.names && !is_null(k.names)) {
        if (k.names->type == YAML_SEQUENCE_NODE) TRY(set_names_from_list(y, k.names, cfg));
        else if (k.names->type == YAML_MAPPING_NODE) TRY(set_names_from_map(y, k.names, cfg));
        else
            return yolo_fail("%s:%d: `names` must be a list ([cat, dog]) or a map ({0: cat, 1: dog}), got \"%s\"", y->file,
                             line_of(k.names), scalar_of(k.names));
        if (nc && nc != cfg->nc)
            return yolo_fail("%s: `names` has %d entries but `nc` is %d; make them agree (or remove nc)", y->file, cfg->nc, nc);
    } else if (nc) {
        cfg->names = calloc((size_t)nc, sizeof *cfg->names);
        mallocCheck(cfg->names);
        cfg->nc = nc;
        for (int i = 0; i < nc; i++) {
            char name[32];
            snprintf(name, sizeof name, "class_%d", i);
            cfg->names[i] = strdup(name);
            mallocCheck(cfg->names[i]);
        }
    } else {
        return yolo_fail("%s: neither `names` nor `nc` is set; add names: [cat, dog] (one name per class)", y->file);
    }

    // The root: `path`, relative ones under the datasets directory; else the YAML's own folder.
    if (k.path && !is_null(k.path)) {
        const char *path = scalar_of(k.path);
        if (!path) return yolo_fail("%s:%d: `path` must be a folder, got %s", y->file, line_of(k.path), node_kind(k.path));
        if (path[0] == '/') TRY(path_absolute(path, cfg->root, sizeof cfg->root));
        else TRY(path_join(datasets, path, cfg->root, sizeof cfg->root));
    } else {
        char dir[DATASET_PATH_CAP];
        path_parent(cfg->yaml_path, dir, sizeof dir);
        TRY(path_absolute(dir, cfg->root, sizeof cfg->root));
    }

    TRY(set_splits(y, &k, cfg));
    if (cfg->n_sources[SPLIT_TRAIN] == 0)
        return yolo_fail("%s: `train` is missing; add train: images/train (a folder, a .txt list of images, or a list of these)",
                         y->file);
    if (cfg->n_sources[SPLIT_VAL] == 0)
        return yolo_fail("%s: `val` is missing; add val: images/val (a folder, a .txt list of images, or a list of these)",
                         y->file);
    return download_if_missing(y, &k, datasets, cfg);
}

// data= as given, else the same name in the datasets directory, else in the shipped configs.
static int find_dataset_yaml(const char *data, const char *datasets, char *out, size_t cap) {
    struct stat st;
    if (stat(data, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return yolo_fail("data=%s is a folder; detect and segment datasets are YAML files (data=%s.yaml); only classify "
                             "takes a folder",
                             data, data);
        if (snprintf(out, cap, "%s", data) >= (int)cap) return yolo_fail("path too long: %.80s...", data);
        return 0;
    }
    char shipped[DATASET_PATH_CAP];
    TRY(config_subdir("datasets", shipped, sizeof shipped));
    if (data[0] != '/') {
        const char *bases[] = {datasets, shipped};
        for (size_t i = 0; i < sizeof bases / sizeof *bases; i++) {
            if (snprintf(out, cap, "%s/%s", bases[i], data) >= (int)cap) continue;
            if (path_is_file(out)) return 0;
        }
    }
    return yolo_fail("data=%s: no such file here, in the datasets directory %s or in %s; give the path of a dataset YAML",
                     data, datasets, shipped);
}

int dataset_yaml_load(const char *data, const char *datasets, DatasetConfig *cfg) {
    TRY(find_dataset_yaml(data, datasets, cfg->yaml_path, sizeof cfg->yaml_path));
    size_t len;
    int err = path_read_all(cfg->yaml_path, YAML_FILE_LIMIT, &cfg->text, &len);
    if (err) return yolo_fail("cannot read dataset file %s: %s", cfg->yaml_path, strerror(err));
    if (strlen(cfg->text) != len) return yolo_fail("%s is not a text file (it contains NUL bytes)", cfg->yaml_path);

    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) return yolo_fail("out of memory starting the YAML parser");
    yaml_parser_set_input_string(&parser, (const unsigned char *)cfg->text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        int rc = yolo_fail("%s:%d: YAML syntax error: %s%s%s", cfg->yaml_path, (int)parser.problem_mark.line + 1,
                           parser.problem ? parser.problem : "unknown", parser.context ? " " : "",
                           parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        return rc;
    }
    Yaml y = {&doc, cfg->yaml_path};
    int rc = parse_dataset_yaml(&y, datasets, cfg);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return rc;
}
