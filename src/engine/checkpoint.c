#include "engine/checkpoint.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/status.h"
#include "io/atomic_file.h"
#include "io/safetensors_write.h"

enum { CKPT_NAME_CAP = VALUE_NAME_CAP + 32 };

typedef struct {
    StOut *tensors;
    char (*names)[CKPT_NAME_CAP];
    int n, cap;
} Tensors;

static int add(Tensors *t, const char *prefix, const Value *v, const float *data) {
    if (t->n == t->cap) return yolo_fail("internal: checkpoint tensor table is full");
    if (snprintf(t->names[t->n], CKPT_NAME_CAP, "%s%s", prefix, v->name) >= CKPT_NAME_CAP)
        return yolo_fail("checkpoint tensor name %s%s is too long", prefix, v->name);
    StOut *o = &t->tensors[t->n++];
    *o = (StOut){.name = t->names[t->n - 1], .data = data, .ndim = v->shape.ndim};
    for (int d = 0; d < v->shape.ndim; d++) o->shape[d] = v->shape.dim[d];
    return 0;
}

static const char *slot_name(OptimKind kind, int k) {
    if (kind == OPTIM_SGD) return "momentum_buffer";
    return k == 0 ? "exp_avg" : "exp_avg_sq";
}

static int collect(const CheckpointContent *c, Tensors *t) {
    const Graph *g = c->g;
    char prefix[64];
    for (int i = 0; i < g->n_values; i++) {
        const Value *v = &g->values[i];
        if (v->kind != VALUE_PARAM && v->kind != VALUE_BUFFER) continue;
        TRY(add(t, "", v, v->data.data));
        // The EMA holds a copy of the params arena, so a value sits at the same offset in it.
        if (c->ema) TRY(add(t, "ema.", v, c->ema->values + v->data_offset / sizeof(float)));
        if (v->kind != VALUE_PARAM || !v->needs_grad) continue;
        if (c->with_grads) TRY(add(t, "grad.", v, v->grad.data));
        for (int k = 0; c->optim && k < optimizer_slots(c->optim->kind); k++) {
            snprintf(prefix, sizeof prefix, "optim.%s.", slot_name(c->optim->kind, k));
            TRY(add(t, prefix, v, graph_optim_slot(g, i, k).data));
        }
    }
    return 0;
}

int checkpoint_save(const char *path, const char *prev_path, const CheckpointContent *c) {
    Tensors t = {.cap = 5 * c->g->n_values};
    t.tensors = calloc((size_t)t.cap, sizeof *t.tensors);
    t.names = calloc((size_t)t.cap, sizeof *t.names);
    int rc = t.tensors && t.names ? collect(c, &t) : yolo_fail("out of memory writing %s", path);
    unsigned char *buf = NULL;
    size_t size = 0;
    if (rc == 0) {
        char checksum[32];
        snprintf(checksum, sizeof checksum, "%016" PRIx64, safetensors_data_hash(t.tensors, t.n));
        const char *meta[] = {"format", CHECKPOINT_FORMAT, "format_version", CHECKPOINT_FORMAT_VERSION, "task", c->task,
                              "checksum_xxh3", checksum, "state", c->state_json ? c->state_json : "{}"};
        rc = safetensors_serialize(t.tensors, t.n, meta, 5, &buf, &size);
    }
    if (rc == 0) rc = atomic_write(path, buf, size, prev_path);
    free(buf);
    free(t.tensors);
    free(t.names);
    return rc;
}

