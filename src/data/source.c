#include "data/source.h"

#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/status.h"

enum { SOURCE_PATH_CAP = 4096, SOURCE_LIST_LIMIT = 64 << 20 };

// Ultralytics' IMG_FORMATS and VID_FORMATS: files with other suffixes are not part of a source.
static const char *const IMAGE_SUFFIXES[] = {"bmp", "dng", "jpeg", "jpg", "mpo", "png", "tif", "tiff", "webp", "pfm", "heic"};
static const char *const VIDEO_SUFFIXES[] = {"asf", "avi", "gif", "m4v", "mkv", "mov", "mp4", "mpeg", "mpg", "ts", "wmv", "webm"};
// What image_read decodes (by signature; the suffix only says which files to take).
static const char *const DECODED_SUFFIXES[] = {"jpeg", "jpg", "png"};

static bool suffix_in(const char *path, const char *const *list, size_t n) {
    const char *base = strrchr(path, '/');
    const char *dot = strrchr(base ? base + 1 : path, '.');
    if (!dot) return false;
    for (size_t i = 0; i < n; i++)
        if (!strcasecmp(dot + 1, list[i])) return true;
    return false;
}
#define SUFFIX_IN(path, list) suffix_in((path), (list), sizeof(list) / sizeof *(list))

typedef struct {
    char **items;
    int n, cap;
} Paths;

static int push(Paths *p, const char *s) {
    if (p->n == p->cap) {
        int cap = p->cap ? 2 * p->cap : 64;
        char **grown = realloc(p->items, sizeof *grown * (size_t)cap);
        if (!grown) return yolo_fail("out of memory listing the source");
        p->items = grown;
        p->cap = cap;
    }
    p->items[p->n] = strdup(s);
    if (!p->items[p->n]) return yolo_fail("out of memory listing the source");
    p->n++;
    return 0;
}

static void paths_free(Paths *p) {
    for (int i = 0; i < p->n; i++) free(p->items[i]);
    free(p->items);
    *p = (Paths){0};
}

static int by_bytes(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

// pathlib's absolute(): joined to the current folder, "." parts and repeated slashes dropped,
// ".." and symlinks kept.
static int absolute(const char *in, char *out, size_t cap) {
    char joined[2 * SOURCE_PATH_CAP];
    if (in[0] == '/') {
        if (snprintf(joined, sizeof joined, "%s", in) >= (int)sizeof joined) return yolo_fail("path too long: %.80s...", in);
    } else {
        char cwd[SOURCE_PATH_CAP];
        if (!getcwd(cwd, sizeof cwd)) return yolo_fail("cannot get the current folder: %s", strerror(errno));
        if (snprintf(joined, sizeof joined, "%s/%s", cwd, in) >= (int)sizeof joined)
            return yolo_fail("path too long: %.80s...", in);
    }
    size_t o = 0;
    for (const char *p = joined; *p;) {
        while (*p == '/') p++;
        const char *seg = p;
        while (*p && *p != '/') p++;
        size_t len = (size_t)(p - seg);
        if (len == 0 || (len == 1 && seg[0] == '.')) continue;
        if (o + 1 + len >= cap) return yolo_fail("path too long: %.80s...", joined);
        out[o++] = '/';
        memcpy(out + o, seg, len);
        o += len;
    }
    if (o == 0) out[o++] = '/';
    out[o] = '\0';
    return 0;
}

static bool is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

// A folder's entries named *.* (glob's rule: hidden ones excluded), sorted.
static int list_folder(const char *dir, Paths *out) {
    DIR *d = opendir(dir);
    if (!d) return yolo_fail("cannot read the folder %s: %s", dir, strerror(errno));
    Paths found = {0};
    int rc = 0;
    for (struct dirent *e; rc == 0 && (e = readdir(d));) {
        if (e->d_name[0] == '.' || !strchr(e->d_name, '.')) continue;
        char path[2 * SOURCE_PATH_CAP];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        rc = push(&found, path);
    }
    closedir(d);
    if (rc == 0 && found.n) qsort(found.items, (size_t)found.n, sizeof *found.items, by_bytes);
    for (int i = 0; rc == 0 && i < found.n; i++) rc = push(out, found.items[i]);
    paths_free(&found);
    return rc;
}

static int list_glob(const char *pattern, Paths *out) {
    glob_t g;
    int r = glob(pattern, 0, NULL, &g);
    if (r == GLOB_NOMATCH) return 0; // no file: the image check below reports the source
    if (r != 0) return yolo_fail("source=%s: the pattern cannot be expanded", pattern);
    qsort(g.gl_pathv, g.gl_pathc, sizeof *g.gl_pathv, by_bytes);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < g.gl_pathc; i++) rc = push(out, g.gl_pathv[i]);
    globfree(&g);
    return rc;
}

