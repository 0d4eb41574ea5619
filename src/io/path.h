// File-system paths as the dataset and predict-source readers handle them: tests on what a path
// names, pathlib-like lexical absolute paths and joins, whole-file reads, and growable lists of
// paths. Errors are values (core/status.h) naming the path.
#ifndef YOLO_IO_PATH_H
#define YOLO_IO_PATH_H

#include <stdbool.h>
#include <stddef.h>

bool path_exists(const char *path);
bool path_is_dir(const char *path);  // a folder, or a symlink to one
bool path_is_file(const char *path); // a regular file, or a symlink to one

// Makes a path absolute against the current folder and tidies it lexically, as pathlib's
// absolute() does: repeated slashes, "." parts and a trailing slash go. ".." stays: under a
// symlink only the kernel knows what it names, and resolving symlinks would hide the images/ ->
// labels/ layout of a dataset.
int path_absolute(const char *in, char *out, size_t cap);

// base / rel as pathlib joins them (an absolute rel wins), made absolute and tidy.
int path_join(const char *base, const char *rel, char *out, size_t cap);

// The folder part of a path ("." when there is none, "/" for a file in the root).
void path_parent(const char *path, char *out, size_t cap);

// Whether the file name's extension (after the last dot of the last part) is one of list[n],
// ignoring case.
bool path_suffix_in(const char *path, const char *const *list, size_t n);
#define PATH_SUFFIX_IN(path, list) path_suffix_in((path), (list), sizeof(list) / sizeof *(list))

// Reads a whole regular file into a NUL-terminated buffer. Returns 0 or an errno value (EFBIG
// over `limit`, EISDIR for anything but a regular file), so that callers word the message.
int path_read_all(const char *path, size_t limit, char **out, size_t *len);

// A list of paths, each a malloc'd copy.
typedef struct {
    char **items;
    int n, cap;
} PathList;

int path_list_push(PathList *l, const char *path); // -1 with a message when out of memory
void path_list_sort(PathList *l);                  // by bytes (C-locale order), as Python sorts str
void path_list_free(PathList *l);

#endif
