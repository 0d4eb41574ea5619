// YAML in and out: default.yaml, cfg= files and args.yaml become key/value overrides (libyaml),
// and args.yaml is written the way PyYAML writes Ultralytics' (`save: true`, `time: null`).
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "cli/args.h"
#include "cli/args_private.h"
#include "core/status.h"
#include "io/atomic_file.h"

enum { YAML_FILE_MAX = 1 << 20 }; // a cfg file is a page of keys; anything larger is a mistake

Override *overrides_push(Overrides *o, const char *key, const RawValue *value, const char *origin) {
    if (o->n == o->cap) {
        int cap = o->cap ? 2 * o->cap : 16;
        Override *grown = realloc(o->items, (size_t)cap * sizeof *grown);
        if (!grown) {
            yolo_fail("out of memory gathering arguments");
            return NULL;
        }
        o->items = grown;
        o->cap = cap;
    }
    Override *e = &o->items[o->n++];
    snprintf(e->key, sizeof e->key, "%s", key);
    e->index = -1;
    e->value = *value;
    snprintf(e->origin, sizeof e->origin, "%s", origin);
    return e;
}

void overrides_free(Overrides *o) {
    free(o->items);
    *o = (Overrides){0};
}

// ---- Reading ------------------------------------------------------------------------------

// A scalar as PyYAML (YAML 1.1) resolves it: quoted text is a string; plain text may be null,
// a bool (yes/no/on/off too) or a number.
static void resolve_text(const char *s, bool plain, RawValue *r) {
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const trues[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", NULL};
    static const char *const falses[] = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", NULL};
    snprintf(r->text, sizeof r->text, "%s", s);
    if (plain && args_is_one_of(s, nulls)) {
        r->v.kind = ARGS_NONE;
        r->type = "NoneType";
    } else if (plain && (args_is_one_of(s, trues) || args_is_one_of(s, falses))) {
        r->v.kind = ARGS_BOOL;
        r->v.b = args_is_one_of(s, trues);
        r->type = "bool";
    } else if (!plain || !args_literal_number(s, r)) {
        r->v.kind = ARGS_STR;
        snprintf(r->v.s, sizeof r->v.s, "%s", s);
        r->type = "str";
    }
}

static void resolve_scalar(const yaml_node_t *n, RawValue *r) {
    bool plain = n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE || n->data.scalar.style == YAML_ANY_SCALAR_STYLE;
    resolve_text((const char *)n->data.scalar.value, plain, r);
}

// A sequence of ints is a list value; any other sequence or a map is kept as text for the message.
static void resolve_node(yaml_document_t *doc, const yaml_node_t *n, RawValue *r) {
    memset(r, 0, sizeof *r);
    if (n->type == YAML_SCALAR_NODE) {
        resolve_scalar(n, r);
        return;
    }
    if (n->type == YAML_MAPPING_NODE) {
        r->v.kind = ARGS_OTHER;
        r->type = "dict";
        snprintf(r->text, sizeof r->text, "{...}");
        return;
    }
    r->v.kind = ARGS_LIST;
    r->type = "list";
    size_t o = snprintf(r->text, sizeof r->text, "[");
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
        const yaml_node_t *item = yaml_document_get_node(doc, *it);
        RawValue v = {0};
        if (item->type == YAML_SCALAR_NODE) resolve_scalar(item, &v);
        else snprintf(v.text, sizeof v.text, "...");
        if (o < sizeof r->text) o += (size_t)snprintf(r->text + o, sizeof r->text - o, "%s%s", it > n->data.sequence.items.start ? ", " : "", v.text);
        if (item->type == YAML_SCALAR_NODE && v.v.kind == ARGS_INT && r->v.kind == ARGS_LIST && r->v.n < ARGS_LIST_MAX)
            r->v.list[r->v.n++] = v.v.i;
        else
            r->v.kind = ARGS_OTHER;
    }
    if (o < sizeof r->text) snprintf(r->text + o, sizeof r->text - o, "]");
}

