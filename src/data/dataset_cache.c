// The label cache file. Layout, all integers little-endian:
//   "YOLOLBLC"  u32 version  u64 key  u64 payload bytes  u64 XXH3 of the payload
//   payload: summary counts; warnings (u32 count, each u32 length + bytes); kept images, each
//   u32 path length + path, u32 w, u32 h, u32 objects, u32 has_polygons, [u32 points],
//   i32 cls[objects], f32 boxes[objects][4], [i32 poly[objects + 1], f32 points[points][2]].
// The checksum catches a truncated or damaged file; the reader still checks every count against
// the bytes left and every value against what the scan could have produced, so a crafted file
// cannot make the loader read out of bounds or hand training nonsense.
#include "data/dataset_cache.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "core/status.h"
#include "data/image.h"
#include "data/labels.h"

static const char MAGIC[8] = {'Y', 'O', 'L', 'O', 'L', 'B', 'L', 'C'};
enum {
    HEADER_BYTES = 8 + 4 + 8 + 8 + 8,
    WARNING_MAX_BYTES = 16384, // longer than any warning the scan writes (two paths and a message)
    IMAGE_MIN_BYTES = 5 * 4 + 1, // path length, w, h, objects, flags, one path byte
};
#define CACHE_FILE_LIMIT ((uint64_t)1 << 32)

int label_cache_path(const char *first_image, char *out, size_t cap) {
    char label[DATASET_PATH_CAP];
    TRY(label_path_for(first_image, label, sizeof label));
    char *slash = strrchr(label, '/');
    if (!slash || slash == label) return yolo_fail("%s has no label folder to put a cache beside", first_image);
    *slash = '\0';
    if (snprintf(out, cap, "%s.cache", label) >= (int)cap) return yolo_fail("the label cache path %.80s... is too long", label);
    return 0;
}

// Size and mtime (nanoseconds) of a file, or -1s for an absent one.
static void hash_file_state(XXH3_state_t *h, const char *path) {
    struct stat st;
    int64_t v[3] = {-1, -1, -1};
    if (stat(path, &st) == 0) {
        v[0] = (int64_t)st.st_size;
        v[1] = (int64_t)st.st_mtim.tv_sec;
        v[2] = (int64_t)st.st_mtim.tv_nsec;
    }
    XXH3_64bits_update(h, v, sizeof v);
}

int label_cache_key(char *const *paths, int n, int nc, uint64_t *key) {
    XXH3_state_t *h = XXH3_createState();
    mallocCheck(h);
    XXH3_64bits_reset(h);
    uint32_t head[2] = {LABEL_CACHE_VERSION, (uint32_t)nc};
    XXH3_64bits_update(h, head, sizeof head);
    for (int i = 0; i < n; i++) {
        XXH3_64bits_update(h, paths[i], strlen(paths[i]) + 1);
        hash_file_state(h, paths[i]);
        char label[DATASET_PATH_CAP];
        if (label_path_for(paths[i], label, sizeof label) == 0) hash_file_state(h, label);
        else yolo_error_clear(); // the scan reports that image; the key only needs to be stable
    }
    *key = XXH3_64bits_digest(h);
    XXH3_freeState(h);
    return 0;
}

// ---------------------------------------------------------------------------------------------
// Writing

typedef struct {
    uint8_t *p;
    size_t n, cap;
    bool failed;
} Buf;

static void put_bytes(Buf *b, const void *src, size_t len) {
    if (b->failed) return;
    if (b->n + len > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + len) cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->failed = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, src, len);
    b->n += len;
}

static void put_u32(Buf *b, uint32_t v) {
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put_bytes(b, x, sizeof x);
}

static void put_u64(Buf *b, uint64_t v) {
    put_u32(b, (uint32_t)v);
    put_u32(b, (uint32_t)(v >> 32));
}

static void put_f32(Buf *b, float f) {
    uint32_t v;
    memcpy(&v, &f, sizeof v);
    put_u32(b, v);
}

static void put_string(Buf *b, const char *s) {
    size_t n = strlen(s);
    put_u32(b, (uint32_t)n);
    put_bytes(b, s, n);
}

