// The argument table, the typing of values against it (Ultralytics' smart_value and check_cfg),
// Python-style formatting, and the defaults built in from configs/default.yaml.
#include "cli/args.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/args_private.h"
#include "core/status.h"
#include "default_yaml.h" // YOLO_DEFAULT_YAML, generated from configs/default.yaml by src/meson.build
#include "io/atomic_file.h"

// offsetof that does not compile unless the field has type T: the table cannot drift from Args.
#define FIELD(n, T) _Generic(((Args *)0)->n, T: offsetof(Args, n))
#define KIND(k) (1u << (k))

#define K_BOOL(n) {.name = #n, .field = F_BOOL, .offset = FIELD(n, bool)}
#define K_INT(n, lo_, hi_) {.name = #n, .field = F_INT, .offset = FIELD(n, int), .lo = (lo_), .hi = (hi_)}
#define K_FLOAT(n, lo_, hi_) {.name = #n, .field = F_FLOAT, .offset = FIELD(n, double), .lo = (lo_), .hi = (hi_)}
#define K_FRACTION(n) K_FLOAT(n, 0, 1)
// (0, 1]: zero would make the key meaningless (no images, no learning).
#define K_POSITIVE_FRACTION(n) {.name = #n, .field = F_FLOAT, .offset = FIELD(n, double), .lo = 0, .hi = 1, .lo_open = true}
#define K_CHOICE(n, choices_) {.name = #n, .field = F_TEXT, .offset = FIELD(n, char *), .choices = (choices_)}
#define K_PATH(n, example_) {.name = #n, .field = F_TEXT, .offset = FIELD(n, char *), .nullable = true, .example = (example_)}
#define K_VALUE(n, accept_, lo_, hi_, choices_, example_, expect_)                                                     \
    {.name = #n, .field = F_VALUE, .offset = FIELD(n, ArgValue), .accept = (accept_), .lo = (lo_), .hi = (hi_),         \
     .nullable = ((accept_) & KIND(ARGS_NONE)) != 0, .choices = (choices_), .example = (example_), .expect = (expect_)}

#define NONE KIND(ARGS_NONE)
#define BOOL KIND(ARGS_BOOL)
#define INT KIND(ARGS_INT)
#define FLOAT KIND(ARGS_FLOAT)
#define STR KIND(ARGS_STR)
#define LIST KIND(ARGS_LIST)

