// Dataset YAMLs and classify folders (spec §10, §6), split listing and scanning. The label cache
// lives in dataset_cache.c.
#include "data/dataset.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
#include <yaml.h>

#include "core/status.h"
#include "core/threadpool.h"
#include "data/dataset_cache.h"
#include "data/download.h"
#include "data/shapes.h"
#include "data/image.h"
#include "io/config_dir.h"
#include "io/path.h"

static const char *const SPLIT_KEYS[SPLIT_COUNT] = {"train", "val", "test"};

// The ones our decoders read (MPO is a JPEG with extra frames).
static const char *const DECODABLE_EXTENSIONS[] = {"jpeg", "jpg", "mpo", "png"};

enum {
    WARNINGS_SHOWN = 20,        // printed per scan; the rest are counted in one line
    MAX_FOLDER_DEPTH = 100,     // deeper trees are refused rather than risking the stack
    SCAN_THREADS_MAX = 8,       // header reads are I/O bound; more threads stop helping
    PARALLEL_SCAN_MIN = 256,    // below this, starting threads costs more than it saves
};
#define LABEL_FILE_LIMIT ((size_t)64 << 20)
#define LIST_FILE_LIMIT ((size_t)1 << 30)
#define YAML_FILE_LIMIT ((size_t)16 << 20)

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

// ---------------------------------------------------------------------------------------------
// Dataset YAML

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

static int load_dataset_yaml(const char *data, const char *datasets, DatasetConfig *cfg) {
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

// ---------------------------------------------------------------------------------------------
// Listing files

// The folders a walk is inside of, to notice a symlink that leads back up.
typedef struct Ancestor {
    dev_t dev;
    ino_t ino;
    const struct Ancestor *up;
    int depth;
} Ancestor;

// Collects the image files under `dir`, following symlinks and skipping hidden entries, as
// Ultralytics' glob("**/*.*") does. Dangling links and unreadable files are listed too: the scan
// reports them as bad images.
static int walk_images(const char *dir, const Ancestor *up, PathList *out) {
    struct stat st;
    if (stat(dir, &st) != 0) return yolo_fail("cannot read %s: %s", dir, strerror(errno));
    for (const Ancestor *a = up; a; a = a->up)
        if (a->dev == st.st_dev && a->ino == st.st_ino) return 0; // a symlink loop: already being listed
    Ancestor me = {st.st_dev, st.st_ino, up, up ? up->depth + 1 : 0};
    if (me.depth > MAX_FOLDER_DEPTH) return yolo_fail("%s is nested more than %d folders deep", dir, MAX_FOLDER_DEPTH);
    DIR *d = opendir(dir);
    if (!d) return yolo_fail("cannot list %s: %s", dir, strerror(errno));
    int rc = 0;
    const struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char path[DATASET_PATH_CAP];
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path)
            rc = yolo_fail("path too long: %s/%.80s...", dir, e->d_name);
        else if (path_is_dir(path)) rc = walk_images(path, &me, out);
        else if (image_suffix_listed(e->d_name)) rc = path_list_push(out, path);
    }
    closedir(d);
    return rc;
}

// The names of the visible folders directly in `dir` (symlinks to folders count).
static int list_subfolders(const char *dir, PathList *out) {
    DIR *d = opendir(dir);
    if (!d) return yolo_fail("cannot list %s: %s", dir, strerror(errno));
    int rc = 0;
    const struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char path[DATASET_PATH_CAP];
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path)
            rc = yolo_fail("path too long: %s/%.80s...", dir, e->d_name);
        else if (path_is_dir(path)) rc = path_list_push(out, e->d_name);
    }
    closedir(d);
    return rc;
}

