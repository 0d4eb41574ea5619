// The built-in synthetic datasets (see shapes.h).
//
// Every image is a pure function of (what is drawn, split, index): its draws come from the Philox
// stream (RNG_DATASET, kind * 2 + split, index), and everything that decides a pixel after the
// draws is integer arithmetic. Vertices are rounded to a 1/16 px grid right after the one libm
// call (sin/cos, pow) that made them, so a libm that differs in the last bit elsewhere still
// gives the same vertex; rasterisation then works on those integers only.
#define _XOPEN_SOURCE 700 // nftw, to remove temporary folders
#include "data/shapes.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/status.h"
#include "data/image.h"
#include "data/shapes_internal.h"

static const char *const CLASS_NAMES[N_CLASSES] = {"circle", "triangle", "square", "hexagon", "star"};

typedef enum { KIND_DETECT, KIND_SEGMENT, KIND_CLASSIFY } Kind;

typedef struct {
    const char *name;
    Kind kind;
    int n[2]; // images in train and val; classify: per class
} Builtin;

static const Builtin BUILTINS[] = {
    {"shapes8", KIND_DETECT, {4, 4}},       {"shapes", KIND_DETECT, {400, 100}},
    {"shapes8-seg", KIND_SEGMENT, {4, 4}},  {"shapes-seg", KIND_SEGMENT, {400, 100}},
    {"shapes8-cls", KIND_CLASSIFY, {2, 1}}, {"shapes-cls", KIND_CLASSIFY, {80, 20}},
};
static const char *const SPLIT_NAMES[2] = {"train", "val"};

static const Builtin *find_builtin(const char *data) {
    if (!data) return NULL;
    size_t len = strlen(data);
    if (len > 5 && strcmp(data + len - 5, ".yaml") == 0) len -= 5;
    for (size_t i = 0; i < sizeof BUILTINS / sizeof BUILTINS[0]; i++)
        if (strlen(BUILTINS[i].name) == len && strncmp(BUILTINS[i].name, data, len) == 0) return &BUILTINS[i];
    return NULL;
}

bool shapes_is_builtin(const char *data) { return find_builtin(data) != NULL; }

// ---- files ----------------------------------------------------------------------------------

static int make_dirs(const char *path) {
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) return yolo_fail("path too long: %s", path);
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0') continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return yolo_fail("cannot create folder %s: %s", buf, strerror(errno));
        *p = saved;
        if (saved == '\0') return 0;
    }
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0; // keep going: remove as much as possible
}