// In default.yaml's order (args_defaults checks it), info's nc last. Ranges: ultralytics-behaviour.md
// §1 (CFG_*_KEYS and the newest minimums); imgsz's 8192 bounds memory planning.
const KeySpec ARGS_KEYS[] = {
    K_CHOICE(task, "detect,segment,classify"),
    K_CHOICE(mode, "train,val,predict,info"),
    K_PATH(model, "yolov8n.yaml"),
    K_PATH(data, "shapes.yaml"),
    K_INT(epochs, 1, INT_MAX),
    K_VALUE(time, NONE | FLOAT, 0, INFINITY, NULL, "1.5", "a number of hours (i.e. 'time=1.5')"),
    K_INT(patience, 0, INT_MAX),
    K_INT(batch, 1, INT_MAX),
    K_INT(imgsz, 32, 8192),
    K_BOOL(save),
    K_INT(save_period, INT_MIN, INT_MAX),
    K_FLOAT(save_minutes, 0, INFINITY),
    K_VALUE(cache, BOOL | STR, 0, 0, "ram", NULL, "True, False or ram (i.e. 'cache=ram')"),
    K_VALUE(device, NONE | INT | STR | LIST, 0, INT_MAX, NULL, "0",
            "cpu, a GPU index or a list of them (i.e. 'device=cpu', 'device=0' or 'device=0,1')"),
    K_INT(workers, 0, INT_MAX),
    K_PATH(project, "runs/detect"),
    K_PATH(name, "exp"),
    K_BOOL(exist_ok),
    K_VALUE(pretrained, BOOL | STR, 0, 0, NULL, NULL, "True, False or a checkpoint path (i.e. 'pretrained=False')"),
    K_CHOICE(optimizer, "SGD,Adam,AdamW,auto"),
    K_BOOL(verbose),
    K_INT(seed, 0, INT_MAX),
    K_BOOL(deterministic),
    K_BOOL(single_cls),
    K_BOOL(rect),
    K_BOOL(cos_lr),
    K_INT(close_mosaic, 0, INT_MAX),
    K_VALUE(resume, BOOL | STR, 0, 0, NULL, NULL,
            "True, False or the path of a last.ckpt (i.e. 'resume=runs/detect/train/weights/last.ckpt')"),
    K_BOOL(amp),
    K_POSITIVE_FRACTION(fraction),
    K_VALUE(freeze, NONE | INT | LIST, 0, INT_MAX, NULL, "10", "an int or a list of ints (i.e. 'freeze=10' or 'freeze=[0,1,2]')"),
    K_BOOL(multi_scale),
    K_BOOL(overlap_mask),
    K_INT(mask_ratio, 1, INT_MAX),
    K_FRACTION(dropout),
    K_BOOL(val),
    K_CHOICE(split, "train,val,test"),
    K_BOOL(save_json),
    K_VALUE(conf, NONE | FLOAT, 0, 1, NULL, "0.25", "a number between 0.0 and 1.0 (i.e. 'conf=0.25')"),
    K_FRACTION(iou),
    K_INT(max_det, 1, INT_MAX),
    K_BOOL(half),
    K_BOOL(plots),
    K_PATH(source, "images/"),
    K_BOOL(show_labels),
    K_BOOL(show_conf),
    K_BOOL(save_txt),
    K_BOOL(save_conf),
    K_VALUE(classes, NONE | INT | LIST, 0, INT_MAX, NULL, "0", "an int or a list of ints (i.e. 'classes=0' or 'classes=[0,2]')"),
    K_VALUE(line_width, NONE | INT, 1, INT_MAX, NULL, "2", "an int (i.e. 'line_width=2')"),
    K_POSITIVE_FRACTION(lr0),
    K_FRACTION(lrf),
    K_FRACTION(momentum),
    K_FRACTION(weight_decay),
    K_FLOAT(warmup_epochs, 0, INFINITY),
    K_FRACTION(warmup_momentum),
    K_FRACTION(warmup_bias_lr),
    K_FLOAT(box, -INFINITY, INFINITY),
    K_FLOAT(cls, -INFINITY, INFINITY),
    K_FLOAT(dfl, -INFINITY, INFINITY),
    K_INT(nbs, 1, INT_MAX),
    K_FRACTION(hsv_h),
    K_FRACTION(hsv_s),
    K_FRACTION(hsv_v),
    K_FLOAT(degrees, -INFINITY, INFINITY),
    K_FRACTION(translate),
    K_FRACTION(scale),
    K_FLOAT(shear, -INFINITY, INFINITY),
    K_FRACTION(perspective),
    K_FRACTION(flipud),
    K_FRACTION(fliplr),
    K_FRACTION(mosaic),
    K_FRACTION(mixup),
    K_VALUE(auto_augment, NONE | STR, 0, 0, "randaugment,autoaugment,augmix", "randaugment",
            "randaugment or None (i.e. 'auto_augment=randaugment')"),
    K_FRACTION(erasing),
    {.name = "nc", .field = F_VALUE, .offset = FIELD(nc, ArgValue), .accept = NONE | INT, .lo = 1, .hi = 100000,
     .nullable = true, .info_only = true, .example = "3", .expect = "an int (i.e. 'nc=3')"},
};
const int ARGS_N_KEYS = (int)(sizeof ARGS_KEYS / sizeof ARGS_KEYS[0]);
_Static_assert(sizeof ARGS_KEYS / sizeof ARGS_KEYS[0] <= ARGS_MAX_KEYS, "raise ARGS_MAX_KEYS in cli/args.h");

int args_key_index(const char *name) {
    for (int k = 0; k < ARGS_N_KEYS; k++)
        if (!strcmp(ARGS_KEYS[k].name, name)) return k;
    return -1;
}

int args_key_count(void) { return ARGS_N_KEYS; }