// A .txt list: one image per line. "./x" is relative to the list's folder (Ultralytics'
// rule); other relative paths are too, which is what a list moved with its dataset needs, but
// when that does not exist and the path does relative to the current directory (where
// Ultralytics looks), that one is taken. Lines without an image extension are dropped, as
// Ultralytics drops them.
static int list_txt(const char *txt, PathList *out) {
    char *text;
    size_t len;
    int err = path_read_all(txt, LIST_FILE_LIMIT, &text, &len);
    if (err) return yolo_fail("cannot read the image list %s: %s", txt, strerror(err));
    char dir[DATASET_PATH_CAP];
    path_parent(txt, dir, sizeof dir);
    int rc = 0, line_no = 0;
    for (char *line = text; rc == 0 && line;) {
        char *next = strchr(line, '\n');
        if (next) *next++ = '\0';
        line_no++;
        while (isspace((unsigned char)*line)) line++;
        size_t n = strlen(line);
        while (n > 0 && isspace((unsigned char)line[n - 1])) line[--n] = '\0';
        char path[DATASET_PATH_CAP];
        if (n == 0 || !image_suffix_listed(line)) {
            line = next;
            continue;
        }
        int w = line[0] == '/'                  ? snprintf(path, sizeof path, "%s", line)
                : !strncmp(line, "./", 2)       ? snprintf(path, sizeof path, "%s/%s", dir, line + 2)
                                                : snprintf(path, sizeof path, "%s/%s", dir, line);
        if (w >= (int)sizeof path) rc = yolo_fail("%s:%d: the path is too long", txt, line_no);
        else if (line[0] != '/' && strncmp(line, "./", 2) && !path_exists(path) && path_exists(line)) rc = path_list_push(out, line);
        else rc = path_list_push(out, path);
        line = next;
    }
    free(text);
    return rc;
}

// One split source: a folder (searched recursively), an image, or a .txt list.
static int list_source(const char *src, PathList *out) {
    if (path_is_dir(src)) return walk_images(src, NULL, out);
    if (image_suffix_listed(src)) return path_list_push(out, src);
    return list_txt(src, out);
}

// ---------------------------------------------------------------------------------------------
// Classify folders

