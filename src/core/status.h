// Errors are values: a function that can fail returns 0 on success and -1 on failure, after
// recording a message with yolo_fail(). The message names what failed and what to do; the
// caller either adds context (yolo_fail again, which prefixes) or reports it and exits.
#ifndef YOLO_CORE_STATUS_H
#define YOLO_CORE_STATUS_H

#include <stddef.h>

// Records a printf-style message for the current thread and returns -1. If a message is already
// pending, the new one becomes a prefix: "loading x.ckpt: <older message>".
int yolo_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

// The pending message of this thread ("" when there is none).
const char *yolo_error(void);

// Forgets the pending message (after it was reported or handled).
void yolo_error_clear(void);

// Propagates a failure: evaluates expr once and returns -1 from the caller if it failed.
#define TRY(expr)                                                                                   \
    do {                                                                                            \
        if ((expr) != 0) return -1;                                                                 \
    } while (0)

// Propagates a failure from a call that returns an index or id (>= 0) or -1.
#define TRY_ID(expr)                                                                                \
    do {                                                                                            \
        if ((expr) < 0) return -1;                                                                  \
    } while (0)

// For library calls whose failure is a program or system fault rather than bad user input: the
// message carries the source file and line, as llm.c's *Check macros do.
#define mallocCheck(ptr)                                                                            \
    do {                                                                                            \
        if ((ptr) == NULL)                                                                          \
            return yolo_fail("out of memory at %s:%d (%s)", __FILE__, __LINE__, #ptr);             \
    } while (0)

#endif
