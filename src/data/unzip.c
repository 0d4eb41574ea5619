#define _XOPEN_SOURCE 700 // nftw, to remove temporary folders
#include "data/unzip.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>
#include <zip.h>

#include "core/status.h"
#include "data/progress_bar.h"

enum { PATH_CAP = 4096, COPY_CHUNK = 1 << 16 };

// One zip entry to write: its index and its name made relative and tidy.
typedef struct {
    zip_uint64_t index;
    char *path;       // "coco8/images/train/a.jpg", without "." or empty components
    bool dir;         // a folder entry ("coco8/images/")
    zip_uint64_t size; // uncompressed
} Entry;

typedef struct {
    zip_t *za;
    Entry *entries;
    int n;
    unsigned long long total_bytes;
} Plan;

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0; // keep going: remove as much as possible
}

static void remove_tree(const char *path) { nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

void unzip_remove_stale(const char *datasets_dir, const char *stem) {
    DIR *d = opendir(datasets_dir);
    if (!d) return;
    size_t len = strlen(stem);
    char path[PATH_CAP];
    for (const struct dirent *e; (e = readdir(d)) != NULL;) {
        const char *name = e->d_name;
        if (strncmp(name, stem, len) != 0 || strncmp(name + len, ".unzip-", 7) != 0) continue;
        char *end;
        long pid = strtol(name + len + 7, &end, 10);
        if (end == name + len + 7 || *end != '\0' || pid <= 0 || pid > INT_MAX) continue;
        // Our own pid: a folder of an earlier process that had it, or of an unpack of ours that
        // failed to clean up; nothing of ours is in progress while this runs.
        bool stale = pid == (long)getpid() || (kill((pid_t)pid, 0) != 0 && errno == ESRCH);
        if (stale && snprintf(path, sizeof path, "%s/%s", datasets_dir, name) < (int)sizeof path) remove_tree(path);
    }
    closedir(d);
}

int disk_space_check(const char *dir, unsigned long long need, const char *what) {
    struct statvfs fs;
    if (statvfs(dir, &fs) != 0) return 0; // unknown: let the writes themselves report a full disk
    unsigned long long avail = (unsigned long long)fs.f_bavail * fs.f_frsize;
    if (need <= avail) return 0;
    char want[32], have[32];
    pb_size((double)need, want, sizeof want);
    pb_size((double)avail, have, sizeof have);
    return yolo_fail("not enough disk space in %s: %s needs %sB, %sB are free; free some space (or set "
                     "YOLO_DATASETS_DIR to a folder on a larger disk) and run again",
                     dir, what, want, have);
}

static const char *zip_error_text(int code, char *buf, size_t cap) {
    zip_error_t e;
    zip_error_init_with_code(&e, code);
    snprintf(buf, cap, "%s", zip_error_strerror(&e));
    zip_error_fini(&e);
    return buf;
}

// Ultralytics skips entries whose name contains these anywhere (macOS Finder metadata).
static bool excluded(const char *name) { return strstr(name, "__MACOSX") || strstr(name, ".DS_Store"); }

// The entry name made relative and tidy into out, or a message when it could escape the folder
// it is unpacked into: absolute names and ".." components are refused, "." and empty components
// dropped. An entry that is nothing but "." and slashes tidies to "".
static int tidy_name(const char *shown_as, const char *name, char *out, size_t cap) {
    if (name[0] == '/')
        return yolo_fail("%s: the zip entry \"%s\" is an absolute path; unpacking it could write anywhere, so the zip is "
                         "refused", shown_as, name);
    size_t o = 0;
    for (const char *p = name; *p;) {
        while (*p == '/') p++;
        const char *seg = p;
        while (*p && *p != '/') p++;
        size_t len = (size_t)(p - seg);
        if (len == 0 || (len == 1 && seg[0] == '.')) continue;
        if (len == 2 && seg[0] == '.' && seg[1] == '.')
            return yolo_fail("%s: the zip entry \"%s\" climbs out of its folder with \"..\"; unpacking it could overwrite "
                             "files outside the datasets directory, so the zip is refused",
                             shown_as, name);
        if (o + len + 2 > cap) return yolo_fail("%s: the zip entry \"%.80s...\" is too long a path", shown_as, name);
        if (o) out[o++] = '/';
        memcpy(out + o, seg, len);
        o += len;
    }
    out[o] = '\0';
    return 0;
}

static void plan_free(Plan *p) {
    for (int i = 0; i < p->n; i++) free(p->entries[i].path);
    free(p->entries);
    if (p->za) zip_discard(p->za);
    *p = (Plan){0};
}

// Checks one entry and appends it to the plan (or skips it: excluded names, bare ".").
static int plan_entry(Plan *p, const char *shown_as, zip_uint64_t i) {
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(p->za, i, 0, &st) != 0)
        return yolo_fail("%s: bad zip: entry %llu cannot be read (%s)", shown_as, (unsigned long long)i,
                         zip_strerror(p->za));
    const zip_uint64_t need = ZIP_STAT_NAME | ZIP_STAT_SIZE | ZIP_STAT_COMP_METHOD | ZIP_STAT_ENCRYPTION_METHOD;
    if ((st.valid & need) != need) return yolo_fail("%s: bad zip: entry %llu lacks its name or size", shown_as, (unsigned long long)i);
    if (excluded(st.name)) return 0;
    char tidy[PATH_CAP];
    TRY(tidy_name(shown_as, st.name, tidy, sizeof tidy));
    if (!tidy[0]) return 0;
    if (st.encryption_method != ZIP_EM_NONE)
        return yolo_fail("%s: the zip entry \"%s\" is encrypted; unpack the zip yourself with its password", shown_as,
                         st.name);
    if (!zip_compression_method_supported(st.comp_method, 0))
        return yolo_fail("%s: the zip entry \"%s\" uses compression method %d, which this build cannot read; unpack the "
                         "zip yourself", shown_as, st.name, (int)st.comp_method);
    zip_uint8_t opsys;
    zip_uint32_t attributes;
    if (zip_file_get_external_attributes(p->za, i, 0, &opsys, &attributes) == 0 && opsys == ZIP_OPSYS_UNIX &&
        S_ISLNK((mode_t)(attributes >> 16)))
        return yolo_fail("%s: the zip entry \"%s\" is a symbolic link; links could point outside the datasets directory, "
                         "so the zip is refused", shown_as, st.name);
    bool dir = st.name[strlen(st.name) - 1] == '/';
    if (dir && st.size != 0)
        return yolo_fail("%s: bad zip: the folder entry \"%s\" has %llu bytes of data", shown_as, st.name,
                         (unsigned long long)st.size);
    if (p->total_bytes + st.size < p->total_bytes) return yolo_fail("%s: bad zip: the entry sizes overflow", shown_as);
    Entry *e = &p->entries[p->n];
    e->path = strdup(tidy);
    mallocCheck(e->path);
    e->index = i;
    e->dir = dir;
    e->size = st.size;
    p->total_bytes += st.size;
    p->n++;
    return 0;
}

