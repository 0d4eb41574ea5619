#include "io/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/status.h"

static int write_all(int fd, const unsigned char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void sync_folder(const char *path) {
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int atomic_write(const char *path, const void *data, size_t size, const char *prev_path) {
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) return yolo_fail("%s: path too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return yolo_fail("cannot write %s: %s", tmp, strerror(errno));
    int rc = write_all(fd, data, size) == 0 && fsync(fd) == 0 ? 0 : -1;
    int saved_errno = errno;
    if (close(fd) != 0 && rc == 0) {
        rc = -1;
        saved_errno = errno;
    }
    if (rc != 0) {
        unlink(tmp);
        return yolo_fail("cannot write %s (%s); the previous %s is untouched", tmp, strerror(saved_errno), path);
    }
    if (prev_path && access(path, F_OK) == 0) {
        unlink(prev_path);
        if (link(path, prev_path) != 0) {
            saved_errno = errno;
            unlink(tmp);
            return yolo_fail("cannot keep %s as %s: %s", path, prev_path, strerror(saved_errno));
        }
    }
    if (rename(tmp, path) != 0) {
        saved_errno = errno;
        unlink(tmp);
        return yolo_fail("cannot replace %s: %s", path, strerror(saved_errno));
    }
    sync_folder(path);
    return 0;
}
