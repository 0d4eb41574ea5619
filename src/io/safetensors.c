#include "io/safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/status.h"

// The header length field: 8 bytes, little-endian.
enum { ST_PREFIX = 8 };

// Integers in the header are JSON numbers, which cJSON holds as doubles: only values up to 2^53
// are exact, far beyond any real tensor.
#define ST_MAX_INT 9007199254740992.0

const char *safetensors_dtype_name(StDType dtype) {
    return dtype == ST_F32 ? "F32" : "I64";
}

static size_t dtype_size(StDType dtype) {
    return dtype == ST_F32 ? sizeof(float) : sizeof(int64_t);
}

void safetensors_free(SafeTensors *st) {
    for (int i = 0; i < st->n_tensors; i++) free(st->tensors[i].name);
    for (int i = 0; i < 2 * st->n_metadata; i++) free(st->metadata[i]);
    free(st->tensors);
    free(st->metadata);
    free(st->file);
    memset(st, 0, sizeof *st);
}

// A JSON number that is a whole value in [0, 2^53].
static int read_count(const cJSON *item, const char *path, const char *tensor, const char *what, int64_t *out) {
    if (!cJSON_IsNumber(item) || !(item->valuedouble >= 0.0 && item->valuedouble <= ST_MAX_INT) ||
        item->valuedouble != floor(item->valuedouble))
        return yolo_fail("%s: tensor \"%s\": %s must hold whole numbers >= 0", path, tensor, what);
    *out = (int64_t)item->valuedouble;
    return 0;
}

static int parse_dtype(const cJSON *item, const char *path, const char *name, StDType *out) {
    if (!cJSON_IsString(item)) return yolo_fail("%s: tensor \"%s\": \"dtype\" must be a string", path, name);
    if (!strcmp(item->valuestring, "F32")) *out = ST_F32;
    else if (!strcmp(item->valuestring, "I64")) *out = ST_I64;
    else return yolo_fail("%s: tensor \"%s\" has dtype %.16s; only F32 and I64 are supported", path, name, item->valuestring);
    return 0;
}

// Fills t from its header entry and checks that its bytes lie inside the data section and
// match shape x dtype. `data` and `data_size` describe the section after the header.
static int parse_tensor(const cJSON *entry, const unsigned char *data, size_t data_size, const char *path, StTensor *t) {
    const char *name = entry->string;
    if (!cJSON_IsObject(entry)) return yolo_fail("%s: tensor \"%s\" must be an object with dtype, shape, data_offsets", path, name);
    TRY(parse_dtype(cJSON_GetObjectItemCaseSensitive(entry, "dtype"), path, name, &t->dtype));

    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(entry, "shape");
    if (!cJSON_IsArray(shape)) return yolo_fail("%s: tensor \"%s\": \"shape\" must be an array", path, name);
    int ndim = cJSON_GetArraySize(shape);
    if (ndim > ST_MAX_DIMS) return yolo_fail("%s: tensor \"%s\" has %d dimensions; at most %d are supported", path, name, ndim, ST_MAX_DIMS);
    t->ndim = ndim;
    // The product is kept <= the elements the data section can hold, so it cannot overflow; a
    // zero dimension makes any other size valid.
    const int64_t capacity = (int64_t)(data_size / dtype_size(t->dtype));
    int64_t numel = 1;
    bool empty = false, too_big = false;
    int d = 0;
    const cJSON *dim;
    cJSON_ArrayForEach(dim, shape) {
        TRY(read_count(dim, path, name, "\"shape\"", &t->shape[d]));
        if (t->shape[d] == 0) empty = true;
        else if (numel > capacity / t->shape[d]) too_big = true;
        else numel *= t->shape[d];
        d++;
    }
    if (empty) numel = 0;
    else if (too_big)
        return yolo_fail("%s: tensor \"%s\" has more elements than the file's %zu data bytes hold", path, name, data_size);
    t->numel = numel;

    const cJSON *offsets = cJSON_GetObjectItemCaseSensitive(entry, "data_offsets");
    if (!cJSON_IsArray(offsets) || cJSON_GetArraySize(offsets) != 2)
        return yolo_fail("%s: tensor \"%s\": \"data_offsets\" must be [begin, end]", path, name);
    int64_t begin = 0, end = 0;
    TRY(read_count(cJSON_GetArrayItem(offsets, 0), path, name, "\"data_offsets\"", &begin));
    TRY(read_count(cJSON_GetArrayItem(offsets, 1), path, name, "\"data_offsets\"", &end));
    if (begin > end || (uint64_t)end > data_size)
        return yolo_fail("%s: tensor \"%s\": data_offsets [%lld, %lld] are outside the %zu data bytes", path, name,
                         (long long)begin, (long long)end, data_size);
    t->nbytes = (size_t)(end - begin);
    if (t->nbytes != (size_t)numel * dtype_size(t->dtype))
        return yolo_fail("%s: tensor \"%s\": data_offsets span %zu bytes but %lld %s values need %zu", path, name, t->nbytes,
                         (long long)numel, safetensors_dtype_name(t->dtype), (size_t)numel * dtype_size(t->dtype));
    t->data = data + begin;
    t->name = strdup(name);
    mallocCheck(t->name);
    return 0;
}

