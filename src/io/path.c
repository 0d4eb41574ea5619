#include "io/path.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/status.h"

enum { PATH_CAP = 4096 };

bool path_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

bool path_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool path_is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int path_absolute(const char *in, char *out, size_t cap) {
    char joined[2 * PATH_CAP];
    if (in[0] == '/') {
        if (snprintf(joined, sizeof joined, "%s", in) >= (int)sizeof joined) return yolo_fail("path too long: %.80s...", in);
    } else {
        char cwd[PATH_CAP];
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

int path_join(const char *base, const char *rel, char *out, size_t cap) {
    if (rel[0] == '/') return path_absolute(rel, out, cap);
    char joined[2 * PATH_CAP];
    if (snprintf(joined, sizeof joined, "%s/%s", base, rel) >= (int)sizeof joined)
        return yolo_fail("path too long: %s/%.80s...", base, rel);
    return path_absolute(joined, out, cap);
}

void path_parent(const char *path, char *out, size_t cap) {
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(out, cap, ".");
    else if (slash == path) snprintf(out, cap, "/");
    else snprintf(out, cap, "%.*s", (int)(slash - path), path);
}

bool path_suffix_in(const char *path, const char *const *list, size_t n) {
    const char *base = strrchr(path, '/');
    const char *dot = strrchr(base ? base + 1 : path, '.');
    if (!dot) return false;
    for (size_t i = 0; i < n; i++)
        if (!strcasecmp(dot + 1, list[i])) return true;
    return false;
}

int path_read_all(const char *path, size_t limit, char **out, size_t *len) {
    *out = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return errno;
    struct stat st;
    int err = 0;
    if (fstat(fileno(f), &st) != 0) err = errno;
    else if (!S_ISREG(st.st_mode)) err = EISDIR;
    else if ((uint64_t)st.st_size > limit) err = EFBIG;
    char *buf = err ? NULL : malloc((size_t)st.st_size + 1);
    if (!err && !buf) err = ENOMEM;
    if (!err) {
        size_t got = fread(buf, 1, (size_t)st.st_size, f);
        if (ferror(f) || got != (size_t)st.st_size) err = EIO;
        buf[got] = '\0';
        *len = got;
    }
    fclose(f);
    if (err) {
        free(buf);
        *len = 0;
        return err;
    }
    *out = buf;
    return 0;
}

int path_list_push(PathList *l, const char *path) {
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        char **grown = realloc(l->items, (size_t)cap * sizeof *grown);
        if (!grown) return yolo_fail("out of memory listing %.80s", path);
        l->items = grown;
        l->cap = cap;
    }
    l->items[l->n] = strdup(path);
    if (!l->items[l->n]) return yolo_fail("out of memory listing %.80s", path);
    l->n++;
    return 0;
}

static int by_bytes(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

void path_list_sort(PathList *l) {
    if (l->n > 1) qsort(l->items, (size_t)l->n, sizeof *l->items, by_bytes);
}

void path_list_free(PathList *l) {
    for (int i = 0; i < l->n; i++) free(l->items[i]);
    free(l->items);
    *l = (PathList){0};
}
