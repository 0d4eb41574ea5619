// YOLO label files, judged as Ultralytics' dataset scan (verify_image_label) judges them: numbers
// are read as numpy reads the split strings (to double, then float32) and coordinates must lie in
// [0, 1] exactly. Where labels.h asks for more, this is stricter or more regular than Ultralytics:
// a class must be an integer (Ultralytics truncates 2.5 to 2), every polygon needs 3 points
// (Ultralytics takes any), whitespace-only lines are blank (Ultralytics' ragged array fails), and
// duplicates are rows equal after parsing, kept in file order (Ultralytics compares polygon rows
// by class and bounding box, and sorts the rows when it drops any).
#include "data/labels.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

// One non-blank line: `count` fields (class first) at values[start..start + count); the line's
// text begins at text[offset].
typedef struct {
    int line;
    int count;
    size_t start;
    size_t offset;
} Row;

typedef struct {
    Row *rows;
    size_t n_rows, cap_rows;
    float *values;
    size_t n_values, cap_values;
} Table;

static LabelProblem report(char *why, size_t cap, LabelProblem kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static LabelProblem report(char *why, size_t cap, LabelProblem kind, const char *fmt, ...) {
    if (why && cap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, cap, fmt, ap);
        va_end(ap);
    }
    return kind;
}

// Returns p grown to at least `need` elements of `elem` bytes (capacity doubling, *cap updated),
// or NULL when out of memory (p is then untouched).
static void *grow(void *p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return p;
    size_t n = *cap ? *cap : 64;
    while (n < need) n *= 2;
    void *q = realloc(p, n * elem);
    if (q) *cap = n;
    return q;
}

// A token for a message: printable ASCII only (label files can hold anything) and not too long.
static const char *shown(const char *tok, size_t n, char out[40]) {
    size_t k = 0;
    for (size_t i = 0; i < n && k < 32; i++) out[k++] = tok[i] >= 0x20 && tok[i] < 0x7f ? tok[i] : '?';
    if (n > 32) memcpy(out + k, "...", 4);
    else out[k] = '\0';
    return out;
}

// The whole token as a number, as numpy converts a string to float32: Python's float() (a
// double), then rounded to float. Hexadecimal, which strtod reads and float() does not, is
// refused; a token too long to be a sensible number is too.
static bool parse_number(const char *tok, size_t n, float *v) {
    char buf[128];
    if (n == 0 || n >= sizeof buf || memchr(tok, 'x', n) || memchr(tok, 'X', n)) return false;
    memcpy(buf, tok, n);
    buf[n] = '\0';
    char *end;
    double d = strtod(buf, &end);
    if (end != buf + n) return false;
    // Beyond float's range the conversion is undefined in C; numpy gives infinity.
    *v = d > FLT_MAX ? INFINITY : d < -FLT_MAX ? -INFINITY : (float)d;
    return true;
}

static bool is_blank(char c) {
    return c == ' ' || c == '\t' || c == '\v' || c == '\f';
}

// Pass 1: splits the text into rows of numbers. Lines end at \n, \r\n or \r.
static LabelProblem tokenize(const char *text, size_t len, Table *t, char *why, size_t cap) {
    int line = 0;
    size_t i = 0;
    while (i < len) {
        line++;
        if (line == INT_MAX) return report(why, cap, LABEL_BAD_SYNTAX, "more than %d lines", INT_MAX - 1);
        size_t first = t->n_values, offset = i;
        int count = 0;
        while (i < len && text[i] != '\n' && text[i] != '\r') {
            if (is_blank(text[i])) {
                i++;
                continue;
            }
            size_t start = i;
            while (i < len && text[i] != '\n' && text[i] != '\r' && !is_blank(text[i])) i++;
            float v;
            if (!parse_number(text + start, i - start, &v)) {
                char s[40];
                return report(why, cap, LABEL_BAD_SYNTAX, "line %d: '%s' is not a number", line,
                              shown(text + start, i - start, s));
            }
            // Polygon offsets are ints in Labels.
            if (t->n_values == INT_MAX / 2)
                return report(why, cap, LABEL_BAD_SYNTAX, "line %d: more than %d numbers", line, INT_MAX / 2);
            float *values = grow(t->values, &t->cap_values, t->n_values + 1, sizeof *values);
            if (!values) return report(why, cap, LABEL_BAD_SYNTAX, "line %d: out of memory", line);
            t->values = values;
            t->values[t->n_values++] = v;
            count++;
        }
        if (i < len) i += text[i] == '\r' && i + 1 < len && text[i + 1] == '\n' ? 2 : 1;
        if (count == 0) continue; // blank line
        Row *rows = grow(t->rows, &t->cap_rows, t->n_rows + 1, sizeof *rows);
        if (!rows) return report(why, cap, LABEL_BAD_SYNTAX, "line %d: out of memory", line);
        t->rows = rows;
        t->rows[t->n_rows++] = (Row){.line = line, .count = count, .start = first, .offset = offset};
    }
    return LABEL_OK;
}