int args_yaml_overrides(const char *text, const char *where, Overrides *out) {
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) return yolo_fail("%s: cannot start the YAML parser (out of memory)", where);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
    if (!yaml_parser_load(&parser, &doc)) {
        int rc = yolo_fail("%s:%d: %s; a cfg file holds 'key: value' lines", where, (int)parser.problem_mark.line + 1,
                           parser.problem ? parser.problem : "invalid YAML");
        yaml_parser_delete(&parser);
        return rc;
    }
    int rc = 0;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root && root->type != YAML_MAPPING_NODE)
        rc = yolo_fail("%s: expected 'key: value' lines (a YAML map), e.g. 'epochs: 10'", where);
    for (yaml_node_pair_t *p = root && rc == 0 ? root->data.mapping.pairs.start : NULL; p && p < root->data.mapping.pairs.top; p++) {
        yaml_node_t *key = yaml_document_get_node(&doc, p->key), *value = yaml_document_get_node(&doc, p->value);
        char origin[ARGS_TEXT_MAX];
        snprintf(origin, sizeof origin, "%s:%d", where, (int)key->start_mark.line + 1);
        if (key->type != YAML_SCALAR_NODE) {
            rc = yolo_fail("%s: a key must be a plain name such as epochs", origin);
            break;
        }
        const char *name = (const char *)key->data.scalar.value;
        if (strlen(name) >= ARGS_TEXT_MAX || (value->type == YAML_SCALAR_NODE && value->data.scalar.length >= ARGS_TEXT_MAX)) {
            rc = yolo_fail("%s: '%.60s' or its value is longer than %d characters", origin, name, ARGS_TEXT_MAX - 1);
            break;
        }
        RawValue r;
        resolve_node(&doc, value, &r);
        if (!overrides_push(out, name, &r, origin)) {
            rc = -1;
            break;
        }
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return rc;
}

static int read_text(const char *path, char **out) {
    FILE *f = fopen(path, "rb");
    if (!f) return yolo_fail("cannot open %s: %s", path, strerror(errno));
    char *buf = malloc(YAML_FILE_MAX + 1);
    size_t len = buf ? fread(buf, 1, YAML_FILE_MAX + 1, f) : 0;
    int failed = ferror(f);
    fclose(f);
    if (!buf) return yolo_fail("out of memory reading %s", path);
    if (failed || len > YAML_FILE_MAX) {
        free(buf);
        return failed ? yolo_fail("cannot read %s", path) : yolo_fail("%s is larger than %d bytes; is it an argument file?", path, YAML_FILE_MAX);
    }
    buf[len] = '\0';
    *out = buf;
    return 0;
}

int args_yaml_file_overrides(const char *path, Overrides *out) {
    char *text;
    TRY(read_text(path, &text));
    int rc = args_yaml_overrides(text, path, out);
    free(text);
    return rc;
}

int args_from_yaml(Args *a, const char *text, const char *origin) {
    TRY(args_defaults(a));
    Overrides o = {0};
    int rc = args_yaml_overrides(text, origin, &o);
    if (rc == 0) rc = args_align(&o, a, NULL);
    if (rc == 0) rc = args_apply(a, &o);
    overrides_free(&o);
    return rc;
}

int args_read_yaml(Args *a, const char *path) {
    char *text;
    TRY(read_text(path, &text));
    int rc = args_from_yaml(a, text, path);
    free(text);
    return rc;
}

// ---- Writing ------------------------------------------------------------------------------

// A float as PyYAML writes it: repr() in lower case, with ".0" added to a bare exponent
// (1e-05 -> 1.0e-05) so that YAML 1.1 reads it back as a float. Values are finite (args_assign).
static void yaml_float(double f, char *out, size_t cap) {
    char repr[64];
    args_format_float(f, repr, sizeof repr);
    char *e = strchr(repr, 'e');
    if (e && !strchr(repr, '.')) snprintf(out, cap, "%.*s.0%s", (int)(e - repr), repr, e);
    else snprintf(out, cap, "%s", repr);
}