// One part: a glob, a folder, a file (relative to the current folder, else, for a file or folder,
// to `parent`, the folder of the .txt list it came from).
static int expand_part(const char *part, const char *parent, Paths *out) {
    char a[SOURCE_PATH_CAP];
    TRY(absolute(part, a, sizeof a));
    if (strchr(a, '*')) return list_glob(a, out);
    if (is_dir(a)) return list_folder(a, out);
    if (is_file(a)) return push(out, a);
    if (parent && part[0] != '/') {
        char joined[2 * SOURCE_PATH_CAP], b[SOURCE_PATH_CAP];
        snprintf(joined, sizeof joined, "%s/%s", parent, part);
        TRY(absolute(joined, b, sizeof b));
        if (is_file(b)) return push(out, b);
        // Ultralytics looks only for files there; a folder beside the list is as likely meant.
        if (is_dir(b)) return list_folder(b, out);
    }
    return yolo_fail("source: %s does not exist; give an image, a folder, a glob such as 'images/*.jpg' or a .txt list", part);
}

// The lines of a .txt list, trimmed, blank ones skipped, sorted (Ultralytics sorts them).
static int read_list(const char *path, Paths *lines) {
    FILE *f = fopen(path, "r");
    if (!f) return yolo_fail("source=%s: cannot read the list (%s)", path, strerror(errno));
    char line[SOURCE_PATH_CAP];
    int rc = 0;
    long total = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        size_t n = strlen(line);
        total += (long)n;
        if (total > SOURCE_LIST_LIMIT) {
            rc = yolo_fail("source=%s: the list is longer than %d MiB", path, SOURCE_LIST_LIMIT >> 20);
            break;
        }
        if (n == sizeof line - 1 && line[n - 1] != '\n') {
            rc = yolo_fail("source=%s: a line is longer than %d characters", path, SOURCE_PATH_CAP - 1);
            break;
        }
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t')) line[--n] = '\0';
        char *s = line;
        while (*s == ' ' || *s == '\t') s++;
        if (*s) rc = push(lines, s);
    }
    if (rc == 0 && ferror(f)) rc = yolo_fail("source=%s: read error", path);
    fclose(f);
    if (rc == 0 && lines->n) qsort(lines->items, (size_t)lines->n, sizeof *lines->items, by_bytes);
    return rc;
}

static bool is_txt(const char *path) {
    size_t n = strlen(path);
    return n > 4 && !strcmp(path + n - 4, ".txt");
}

int source_expand(const char *source, SourceList *out) {
    *out = (SourceList){0};
    if (!source || !source[0])
        return yolo_fail("source= is empty; give an image, a folder, a glob such as 'images/*.jpg' or a .txt list of them");
    Paths files = {0};
    int rc = 0;
    if (is_txt(source)) {
        Paths lines = {0};
        char parent[SOURCE_PATH_CAP];
        const char *slash = strrchr(source, '/');
        snprintf(parent, sizeof parent, "%.*s", slash ? (int)(slash - source) : 1, slash ? source : ".");
        rc = read_list(source, &lines);
        for (int i = 0; rc == 0 && i < lines.n; i++) rc = expand_part(lines.items[i], parent, &files);
        paths_free(&lines);
    } else {
        rc = expand_part(source, NULL, &files);
    }
    // Images are kept; videos and other files are counted for the message.
    Paths images = {0};
    int videos = 0, undecodable = 0;
    const char *example = NULL;
    for (int i = 0; rc == 0 && i < files.n; i++) {
        const char *f = files.items[i];
        if (SUFFIX_IN(f, IMAGE_SUFFIXES)) {
            if (!SUFFIX_IN(f, DECODED_SUFFIXES)) {
                undecodable++;
                if (!example) example = f;
                continue;
            }
            rc = push(&images, f);
        } else if (SUFFIX_IN(f, VIDEO_SUFFIXES)) {
            videos++;
        }
    }
    if (rc == 0 && undecodable)
        rc = yolo_fail("source=%s: %s is an image format this build does not read (JPEG and PNG only)%s; convert it or "
                       "leave it out", source, example, undecodable > 1 ? ", and so are others" : "");
    if (rc == 0 && images.n == 0)
        rc = yolo_fail("source=%s: no images found%s; predict reads .jpg, .jpeg and .png files", source,
                       videos ? " (only videos, which this build does not read)" : "");
    paths_free(&files);
    if (rc != 0) {
        paths_free(&images);
        return -1;
    }
    out->n = images.n;
    out->paths = images.items;
    return 0;
}

void source_list_free(SourceList *s) {
    for (int i = 0; i < s->n; i++) free(s->paths[i]);
    free(s->paths);
    *s = (SourceList){0};
}