// Field k of a row as written, for messages: "1e30" says more than the float it became.
static const char *field_text(const char *text, size_t len, const Row *r, int k, char out[40]) {
    size_t i = r->offset;
    for (int f = 0;; f++) {
        while (i < len && is_blank(text[i])) i++;
        size_t start = i;
        while (i < len && text[i] != '\n' && text[i] != '\r' && !is_blank(text[i])) i++;
        if (f == k) return shown(text + start, i - start, out);
    }
}

// Pass 2: one row against the file's kind (segment or detect) and nc.
static LabelProblem check_row(const char *text, size_t len, const Row *r, const float *v, bool segment, int nc,
                              char *why, size_t cap) {
    char s[40];
    if (!segment && r->count != 5)
        return report(why, cap, LABEL_BAD_SYNTAX, "line %d: %d fields, detect labels have 5 (class cx cy w h)", r->line,
                      r->count);
    if (segment && (r->count < 7 || (r->count - 1) % 2 != 0))
        return report(why, cap, LABEL_BAD_SYNTAX,
                      "line %d: %d fields, segment labels have a class and an even number (at least 6) of coordinates",
                      r->line, r->count);
    if (!(v[0] >= 0.0f && v[0] < (float)nc))
        return report(why, cap, LABEL_CLASS_RANGE, "line %d: class %s is not in [0, %d)", r->line,
                      field_text(text, len, r, 0, s), nc);
    if (v[0] != floorf(v[0]))
        return report(why, cap, LABEL_BAD_SYNTAX, "line %d: class %s is not an integer", r->line,
                      field_text(text, len, r, 0, s));
    for (int k = 1; k < r->count; k++)
        if (!(v[k] >= 0.0f && v[k] <= 1.0f))
            return report(why, cap, LABEL_COORD_RANGE, "line %d: coordinate %s is not in [0, 1]", r->line,
                          field_text(text, len, r, k, s));
    return LABEL_OK;
}

// Rows ordered by content, then by position, so equal rows sit together, first occurrence first.
typedef struct {
    const float *v;
    int count;
    size_t index;
} Key;

static int compare_keys(const void *pa, const void *pb) {
    const Key *a = pa, *b = pb;
    if (a->count != b->count) return a->count < b->count ? -1 : 1;
    for (int k = 0; k < a->count; k++)
        if (a->v[k] != b->v[k]) return a->v[k] < b->v[k] ? -1 : 1; // no NaN survives check_row
    return a->index < b->index ? -1 : a->index > b->index;
}

static bool same_row(const Key *a, const Key *b) {
    if (a->count != b->count) return false;
    for (int k = 0; k < a->count; k++)
        if (a->v[k] != b->v[k]) return false;
    return true;
}

// Marks drop[i] for every row equal to an earlier one; returns how many. O(n log n) since a
// label file can have any number of rows.
static int mark_duplicates(const Table *t, bool *drop) {
    Key *keys = malloc(sizeof *keys * t->n_rows);
    if (!keys) return -1;
    for (size_t i = 0; i < t->n_rows; i++)
        keys[i] = (Key){.v = t->values + t->rows[i].start, .count = t->rows[i].count, .index = i};
    qsort(keys, t->n_rows, sizeof *keys, compare_keys);
    int dups = 0;
    for (size_t i = 1; i < t->n_rows; i++)
        if (same_row(&keys[i - 1], &keys[i])) {
            drop[keys[i].index] = true;
            dups++;
        }
    free(keys);
    return dups;
}

