#include "engine/checkpoint.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
