// Writing a file so that at every instant a complete version exists on disk: write a temporary
// file beside it, fsync, keep the current file as the previous generation (hard link), rename the
// temporary over it, fsync the folder.
#ifndef YOLO_IO_ATOMIC_FILE_H
#define YOLO_IO_ATOMIC_FILE_H

#include <stddef.h>

// prev_path: where the current `path` is kept as the previous generation, or NULL. On failure
// the temporary file is removed, `path` and `prev_path` are untouched, and the message says why.
int atomic_write(const char *path, const void *data, size_t size, const char *prev_path);

#endif