const char *args_key_name(int i) { return i >= 0 && i < ARGS_N_KEYS ? ARGS_KEYS[i].name : NULL; }

bool args_given(const Args *a, const char *key) {
    int k = args_key_index(key);
    return k >= 0 && a->given[k];
}

char *args_trim(char *s) {
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    return s;
}

bool args_is_one_of(const char *s, const char *const *words) {
    for (; *words; words++)
        if (!strcmp(s, *words)) return true;
    return false;
}

// ---- Typing text (smart_value) -------------------------------------------------------------

static const char *skip_digits(const char *p) {
    while (isdigit((unsigned char)*p)) p++;
    return p;
}

bool args_literal_number(const char *s, RawValue *out) {
    const char *p = s + (*s == '+' || *s == '-');
    const char *int_start = p;
    p = skip_digits(p);
    size_t n_int = (size_t)(p - int_start), n_frac = 0;
    bool is_float = false;
    if (*p == '.') {
        is_float = true;
        const char *frac = ++p;
        p = skip_digits(p);
        n_frac = (size_t)(p - frac);
    }
    if (n_int + n_frac == 0) return false;
    if (*p == 'e' || *p == 'E') {
        is_float = true;
        p += 1 + (p[1] == '+' || p[1] == '-');
        const char *exp = p;
        p = skip_digits(p);
        if (p == exp) return false;
    }
    if (*p) return false;
    if (is_float) {
        out->v.kind = ARGS_FLOAT;
        out->v.f = strtod(s, NULL);
        out->type = "float";
        return true;
    }
    // Python 3 reads "0" and "000" but rejects other leading zeros ("007" is not an int literal).
    if (n_int > 1 && int_start[0] == '0' && int_start + strspn(int_start, "0") != p) return false;
    out->v.kind = ARGS_INT;
    out->v.i = strtoll(s, NULL, 10); // clamped on overflow; the range check then names the value
    out->type = "int";
    return true;
}

// Whether an item of a list or tuple is any Python literal (for telling a list of floats, which
// no key takes, from text that is no literal at all and stays a string).
static bool item_is_literal(const char *item, RawValue *probe) {
    size_t n = strlen(item);
    if (args_literal_number(item, probe)) return true;
    if (!strcmp(item, "None") || !strcmp(item, "True") || !strcmp(item, "False")) return true;
    return n >= 2 && (item[0] == '\'' || item[0] == '"') && item[n - 1] == item[0];
}

// "[0, 2]", "(0, 2)" and "0,2" as literal_eval reads them: a list or tuple. Returns false when the
// text is no sequence literal (it then stays a string), and sets *failed for too many items.
static bool parse_sequence(const char *text, RawValue *out, bool *failed) {
    size_t len = strlen(text);
    char inner[ARGS_TEXT_MAX];
    if (len >= 2 && ((text[0] == '[' && text[len - 1] == ']') || (text[0] == '(' && text[len - 1] == ')'))) {
        memcpy(inner, text + 1, len - 2);
        inner[len - 2] = '\0';
        out->type = text[0] == '[' ? "list" : "tuple";
        // "(5)" is just 5 in Python; only a comma makes a tuple.
        char *only = args_trim(inner);
        if (text[0] == '(' && !strchr(only, ',') && *only) return args_literal_number(only, out);
    } else if (strchr(text, ',')) {
        memcpy(inner, text, len + 1);
        out->type = "tuple";
    } else {
        return false;
    }
    out->v.kind = ARGS_LIST;
    out->v.n = 0;
    bool all_ints = true;
    char *body = args_trim(inner);
    if (!*body) return true; // [] and ()
    for (char *item = body;;) {
        char *comma = strchr(item, ',');
        if (comma) *comma = '\0';
        char *t = args_trim(item);
        if (!*t) {
            // Only a trailing comma may leave an empty item: "[0,1,]" and "0," are literals.
            if (comma || item == body) return false;
            break;
        }
        RawValue probe;
        probe.v.kind = ARGS_STR; // not an int unless args_literal_number finds one
        if (!item_is_literal(t, &probe)) return false;
        if (probe.v.kind == ARGS_INT && all_ints) {
            if (out->v.n == ARGS_LIST_MAX) {
                *failed = true;
                yolo_fail("'%.60s...' has more than %d items", text, ARGS_LIST_MAX);
                return false;
            }
            out->v.list[out->v.n++] = probe.v.i;
        } else {
            all_ints = false;
        }
        if (!comma) break;
        item = comma + 1;
    }
    if (!all_ints) out->v.kind = ARGS_OTHER;
    return true;
}

