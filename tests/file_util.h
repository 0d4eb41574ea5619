// Whole files and folder listings for the tests: what a test writes as input and reads back.
#ifndef YOLO_TESTS_FILE_UTIL_H
#define YOLO_TESTS_FILE_UTIL_H

#include <stdbool.h>
#include <stddef.h>

// The file's bytes (malloc'd) with a NUL after them, so that text can be used as a string; *len
// (when not NULL) gets the size. NULL, and *len 0, when the file cannot be read whole.
void *test_file_read(const char *path, size_t *len);

// Writes len bytes (or, _text, the string) as the whole file. False when it cannot; no test
// failure is recorded, since some tests expect that.
bool test_file_write(const char *path, const void *data, size_t len);
bool test_file_write_text(const char *path, const char *text);

// The entries of folder `dir` but . and ..; the first one's name goes to `first` when it is not
// NULL. -1 when the folder cannot be read.
int test_folder_entries(const char *dir, char *first, size_t cap);

#endif
