#include "fixture_weights.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "file_util.h"
#include "test.h"

const char *fixture_shape_str(const StTensor *t, char *buf, int cap) {
    int used = 0;
    buf[0] = '\0';
    for (int i = 0; i < t->ndim && used < cap; i++)
        used += snprintf(buf + used, (size_t)(cap - used), i ? "x%lld" : "%lld", (long long)t->shape[i]);
    if (t->ndim == 0) snprintf(buf, (size_t)cap, "scalar");
    return buf;
}

bool fixture_same_shape(const StTensor *t, Shape s) {
    if (t->ndim != s.ndim) return false;
    for (int i = 0; i < s.ndim; i++)
        if (t->shape[i] != s.dim[i]) return false;
    return true;
}

float *fixture_f32(const SafeTensors *st, const char *name, int64_t numel, int64_t *count) {
    const StTensor *t = safetensors_find(st, name);
    if (!t || t->dtype != ST_F32 || (numel >= 0 && t->numel != numel)) {
        test_fail(__FILE__, __LINE__, "%s: fixture lacks an F32 tensor of %lld values", name, (long long)numel);
        return NULL;
    }
    float *v = malloc((size_t)(t->numel ? t->numel : 1) * sizeof *v);
    if (!v) {
        test_fail(__FILE__, __LINE__, "out of memory reading %s", name);
        return NULL;
    }
    safetensors_copy_f32(t, v);
    if (count) *count = t->numel;
    return v;
}

cJSON *fixture_json(const char *path) {
    char *text = test_file_read(path, NULL);
    if (!text) {
        test_fail(__FILE__, __LINE__, "cannot read %s (run from the repository root)", path);
        return NULL;
    }
    cJSON *root = cJSON_Parse(text);
    free(text);
    if (!root) test_fail(__FILE__, __LINE__, "%s is not JSON", path);
    return root;
}

double fixture_rel_l2(const float *got, const float *want, int64_t n) {
    double diff = 0.0, ref = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)got[i] - want[i];
        diff += d * d;
        ref += (double)want[i] * want[i];
    }
    return sqrt(diff) / fmax(sqrt(ref), 1e-30);
}

static bool starts_with(const char *s, const char *prefix) {
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

// Fixture entries that are not weights: the input, the outputs, the statistics after the forward.
static bool is_weight_name(const char *name) {
    return !starts_with(name, "input.") && !starts_with(name, "output.") && !starts_with(name, "after.");
}

// Collects mismatch descriptions for one message: the first few in full, then a count.
typedef struct {
    char text[1024];
    int n;
} Problems;

enum { PROBLEMS_SHOWN = 6 };

static void problem(Problems *pr, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(Problems *pr, const char *fmt, ...) {
    if (pr->n++ >= PROBLEMS_SHOWN) return;
    size_t used = strlen(pr->text);
    if (used > 0 && used < sizeof pr->text) used += (size_t)snprintf(pr->text + used, sizeof pr->text - used, "; ");
    if (used >= sizeof pr->text) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pr->text + used, sizeof pr->text - used, fmt, ap);
    va_end(ap);
}

int fixture_load_weights(Graph *g, const SafeTensors *st, const char *path) {
    Problems pr = {.n = 0};
    char a[64], b[64];
    for (int i = 0; i < g->n_values; i++) {
        Value *v = &g->values[i];
        if (v->kind != VALUE_PARAM && v->kind != VALUE_BUFFER) continue;
        const StTensor *t = safetensors_find(st, v->name);
        if (!t) problem(&pr, "missing %s [%s]", v->name, shape_str(v->shape, a, sizeof a));
        else if (t->dtype != ST_F32) problem(&pr, "%s is %s in the file, want F32", v->name, safetensors_dtype_name(t->dtype));
        else if (!fixture_same_shape(t, v->shape))
            problem(&pr, "%s is [%s] in the graph but [%s] in the file", v->name, shape_str(v->shape, a, sizeof a),
                    fixture_shape_str(t, b, sizeof b));
        else safetensors_copy_f32(t, v->data.data);
    }
    for (int i = 0; i < st->n_tensors; i++) {
        const StTensor *t = &st->tensors[i];
        if (!is_weight_name(t->name)) continue;
        int id = graph_find(g, t->name);
        if (id < 0 || (g->values[id].kind != VALUE_PARAM && g->values[id].kind != VALUE_BUFFER))
            problem(&pr, "unexpected %s [%s]", t->name, fixture_shape_str(t, a, sizeof a));
    }
    if (pr.n == 0) return 0;
    return yolo_fail("%s: weights do not match the graph (%d problem%s): %s%s", path, pr.n, pr.n == 1 ? "" : "s", pr.text,
                     pr.n > PROBLEMS_SHOWN ? "; ..." : "");
}