static int parse_metadata(const cJSON *meta, const char *path, SafeTensors *st) {
    if (!cJSON_IsObject(meta)) return yolo_fail("%s: \"__metadata__\" must be an object of strings", path);
    int n = cJSON_GetArraySize(meta);
    st->metadata = calloc(2 * (size_t)n + 1, sizeof *st->metadata);
    mallocCheck(st->metadata);
    const cJSON *item;
    cJSON_ArrayForEach(item, meta) {
        if (!cJSON_IsString(item)) return yolo_fail("%s: \"__metadata__\" value of \"%s\" is not a string", path, item->string);
        char **pair = &st->metadata[2 * st->n_metadata];
        pair[0] = strdup(item->string);
        pair[1] = strdup(item->valuestring);
        st->n_metadata++; // counted before the check so that safetensors_free releases both
        if (!pair[0] || !pair[1]) return yolo_fail("out of memory reading %s", path);
    }
    return 0;
}

static int by_name(const void *a, const void *b) {
    return strcmp(((const StTensor *)a)->name, ((const StTensor *)b)->name);
}

static int parse_header(const cJSON *root, const unsigned char *data, size_t data_size, const char *path, SafeTensors *st) {
    if (!cJSON_IsObject(root)) return yolo_fail("%s: the header must be a JSON object", path);
    int n = cJSON_GetArraySize(root);
    st->tensors = calloc((size_t)n + 1, sizeof *st->tensors);
    mallocCheck(st->tensors);
    bool seen_metadata = false;
    const cJSON *entry;
    cJSON_ArrayForEach(entry, root) {
        if (!strcmp(entry->string, "__metadata__")) {
            if (seen_metadata) return yolo_fail("%s: \"__metadata__\" appears twice", path);
            seen_metadata = true;
            TRY(parse_metadata(entry, path, st));
            continue;
        }
        StTensor *t = &st->tensors[st->n_tensors];
        int rc = parse_tensor(entry, data, data_size, path, t);
        if (t->name) st->n_tensors++; // so that safetensors_free releases it
        TRY(rc);
    }
    // Sorted names give binary-search lookups and make duplicates neighbours.
    qsort(st->tensors, (size_t)st->n_tensors, sizeof *st->tensors, by_name);
    for (int i = 1; i < st->n_tensors; i++)
        if (!strcmp(st->tensors[i - 1].name, st->tensors[i].name))
            return yolo_fail("%s: tensor \"%s\" appears twice in the header", path, st->tensors[i].name);
    return 0;
}

int safetensors_parse(unsigned char *file, size_t size, const char *path, SafeTensors *st) {
    memset(st, 0, sizeof *st);
    st->file = file;
    st->file_size = size;
    if (size < ST_PREFIX) {
        yolo_fail("%s: %zu bytes is too short for a safetensors file (an 8-byte header length comes first)", path, size);
        safetensors_free(st);
        return -1;
    }
    uint64_t header_len = 0;
    for (int i = ST_PREFIX - 1; i >= 0; i--) header_len = header_len << 8 | file[i];
    if (header_len == 0 || header_len > size - ST_PREFIX) {
        if (header_len == 0) yolo_fail("%s: the header length is 0; the file is not safetensors", path);
        else yolo_fail("%s: header length %llu does not fit in the file's %zu bytes; the file is truncated or not safetensors",
                       path, (unsigned long long)header_len, size);
        safetensors_free(st);
        return -1;
    }
    const char *header = (const char *)file + ST_PREFIX;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(header, (size_t)header_len, &end, false);
    int rc;
    if (!root) {
        rc = yolo_fail("%s: the header is not valid JSON (error near byte %td of %llu)", path,
                       cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() - header : (ptrdiff_t)0, (unsigned long long)header_len);
    } else {
        // Writers pad the header with spaces to align the data; anything else after the JSON is junk.
        rc = 0;
        for (const char *p = end; p < header + header_len && rc == 0; p++)
            if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
                rc = yolo_fail("%s: unexpected bytes after the JSON header (at byte %td)", path, p - header);
        const unsigned char *data = file + ST_PREFIX + header_len;
        if (rc == 0) rc = parse_header(root, data, size - ST_PREFIX - (size_t)header_len, path, st);
        cJSON_Delete(root);
    }
    if (rc != 0) safetensors_free(st);
    return rc;
}

int safetensors_load(const char *path, SafeTensors *st) {
    memset(st, 0, sizeof *st);
    FILE *f = fopen(path, "rb");
    if (!f) return yolo_fail("cannot open %s: %s", path, strerror(errno));
    // The size from fstat: ftell on a directory or a pipe gives nonsense rather than an error.
    struct stat info;
    if (fstat(fileno(f), &info) != 0 || !S_ISREG(info.st_mode)) {
        fclose(f);
        return yolo_fail("cannot read %s: it is not a regular file", path);
    }
    size_t size = (size_t)info.st_size;
    // One extra byte so that an empty file still gets a buffer.
    unsigned char *file = malloc(size + 1);
    if (!file) {
        fclose(f);
        return yolo_fail("out of memory reading %s (%zu bytes)", path, size);
    }
    size_t got = fread(file, 1, size, f);
    bool failed = ferror(f) != 0;
    fclose(f);
    if (failed || got != size) {
        free(file);
        return yolo_fail("cannot read %s: got %zu of %zu bytes", path, got, size);
    }
    return safetensors_parse(file, size, path, st);
}

const StTensor *safetensors_find(const SafeTensors *st, const char *name) {
    if (st->n_tensors == 0) return NULL;
    StTensor key = {.name = (char *)name};
    return bsearch(&key, st->tensors, (size_t)st->n_tensors, sizeof key, by_name);
}

const char *safetensors_metadata(const SafeTensors *st, const char *key) {
    for (int i = 0; i < st->n_metadata; i++)
        if (!strcmp(st->metadata[2 * i], key)) return st->metadata[2 * i + 1];
    return NULL;
}

void safetensors_copy_f32(const StTensor *t, float *dst) {
    memcpy(dst, t->data, t->nbytes);
}
