// Listing a split's image files: folders searched recursively, single images, and .txt lists.
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/status.h"
#include "data/dataset_internal.h"
#include "data/image.h"
#include "io/path.h"

enum { MAX_FOLDER_DEPTH = 100 }; // deeper trees are refused rather than risking the stack
#define LIST_FILE_LIMIT ((size_t)1 << 30)

// The folders a walk is inside of, to notice a symlink that leads back up.
typedef struct Ancestor {
    dev_t dev;
    ino_t ino;
    const struct Ancestor *up;
    int depth;
} Ancestor;

// Calls fn with the path and name of every visible entry of `dir`, in readdir order, until one
// returns non-zero.
typedef int (*EntryFn)(void *ctx, const char *path, const char *name);

static int for_each_entry(const char *dir, EntryFn fn, void *ctx) {
    DIR *d = opendir(dir);
    if (!d) return yolo_fail("cannot list %s: %s", dir, strerror(errno));
    int rc = 0;
    const struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char path[DATASET_PATH_CAP];
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path)
            rc = yolo_fail("path too long: %s/%.80s...", dir, e->d_name);
        else
            rc = fn(ctx, path, e->d_name);
    }
    closedir(d);
    return rc;
}

static int walk_images(const char *dir, const Ancestor *up, PathList *out);

typedef struct {
    const Ancestor *me;
    PathList *out;
} WalkCtx;

static int walk_entry(void *ctx, const char *path, const char *name) {
    const WalkCtx *w = ctx;
    if (path_is_dir(path)) return walk_images(path, w->me, w->out);
    return image_suffix_listed(name) ? path_list_push(w->out, path) : 0;
}

// Collects the image files under `dir`, following symlinks and skipping hidden entries, as
// Ultralytics' glob("**/*.*") does. Dangling links and unreadable files are listed too: the scan
// reports them as bad images.
static int walk_images(const char *dir, const Ancestor *up, PathList *out) {
    struct stat st;
    if (stat(dir, &st) != 0) return yolo_fail("cannot read %s: %s", dir, strerror(errno));
    for (const Ancestor *a = up; a; a = a->up)
        if (a->dev == st.st_dev && a->ino == st.st_ino) return 0; // a symlink loop: already being listed
    Ancestor me = {st.st_dev, st.st_ino, up, up ? up->depth + 1 : 0};
    if (me.depth > MAX_FOLDER_DEPTH) return yolo_fail("%s is nested more than %d folders deep", dir, MAX_FOLDER_DEPTH);
    WalkCtx ctx = {&me, out};
    return for_each_entry(dir, walk_entry, &ctx);
}

// The names of the visible folders directly in `dir` (symlinks to folders count).
static int subfolder_entry(void *ctx, const char *path, const char *name) {
    return path_is_dir(path) ? path_list_push(ctx, name) : 0;
}

int dataset_list_subfolders(const char *dir, PathList *out) { return for_each_entry(dir, subfolder_entry, out); }

// A .txt list: one image per line. "./x" is relative to the list's folder (Ultralytics'
// rule); other relative paths are too, which is what a list moved with its dataset needs, but
// when that does not exist and the path does relative to the current directory (where
// Ultralytics looks), that one is taken. Lines without an image extension are dropped, as
// Ultralytics drops them.
static int list_txt(const char *txt, PathList *out) {
    char *text;
    size_t len;
    int err = path_read_all(txt, LIST_FILE_LIMIT, &text, &len);
    if (err) return yolo_fail("cannot read the image list %s: %s", txt, strerror(err));
    char dir[DATASET_PATH_CAP];
    path_parent(txt, dir, sizeof dir);
    int rc = 0, line_no = 0;
    for (char *line = text; rc == 0 && line;) {
        char *next = strchr(line, '\n');
        if (next) *next++ = '\0';
        line_no++;
        while (isspace((unsigned char)*line)) line++;
        size_t n = strlen(line);
        while (n > 0 && isspace((unsigned char)line[n - 1])) line[--n] = '\0';
        char path[DATASET_PATH_CAP];
        if (n == 0 || !image_suffix_listed(line)) {
            line = next;
            continue;
        }
        int w = line[0] == '/'                  ? snprintf(path, sizeof path, "%s", line)
                : !strncmp(line, "./", 2)       ? snprintf(path, sizeof path, "%s/%s", dir, line + 2)
                                                : snprintf(path, sizeof path, "%s/%s", dir, line);
        if (w >= (int)sizeof path) rc = yolo_fail("%s:%d: the path is too long", txt, line_no);
        else if (line[0] != '/' && strncmp(line, "./", 2) && !path_exists(path) && path_exists(line)) rc = path_list_push(out, line);
        else rc = path_list_push(out, path);
        line = next;
    }
    free(text);
    return rc;
}

// One split source: a folder (searched recursively), an image, or a .txt list.
int dataset_list_images(const char *dir, PathList *out) { return walk_images(dir, NULL, out); }

int dataset_list_source(const char *src, PathList *out) {
    if (path_is_dir(src)) return dataset_list_images(src, out);
    if (image_suffix_listed(src)) return path_list_push(out, src);
    return list_txt(src, out);
}