int args_smart_value(const char *text, RawValue *out) {
    memset(out, 0, sizeof *out);
    size_t len = strlen(text);
    if (len >= ARGS_TEXT_MAX) return yolo_fail("the value '%.60s...' is longer than %d characters", text, ARGS_TEXT_MAX - 1);
    memcpy(out->text, text, len + 1);
    if (!strcasecmp(text, "none")) {
        out->v.kind = ARGS_NONE;
        out->type = "NoneType";
        return 0;
    }
    if (!strcasecmp(text, "true") || !strcasecmp(text, "false")) {
        out->v.kind = ARGS_BOOL;
        out->v.b = !strcasecmp(text, "true");
        out->type = "bool";
        return 0;
    }
    if (args_literal_number(text, out)) return 0;
    if (len >= 2 && (text[0] == '\'' || text[0] == '"') && text[len - 1] == text[0] && !memchr(text + 1, text[0], len - 2)) {
        out->v.kind = ARGS_STR;
        memcpy(out->v.s, text + 1, len - 2);
        out->type = "str";
        return 0;
    }
    bool failed = false;
    if (parse_sequence(text, out, &failed)) return 0;
    if (failed) return -1;
    // Not a literal: literal_eval fails and smart_value keeps the text.
    memset(&out->v, 0, sizeof out->v);
    out->v.kind = ARGS_STR;
    memcpy(out->v.s, text, len + 1);
    out->type = "str";
    return 0;
}

bool args_truthy(const RawValue *r) {
    switch ((int)r->v.kind) {
    case ARGS_NONE: return false;
    case ARGS_BOOL: return r->v.b;
    case ARGS_INT: return r->v.i != 0;
    case ARGS_FLOAT: return r->v.f != 0.0;
    case ARGS_STR: return r->v.s[0] != '\0';
    case ARGS_LIST: return r->v.n > 0;
    default: return true; // ARGS_OTHER: a non-empty list of other literals
    }
}

// ---- Checking a value against its key (check_cfg) -----------------------------------------

static bool in_choices(const char *choices, const char *s) {
    size_t n = strlen(s);
    for (const char *c = choices; *c;) {
        size_t len = strcspn(c, ",");
        if (len == n && !strncmp(c, s, n)) return true;
        c += len + (c[len] == ',');
    }
    return false;
}

// "detect, segment, classify" from "detect,segment,classify".
static void list_choices(const char *choices, char *out, size_t cap) {
    size_t o = 0;
    for (const char *c = choices; *c && o + 1 < cap; c++) {
        if (*c == ',' && o + 2 < cap) out[o++] = ',', out[o++] = ' ';
        else if (*c != ',') out[o++] = *c;
    }
    out[o] = '\0';
}

void args_example(const Args *a, int k, char *out, size_t cap) {
    if (ARGS_KEYS[k].example) {
        snprintf(out, cap, "%s", ARGS_KEYS[k].example);
        return;
    }
    ArgValue v;
    args_field_value(a, k, &v);
    args_format_py(&v, out, cap);
}

