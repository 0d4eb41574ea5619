#include "engine/run_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "core/status.h"

// mkdir -p.
static int make_dirs(const char *path) {
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) return yolo_fail("%s: path too long", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) return yolo_fail("cannot create %s: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) return yolo_fail("cannot create %s: %s", buf, strerror(errno));
    return 0;
}

static bool exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

int run_dir_new(const char *project, const char *task, const char *name, const char *mode, bool exist_ok, char *out,
                size_t cap) {
    char base[4096];
    const char *leaf = name && name[0] ? name : mode;
    int n = project && project[0] ? snprintf(base, sizeof base, "%s/%s", project, leaf)
                                  : snprintf(base, sizeof base, "runs/%s/%s", task, leaf);
    if (n >= (int)sizeof base || (size_t)n + 16 >= cap) return yolo_fail("run folder %s: path too long", base);
    snprintf(out, cap, "%s", base);
    // train, train2, train3, ...: the first free name; the suffix starts at 2 with no separator.
    for (int k = 2; !exist_ok && exists(out); k++) snprintf(out, cap, "%s%d", base, k);
    return make_dirs(out);
}

int run_dir_create(const char *project, const char *task, const char *name, bool exist_ok, char *out, size_t cap) {
    TRY(run_dir_new(project, task, name, "train", exist_ok, out, cap));
    char weights[4200];
    snprintf(weights, sizeof weights, "%s/weights", out);
    return make_dirs(weights);
}

// One process trains a run folder at a time: two would interleave results.csv and checkpoints.
int run_dir_lock(const char *run_dir, int *fd) {
    char path[4200];
    snprintf(path, sizeof path, "%s/weights/.lock", run_dir);
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (*fd < 0) return yolo_fail("cannot create %s: %s", path, strerror(errno));
    if (flock(*fd, LOCK_EX | LOCK_NB) != 0)
        return yolo_fail("%s is being trained by another process (%s is locked); wait for it or stop it first", run_dir,
                         path);
    return 0;
}