static void remove_tree(const char *path) { nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

static int save_image(const Canvas *cv, const char *path_without_ext, bool png) {
    char path[4096];
    if (snprintf(path, sizeof path, "%s.%s", path_without_ext, png ? "png" : "jpg") >= (int)sizeof path)
        return yolo_fail("path too long: %s", path_without_ext);
    Image img = {.w = cv->w, .h = cv->h, .rgb = cv->rgb};
    return png ? image_write_png(path, &img) : image_write_jpeg(path, &img, JPEG_QUALITY);
}

// Detect rows are visible boxes; segment rows the outline clipped to the frame.
static int save_labels(const char *path, const Scene *s, int w, int h, bool segment) {
    FILE *f = fopen(path, "w");
    if (!f) return yolo_fail("cannot write %s: %s", path, strerror(errno));
    for (int k = 0; k < s->n; k++) {
        const Object *o = &s->obj[k];
        if (!segment) {
            fprintf(f, "%d %.6f %.6f %.6f %.6f\n", o->cls, (o->x0 + o->x1) / (2.0 * w), (o->y0 + o->y1) / (2.0 * h),
                    (double)(o->x1 - o->x0) / w, (double)(o->y1 - o->y0) / h);
            continue;
        }
        float xy[2 * CLIP_CAP];
        int n = shapes_clip_to_frame(o->outline, o->n_outline, w, h, xy);
        fprintf(f, "%d", o->cls);
        for (int i = 0; i < n; i++) fprintf(f, " %.6f %.6f", xy[2 * i] / (double)w, xy[2 * i + 1] / (double)h);
        fputc('\n', f);
    }
    bool failed = ferror(f) != 0;
    if (fclose(f) != 0 || failed) return yolo_fail("cannot write %s", path);
    return 0;
}

static int generate_scenes(Canvas *cv, const Builtin *b, const char *dir) {
    Scene scene;
    char images[4096], labels[4096], image[4096 + 16], label[4096 + 16];
    for (int split = 0; split < 2; split++) {
        if (snprintf(images, sizeof images, "%s/images/%s", dir, SPLIT_NAMES[split]) >= (int)sizeof images ||
            snprintf(labels, sizeof labels, "%s/labels/%s", dir, SPLIT_NAMES[split]) >= (int)sizeof labels)
            return yolo_fail("path too long: %s", dir);
        TRY(make_dirs(images));
        TRY(make_dirs(labels));
        for (uint32_t i = 0; i < (uint32_t)b->n[split]; i++) {
            shapes_render_scene(cv, split, i, &scene);
            snprintf(image, sizeof image, "%s/%05u", images, (unsigned)i);
            snprintf(label, sizeof label, "%s/%05u.txt", labels, (unsigned)i);
            TRY(save_image(cv, image, as_png(i)));
            TRY(save_labels(label, &scene, cv->w, cv->h, b->kind == KIND_SEGMENT));
        }
    }
    return 0;
}

static int generate_classify(Canvas *cv, const Builtin *b, const char *dir) {
    char folder[4096], image[4096 + 32];
    for (int split = 0; split < 2; split++)
        for (int cls = 0; cls < N_CLASSES; cls++) {
            int len = snprintf(folder, sizeof folder, "%s/%s/%s", dir, SPLIT_NAMES[split], CLASS_NAMES[cls]);
            if (len >= (int)sizeof folder)
                return yolo_fail("path too long: %s", dir);
            TRY(make_dirs(folder));
            for (uint32_t i = 0; i < (uint32_t)b->n[split]; i++) {
                shapes_render_classify(cv, split, cls, i);
                snprintf(image, sizeof image, "%s/%s_%04u", folder, CLASS_NAMES[cls], (unsigned)i);
                TRY(save_image(cv, image, as_png(i * N_CLASSES + (uint32_t)cls)));
            }
        }
    return 0;
}

// Removes "<base>.tmp-<pid>" folders in `parent` left by processes that no longer run (or by an
// earlier process that had this one's pid); those of live processes are theirs to finish. The pid
// test holds for processes of this machine, which is where datasets are generated.
static void remove_stale_temps(const char *parent, const char *base) {
    DIR *d = opendir(parent);
    if (!d) return;
    size_t len = strlen(base);
    char path[8192];
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        const char *name = e->d_name;
        if (strncmp(name, base, len) != 0 || strncmp(name + len, ".tmp-", 5) != 0) continue;
        char *end;
        long pid = strtol(name + len + 5, &end, 10);
        if (end == name + len + 5 || *end != '\0' || pid <= 0 || pid > INT_MAX) continue;
        bool stale = pid == (long)getpid() || (kill((pid_t)pid, 0) != 0 && errno == ESRCH);
        if (stale && snprintf(path, sizeof path, "%s/%s", parent, name) < (int)sizeof path) remove_tree(path);
    }
    closedir(d);
}

int shapes_generate(const char *data, const char *root) {
    const Builtin *b = find_builtin(data);
    if (!b)
        return yolo_fail("\"%s\" is not a built-in dataset (shapes8, shapes, shapes8-seg, shapes-seg, shapes8-cls, "
                         "shapes-cls)", data ? data : "");
    char dir[4096], parent[4096], tmp[4096 + 32];
    size_t len = strlen(root);
    while (len > 1 && root[len - 1] == '/') len--; // "datasets/shapes/" names the same folder
    if (len == 0 || len >= sizeof dir) return yolo_fail("bad dataset folder \"%s\"", root);
    memcpy(dir, root, len);
    dir[len] = '\0';
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (S_ISDIR(st.st_mode)) return 0;
        return yolo_fail("%s is not a folder: move it away so that %s can be generated there", dir, b->name);
    }
    if (errno != ENOENT) return yolo_fail("cannot inspect %s: %s", dir, strerror(errno));

    const char *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : dir;
    if (!slash) snprintf(parent, sizeof parent, ".");
    else snprintf(parent, sizeof parent, "%.*s", slash == dir ? 1 : (int)(slash - dir), dir);
    TRY(make_dirs(parent));
    remove_stale_temps(parent, base);
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", dir, (long)getpid());
    if (mkdir(tmp, 0777) != 0) return yolo_fail("cannot create folder %s: %s", tmp, strerror(errno));

    size_t px = (size_t)MAX_SIDE * MAX_SIDE;
    Canvas cv = {.rgb = malloc(px * 3), .owner = malloc(px), .cov = malloc(px)};
    int rc = cv.rgb && cv.owner && cv.cov ? 0 : yolo_fail("out of memory generating %s", b->name);
    if (rc == 0) rc = b->kind == KIND_CLASSIFY ? generate_classify(&cv, b, tmp) : generate_scenes(&cv, b, tmp);
    free(cv.rgb);
    free(cv.owner);
    free(cv.cov);
    if (rc == 0 && rename(tmp, dir) != 0) {
        int e = errno;
        if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) { // another process finished it first
            remove_tree(tmp);
            return 0;
        }
        rc = yolo_fail("cannot rename %s to %s: %s", tmp, dir, strerror(e));
    }
    if (rc != 0) {
        remove_tree(tmp);
        return yolo_fail("generating dataset %s in %s", b->name, dir);
    }
    return 0;
}
