#include "nn/model_yaml.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "core/status.h"

// Reads a whole file into a NUL-terminated buffer.
static int read_text(const char *path, char **out) {
    FILE *f = fopen(path, "rb");
    if (!f) return yolo_fail("cannot open model file %s: %s", path, strerror(errno));
    char *buf = NULL;
    size_t len = 0, cap = 0, got;
    char chunk[8192];
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + got + 1 > cap) {
            cap = 2 * (len + got + 1);
            char *grown = realloc(buf, cap);
            if (!grown) {
                free(buf);
                fclose(f);
                return yolo_fail("out of memory reading %s", path);
            }
            buf = grown;
        }
        memcpy(buf + len, chunk, got);
        len += got;
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        free(buf);
        return yolo_fail("cannot read model file %s", path);
    }
    if (!buf) buf = calloc(1, 1);
    else buf[len] = '\0';
    *out = buf;
    return buf ? 0 : yolo_fail("out of memory reading %s", path);
}

typedef struct {
    yaml_document_t *doc;
    const char *path;
} Doc;

static yaml_node_t *node_at(const Doc *d, int index) { return yaml_document_get_node(d->doc, index); }

static int line_of(const yaml_node_t *n) { return (int)n->start_mark.line + 1; }

static const char *scalar(const yaml_node_t *n) {
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int parse_int(const Doc *d, const yaml_node_t *n, const char *what, int *out) {
    const char *s = scalar(n);
    char *end;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || *s == '\0' || *end != '\0' || errno || v < -1000000 || v > 1000000)
        return yolo_fail("%s:%d: %s must be an integer, got %s", d->path, n ? line_of(n) : 0, what, s ? s : "a list or map");
    *out = (int)v;
    return 0;
}

static int parse_number(const Doc *d, const yaml_node_t *n, const char *what, double *out) {
    const char *s = scalar(n);
    char *end;
    double v = s ? strtod(s, &end) : 0.0;
    if (!s || *s == '\0' || *end != '\0')
        return yolo_fail("%s:%d: %s must be a number, got %s", d->path, n ? line_of(n) : 0, what, s ? s : "a list or map");
    *out = v;
    return 0;
}

// A row argument as Python's literal_eval would read it, with bare words kept as names (nc).
static int parse_arg(const Doc *d, const yaml_node_t *n, ModelArg *arg) {
    const char *s = scalar(n);
    if (!s) return yolo_fail("%s:%d: module arguments must be plain values, not lists or maps", d->path, line_of(n));
    *arg = (ModelArg){0};
    if (strlen(s) >= sizeof arg->text) return yolo_fail("%s:%d: argument \"%.40s...\" is too long", d->path, line_of(n), s);
    strcpy(arg->text, s);
    bool quoted = n->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE || n->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
    char *end;
    if (quoted) {
        arg->kind = ARG_STRING;
    } else if (!strcmp(s, "True") || !strcmp(s, "true")) {
        arg->kind = ARG_BOOL;
        arg->number = 1;
    } else if (!strcmp(s, "False") || !strcmp(s, "false")) {
        arg->kind = ARG_BOOL;
    } else if (!strcmp(s, "None") || !strcmp(s, "null") || !strcmp(s, "~")) {
        arg->kind = ARG_NONE;
    } else if (strtol(s, &end, 10), *s && *end == '\0') {
        arg->kind = ARG_INT;
        arg->number = (double)strtol(s, NULL, 10);
    } else if (strtod(s, &end), *s && *end == '\0') {
        arg->kind = ARG_FLOAT;
        arg->number = strtod(s, NULL);
    } else {
        arg->kind = ARG_STRING;
    }
    return 0;
}

