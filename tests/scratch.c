#define _XOPEN_SOURCE 700 // nftw
#include "scratch.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "test.h"

bool scratch_make(char *out, size_t cap, const char *tag) {
    snprintf(out, cap, "/tmp/yolo-test-%s-XXXXXX", tag);
    if (mkdtemp(out)) return true;
    test_fail(__FILE__, __LINE__, "mkdtemp %s failed", out);
    return false;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

void scratch_remove(const char *path) { nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }
