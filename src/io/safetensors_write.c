#include "io/safetensors_write.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "core/status.h"

static int64_t numel_of(const StOut *t) {
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= t->shape[d];
    return n;
}

static int by_name(const void *a, const void *b) {
    return strcmp((*(const StOut *const *)a)->name, (*(const StOut *const *)b)->name);
}

// The tensors in name order (the order of the data section; readers sort by name too).
static const StOut **sorted(const StOut *tensors, int n) {
    const StOut **order = malloc(sizeof *order * (size_t)(n ? n : 1));
    if (!order) return NULL;
    for (int i = 0; i < n; i++) order[i] = &tensors[i];
    qsort(order, (size_t)n, sizeof *order, by_name);
    return order;
}

uint64_t safetensors_data_hash(const StOut *tensors, int n) {
    const StOut **order = sorted(tensors, n);
    XXH3_state_t *state = XXH3_createState();
    uint64_t hash = 0;
    if (order && state && XXH3_64bits_reset(state) == XXH_OK) {
        for (int i = 0; i < n; i++) XXH3_64bits_update(state, order[i]->data, (size_t)numel_of(order[i]) * sizeof(float));
        hash = XXH3_64bits_digest(state);
    }
    XXH3_freeState(state);
    free(order);
    return hash;
}

static cJSON *header_json(const StOut *const *order, int n, const char *const *meta, int n_meta) {
    cJSON *root = cJSON_CreateObject();
    cJSON *md = n_meta ? cJSON_AddObjectToObject(root, "__metadata__") : NULL;
    for (int i = 0; md && i < n_meta; i++) cJSON_AddStringToObject(md, meta[2 * i], meta[2 * i + 1]);
    size_t offset = 0;
    for (int i = 0; i < n; i++) {
        const StOut *t = order[i];
        size_t bytes = (size_t)numel_of(t) * sizeof(float);
        cJSON *entry = cJSON_AddObjectToObject(root, t->name);
        cJSON_AddStringToObject(entry, "dtype", "F32");
        cJSON *shape = cJSON_AddArrayToObject(entry, "shape");
        for (int d = 0; d < t->ndim; d++) cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->shape[d]));
        cJSON *offsets = cJSON_AddArrayToObject(entry, "data_offsets");
        cJSON_AddItemToArray(offsets, cJSON_CreateNumber((double)offset));
        cJSON_AddItemToArray(offsets, cJSON_CreateNumber((double)(offset + bytes)));
        offset += bytes;
    }
    return root;
}

int safetensors_serialize(const StOut *tensors, int n, const char *const *meta, int n_meta, unsigned char **out,
                          size_t *size) {
    *out = NULL;
    *size = 0;
    const StOut **order = sorted(tensors, n);
    if (!order) return yolo_fail("out of memory writing %d tensors", n);
    for (int i = 1; i < n; i++)
        if (!strcmp(order[i - 1]->name, order[i]->name)) {
            int rc = yolo_fail("two tensors are named %s", order[i]->name);
            free(order);
            return rc;
        }
    cJSON *root = header_json(order, n, meta, n_meta);
    char *text = root ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    size_t data_bytes = 0;
    for (int i = 0; i < n; i++) data_bytes += (size_t)numel_of(order[i]) * sizeof(float);
    // The header is padded with spaces to a multiple of 8 so the data section starts aligned.
    size_t text_len = text ? strlen(text) : 0, header_len = (text_len + 7) / 8 * 8;
    unsigned char *buf = text ? malloc(8 + header_len + data_bytes) : NULL;
    if (!buf) {
        free(text);
        free(order);
        return yolo_fail("out of memory writing %zu bytes of tensors", data_bytes);
    }
    for (int b = 0; b < 8; b++) buf[b] = (unsigned char)((uint64_t)header_len >> (8 * b));
    memcpy(buf + 8, text, text_len);
    memset(buf + 8 + text_len, ' ', header_len - text_len);
    unsigned char *p = buf + 8 + header_len;
    for (int i = 0; i < n; i++) {
        size_t bytes = (size_t)numel_of(order[i]) * sizeof(float);
        memcpy(p, order[i]->data, bytes);
        p += bytes;
    }
    free(text);
    free(order);
    *out = buf;
    *size = 8 + header_len + data_bytes;
    return 0;
}
