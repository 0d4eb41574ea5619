// Checking the listed images of a split on threads: each image's size (the decoders refuse what
// Ultralytics calls corrupt) and its label file; the kept ones and the warnings of the others.
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/status.h"
#include "core/threadpool.h"
#include "data/dataset_internal.h"
#include "data/image.h"
#include "io/path.h"

// The ones our decoders read (MPO is a JPEG with extra frames).
static const char *const DECODABLE_EXTENSIONS[] = {"jpeg", "jpg", "mpo", "png"};

enum {
    WARNINGS_SHOWN = 20,     // printed per scan; the rest are counted in one line
    SCAN_THREADS_MAX = 8,    // header reads are I/O bound; more threads stop helping
    PARALLEL_SCAN_MIN = 256, // below this, starting threads costs more than it saves
};
#define LABEL_FILE_LIMIT ((size_t)64 << 20)

typedef enum { ITEM_KEPT, ITEM_BAD_IMAGE, ITEM_UNREADABLE_LABEL, ITEM_BAD_LABEL } ItemStatus;

// What the check of one listed image found (filled by worker threads, one slot per image).
typedef struct {
    ItemStatus status;
    LabelProblem problem;
    bool missing_label;
    int w, h, duplicates;
    Labels labels;
    char *warning; // "<file>: <problem>", or NULL
} ScanItem;

typedef struct {
    char *const *paths;
    ScanItem *items;
    int nc;
    bool with_labels;
} ScanJob;

char *scan_format_warning(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!s) return NULL; // the warning text is lost; the summary still counts the file
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

// A decoder's message without a leading "<path>: ", which the warning line already has.
static const char *without_path(const char *msg, const char *path) {
    size_t n = strlen(path);
    return !strncmp(msg, path, n) && !strncmp(msg + n, ": ", 2) ? msg + n + 2 : msg;
}

static void check_image(const ScanJob *job, int i) {
    ScanItem *it = &job->items[i];
    const char *path = job->paths[i];
    // image_read_size also refuses what Ultralytics calls corrupt: tiny, huge, truncated images.
    if (image_read_size(path, &it->w, &it->h) != 0) {
        it->status = ITEM_BAD_IMAGE;
        if (PATH_SUFFIX_IN(path, DECODABLE_EXTENSIONS))
            it->warning = scan_format_warning("%s: %s", path, without_path(yolo_error(), path));
        else // listed, so the file name has an image extension
            it->warning = scan_format_warning("%s: cannot read .%s images (only PNG and JPEG are supported); convert it to PNG or "
                                         "JPEG",
                                         path, strrchr(path, '.') + 1);
        yolo_error_clear();
        return;
    }
    if (!job->with_labels) return;
    char label[DATASET_PATH_CAP];
    if (label_path_for(path, label, sizeof label) != 0) {
        it->status = ITEM_UNREADABLE_LABEL;
        it->warning = scan_format_warning("%s: %s", path, yolo_error());
        yolo_error_clear();
        return;
    }
    char *text;
    size_t len;
    int err = path_read_all(label, LABEL_FILE_LIMIT, &text, &len);
    if (err == ENOENT || err == ENOTDIR) {
        it->missing_label = true; // a background, as Ultralytics treats it
        return;
    }
    if (err) {
        it->status = ITEM_UNREADABLE_LABEL;
        it->warning = scan_format_warning("%s: cannot read the label file: %s", label, strerror(err));
        return;
    }
    char why[256] = "";
    it->problem = labels_parse(text, len, job->nc, &it->labels, &it->duplicates, why, sizeof why);
    free(text);
    if (it->problem != LABEL_OK) {
        it->status = ITEM_BAD_LABEL;
        it->warning = scan_format_warning("%s: %s", label, why);
    } else if (it->duplicates > 0) {
        it->warning = scan_format_warning("%s: %d duplicate rows removed", label, it->duplicates);
    }
}

static void check_range(void *ctx, int64_t begin, int64_t end, int thread) {
    (void)thread;
    for (int64_t i = begin; i < end; i++) check_image(ctx, (int)i);
    yolo_error_clear(); // what the decoders left is in the warnings now
}