static int parse_row(const Doc *d, const yaml_node_t *n, int index, ModelRow *row) {
    if (n->type != YAML_SEQUENCE_NODE || n->data.sequence.items.top - n->data.sequence.items.start != 4)
        return yolo_fail("%s:%d: row %d must be [from, repeats, module, args]", d->path, line_of(n), index);
    yaml_node_item_t *item = n->data.sequence.items.start;
    yaml_node_t *from = node_at(d, item[0]), *repeats = node_at(d, item[1]), *module = node_at(d, item[2]),
                *args = node_at(d, item[3]);
    *row = (ModelRow){.line = line_of(n)};
    if (from->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *it = from->data.sequence.items.start; it < from->data.sequence.items.top; it++) {
            if (row->n_from == MODEL_MAX_FROM)
                return yolo_fail("%s:%d: row %d takes more than %d inputs", d->path, row->line, index, MODEL_MAX_FROM);
            TRY(parse_int(d, node_at(d, *it), "a `from` index", &row->from[row->n_from++]));
        }
        if (row->n_from == 0) return yolo_fail("%s:%d: row %d has an empty `from` list", d->path, row->line, index);
    } else {
        row->n_from = 1;
        TRY(parse_int(d, from, "`from`", &row->from[0]));
    }
    TRY(parse_int(d, repeats, "`repeats`", &row->repeats));
    if (row->repeats < 1) return yolo_fail("%s:%d: row %d repeats %d times; it must be at least 1", d->path, row->line, index, row->repeats);
    const char *m = scalar(module);
    if (!m || strlen(m) >= sizeof row->module)
        return yolo_fail("%s:%d: row %d: the module must be a name such as Conv or C2f", d->path, row->line, index);
    strcpy(row->module, m);
    if (args->type != YAML_SEQUENCE_NODE) return yolo_fail("%s:%d: row %d: args must be a list, e.g. [64, 3, 2]", d->path, row->line, index);
    for (yaml_node_item_t *it = args->data.sequence.items.start; it < args->data.sequence.items.top; it++) {
        if (row->n_args == MODEL_MAX_ARGS) return yolo_fail("%s:%d: row %d has more than %d args", d->path, row->line, index, MODEL_MAX_ARGS);
        TRY(parse_arg(d, node_at(d, *it), &row->args[row->n_args++]));
    }
    // -1 is the previous row (the image for row 0); absolute indices must name earlier rows.
    for (int k = 0; k < row->n_from; k++) {
        int f = row->from[k];
        if (f != -1 && (f < 0 || f >= index))
            return yolo_fail("%s:%d: row %d takes input from %d, which is not an earlier row", d->path, row->line, index, f);
    }
    return 0;
}

static int parse_rows(const Doc *d, const yaml_node_t *seq, const char *section, ModelDef *def) {
    if (!seq || seq->type != YAML_SEQUENCE_NODE) return yolo_fail("%s: `%s` must be a list of rows", d->path, section);
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
        if (def->n_rows == MODEL_MAX_ROWS) return yolo_fail("%s: more than %d rows", d->path, MODEL_MAX_ROWS);
        TRY(parse_row(d, node_at(d, *it), def->n_rows, &def->rows[def->n_rows]));
        def->n_rows++;
    }
    return 0;
}

static int parse_scales(const Doc *d, const yaml_node_t *scales, char want, ModelDef *def) {
    if (scales->type != YAML_MAPPING_NODE || scales->data.mapping.pairs.top == scales->data.mapping.pairs.start)
        return yolo_fail("%s:%d: `scales` must map letters to [depth, width, max_channels]", d->path, line_of(scales));
    const yaml_node_pair_t *chosen = NULL;
    for (yaml_node_pair_t *p = scales->data.mapping.pairs.start; p < scales->data.mapping.pairs.top; p++) {
        const char *k = scalar(node_at(d, p->key));
        if (k && strlen(k) == 1 && k[0] == want) chosen = p;
    }
    if (!chosen) {
        if (want) return yolo_fail("%s: scale '%c' is not in `scales`; use one of the letters listed there", d->path, want);
        // No scale in the name: Ultralytics takes the first one, and so do we (with a notice).
        chosen = scales->data.mapping.pairs.start;
        fprintf(stderr, "notice: %s: no scale in the model name, using '%s'\n", d->path, scalar(node_at(d, chosen->key)));
    }
    const char *letter = scalar(node_at(d, chosen->key));
    def->scale = letter ? letter[0] : 0;
    yaml_node_t *v = node_at(d, chosen->value);
    if (v->type != YAML_SEQUENCE_NODE || v->data.sequence.items.top - v->data.sequence.items.start != 3)
        return yolo_fail("%s:%d: scale '%c' must be [depth, width, max_channels]", d->path, line_of(v), def->scale);
    yaml_node_item_t *item = v->data.sequence.items.start;
    TRY(parse_number(d, node_at(d, item[0]), "depth", &def->depth));
    TRY(parse_number(d, node_at(d, item[1]), "width", &def->width));
    TRY(parse_int(d, node_at(d, item[2]), "max_channels", &def->max_channels));
    if (!(def->depth > 0 && def->width > 0 && def->max_channels > 0))
        return yolo_fail("%s:%d: scale '%c' needs positive depth, width and max_channels", d->path, line_of(v), def->scale);
    return 0;
}