static void put_summary(Buf *b, const ScanSummary *s) {
    put_u32(b, (uint32_t)s->images_found);
    put_u32(b, (uint32_t)s->images_kept);
    put_u32(b, (uint32_t)s->backgrounds);
    put_u32(b, (uint32_t)s->missing_labels);
    put_u32(b, (uint32_t)s->bad_images);
    put_u32(b, (uint32_t)s->unreadable_labels);
    put_u32(b, LABEL_KIND_COUNT);
    for (int k = 0; k < LABEL_KIND_COUNT; k++) put_u32(b, (uint32_t)s->bad_labels[k]);
    put_u32(b, (uint32_t)s->duplicate_rows);
    put_u32(b, (uint32_t)s->instances);
}

static void put_image(Buf *b, const DatasetSplit *s, int i) {
    const Labels *l = &s->labels[i];
    put_string(b, s->image_paths[i]);
    put_u32(b, (uint32_t)s->width[i]);
    put_u32(b, (uint32_t)s->height[i]);
    put_u32(b, (uint32_t)l->n);
    bool polygons = l->n > 0 && l->poly != NULL;
    put_u32(b, polygons);
    if (polygons) put_u32(b, (uint32_t)l->poly[l->n]);
    for (int j = 0; j < l->n; j++) put_u32(b, (uint32_t)l->cls[j]);
    for (int j = 0; j < 4 * l->n; j++) put_f32(b, l->boxes[j]);
    if (!polygons) return;
    for (int j = 0; j <= l->n; j++) put_u32(b, (uint32_t)l->poly[j]);
    for (int j = 0; j < 2 * l->poly[l->n]; j++) put_f32(b, l->points[j]);
}

static int write_file_atomically(const char *path, const Buf *head, const Buf *payload) {
    char tmp[DATASET_PATH_CAP + 32];
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) return yolo_fail("cannot write the label cache %s: %s", path, strerror(errno));
    bool ok = fwrite(head->p, 1, head->n, f) == head->n && fwrite(payload->p, 1, payload->n, f) == payload->n && fflush(f) == 0 &&
              fsync(fileno(f)) == 0;
    int err = errno;
    if (fclose(f) != 0 && ok) {
        ok = false;
        err = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = false;
        err = errno;
    }
    if (!ok) {
        unlink(tmp);
        return yolo_fail("cannot write the label cache %s: %s", path, strerror(err));
    }
    return 0;
}

int label_cache_save(const char *path, uint64_t key, const DatasetSplit *s, char *const *warnings, int n_warnings) {
    Buf payload = {0}, head = {0};
    put_summary(&payload, &s->summary);
    put_u32(&payload, (uint32_t)n_warnings);
    for (int i = 0; i < n_warnings; i++) put_string(&payload, warnings[i]);
    put_u32(&payload, (uint32_t)s->n);
    for (int i = 0; i < s->n; i++) put_image(&payload, s, i);
    put_bytes(&head, MAGIC, sizeof MAGIC);
    put_u32(&head, LABEL_CACHE_VERSION);
    put_u64(&head, key);
    put_u64(&head, payload.n);
    put_u64(&head, payload.failed ? 0 : XXH3_64bits(payload.p, payload.n));
    int rc = payload.failed || head.failed ? yolo_fail("out of memory writing the label cache %s", path)
                                           : write_file_atomically(path, &head, &payload);
    free(payload.p);
    free(head.p);
    return rc;
}

// ---------------------------------------------------------------------------------------------
// Reading

typedef struct {
    const uint8_t *p;
    size_t left;
    bool bad; // sticky: once a read overruns, every later read yields 0
} Reader;

static const uint8_t *take(Reader *r, size_t len) {
    if (r->bad || len > r->left) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += len;
    r->left -= len;
    return p;
}

static uint32_t get_u32(Reader *r) {
    const uint8_t *p = take(r, 4);
    return p ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24 : 0;
}

static uint64_t get_u64(Reader *r) {
    uint64_t lo = get_u32(r);
    return lo | (uint64_t)get_u32(r) << 32;
}

static float get_f32(Reader *r) {
    uint32_t v = get_u32(r);
    float f;
    memcpy(&f, &v, sizeof f);
    return f;
}