static int type_error(const Args *a, int k, const RawValue *r, const char *origin) {
    const KeySpec *s = &ARGS_KEYS[k];
    char example[ARGS_TEXT_MAX], want[ARGS_TEXT_MAX + 128];
    args_example(a, k, example, sizeof example);
    switch (s->field) {
    case F_BOOL: snprintf(want, sizeof want, "'%s' must be a bool (i.e. '%s=True' or '%s=False')", s->name, s->name, s->name); break;
    case F_INT: snprintf(want, sizeof want, "'%s' must be an int (i.e. '%s=%s')", s->name, s->name, example); break;
    case F_FLOAT: snprintf(want, sizeof want, "'%s' must be an int or float (i.e. '%s=%s')", s->name, s->name, example); break;
    case F_TEXT: snprintf(want, sizeof want, "'%s' must be a string (i.e. '%s=%s')", s->name, s->name, example); break;
    case F_VALUE: snprintf(want, sizeof want, "'%s' must be %s", s->name, s->expect); break;
    }
    return yolo_fail("%s%s'%s=%s' is of invalid type %s. %s", origin, *origin ? ": " : "", s->name, r->text, r->type, want);
}

static bool float_key(const KeySpec *s) { return s->field == F_FLOAT || (s->field == F_VALUE && (s->accept & FLOAT)); }

static void format_bound(const KeySpec *s, double x, char *out, size_t cap) {
    if (float_key(s)) args_format_float(x, out, cap);
    else snprintf(out, cap, "%.0f", x);
}

static int check_range(const KeySpec *s, double x, const RawValue *r, const char *origin) {
    bool ok = isfinite(x) && x >= s->lo && x <= s->hi && !(s->lo_open && x <= s->lo);
    if (ok) return 0;
    char lo[40], hi[40], valid[100];
    format_bound(s, s->lo, lo, sizeof lo);
    format_bound(s, s->hi, hi, sizeof hi);
    if (!isfinite(x) && isinf(s->lo) && isinf(s->hi)) snprintf(valid, sizeof valid, "finite numbers");
    else if (s->lo_open) snprintf(valid, sizeof valid, "> %s and <= %s", lo, hi);
    else if (isinf(s->hi) || s->hi == INT_MAX) snprintf(valid, sizeof valid, ">= %s", lo);
    else snprintf(valid, sizeof valid, "between %s and %s", lo, hi);
    return yolo_fail("%s%s'%s=%s' is an invalid value. Valid '%s' values are %s.", origin, *origin ? ": " : "", s->name, r->text,
                     s->name, valid);
}

static int choice_error(int k, const RawValue *r, const char *origin) {
    const KeySpec *s = &ARGS_KEYS[k];
    if (s->field == F_VALUE)
        return yolo_fail("%s%sInvalid '%s=%s'. '%s' must be %s", origin, *origin ? ": " : "", s->name, r->text, s->name, s->expect);
    char valid[256];
    list_choices(s->choices, valid, sizeof valid);
    return yolo_fail("%s%sInvalid '%s=%s'. Valid '%s' values are %s.", origin, *origin ? ": " : "", s->name, r->text, s->name, valid);
}

// Ultralytics reads batch=-1 and 0 < batch < 1 as AutoBatch (a share of GPU memory).
static bool asks_autobatch(const RawValue *r) {
    return (r->v.kind == ARGS_INT && r->v.i == -1) || (r->v.kind == ARGS_FLOAT && r->v.f > 0 && r->v.f < 1);
}

static int assign_value(const Args *a, int k, const RawValue *r, const char *origin, ArgValue *field) {
    const KeySpec *s = &ARGS_KEYS[k];
    int kind = (int)r->v.kind;
    if (kind == ARGS_OTHER || !(s->accept & KIND(kind))) {
        // An int where a float is taken is a float (time=2, conf=1).
        if (!(kind == ARGS_INT && (s->accept & FLOAT))) return type_error(a, k, r, origin);
        TRY(check_range(s, (double)r->v.i, r, origin));
        *field = (ArgValue){.kind = ARGS_FLOAT, .f = (double)r->v.i};
        return 0;
    }
    if (kind == ARGS_INT) TRY(check_range(s, (double)r->v.i, r, origin));
    if (kind == ARGS_FLOAT) TRY(check_range(s, r->v.f, r, origin));
    if (kind == ARGS_STR && s->choices && !in_choices(s->choices, r->v.s)) return choice_error(k, r, origin);
    for (int i = 0; kind == ARGS_LIST && i < r->v.n; i++) TRY(check_range(s, (double)r->v.list[i], r, origin));
    *field = r->v;
    return 0;
}