static void check_all(ScanJob *job, int n) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int threads = cpus < 1 ? 1 : cpus > SCAN_THREADS_MAX ? SCAN_THREADS_MAX : (int)cpus;
    // Each image has its own slot, so results do not depend on the thread count; a pool that
    // cannot start just means one thread.
    ThreadPool *pool = n >= PARALLEL_SCAN_MIN && threads > 1 ? pool_create(threads) : NULL;
    if (pool) {
        pool_for(pool, n, check_range, job);
        pool_destroy(pool);
    } else {
        check_range(job, 0, n, 0);
    }
}

// Takes ownership of s; NULL (a warning that could not be formatted) is dropped.
int scan_warnings_take(ScanWarnings *w, char *s) {
    if (!s) return 0;
    if (w->n == w->cap) {
        int cap = w->cap ? 2 * w->cap : 32;
        char **grown = realloc(w->items, (size_t)cap * sizeof *grown);
        if (!grown) {
            free(s);
            return yolo_fail("out of memory collecting scan warnings");
        }
        w->items = grown;
        w->cap = cap;
    }
    w->items[w->n++] = s;
    return 0;
}

void scan_warnings_free(ScanWarnings *w) {
    for (int i = 0; i < w->n; i++) free(w->items[i]);
    free(w->items);
    *w = (ScanWarnings){0};
}

void scan_warnings_print(const ScanWarnings *w) {
    int shown = w->n < WARNINGS_SHOWN ? w->n : WARNINGS_SHOWN;
    for (int i = 0; i < shown; i++) fprintf(stderr, "warning: %s\n", w->items[i]);
    if (w->n > shown) fprintf(stderr, "warning: ... and %d more\n", w->n - shown);
}

// Checks every listed image (paths move into `out` for the kept ones) and fills the summary.
// class_of: the class of each image (classify) or NULL (labels are read).
int scan_check_listing(const DatasetConfig *cfg, PathList *list, const int *class_of, DatasetSplit *out,
                       ScanWarnings *warnings) {
    int n = list->n;
    ScanItem *items = calloc((size_t)n, sizeof *items);
    out->image_paths = calloc((size_t)n, sizeof *out->image_paths);
    out->width = calloc((size_t)n, sizeof *out->width);
    out->height = calloc((size_t)n, sizeof *out->height);
    if (class_of) out->class_index = calloc((size_t)n, sizeof *out->class_index);
    else out->labels = calloc((size_t)n, sizeof *out->labels);
    if (!items || !out->image_paths || !out->width || !out->height || !(out->class_index || out->labels)) {
        free(items);
        return yolo_fail("out of memory scanning %d images", n);
    }
    ScanJob job = {list->items, items, cfg->nc, class_of == NULL};
    check_all(&job, n);

    ScanSummary *sum = &out->summary;
    sum->images_found = n;
    int rc = 0;
    for (int i = 0; i < n; i++) {
        ScanItem *it = &items[i];
        if (it->warning && rc == 0) rc = scan_warnings_take(warnings, it->warning);
        else free(it->warning);
        switch (it->status) {
        case ITEM_BAD_IMAGE: sum->bad_images++; continue;
        case ITEM_UNREADABLE_LABEL: sum->unreadable_labels++; continue;
        case ITEM_BAD_LABEL: sum->bad_labels[it->problem]++; continue;
        case ITEM_KEPT: break;
        }
        int k = out->n++;
        out->image_paths[k] = list->items[i];
        list->items[i] = NULL;
        out->width[k] = it->w;
        out->height[k] = it->h;
        if (class_of) {
            out->class_index[k] = class_of[i];
            continue;
        }
        out->labels[k] = it->labels;
        sum->missing_labels += it->missing_label;
        sum->backgrounds += it->labels.n == 0;
        sum->duplicate_rows += it->duplicates;
        sum->instances += it->labels.n;
    }
    sum->images_kept = out->n;
    free(items);
    return rc;
}
