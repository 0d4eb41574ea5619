// libFuzzer target for unzip_dataset: no input may crash it, read out of bounds or leak, and it
// unpacks all or nothing: a success leaves exactly one folder in the datasets directory holding
// only plain files and folders, a failure leaves a message and an empty datasets directory, and
// nothing is ever written beside it. Build and run: tests/fuzz/README.md.
#define _XOPEN_SOURCE 700 // nftw
#include <dirent.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/status.h"
#include "data/unzip.h"

static char home[64], datasets[96], zip_path[96];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

// Only regular files and folders may come out of a zip.
static int plain_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)path, (void)ftw;
    return flag == FTW_SL || !(S_ISREG(st->st_mode) || S_ISDIR(st->st_mode));
}

static int count_entries(const char *dir, char *first, size_t cap) {
    DIR *d = opendir(dir);
    if (!d) abort();
    int n = 0;
    for (const struct dirent *e; (e = readdir(d)) != NULL;) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (n++ == 0 && first) snprintf(first, cap, "%s", e->d_name);
    }
    closedir(d);
    return n;
}

static void remove_home(void) { nftw(home, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!home[0]) {
        // /dev/shm: every input is a file write and a folder tree; memory keeps that fast.
        snprintf(home, sizeof home, "/dev/shm/yolo-fuzz-unzip-%ld", (long)getpid());
        snprintf(datasets, sizeof datasets, "%s/datasets", home);
        snprintf(zip_path, sizeof zip_path, "%s/in.zip", home);
        if (mkdir(home, 0777) != 0 || mkdir(datasets, 0777) != 0) abort();
        atexit(remove_home); // libFuzzer ends with exit() after -max_total_time
    }
    FILE *f = fopen(zip_path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) abort();
    char root[4096], first[256] = "";
    UnzipStats stats;
    if (unzip_dataset(zip_path, "in.zip", datasets, "in", NULL, NULL, root, sizeof root, &stats) == 0) {
        if (count_entries(datasets, first, sizeof first) != 1 || strstr(first, ".unzip-")) abort();
        if (nftw(root, plain_entry, 16, FTW_PHYS) != 0) abort();
        nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    } else {
        if (!yolo_error()[0] || count_entries(datasets, NULL, 0) != 0) abort();
    }
    yolo_error_clear();
    if (count_entries(home, NULL, 0) != 2) abort(); // datasets/ and in.zip: nothing escaped
    return 0;
}