// Fills `out` with the rows not dropped; polygons also give their bounding boxes.
static int build(const Table *t, const bool *drop, int kept, bool segment, Labels *out) {
    size_t n_points = 0;
    for (size_t i = 0; i < t->n_rows; i++)
        if (!drop[i]) n_points += (size_t)(t->rows[i].count - 1) / 2;
    out->n = kept;
    out->cls = malloc(sizeof *out->cls * (size_t)kept);
    out->boxes = malloc(sizeof *out->boxes * 4 * (size_t)kept);
    if (segment) {
        out->poly = malloc(sizeof *out->poly * ((size_t)kept + 1));
        out->points = malloc(sizeof *out->points * 2 * n_points);
    }
    if (!out->cls || !out->boxes || (segment && (!out->poly || !out->points))) return -1;
    int j = 0, p = 0;
    for (size_t i = 0; i < t->n_rows; i++) {
        if (drop[i]) continue;
        const float *v = t->values + t->rows[i].start;
        float *box = out->boxes + 4 * j;
        out->cls[j] = (int)v[0];
        if (!segment) {
            memcpy(box, v + 1, 4 * sizeof(float));
        } else {
            int m = (t->rows[i].count - 1) / 2;
            out->poly[j] = p;
            memcpy(out->points + 2 * (size_t)p, v + 1, 2 * (size_t)m * sizeof(float));
            float x0 = v[1], x1 = v[1], y0 = v[2], y1 = v[2];
            for (int k = 1; k < m; k++) {
                x0 = fminf(x0, v[1 + 2 * k]);
                x1 = fmaxf(x1, v[1 + 2 * k]);
                y0 = fminf(y0, v[2 + 2 * k]);
                y1 = fmaxf(y1, v[2 + 2 * k]);
            }
            // xyxy2xywh in float32, as Ultralytics' segments2boxes.
            box[0] = (x0 + x1) / 2;
            box[1] = (y0 + y1) / 2;
            box[2] = x1 - x0;
            box[3] = y1 - y0;
            p += m;
        }
        j++;
    }
    if (segment) out->poly[kept] = p;
    return 0;
}

LabelProblem labels_parse(const char *text, size_t len, int nc, Labels *out, int *duplicates, char *why,
                          size_t why_cap) {
    *out = (Labels){0};
    if (duplicates) *duplicates = 0;
    if (why && why_cap > 0) why[0] = '\0';
    Table t = {0};
    bool *drop = NULL;
    LabelProblem rc = tokenize(text, len, &t, why, why_cap);
    if (rc != LABEL_OK || t.n_rows == 0) goto done;
    bool segment = false;
    for (size_t i = 0; i < t.n_rows; i++) segment |= t.rows[i].count > 6;
    for (size_t i = 0; i < t.n_rows && rc == LABEL_OK; i++)
        rc = check_row(text, len, &t.rows[i], t.values + t.rows[i].start, segment, nc, why, why_cap);
    if (rc != LABEL_OK) goto done;
    drop = calloc(t.n_rows, sizeof *drop);
    // n_rows <= n_values <= INT_MAX / 2 (tokenize), so the counts fit in int.
    int dups = drop ? mark_duplicates(&t, drop) : -1;
    if (dups < 0 || build(&t, drop, (int)t.n_rows - dups, segment, out) != 0) {
        labels_free(out);
        rc = report(why, why_cap, LABEL_BAD_SYNTAX, "out of memory for %zu label rows", t.n_rows);
        goto done;
    }
    if (duplicates) *duplicates = dups;
done:
    free(drop);
    free(t.rows);
    free(t.values);
    return rc;
}

// A copy of `bytes` bytes of p (NULL for none); clears *ok when out of memory.
static void *copy_of(const void *p, size_t bytes, bool *ok) {
    if (!p || bytes == 0) return NULL;
    void *q = malloc(bytes);
    if (!q) *ok = false;
    else memcpy(q, p, bytes);
    return q;
}

int labels_copy(const Labels *src, Labels *dst) {
    *dst = (Labels){0};
    bool ok = true;
    size_t n = src->n > 0 ? (size_t)src->n : 0;
    dst->n = src->n;
    dst->cls = copy_of(src->cls, sizeof *src->cls * n, &ok);
    dst->boxes = copy_of(src->boxes, sizeof *src->boxes * 4 * n, &ok);
    // poly can exist with n = 0 (segment labels whose objects were all removed).
    dst->poly = copy_of(src->poly, sizeof *src->poly * (n + 1), &ok);
    if (src->poly) dst->points = copy_of(src->points, sizeof *src->points * 2 * (size_t)src->poly[n], &ok);
    if (!ok) {
        labels_free(dst);
        return yolo_fail("out of memory copying %d labels", src->n);
    }
    return 0;
}

void labels_free(Labels *l) {
    free(l->cls);
    free(l->boxes);
    free(l->poly);
    free(l->points);
    *l = (Labels){0};
}
