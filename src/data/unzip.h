// Unpacking a downloaded dataset zip into the datasets directory, all or nothing.
//
// Layout, as Ultralytics' unzip_file decides it: a zip whose entries all sit under one top-level
// folder (coco8.zip holds coco8/...) lands as <datasets>/<that folder>; any other zip lands in
// <datasets>/<stem>/ (stem: the zip's name without .zip). Entries naming __MACOSX or .DS_Store
// are skipped, as there.
//
// Safety: every entry is checked before anything is written. Absolute names, ".." components,
// symbolic links, encrypted entries and unknown compression methods refuse the whole zip, as do
// two entries for one path. Files go to a sibling "<stem>.unzip-<pid>" folder that is renamed into
// place only after every entry was written and its CRC checked, so a bad zip, a full disk or an
// interrupt leaves no partial dataset behind; the temporary folder is removed on every failure
// path, and folders left by killed processes are removed by unzip_remove_stale.
#ifndef YOLO_DATA_UNZIP_H
#define YOLO_DATA_UNZIP_H

#include <signal.h>
#include <stddef.h>
#include <stdio.h>

typedef struct {
    int files;               // regular files written
    unsigned long long bytes; // their total size
} UnzipStats;

// Unpacks `zip_path` (shown as `shown_as` in messages) into `datasets_dir` and writes the new
// dataset folder's path to root_out. An existing non-empty folder of that name is never touched:
// that is an error naming it. `stop`, when not NULL, is polled between writes; a non-zero value
// abandons the unpack. Progress goes to `log` (stderr; NULL: none), as a redrawn bar when it is a
// terminal. Returns 0 or -1 with a message.
int unzip_dataset(const char *zip_path, const char *shown_as, const char *datasets_dir, const char *stem,
                  const volatile sig_atomic_t *stop, FILE *log, char *root_out, size_t cap, UnzipStats *stats);

// Removes "<stem>.unzip-<pid>" folders in datasets_dir whose process no longer runs.
void unzip_remove_stale(const char *datasets_dir, const char *stem);

// Fails, saying how much is needed and free, when the file system of `dir` has less than `need`
// bytes free for unprivileged users; `what` names what needs the room.
int disk_space_check(const char *dir, unsigned long long need, const char *what);

#endif