static int verify(Checkpoint *ck) {
    const char *path = ck->path;
    const char *format = safetensors_metadata(&ck->st, "format");
    if (!format || strcmp(format, CHECKPOINT_FORMAT) != 0)
        return yolo_fail("%s is not a yolo checkpoint (its metadata has no format=%s); pass a .ckpt file a yolo run wrote",
                         path, CHECKPOINT_FORMAT);
    const char *version = safetensors_metadata(&ck->st, "format_version");
    char *end = NULL;
    long v = version ? strtol(version, &end, 10) : 0;
    if (!version || *end || v < 1) return yolo_fail("%s: unreadable format_version '%s'", path, version ? version : "");
    if (v > strtol(CHECKPOINT_FORMAT_VERSION, NULL, 10))
        return yolo_fail("%s has checkpoint format version %ld, newer than this yolo reads (%s); update yolo to resume it",
                         path, v, CHECKPOINT_FORMAT_VERSION);
    // The checksum covers the data section exactly as the writer hashed it: every (F32) tensor's
    // bytes in name order. A loaded file is one malloc'd block with the data section at an offset
    // that is a multiple of 8 and F32 tensors at multiples of 4, so the float views are aligned.
    StOut *views = calloc((size_t)ck->st.n_tensors + 1, sizeof *views);
    if (!views) return yolo_fail("out of memory reading %s", path);
    for (int i = 0; i < ck->st.n_tensors; i++) {
        const StTensor *t = &ck->st.tensors[i];
        if (t->dtype != ST_F32) {
            free(views);
            return yolo_fail("%s: tensor %s is %s; yolo checkpoints hold F32 tensors only", path, t->name,
                             safetensors_dtype_name(t->dtype));
        }
        views[i] = (StOut){.name = t->name, .data = t->data, .ndim = t->ndim};
        memcpy(views[i].shape, t->shape, sizeof t->shape);
    }
    char checksum[32];
    snprintf(checksum, sizeof checksum, "%016" PRIx64, safetensors_data_hash(views, ck->st.n_tensors));
    free(views);
    const char *stored = safetensors_metadata(&ck->st, "checksum_xxh3");
    if (!stored || strcmp(stored, checksum) != 0)
        return yolo_fail("%s is damaged: the checksum of its data (%s) does not match the stored one (%s)", path,
                         checksum, stored ? stored : "none");
    // A task name is a word (detect, segment, classify): it goes into messages and commands.
    const char *task = safetensors_metadata(&ck->st, "task");
    bool word = task && task[0];
    for (const char *c = task; word && *c; c++) word = *c >= 'a' && *c <= 'z';
    if (!word || snprintf(ck->task, sizeof ck->task, "%s", task) >= (int)sizeof ck->task)
        return yolo_fail("%s: the metadata names no task", path);
    const char *state = safetensors_metadata(&ck->st, "state");
    ck->state = state ? cJSON_Parse(state) : NULL;
    if (!cJSON_IsObject(ck->state)) return yolo_fail("%s: the training state in its metadata is not a JSON object", path);
    return 0;
}

static int open_one(const char *path, Checkpoint *ck) {
    *ck = (Checkpoint){0};
    if (snprintf(ck->path, sizeof ck->path, "%s", path) >= (int)sizeof ck->path) return yolo_fail("%s: path too long", path);
    if (safetensors_load(path, &ck->st) != 0 || verify(ck) != 0) {
        checkpoint_close(ck);
        return -1;
    }
    return 0;
}

int checkpoint_open(const char *path, Checkpoint *ck) {
    if (open_one(path, ck) == 0) return 0;
    // last.ckpt -> last.prev.ckpt: the generation the atomic writer kept.
    size_t n = strlen(path);
    char prev[4200];
    if (n < 5 || strcmp(path + n - 5, ".ckpt") != 0 || (n >= 10 && strcmp(path + n - 10, ".prev.ckpt") == 0) ||
        snprintf(prev, sizeof prev, "%.*s.prev.ckpt", (int)(n - 5), path) >= (int)sizeof prev || access(prev, F_OK) != 0)
        return -1;
    char first[1024];
    snprintf(first, sizeof first, "%s", yolo_error());
    yolo_error_clear();
    if (open_one(prev, ck) != 0) {
        yolo_error_clear();
        return yolo_fail("%s (and the previous generation %s is not usable either)", first, prev);
    }
    fprintf(stderr, "WARNING: %s; resuming from the previous generation %s instead\n", first, prev);
    return 0;
}

void checkpoint_close(Checkpoint *ck) {
    safetensors_free(&ck->st);
    cJSON_Delete(ck->state);
    ck->state = NULL;
}

// Missing, mismatched and unexpected names for one message; the first few of each are listed.
typedef struct {
    char text[3072];
    size_t used;
    int problems;
} Report;

static void report(Report *r, const char *what, const char *name, int ndim, const int64_t *dim) {
    if (r->problems++ >= 12 || r->used >= sizeof r->text) return;
    r->used += (size_t)snprintf(r->text + r->used, sizeof r->text - r->used, "\n  %s %s [", what, name);
    for (int d = 0; d < ndim && r->used < sizeof r->text; d++)
        r->used += (size_t)snprintf(r->text + r->used, sizeof r->text - r->used, "%s%lld", d ? ", " : "", (long long)dim[d]);
    if (r->used < sizeof r->text) r->used += (size_t)snprintf(r->text + r->used, sizeof r->text - r->used, "]");
}

// The stored tensor for prefix+name with the value's shape, marking it used; NULL (reported) if
// it is missing or shaped differently.
static const StTensor *match(const Checkpoint *ck, const char *prefix, const Value *v, bool *used, Report *r) {
    char name[VALUE_NAME_CAP + 64];
    snprintf(name, sizeof name, "%s%s", prefix, v->name);
    const StTensor *t = safetensors_find(&ck->st, name);
    if (!t) {
        report(r, "missing", name, v->shape.ndim, v->shape.dim);
        return NULL;
    }
    used[t - ck->st.tensors] = true;
    bool same = t->ndim == v->shape.ndim;
    for (int d = 0; same && d < t->ndim; d++) same = t->shape[d] == v->shape.dim[d];
    if (!same) {
        report(r, "model has", name, v->shape.ndim, v->shape.dim);
        report(r, "checkpoint has", name, t->ndim, t->shape);
        return NULL;
    }
    return t;
}

