#include "data/source.h"

#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "data/image.h"
#include "io/path.h"

enum { SOURCE_PATH_CAP = 4096, SOURCE_LIST_LIMIT = 64 << 20 };

// Ultralytics' VID_FORMATS: counted to say why a source of videos has no images.
static const char *const VIDEO_SUFFIXES[] = {"asf", "avi", "gif", "m4v", "mkv", "mov", "mp4", "mpeg", "mpg", "ts", "wmv", "webm"};
// What image_read decodes (by signature; the suffix only says which files to take).
static const char *const DECODED_SUFFIXES[] = {"jpeg", "jpg", "png"};

// Moves the paths of `found`, sorted, to the end of `out` (every part of a source is sorted on
// its own, as Ultralytics sorts each).
static int append_sorted(PathList *found, PathList *out, int rc) {
    path_list_sort(found);
    for (int i = 0; rc == 0 && i < found->n; i++) rc = path_list_push(out, found->items[i]);
    path_list_free(found);
    return rc;
}

// A folder's entries named *.* (glob's rule: hidden ones excluded), sorted.
static int list_folder(const char *dir, PathList *out) {
    DIR *d = opendir(dir);
    if (!d) return yolo_fail("cannot read the folder %s: %s", dir, strerror(errno));
    PathList found = {0};
    int rc = 0;
    for (struct dirent *e; rc == 0 && (e = readdir(d));) {
        if (e->d_name[0] == '.' || !strchr(e->d_name, '.')) continue;
        char path[2 * SOURCE_PATH_CAP];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        rc = path_list_push(&found, path);
    }
    closedir(d);
    return append_sorted(&found, out, rc);
}

static int list_glob(const char *pattern, PathList *out) {
    glob_t g;
    int r = glob(pattern, 0, NULL, &g);
    if (r == GLOB_NOMATCH) return 0; // no file: the image check below reports the source
    if (r != 0) return yolo_fail("source=%s: the pattern cannot be expanded", pattern);
    PathList found = {0};
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < g.gl_pathc; i++) rc = path_list_push(&found, g.gl_pathv[i]);
    globfree(&g);
    return append_sorted(&found, out, rc);
}

// One part: a glob, a folder, a file (relative to the current folder, else, for a file or folder,
// to `parent`, the folder of the .txt list it came from).
static int expand_part(const char *part, const char *parent, PathList *out) {
    char a[SOURCE_PATH_CAP];
    TRY(path_absolute(part, a, sizeof a));
    if (strchr(a, '*')) return list_glob(a, out);
    if (path_is_dir(a)) return list_folder(a, out);
    if (path_is_file(a)) return path_list_push(out, a);
    if (parent && part[0] != '/') {
        char joined[2 * SOURCE_PATH_CAP], b[SOURCE_PATH_CAP];
        snprintf(joined, sizeof joined, "%s/%s", parent, part);
        TRY(path_absolute(joined, b, sizeof b));
        if (path_is_file(b)) return path_list_push(out, b);
        // Ultralytics looks only for files there; a folder beside the list is as likely meant.
        if (path_is_dir(b)) return list_folder(b, out);
    }
    return yolo_fail("source: %s does not exist; give an image, a folder, a glob such as 'images/*.jpg' or a .txt list", part);
}

// The lines of a .txt list, trimmed, blank ones skipped, sorted (Ultralytics sorts them).
static int read_list(const char *path, PathList *lines) {
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
        if (*s) rc = path_list_push(lines, s);
    }
    if (rc == 0 && ferror(f)) rc = yolo_fail("source=%s: read error", path);
    fclose(f);
    if (rc == 0) path_list_sort(lines);
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
    PathList files = {0};
    int rc = 0;
    if (is_txt(source)) {
        PathList lines = {0};
        char parent[SOURCE_PATH_CAP];
        const char *slash = strrchr(source, '/');
        snprintf(parent, sizeof parent, "%.*s", slash ? (int)(slash - source) : 1, slash ? source : ".");
        rc = read_list(source, &lines);
        for (int i = 0; rc == 0 && i < lines.n; i++) rc = expand_part(lines.items[i], parent, &files);
        path_list_free(&lines);
    } else {
        rc = expand_part(source, NULL, &files);
    }
    // Images are kept; videos and other files are counted for the message.
    PathList images = {0};
    int videos = 0, undecodable = 0;
    const char *example = NULL;
    for (int i = 0; rc == 0 && i < files.n; i++) {
        const char *f = files.items[i];
        if (image_suffix_listed(f)) {
            if (!PATH_SUFFIX_IN(f, DECODED_SUFFIXES)) {
                undecodable++;
                if (!example) example = f;
                continue;
            }
            rc = path_list_push(&images, f);
        } else if (PATH_SUFFIX_IN(f, VIDEO_SUFFIXES)) {
            videos++;
        }
    }
    if (rc == 0 && undecodable)
        rc = yolo_fail("source=%s: %s is an image format this build does not read (JPEG and PNG only)%s; convert it or "
                       "leave it out", source, example, undecodable > 1 ? ", and so are others" : "");
    if (rc == 0 && images.n == 0)
        rc = yolo_fail("source=%s: no images found%s; predict reads .jpg, .jpeg and .png files", source,
                       videos ? " (only videos, which this build does not read)" : "");
    path_list_free(&files);
    if (rc != 0) {
        path_list_free(&images);
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