static int plan_open(Plan *p, const char *zip_path, const char *shown_as) {
    int err = 0;
    // ZIP_CHECKCONS compares every local header with the central directory: a zip cut short or
    // patched in the middle fails here rather than halfway through writing.
    p->za = zip_open(zip_path, ZIP_RDONLY | ZIP_CHECKCONS, &err);
    char why[160];
    if (!p->za)
        return yolo_fail("%s is not a valid zip archive (%s); the download may be damaged or not a zip at all",
                         shown_as, zip_error_text(err, why, sizeof why));
    zip_int64_t n = zip_get_num_entries(p->za, 0);
    if (n < 0 || n > INT_MAX / 2) return yolo_fail("%s: bad zip: %lld entries", shown_as, (long long)n);
    p->entries = calloc((size_t)n + 1, sizeof *p->entries);
    mallocCheck(p->entries);
    for (zip_int64_t i = 0; i < n; i++) TRY(plan_entry(p, shown_as, (zip_uint64_t)i));
    if (p->n == 0) return yolo_fail("%s: the zip holds no files", shown_as);
    return 0;
}

// Ultralytics' layout rule: one top-level folder holding everything is the dataset folder itself.
// `top` gets that folder's name, or "" when the zip has loose files or several folders on top.
static void single_top(const Plan *p, char *top, size_t cap) {
    const char *first = p->entries[0].path;
    size_t len = strcspn(first, "/");
    for (int i = 0; i < p->n; i++) {
        const char *path = p->entries[i].path;
        size_t l = strcspn(path, "/");
        if (l != len || strncmp(path, first, len) != 0 || (path[l] == '\0' && !p->entries[i].dir)) {
            top[0] = '\0';
            return;
        }
    }
    // Every entry is under one name, and that name is a folder (entries below it, or a folder
    // entry of its own): the dataset folder.
    snprintf(top, cap, "%.*s", (int)len, first);
}