// One pass over the graph: checks only (copy false), or copies (after a clean check, so a failed
// restore changes nothing).
static void walk(const Checkpoint *ck, Graph *g, Ema *ema, const Optimizer *optim, bool grads, bool copy, bool *used,
                 Report *r) {
    char prefix[64];
    for (int i = 0; i < g->n_values; i++) {
        Value *v = &g->values[i];
        if (v->kind != VALUE_PARAM && v->kind != VALUE_BUFFER) continue;
        const StTensor *t = match(ck, "", v, used, r);
        if (t && copy) safetensors_copy_f32(t, v->data.data);
        if (ema && (t = match(ck, "ema.", v, used, r)) && copy)
            safetensors_copy_f32(t, ema->values + v->data_offset / sizeof(float));
        if (v->kind != VALUE_PARAM || !v->needs_grad) continue;
        if (grads && (t = match(ck, "grad.", v, used, r)) && copy) safetensors_copy_f32(t, v->grad.data);
        for (int k = 0; optim && k < optimizer_slots(optim->kind); k++) {
            snprintf(prefix, sizeof prefix, "optim.%s.", slot_name(optim->kind, k));
            if ((t = match(ck, prefix, v, used, r)) && copy) safetensors_copy_f32(t, graph_optim_slot(g, i, k).data);
        }
    }
}

int checkpoint_restore(const Checkpoint *ck, Graph *g, Ema *ema, const Optimizer *optim) {
    bool grads = false;
    for (int i = 0; i < ck->st.n_tensors; i++) grads |= !strncmp(ck->st.tensors[i].name, "grad.", 5);
    bool *used = calloc((size_t)ck->st.n_tensors + 1, sizeof *used);
    if (!used) return yolo_fail("out of memory restoring %s", ck->path);
    Report r = {.used = 0};
    walk(ck, g, ema, optim, grads, false, used, &r);
    for (int i = 0; i < ck->st.n_tensors; i++)
        if (!used[i]) report(&r, "unexpected", ck->st.tensors[i].name, ck->st.tensors[i].ndim, ck->st.tensors[i].shape);
    free(used);
    if (r.problems > 0)
        return yolo_fail("%s does not match the model built from its arguments (%d problems%s):%s", ck->path, r.problems,
                         r.problems > 12 ? ", the first 12 listed" : "", r.text);
    if (!grads) graph_clear_param_grads(g);
    // The check found everything, so this pass reports nothing.
    Report none = {.used = 0};
    bool *seen = calloc((size_t)ck->st.n_tensors + 1, sizeof *seen);
    if (!seen) return yolo_fail("out of memory restoring %s", ck->path);
    walk(ck, g, ema, optim, grads, true, seen, &none);
    free(seen);
    return 0;
}

int checkpoint_model_def(const Checkpoint *ck, ModelDef *def) {
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(ck->state, "model");
    const cJSON *yaml = cJSON_GetObjectItemCaseSensitive(model, "yaml");
    const cJSON *scale = cJSON_GetObjectItemCaseSensitive(model, "scale");
    const cJSON *nc = cJSON_GetObjectItemCaseSensitive(model, "nc");
    if (!cJSON_IsString(yaml) || !yaml->valuestring[0] || !cJSON_IsString(scale) || !cJSON_IsNumber(nc))
        return yolo_fail("%s: the training state has no model (model.yaml, model.scale and model.nc)", ck->path);
    char path[sizeof ck->path + 16];
    snprintf(path, sizeof path, "%s:model.yaml", ck->path);
    TRY(model_yaml_parse(yaml->valuestring, path, scale->valuestring[0], def));
    // The file's nc is the one the model YAML was written with; the checkpoint's head has this one.
    def->nc = nc->valueint;
    return 0;
}

int checkpoint_transfer(const Checkpoint *ck, const char *prefix, Graph *g, int *copied, int *total) {
    *copied = *total = 0;
    char name[VALUE_NAME_CAP + 64];
    for (int i = 0; i < g->n_values; i++) {
        Value *v = &g->values[i];
        if (v->kind != VALUE_PARAM && v->kind != VALUE_BUFFER) continue;
        ++*total;
        snprintf(name, sizeof name, "%s%s", prefix, v->name);
        const StTensor *t = safetensors_find(&ck->st, name);
        bool same = t && t->ndim == v->shape.ndim;
        for (int d = 0; same && d < t->ndim; d++) same = t->shape[d] == v->shape.dim[d];
        if (!same) continue;
        safetensors_copy_f32(t, v->data.data);
        ++*copied;
    }
    if (*copied == 0)
        return yolo_fail("%s shares no tensor (name and shape) with the model being trained; give a checkpoint of this "
                         "architecture", ck->path);
    return 0;
}