static int load_classify_folder(const char *data, const char *datasets, DatasetConfig *cfg) {
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
    if (list_subfolders(cfg->sources[SPLIT_TRAIN][0], &classes) != 0) {
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
    int rc = classify ? load_classify_folder(data, datasets, cfg) : load_dataset_yaml(data, datasets, cfg);
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

// ---------------------------------------------------------------------------------------------
// Scanning

typedef enum { ITEM_KEPT, ITEM_BAD_IMAGE, ITEM_UNREADABLE_LABEL, ITEM_BAD_LABEL } ItemStatus;

// What the check of one listed image found (filled by worker threads, one slot per image).
typedef struct {
    ItemStatus status;
    LabelProblem problem;
    bool missing_label;
    int w, h, duplicates;
    Labels labels;
    char *warning; // "<file>: <problem>", or NULL
} ScanItem;

typedef struct {
    char *const *paths;
    ScanItem *items;
    int nc;
    bool with_labels;
} ScanJob;

static char *format_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *format_warning(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!s) return NULL; // the warning text is lost; the summary still counts the file
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

// A decoder's message without a leading "<path>: ", which the warning line already has.
static const char *without_path(const char *msg, const char *path) {
    size_t n = strlen(path);
    return !strncmp(msg, path, n) && !strncmp(msg + n, ": ", 2) ? msg + n + 2 : msg;
}

static void check_image(const ScanJob *job, int i) {
    ScanItem *it = &job->items[i];
    const char *path = job->paths[i];
    // image_read_size also refuses what Ultralytics calls corrupt: tiny, huge, truncated images.
    if (image_read_size(path, &it->w, &it->h) != 0) {
        it->status = ITEM_BAD_IMAGE;
        if (PATH_SUFFIX_IN(path, DECODABLE_EXTENSIONS))
            it->warning = format_warning("%s: %s", path, without_path(yolo_error(), path));
        else // listed, so the file name has an image extension
            it->warning = format_warning("%s: cannot read .%s images (only PNG and JPEG are supported); convert it to PNG or "
                                         "JPEG",
                                         path, strrchr(path, '.') + 1);
        yolo_error_clear();
        return;
    }
    if (!job->with_labels) return;
    char label[DATASET_PATH_CAP];
    if (label_path_for(path, label, sizeof label) != 0) {
        it->status = ITEM_UNREADABLE_LABEL;
        it->warning = format_warning("%s: %s", path, yolo_error());
        yolo_error_clear();
        return;
    }
    char *text;
    size_t len;
    int err = path_read_all(label, LABEL_FILE_LIMIT, &text, &len);
    if (err == ENOENT || err == ENOTDIR) {
        it->missing_label = true; // a background, as Ultralytics treats it
        return;
    }
    if (err) {
        it->status = ITEM_UNREADABLE_LABEL;
        it->warning = format_warning("%s: cannot read the label file: %s", label, strerror(err));
        return;
    }
    char why[256] = "";
    it->problem = labels_parse(text, len, job->nc, &it->labels, &it->duplicates, why, sizeof why);
    free(text);
    if (it->problem != LABEL_OK) {
        it->status = ITEM_BAD_LABEL;
        it->warning = format_warning("%s: %s", label, why);
    } else if (it->duplicates > 0) {
        it->warning = format_warning("%s: %d duplicate rows removed", label, it->duplicates);
    }
}

static void check_range(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    for (int64_t i = begin; i < end; i++) check_image(ctx, (int)i);
    yolo_error_clear(); // what the decoders left is in the warnings now
}

static void check_all(ScanJob *job, int n) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int threads = cpus < 1 ? 1 : cpus > SCAN_THREADS_MAX ? SCAN_THREADS_MAX : (int)cpus;
    // Each image has its own slot, so results do not depend on the thread count; a pool that
    // cannot start just means one thread.
    ThreadPool *pool = n >= PARALLEL_SCAN_MIN && threads > 1 ? pool_create(threads) : NULL;
    if (pool) {
        pool_for(pool, n, check_range, job);
        pool_destroy(pool);
    } else {
        check_range(job, 0, n, 0);
    }
}

typedef struct {
    char **items;
    int n, cap;
} Warnings;

// Takes ownership of s; NULL (a warning that could not be formatted) is dropped.
static int warnings_take(Warnings *w, char *s) {
    if (!s) return 0;
    if (w->n == w->cap) {
        int cap = w->cap ? 2 * w->cap : 32;
        char **grown = realloc(w->items, (size_t)cap * sizeof *grown);
        if (!grown) {
            free(s);
            return yolo_fail("out of memory collecting scan warnings");
        }
        w->items = grown;
        w->cap = cap;
    }
    w->items[w->n++] = s;
    return 0;
}

static void warnings_free(Warnings *w) {
    for (int i = 0; i < w->n; i++) free(w->items[i]);
    free(w->items);
    *w = (Warnings){0};
}

static void print_warnings(const Warnings *w) {
    int shown = w->n < WARNINGS_SHOWN ? w->n : WARNINGS_SHOWN;
    for (int i = 0; i < shown; i++) fprintf(stderr, "warning: %s\n", w->items[i]);
    if (w->n > shown) fprintf(stderr, "warning: ... and %d more\n", w->n - shown);
}

// Checks every listed image (paths move into `out` for the kept ones) and fills the summary.
// class_of: the class of each image (classify) or NULL (labels are read).
static int check_listing(const DatasetConfig *cfg, PathList *list, const int *class_of, DatasetSplit *out, Warnings *warnings) {
    int n = list->n;
    ScanItem *items = calloc((size_t)n, sizeof *items);
    out->image_paths = calloc((size_t)n, sizeof *out->image_paths);
    out->width = calloc((size_t)n, sizeof *out->width);
    out->height = calloc((size_t)n, sizeof *out->height);
    if (class_of) out->class_index = calloc((size_t)n, sizeof *out->class_index);
    else out->labels = calloc((size_t)n, sizeof *out->labels);
    if (!items || !out->image_paths || !out->width || !out->height || !(out->class_index || out->labels)) {
        free(items);
        return yolo_fail("out of memory scanning %d images", n);
    }
    ScanJob job = {list->items, items, cfg->nc, class_of == NULL};
    check_all(&job, n);

    ScanSummary *sum = &out->summary;
    sum->images_found = n;
    int rc = 0;
    for (int i = 0; i < n; i++) {
        ScanItem *it = &items[i];
        if (it->warning && rc == 0) rc = warnings_take(warnings, it->warning);
        else free(it->warning);
        switch (it->status) {
        case ITEM_BAD_IMAGE: sum->bad_images++; continue;
        case ITEM_UNREADABLE_LABEL: sum->unreadable_labels++; continue;
        case ITEM_BAD_LABEL: sum->bad_labels[it->problem]++; continue;
        case ITEM_KEPT: break;
        }
        int k = out->n++;
        out->image_paths[k] = list->items[i];
        list->items[i] = NULL;
        out->width[k] = it->w;
        out->height[k] = it->h;
        if (class_of) {
            out->class_index[k] = class_of[i];
            continue;
        }
        out->labels[k] = it->labels;
        sum->missing_labels += it->missing_label;
        sum->backgrounds += it->labels.n == 0;
        sum->duplicate_rows += it->duplicates;
        sum->instances += it->labels.n;
    }
    sum->images_kept = out->n;
    free(items);
    return rc;
}

// XXH3 over what training sees: image paths relative to the root, sizes, labels or classes
// (numbers in native byte order: a fingerprint is compared on one kind of machine).
static int split_fingerprint(const DatasetConfig *cfg, DatasetSplit *s) {
    XXH3_state_t *h = XXH3_createState();
    mallocCheck(h);
    XXH3_64bits_reset(h);
    size_t root_len = strlen(cfg->root);
    for (int i = 0; i < s->n; i++) {
        const char *p = s->image_paths[i];
        if (!strncmp(p, cfg->root, root_len) && p[root_len] == '/') p += root_len + 1;
        XXH3_64bits_update(h, p, strlen(p) + 1);
        int32_t size[2] = {s->width[i], s->height[i]};
        XXH3_64bits_update(h, size, sizeof size);
        if (s->class_index) {
            int32_t c = s->class_index[i];
            XXH3_64bits_update(h, &c, sizeof c);
            continue;
        }
        const Labels *l = &s->labels[i];
        int32_t head[2] = {l->n, l->poly != NULL};
        XXH3_64bits_update(h, head, sizeof head);
        if (l->n == 0) continue;
        XXH3_64bits_update(h, l->cls, sizeof *l->cls * (size_t)l->n);
        XXH3_64bits_update(h, l->boxes, sizeof *l->boxes * 4 * (size_t)l->n);
        if (l->poly) {
            XXH3_64bits_update(h, l->poly, sizeof *l->poly * ((size_t)l->n + 1));
            XXH3_64bits_update(h, l->points, sizeof *l->points * 2 * (size_t)l->poly[l->n]);
        }
    }
    s->fingerprint = XXH3_64bits_digest(h);
    XXH3_freeState(h);
    return 0;
}

static void set_has_polygons(DatasetSplit *s) {
    int labelled = 0, with_polygons = 0;
    for (int i = 0; s->labels && i < s->n; i++) {
        labelled += s->labels[i].n > 0;
        with_polygons += s->labels[i].n > 0 && s->labels[i].poly != NULL;
    }
    s->has_polygons = labelled > 0 && with_polygons == labelled;
}

// A split's sources, comma-separated, for messages.
static void describe_sources(const DatasetConfig *cfg, SplitKind split, char *out, size_t cap) {
    size_t o = 0;
    out[0] = '\0';
    for (int i = 0; i < cfg->n_sources[split] && o < cap; i++) {
        int w = snprintf(out + o, cap - o, "%s%s", i == 0 ? "" : ", ", cfg->sources[split][i]);
        if (w < 0) break;
        o += (size_t)w;
    }
}

static int corrupt_count(const ScanSummary *s) {
    int n = s->bad_images + s->unreadable_labels;
    for (int k = 0; k < LABEL_KIND_COUNT; k++) n += s->bad_labels[k];
    return n;
}

static int fail_no_usable(const DatasetConfig *cfg, SplitKind split, const DatasetSplit *out) {
    char where[2 * DATASET_PATH_CAP];
    describe_sources(cfg, split, where, sizeof where);
    return yolo_fail("%s: no usable images in %s: %d found, all skipped (see the warnings above)", SPLIT_KEYS[split], where,
                     out->summary.images_found);
}

// Lists a detect/segment split (sorted, as Ultralytics sorts the whole list), then takes the
// scan from the label cache or checks every file and rewrites the cache.
static int scan_labelled(const DatasetConfig *cfg, SplitKind split, DatasetSplit *out, Warnings *warnings) {
    const char *key = SPLIT_KEYS[split];
    PathList list = {0};
    for (int i = 0; i < cfg->n_sources[split]; i++) {
        const char *src = cfg->sources[split][i];
        if (!path_exists(src)) {
            path_list_free(&list);
            return yolo_fail("%s: %s does not exist; check `%s` in %s (relative paths start at the dataset root %s)", key, src,
                             key, cfg->yaml_path, cfg->root);
        }
        if (list_source(src, &list) != 0) {
            path_list_free(&list);
            return yolo_fail("%s", key);
        }
    }
    if (list.n == 0) {
        char where[2 * DATASET_PATH_CAP];
        describe_sources(cfg, split, where, sizeof where);
        path_list_free(&list);
        return yolo_fail("%s: no images in %s; image files end in .jpg, .png, .bmp, .tif, .webp, ... (only PNG and JPEG can "
                         "be read)",
                         key, where);
    }
    path_list_sort(&list);

    char cache[DATASET_PATH_CAP];
    uint64_t cache_key = 0;
    bool cacheable = label_cache_path(list.items[0], cache, sizeof cache) == 0 &&
                     label_cache_key(list.items, list.n, cfg->nc, &cache_key) == 0;
    yolo_error_clear();
    if (cacheable && label_cache_load(cache, cache_key, cfg->nc, out, &warnings->items, &warnings->n) == 0) {
        warnings->cap = warnings->n;
        out->summary.from_cache = true;
        path_list_free(&list);
        return 0;
    }
    yolo_error_clear(); // a missing or stale cache is the normal case, not an error
    int rc = check_listing(cfg, &list, NULL, out, warnings);
    path_list_free(&list);
    // No label folder (a dataset of backgrounds, or labels elsewhere): no place for a cache, and
    // creating one would be a surprise.
    char cache_dir[DATASET_PATH_CAP];
    path_parent(cache, cache_dir, sizeof cache_dir);
    if (rc == 0 && out->n > 0 && cacheable && path_is_dir(cache_dir) &&
        label_cache_save(cache, cache_key, out, warnings->items, warnings->n) != 0) {
        fprintf(stderr, "warning: %s; the next scan will read every file again\n", yolo_error());
        yolo_error_clear();
    }
    return rc;
}

// Lists a classify split: class folder by class folder in class order, each sorted (the order
// of torchvision's ImageFolder). Folders that are not classes of train/ are reported and skipped.
static int scan_classes(const DatasetConfig *cfg, SplitKind split, DatasetSplit *out, Warnings *warnings) {
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
        rc = walk_images(class_dir, NULL, &one);
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
    if (rc == 0) rc = list_subfolders(dir, &folders);
    for (int i = 0; rc == 0 && i < folders.n; i++) {
        bool known = false;
        for (int c = 0; c < cfg->nc && !known; c++) known = !strcmp(folders.items[i], cfg->names[c]);
        if (!known)
            rc = warnings_take(warnings, format_warning("%s/%s: not a class of train/ (classes are the folders of %s); its "
                                                        "images are skipped",
                                                        dir, folders.items[i], cfg->sources[SPLIT_TRAIN][0]));
    }
    path_list_free(&folders);
    if (rc == 0 && list.n == 0)
        rc = yolo_fail("%s: no images in %s; put each class's images in %s/<class name>/", SPLIT_KEYS[split], dir, dir);
    if (rc == 0) rc = check_listing(cfg, &list, class_of, out, warnings);
    free(class_of);
    path_list_free(&list);
    return rc;
}

int dataset_scan(const DatasetConfig *cfg, SplitKind split, DatasetSplit *out) {
    memset(out, 0, sizeof *out);
    if ((int)split < 0 || split >= SPLIT_COUNT) return yolo_fail("dataset_scan: split %d does not exist", (int)split);
    const char *key = SPLIT_KEYS[split];
    if (cfg->n_sources[split] == 0 && cfg->classify)
        return yolo_fail("%s: the dataset has no `%s` split; add a %s/ folder with class folders to %s", key, key, key, cfg->root);
    if (cfg->n_sources[split] == 0)
        return yolo_fail("%s: the dataset has no `%s` split; add %s: images/%s to %s", key, key, key, key, cfg->yaml_path);
    Warnings warnings = {0};
    int rc = cfg->classify ? scan_classes(cfg, split, out, &warnings) : scan_labelled(cfg, split, out, &warnings);
    print_warnings(&warnings);
    warnings_free(&warnings);
    if (rc == 0 && out->n == 0) rc = fail_no_usable(cfg, split, out);
    if (rc == 0) rc = split_fingerprint(cfg, out);
    if (rc != 0) {
        dataset_split_free(out);
        return -1;
    }
    set_has_polygons(out);
    const ScanSummary *s = &out->summary;
    if (cfg->classify) {
        printf("%s: %d images in %d classes, %d corrupt\n", key, s->images_kept, cfg->nc, s->bad_images);
    } else {
        char label_dir[DATASET_PATH_CAP] = "";
        if (s->instances == 0 && label_path_for(out->image_paths[0], label_dir, sizeof label_dir) == 0)
            fprintf(stderr, "warning: %s: no labels found (looked for files such as %s); every image is a background\n", key,
                    label_dir);
        printf("%s: %d images, %d backgrounds, %d corrupt%s\n", key, s->images_kept, s->backgrounds, corrupt_count(s),
               s->from_cache ? " (from the label cache)" : "");
    }
    fflush(stdout);
    return 0;
}

void dataset_split_free(DatasetSplit *s) {
    for (int i = 0; s->image_paths && i < s->n; i++) free(s->image_paths[i]);
    for (int i = 0; s->labels && i < s->n; i++) labels_free(&s->labels[i]);
    free(s->image_paths);
    free(s->width);
    free(s->height);
    free(s->labels);
    free(s->class_index);
    memset(s, 0, sizeof *s);
}