static int make_dirs(const char *path, size_t keep) {
    char buf[2 * PATH_CAP];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) return yolo_fail("path too long: %s", path);
    if (strlen(buf) <= keep) return 0;
    // The first `keep` characters name a folder that exists (the temporary root).
    for (char *p = buf + keep + 1;; p++) {
        if (*p != '/' && *p != '\0') continue;
        char saved = *p;
        *p = '\0';
        struct stat st;
        if (mkdir(buf, 0777) != 0 && !(errno == EEXIST && lstat(buf, &st) == 0 && S_ISDIR(st.st_mode)))
            return yolo_fail("cannot create folder %s: %s", buf, errno == EEXIST ? "a file of that name is in the zip too"
                                                                                 : strerror(errno));
        *p = saved;
        if (saved == '\0') return 0;
    }
}

static int write_all(int fd, const char *buf, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, buf, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

static int write_error(const char *path) {
    int e = errno;
    if (e == ENOSPC || e == EDQUOT)
        return yolo_fail("writing %s: %s (the disk is full; free some space and run again)", path, strerror(e));
    return yolo_fail("writing %s: %s", path, strerror(e));
}

// Copies one entry's data to `path`. libzip checks the CRC when the last byte is read.
static int extract_file(const Plan *p, const Entry *e, const char *shown_as, const char *path, char *buf,
                        const volatile sig_atomic_t *stop) {
    // O_EXCL: a second entry for the same path is an error, never a silent overwrite.
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0)
        return errno == EEXIST ? yolo_fail("%s: the zip holds \"%s\" twice; it is damaged or made to overwrite files",
                                           shown_as, e->path)
                               : yolo_fail("cannot create %s: %s", path, strerror(errno));
    zip_file_t *zf = zip_fopen_index(p->za, e->index, 0);
    int rc = 0;
    if (!zf) rc = yolo_fail("%s: bad zip: cannot open the entry \"%s\" (%s)", shown_as, e->path, zip_strerror(p->za));
    zip_uint64_t done = 0;
    while (rc == 0) {
        if (stop && *stop) {
            rc = yolo_fail("interrupted");
            break;
        }
        zip_int64_t got = zip_fread(zf, buf, COPY_CHUNK);
        if (got < 0) rc = yolo_fail("%s: bad zip: the entry \"%s\" is damaged (%s)", shown_as, e->path, zip_file_strerror(zf));
        else if (got == 0) break;
        else if (write_all(fd, buf, (size_t)got) != 0) rc = write_error(path);
        else done += (zip_uint64_t)got;
    }
    if (rc == 0 && done != e->size)
        rc = yolo_fail("%s: bad zip: the entry \"%s\" holds %llu bytes, not the %llu its header says", shown_as, e->path,
                       (unsigned long long)done, (unsigned long long)e->size);
    if (zf) zip_fclose(zf);
    if (close(fd) != 0 && rc == 0) rc = write_error(path);
    return rc;
}

typedef struct {
    FILE *log; // NULL: silent
    bool tty;
    double start, last_draw;
    char label[3 * PATH_CAP];
} UnzipProgress;

static void draw(UnzipProgress *u, int done, int total, bool final) {
    double now = now_seconds();
    if (!u->log || !u->tty || (!final && now - u->last_draw < 0.1)) return;
    u->last_draw = now;
    char bar[64], elapsed[16];
    pb_bar(total ? (double)done / total : 1.0, bar, sizeof bar);
    pb_clock(now - u->start, elapsed, sizeof elapsed);
    fprintf(u->log, "\r%s %s %d/%d files [%s]%s", u->label, bar, done, total, elapsed, final ? "\n" : "");
    fflush(u->log);
}

// Writes every planned entry under `base` (inside the temporary folder `tmp`).
static int extract_all(const Plan *p, const char *shown_as, const char *tmp, const char *base, UnzipProgress *u,
                       const volatile sig_atomic_t *stop, UnzipStats *stats) {
    char *buf = malloc(COPY_CHUNK);
    mallocCheck(buf);
    char path[2 * PATH_CAP], parent[2 * PATH_CAP];
    size_t keep = strlen(tmp);
    int rc = 0;
    for (int i = 0; i < p->n && rc == 0; i++) {
        const Entry *e = &p->entries[i];
        if (stop && *stop) rc = yolo_fail("interrupted");
        else if (snprintf(path, sizeof path, "%s/%s", base, e->path) >= (int)sizeof path)
            rc = yolo_fail("%s: the zip entry \"%.80s...\" is too long a path", shown_as, e->path);
        else if (e->dir) rc = make_dirs(path, keep);
        else {
            snprintf(parent, sizeof parent, "%s", path);
            *strrchr(parent, '/') = '\0';
            rc = make_dirs(parent, keep);
            if (rc == 0) rc = extract_file(p, e, shown_as, path, buf, stop);
            if (rc == 0) {
                stats->files++;
                stats->bytes += e->size;
            }
        }
        draw(u, i + 1, p->n, false);
    }
    free(buf);
    return rc;
}