// A count of items that each take at least `item_bytes` of what is left (0: no such bound).
static int get_count(Reader *r, size_t item_bytes) {
    uint32_t v = get_u32(r);
    if (v > INT32_MAX || (item_bytes && v > r->left / item_bytes)) r->bad = true;
    return r->bad ? 0 : (int)v;
}

// A length-prefixed string without NUL bytes, 1..max_len bytes; NULL when it is not.
static char *get_string(Reader *r, size_t max_len) {
    int n = get_count(r, 1);
    const uint8_t *p = n > 0 && (size_t)n <= max_len ? take(r, (size_t)n) : NULL;
    if (!p || memchr(p, '\0', (size_t)n)) {
        r->bad = true;
        return NULL;
    }
    char *s = malloc((size_t)n + 1);
    if (!s) {
        r->bad = true;
        return NULL;
    }
    memcpy(s, p, (size_t)n);
    s[n] = '\0';
    return s;
}

static bool get_summary(Reader *r, ScanSummary *s) {
    s->images_found = get_count(r, 0);
    s->images_kept = get_count(r, 0);
    s->backgrounds = get_count(r, 0);
    s->missing_labels = get_count(r, 0);
    s->bad_images = get_count(r, 0);
    s->unreadable_labels = get_count(r, 0);
    if (get_u32(r) != LABEL_KIND_COUNT) return false;
    int64_t skipped = (int64_t)s->bad_images + s->unreadable_labels;
    for (int k = 0; k < LABEL_KIND_COUNT; k++) skipped += s->bad_labels[k] = get_count(r, 0);
    s->duplicate_rows = get_count(r, 0);
    s->instances = get_count(r, 0);
    return !r->bad && s->bad_labels[LABEL_OK] == 0 && s->images_found == s->images_kept + skipped &&
           s->missing_labels <= s->backgrounds && s->backgrounds <= s->images_kept;
}

static bool unit_interval(float v) { return v >= 0.0f && v <= 1.0f; } // false for NaN too

// Scratch for one image's labels, decoded and checked before labels_copy makes them owned the
// way labels.c owns them.
typedef struct {
    int *cls, *poly;
    float *boxes, *points;
} Scratch;

static bool get_labels(Reader *r, int nc, Scratch *t, Labels *out) {
    int n = get_count(r, 4 + 16);
    uint32_t polygons = get_u32(r);
    int n_points = polygons == 1 ? get_count(r, 8) : 0;
    if (r->bad || polygons > 1 || (polygons && n == 0)) return false;
    // Every count is bounded by the bytes left, so these allocations are bounded by the file.
    int *cls = realloc(t->cls, ((size_t)n + 1) * sizeof *cls);
    if (cls) t->cls = cls;
    float *boxes = realloc(t->boxes, ((size_t)n * 4 + 1) * sizeof *boxes);
    if (boxes) t->boxes = boxes;
    int *poly = realloc(t->poly, ((size_t)n + 1) * sizeof *poly);
    if (poly) t->poly = poly;
    float *points = realloc(t->points, ((size_t)n_points * 2 + 1) * sizeof *points);
    if (points) t->points = points;
    if (!cls || !boxes || !poly || !points) return false;
    for (int j = 0; j < n; j++) {
        uint32_t c = get_u32(r);
        if (c >= (uint32_t)nc) return false;
        cls[j] = (int)c;
    }
    for (int j = 0; j < 4 * n; j++)
        if (!unit_interval(boxes[j] = get_f32(r))) return false;
    if (polygons) {
        for (int j = 0; j <= n; j++) {
            uint32_t o = get_u32(r);
            // Offsets start at 0, end at n_points, and give every polygon at least 3 points.
            if (o > (uint32_t)n_points || (j == 0 ? o != 0 : o < (uint32_t)poly[j - 1] + 3)) return false;
            poly[j] = (int)o;
        }
        if (poly[n] != n_points) return false;
        for (int j = 0; j < 2 * n_points; j++)
            if (!unit_interval(points[j] = get_f32(r))) return false;
    }
    if (r->bad) return false;
    Labels view = {.n = n, .cls = cls, .boxes = boxes, .poly = polygons ? poly : NULL, .points = polygons ? points : NULL};
    return labels_copy(&view, out) == 0;
}

