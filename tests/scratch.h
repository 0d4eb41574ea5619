// Scratch folders for tests that write files: a fresh mkdtemp folder under /tmp, removed with
// everything in it at the end of the test.
#ifndef YOLO_TESTS_SCRATCH_H
#define YOLO_TESTS_SCRATCH_H

#include <stdbool.h>
#include <stddef.h>

// Creates /tmp/yolo-test-<tag>-XXXXXX into out; reports a test failure and returns false if not.
bool scratch_make(char *out, size_t cap, const char *tag);
void scratch_remove(const char *path);

#endif