int args_assign(Args *a, int k, const RawValue *r, const char *origin) {
    const KeySpec *s = &ARGS_KEYS[k];
    char *field = (char *)a + s->offset;
    const ArgValue *v = &r->v;
    switch (s->field) {
    case F_BOOL:
        if (v->kind != ARGS_BOOL) return type_error(a, k, r, origin);
        *(bool *)field = v->b;
        return 0;
    case F_INT:
        if (!strcmp(s->name, "batch") && asks_autobatch(r))
            return yolo_fail("%s%s'batch=%s' asks for AutoBatch, which this program does not have; give the number of images "
                             "per batch, i.e. 'batch=16'",
                             origin, *origin ? ": " : "", r->text);
        if (v->kind != ARGS_INT) return type_error(a, k, r, origin);
        TRY(check_range(s, (double)v->i, r, origin));
        *(int *)field = (int)v->i;
        return 0;
    case F_FLOAT:
        if (v->kind != ARGS_INT && v->kind != ARGS_FLOAT) return type_error(a, k, r, origin);
        TRY(check_range(s, v->kind == ARGS_INT ? (double)v->i : v->f, r, origin));
        *(double *)field = v->kind == ARGS_INT ? (double)v->i : v->f;
        return 0;
    case F_TEXT: {
        // Numbers become their text, as get_cfg does for project and name (name=2 -> "2").
        const char *text = v->kind == ARGS_STR ? v->s : v->kind == ARGS_INT || v->kind == ARGS_FLOAT ? r->text : NULL;
        if (v->kind == ARGS_NONE && s->nullable) {
            field[0] = '\0';
            return 0;
        }
        if (!text) return type_error(a, k, r, origin);
        if (s->choices && !in_choices(s->choices, text)) return choice_error(k, r, origin);
        snprintf(field, ARGS_TEXT_MAX, "%s", text);
        return 0;
    }
    case F_VALUE: return assign_value(a, k, r, origin, (ArgValue *)field);
    }
    return 0;
}

void args_field_value(const Args *a, int k, ArgValue *out) {
    const KeySpec *s = &ARGS_KEYS[k];
    const char *field = (const char *)a + s->offset;
    memset(out, 0, sizeof *out);
    switch (s->field) {
    case F_BOOL: *out = (ArgValue){.kind = ARGS_BOOL, .b = *(const bool *)field}; break;
    case F_INT: *out = (ArgValue){.kind = ARGS_INT, .i = *(const int *)field}; break;
    case F_FLOAT: *out = (ArgValue){.kind = ARGS_FLOAT, .f = *(const double *)field}; break;
    case F_TEXT:
        out->kind = field[0] ? ARGS_STR : ARGS_NONE;
        snprintf(out->s, sizeof out->s, "%s", field);
        break;
    case F_VALUE: *out = *(const ArgValue *)field; break;
    }
}

// ---- Formatting as Python prints ----------------------------------------------------------