static bool get_images(Reader *r, int nc, DatasetSplit *out) {
    int n = get_count(r, IMAGE_MIN_BYTES);
    if (r->bad || n != out->summary.images_kept) return false;
    out->image_paths = calloc((size_t)n + 1, sizeof *out->image_paths);
    out->width = calloc((size_t)n + 1, sizeof *out->width);
    out->height = calloc((size_t)n + 1, sizeof *out->height);
    out->labels = calloc((size_t)n + 1, sizeof *out->labels);
    if (!out->image_paths || !out->width || !out->height || !out->labels) return false;
    Scratch t = {0};
    bool ok = true;
    int backgrounds = 0;
    int64_t instances = 0;
    for (int i = 0; ok && i < n; i++) {
        char *path = get_string(r, DATASET_PATH_CAP - 1);
        uint32_t w = get_u32(r), h = get_u32(r);
        ok = path && (i == 0 || strcmp(out->image_paths[i - 1], path) <= 0) && w >= IMAGE_MIN_SIDE && w <= IMAGE_MAX_SIDE &&
             h >= IMAGE_MIN_SIDE && h <= IMAGE_MAX_SIDE;
        if (!ok) {
            free(path);
            break;
        }
        out->image_paths[i] = path;
        out->width[i] = (int)w;
        out->height[i] = (int)h;
        out->n = i + 1; // from here dataset_split_free releases this image
        ok = get_labels(r, nc, &t, &out->labels[i]);
        backgrounds += ok && out->labels[i].n == 0;
        instances += ok ? out->labels[i].n : 0;
    }
    free(t.cls);
    free(t.boxes);
    free(t.poly);
    free(t.points);
    return ok && backgrounds == out->summary.backgrounds && instances == out->summary.instances;
}

// Reads the file into *buf and checks the header; *payload then reads the rest of *buf.
static int read_cache_file(const char *path, uint64_t key, uint8_t **buf, Reader *payload) {
    *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return yolo_fail("no label cache at %s", path);
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < HEADER_BYTES ||
        (uint64_t)st.st_size > CACHE_FILE_LIMIT) {
        fclose(f);
        return yolo_fail("%s is not a label cache", path);
    }
    size_t size = (size_t)st.st_size;
    *buf = malloc(size);
    bool read_ok = *buf && fread(*buf, 1, size, f) == size;
    fclose(f);
    if (!read_ok) return yolo_fail("cannot read the label cache %s", path);
    Reader r = {*buf, size, false};
    const uint8_t *magic = take(&r, sizeof MAGIC);
    uint32_t version = get_u32(&r);
    uint64_t stored_key = get_u64(&r), payload_bytes = get_u64(&r), checksum = get_u64(&r);
    if (memcmp(magic, MAGIC, sizeof MAGIC) != 0 || version != LABEL_CACHE_VERSION)
        return yolo_fail("%s is not a version %d label cache", path, LABEL_CACHE_VERSION);
    if (stored_key != key) return yolo_fail("the label cache %s is stale", path);
    if (payload_bytes != r.left || XXH3_64bits(r.p, r.left) != checksum) return yolo_fail("the label cache %s is damaged", path);
    *payload = r;
    return 0;
}

int label_cache_load(const char *path, uint64_t key, int nc, DatasetSplit *out, char ***warnings, int *n_warnings) {
    memset(out, 0, sizeof *out);
    *warnings = NULL;
    *n_warnings = 0;
    uint8_t *buf;
    Reader r = {0};
    if (read_cache_file(path, key, &buf, &r) != 0) {
        free(buf);
        return -1;
    }
    bool ok = get_summary(&r, &out->summary);
    int n = ok ? get_count(&r, 4 + 1) : 0;
    char **w = ok ? calloc((size_t)n + 1, sizeof *w) : NULL;
    ok = ok && w;
    for (int i = 0; ok && i < n; i++) ok = (w[i] = get_string(&r, WARNING_MAX_BYTES)) != NULL;
    ok = ok && get_images(&r, nc, out) && r.left == 0 && !r.bad;
    free(buf);
    if (!ok) {
        for (int i = 0; w && i < n; i++) free(w[i]);
        free(w);
        dataset_split_free(out);
        return yolo_fail("the label cache %s does not check out", path);
    }
    *warnings = w;
    *n_warnings = n;
    return 0;
}