// Plain when the text reads back as this same string; otherwise quoted: single quotes for
// printable text, double quotes with escapes when it holds control characters.
static void yaml_string(const char *s, char *out, size_t cap) {
    static const char *const plain_first = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./~";
    static const char *const plain_rest = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./~ -+=,()@%\\";
    size_t n = strlen(s);
    bool plain = n > 0 && strchr(plain_first, s[0]) && s[n - 1] != ' ', printable = true;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bool colon_ok = c == ':' && i + 1 < n && s[i + 1] != ' '; // "C:/x", "a:b"; not "a: b" nor "a:"
        if (!(c >= 0x80 || colon_ok || strchr(plain_rest, c))) plain = false;
        if (c < 0x20 || c == 0x7f) printable = false;
    }
    if (plain) {
        RawValue probe = {0};
        resolve_text(s, true, &probe);
        plain = probe.v.kind == ARGS_STR;
    }
    size_t o = 0;
    if (plain || printable) {
        if (!plain && o < cap) out[o++] = '\'';
        for (size_t i = 0; i < n && o + 3 < cap; i++) {
            if (!plain && s[i] == '\'') out[o++] = '\'';
            out[o++] = s[i];
        }
        if (!plain && o < cap) out[o++] = '\'';
    } else {
        out[o++] = '"';
        for (size_t i = 0; i < n && o + 6 < cap; i++) {
            unsigned char c = (unsigned char)s[i];
            if (c == '"' || c == '\\') o += (size_t)snprintf(out + o, cap - o, "\\%c", c);
            else if (c == '\n') o += (size_t)snprintf(out + o, cap - o, "\\n");
            else if (c == '\t') o += (size_t)snprintf(out + o, cap - o, "\\t");
            else if (c < 0x20 || c == 0x7f) o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
            else out[o++] = (char)c;
        }
        out[o++] = '"';
    }
    out[o < cap ? o : cap - 1] = '\0';
}

typedef struct {
    char *text;
    size_t len, cap;
} Buf;

static int append(Buf *b, const char *s) {
    size_t n = strlen(s);
    if (b->len + n + 1 > b->cap) {
        size_t cap = 2 * (b->len + n + 1) + 4096;
        char *grown = realloc(b->text, cap);
        if (!grown) return yolo_fail("out of memory writing args.yaml");
        b->text = grown;
        b->cap = cap;
    }
    memcpy(b->text + b->len, s, n + 1);
    b->len += n;
    return 0;
}

static int append_key(Buf *b, const Args *a, int k) {
    ArgValue v;
    args_field_value(a, k, &v);
    // Room for the worst quoting: every byte of a string escaped as \xNN.
    char value[4 * ARGS_TEXT_MAX + 8], line[sizeof value + 64];
    switch (v.kind) {
    case ARGS_NONE: snprintf(value, sizeof value, "null"); break;
    case ARGS_BOOL: snprintf(value, sizeof value, "%s", v.b ? "true" : "false"); break;
    case ARGS_INT: snprintf(value, sizeof value, "%lld", v.i); break;
    case ARGS_FLOAT: yaml_float(v.f, value, sizeof value); break;
    case ARGS_STR: yaml_string(v.s, value, sizeof value); break;
    case ARGS_LIST:
        // Block style, as PyYAML writes lists ("freeze:" then "- 0" lines); [] when empty.
        snprintf(line, sizeof line, "%s:%s\n", ARGS_KEYS[k].name, v.n ? "" : " []");
        TRY(append(b, line));
        for (int i = 0; i < v.n; i++) {
            snprintf(line, sizeof line, "- %lld\n", v.list[i]);
            TRY(append(b, line));
        }
        return 0;
    }
    snprintf(line, sizeof line, "%s: %s\n", ARGS_KEYS[k].name, value);
    return append(b, line);
}

int args_to_yaml(const Args *a, char **text) {
    Buf b = {0};
    for (int k = 0; k < ARGS_N_KEYS; k++) {
        if (ARGS_KEYS[k].info_only) continue;
        if (append_key(&b, a, k) != 0) {
            free(b.text);
            return -1;
        }
    }
    *text = b.text;
    return 0;
}

int args_write_yaml(const Args *a, const char *path) {
    char *text;
    TRY(args_to_yaml(a, &text));
    int rc = atomic_write(path, text, strlen(text), NULL);
    free(text);
    return rc;
}