static int target_taken(const char *target, const char *shown_as) {
    return yolo_fail("%s unpacks to %s, which already exists and is not an empty folder; it is left as it is. Move or "
                     "delete it and run again to download the dataset afresh",
                     shown_as, target);
}

// An existing folder of the target name may stay only if it is empty (rename replaces those).
static int target_free(const char *target, const char *shown_as) {
    struct stat st;
    if (lstat(target, &st) != 0) return 0;
    bool empty = false;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(target);
        empty = d != NULL;
        for (const struct dirent *e; d && (e = readdir(d)) != NULL;)
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) empty = false;
        if (d) closedir(d);
    }
    return empty ? 0 : target_taken(target, shown_as);
}

static int unzip_planned(Plan *p, const char *shown_as, const char *datasets_dir, const char *stem,
                         const volatile sig_atomic_t *stop, FILE *log, char *root_out, size_t cap, UnzipStats *stats) {
    char top[PATH_CAP], name[PATH_CAP], target[2 * PATH_CAP], tmp[2 * PATH_CAP], base[3 * PATH_CAP];
    single_top(p, top, sizeof top);
    snprintf(name, sizeof name, "%s", top[0] ? top : stem);
    if (snprintf(target, sizeof target, "%s/%s", datasets_dir, name) >= (int)sizeof target ||
        snprintf(tmp, sizeof tmp, "%s/%s.unzip-%ld", datasets_dir, stem, (long)getpid()) >= (int)sizeof tmp)
        return yolo_fail("datasets directory %s: path too long", datasets_dir);
    TRY(target_free(target, shown_as));
    TRY(disk_space_check(datasets_dir, p->total_bytes, "unpacking the dataset"));

    remove_tree(tmp); // one of ours, left by an unpack that could not clean up
    if (mkdir(tmp, 0777) != 0) return yolo_fail("cannot create folder %s: %s", tmp, strerror(errno));
    // Loose files go into a folder named after the zip inside the temporary one, so that in both
    // layouts the dataset is one folder that a single rename moves into place.
    snprintf(base, sizeof base, "%s%s%s", tmp, top[0] ? "" : "/", top[0] ? "" : stem);
    UnzipProgress u = {.log = log, .tty = log && isatty(fileno(log)), .start = now_seconds()};
    snprintf(u.label, sizeof u.label, "Unzipping %s to %s:", shown_as, target);
    if (log && !u.tty) fprintf(log, "Unzipping %s to %s (%d entries)\n", shown_as, target, p->n);
    int rc = top[0] ? 0 : mkdir(base, 0777) == 0 ? 0 : yolo_fail("cannot create folder %s: %s", base, strerror(errno));
    if (rc == 0) rc = extract_all(p, shown_as, tmp, base, &u, stop, stats);
    if (u.tty) draw(&u, rc == 0 ? p->n : 0, p->n, true);
    char placed[3 * PATH_CAP];
    snprintf(placed, sizeof placed, "%s/%s", tmp, name);
    if (rc == 0 && rename(placed, target) != 0)
        // Another process may have put the same dataset there while this one unpacked.
        rc = errno == EEXIST || errno == ENOTEMPTY ? target_taken(target, shown_as)
                                                   : yolo_fail("moving %s to %s: %s", placed, target, strerror(errno));
    remove_tree(tmp);
    if (rc != 0) return -1;
    if (snprintf(root_out, cap, "%s", target) >= (int)cap) return yolo_fail("path too long: %s", target);
    char size[32];
    pb_size((double)stats->bytes, size, sizeof size);
    if (log) fprintf(log, "Unzipped %d files (%sB) to %s\n", stats->files, size, target);
    return 0;
}

int unzip_dataset(const char *zip_path, const char *shown_as, const char *datasets_dir, const char *stem,
                  const volatile sig_atomic_t *stop, FILE *log, char *root_out, size_t cap, UnzipStats *stats) {
    *stats = (UnzipStats){0};
    if (!stem[0] || strchr(stem, '/') || !strcmp(stem, ".") || !strcmp(stem, ".."))
        return yolo_fail("%s: \"%s\" cannot name a dataset folder", shown_as, stem);
    Plan p = {0};
    int rc = plan_open(&p, zip_path, shown_as);
    if (rc == 0) rc = unzip_planned(&p, shown_as, datasets_dir, stem, stop, log, root_out, cap, stats);
    plan_free(&p);
    return rc;
}