void args_format_float(double f, char *out, size_t cap) {
    if (isnan(f) || isinf(f)) {
        snprintf(out, cap, "%s", isnan(f) ? "nan" : f < 0 ? "-inf" : "inf");
        return;
    }
    // repr(): the shortest digits that read back as f, in positional notation for exponents -4..15.
    char e[48];
    for (int p = 0; p <= 16; p++) {
        snprintf(e, sizeof e, "%.*e", p, f);
        if (strtod(e, NULL) == f) break;
    }
    char digits[24];
    int nd = 0;
    const char *q = e + (e[0] == '-');
    for (; *q != 'e'; q++)
        if (isdigit((unsigned char)*q)) digits[nd++] = *q;
    int exp10 = atoi(q + 1);
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    char buf[64];
    size_t o = 0;
    if (e[0] == '-') buf[o++] = '-';
    if (exp10 >= -4 && exp10 < 16) {
        if (exp10 < 0) {
            buf[o++] = '0', buf[o++] = '.';
            for (int z = 0; z < -exp10 - 1; z++) buf[o++] = '0';
            for (int d = 0; d < nd; d++) buf[o++] = digits[d];
        } else {
            for (int d = 0; d <= exp10; d++) buf[o++] = d < nd ? digits[d] : '0';
            buf[o++] = '.';
            if (nd > exp10 + 1)
                for (int d = exp10 + 1; d < nd; d++) buf[o++] = digits[d];
            else
                buf[o++] = '0';
        }
        buf[o] = '\0';
    } else {
        buf[o++] = digits[0];
        if (nd > 1) {
            buf[o++] = '.';
            for (int d = 1; d < nd; d++) buf[o++] = digits[d];
        }
        snprintf(buf + o, sizeof buf - o, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
    }
    snprintf(out, cap, "%s", buf);
}

void args_format_py(const ArgValue *v, char *out, size_t cap) {
    switch (v->kind) {
    case ARGS_NONE: snprintf(out, cap, "None"); return;
    case ARGS_BOOL: snprintf(out, cap, "%s", v->b ? "True" : "False"); return;
    case ARGS_INT: snprintf(out, cap, "%lld", v->i); return;
    case ARGS_FLOAT: args_format_float(v->f, out, cap); return;
    case ARGS_STR: snprintf(out, cap, "%s", v->s); return;
    case ARGS_LIST: {
        size_t o = 0;
        out[0] = '\0';
        for (int i = 0; i < v->n && o < cap; i++) o += (size_t)snprintf(out + o, cap - o, "%s%lld", i ? ", " : "[", v->list[i]);
        if (o < cap) snprintf(out + o, cap - o, "%s", v->n ? "]" : "[]");
        return;
    }
    }
}

int args_format(const Args *a, const char *key, char *out, size_t cap) {
    int k = args_key_index(key);
    if (k < 0) return yolo_fail("'%s' is not a key of yolo's arguments", key);
    ArgValue v;
    args_field_value(a, k, &v);
    args_format_py(&v, out, cap);
    return 0;
}

// ---- Defaults -----------------------------------------------------------------------------

// Built in rather than read from the config folder (io/config_dir.h) at run time: the program
// then has its defaults wherever it runs, and they always match the table it was built with.
const char *args_default_yaml(void) { return YOLO_DEFAULT_YAML; }

int args_copy_default(const char *path) {
    const char *text = args_default_yaml();
    return atomic_write(path, text, strlen(text), NULL);
}

int args_apply(Args *a, const Overrides *o) {
    for (int k = 0; k < ARGS_N_KEYS; k++) {
        const Override *last = NULL;
        for (int i = 0; i < o->n; i++)
            if (o->items[i].index == k) last = &o->items[i];
        if (!last) continue;
        TRY(args_assign(a, k, &last->value, last->origin));
        a->given[k] = true;
    }
    return 0;
}

int args_defaults(Args *a) {
    memset(a, 0, sizeof *a);
    Overrides o = {0};
    int rc = args_yaml_overrides(args_default_yaml(), "default.yaml", &o);
    // default.yaml and the table list the same keys in the same order: args.yaml is written in
    // table order and must keep default.yaml's.
    int next = 0;
    for (int i = 0; rc == 0 && i < o.n; i++, next++) {
        Override *e = &o.items[i];
        e->index = args_key_index(e->key);
        if (e->index < 0 || ARGS_KEYS[e->index].info_only)
            rc = yolo_fail("%s: '%s' has no entry in the argument table; add it to Args and ARGS_KEYS (src/cli/args.[ch])", e->origin, e->key);
        else if (e->index != next)
            rc = yolo_fail("%s: '%s' comes where the argument table (src/cli/args.c) has '%s'; keep both in one order", e->origin, e->key,
                           ARGS_KEYS[next].name);
    }
    if (rc == 0 && next < ARGS_N_KEYS && !ARGS_KEYS[next].info_only)
        rc = yolo_fail("default.yaml lacks '%s', which the argument table (src/cli/args.c) lists", ARGS_KEYS[next].name);
    if (rc == 0) rc = args_apply(a, &o);
    overrides_free(&o);
    memset(a->given, 0, sizeof a->given);
    return rc;
}