static int parse_document(const Doc *d, char scale, ModelDef *def) {
    yaml_node_t *root = yaml_document_get_root_node(d->doc);
    if (!root || root->type != YAML_MAPPING_NODE) return yolo_fail("%s: a model file is a map with nc, backbone and head", d->path);
    yaml_node_t *backbone = NULL, *head = NULL, *scales = NULL, *depth = NULL, *width = NULL;
    def->nc = -1;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
        const char *key = scalar(node_at(d, p->key));
        yaml_node_t *value = node_at(d, p->value);
        if (!key) continue;
        if (!strcmp(key, "nc")) TRY(parse_int(d, value, "nc", &def->nc));
        else if (!strcmp(key, "backbone")) backbone = value;
        else if (!strcmp(key, "head")) head = value;
        else if (!strcmp(key, "scales")) scales = value;
        else if (!strcmp(key, "depth_multiple")) depth = value;
        else if (!strcmp(key, "width_multiple")) width = value;
        else if (!strcmp(key, "activation"))
            return yolo_fail("%s:%d: `activation` is not supported; remove it to use SiLU", d->path, line_of(value));
    }
    if (def->nc < 1) return yolo_fail("%s: `nc` (number of classes, >= 1) is missing", d->path);
    if (scales) {
        TRY(parse_scales(d, scales, scale, def));
    } else {
        if (scale) return yolo_fail("%s: the name asks for scale '%c' but the file has no `scales`", d->path, scale);
        def->depth = def->width = 1.0;
        def->max_channels = 1 << 20;
        if (depth) TRY(parse_number(d, depth, "depth_multiple", &def->depth));
        if (width) TRY(parse_number(d, width, "width_multiple", &def->width));
    }
    TRY(parse_rows(d, backbone, "backbone", def));
    def->n_backbone = def->n_rows;
    TRY(parse_rows(d, head, "head", def));
    if (def->n_rows == 0) return yolo_fail("%s: the model has no rows", d->path);
    return 0;
}

int model_yaml_parse(const char *text, const char *path, char scale, ModelDef *def) {
    memset(def, 0, sizeof *def);
    snprintf(def->path, sizeof def->path, "%s", path);
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) return yolo_fail("out of memory starting the YAML parser");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
    if (!yaml_parser_load(&parser, &doc)) {
        int rc = yolo_fail("%s:%d: YAML syntax error: %s", path, (int)parser.problem_mark.line + 1,
                           parser.problem ? parser.problem : "unknown");
        yaml_parser_delete(&parser);
        return rc;
    }
    Doc d = {&doc, path};
    int rc = parse_document(&d, scale, def);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    if (rc == 0) {
        def->text = strdup(text);
        if (!def->text) return yolo_fail("out of memory");
    }
    return rc;
}

// Finds the scale letter in a file name as Ultralytics does (yolo, optional "e-" and "v", digits,
// then one of n s m l x) and writes the name without it: yolov8n-seg.yaml -> yolov8-seg.yaml.
static char split_scale(const char *base, char *unified, size_t cap) {
    size_t len = strnlen(base, cap - 1);
    memcpy(unified, base, len);
    unified[len] = '\0';
    const char *p = strstr(base, "yolo");
    if (!p) return 0;
    p += 4;
    if (!strncmp(p, "e-", 2)) p += 2;
    if (*p == 'v') p++;
    if (!isdigit((unsigned char)*p)) return 0;
    while (isdigit((unsigned char)*p)) p++;
    if (!*p || !strchr("nslmx", *p)) return 0;
    size_t at = (size_t)(p - base);
    if (at < len) memmove(unified + at, unified + at + 1, len - at); // drops the letter, keeps the NUL
    return *p;
}

static bool exists(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f) fclose(f);
    return f != NULL;
}

// candidate = dir + file, where dir may be empty; fails if it does not fit.
static int compose(char *out, size_t cap, const char *dir, int dir_len, const char *file) {
    if (snprintf(out, cap, "%.*s%s", dir_len, dir, file) >= (int)cap) return yolo_fail("model path %s%s is too long", dir, file);
    return 0;
}

int model_yaml_load(const char *name, const char *models_dir, ModelDef *def) {
    memset(def, 0, sizeof *def);
    const char *slash = strrchr(name, '/');
    const char *base = slash ? slash + 1 : name;
    char unified[MODEL_PATH_CAP], candidate[MODEL_PATH_CAP];
    char scale = split_scale(base, unified, sizeof unified);
    // The scale-free file next to the given name, the name itself, then the shipped models.
    TRY(compose(candidate, sizeof candidate, name, (int)(base - name), unified));
    if (!exists(candidate)) {
        if (exists(name)) {
            TRY(compose(candidate, sizeof candidate, "", 0, name));
            scale = 0;
        } else if (!slash && models_dir) {
            char dir[MODEL_PATH_CAP];
            TRY(compose(dir, sizeof dir - 1, models_dir, (int)strlen(models_dir), ""));
            strcat(dir, "/");
            TRY(compose(candidate, sizeof candidate, dir, (int)strlen(dir), unified));
        }
    }
    if (!exists(candidate))
        return yolo_fail("model %s not found (looked for %s); give a path or one of the files in %s", name, candidate,
                         models_dir ? models_dir : "configs/models");
    char *text;
    TRY(read_text(candidate, &text));
    int rc = model_yaml_parse(text, candidate, scale, def);
    free(text);
    return rc;
}

void model_def_free(ModelDef *def) {
    free(def->text);
    def->text = NULL;
}
