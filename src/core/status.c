#include "core/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum { MESSAGE_CAP = 2048 };

static _Thread_local char message[MESSAGE_CAP];

int yolo_fail(const char *fmt, ...) {
    char fresh[MESSAGE_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fresh, sizeof fresh, fmt, ap);
    va_end(ap);
    if (message[0] == '\0') {
        snprintf(message, sizeof message, "%s", fresh);
    } else {
        // Wrapping: the outer context comes first, as in "reading a.yaml: line 3: bad value".
        // Built by hand: truncating a long chain is fine, and snprintf would warn about it.
        char older[MESSAGE_CAP];
        memcpy(older, message, sizeof older);
        size_t head = strlen(fresh);
        if (head > MESSAGE_CAP - 3) head = MESSAGE_CAP - 3;
        memcpy(message, fresh, head);
        memcpy(message + head, ": ", 2);
        size_t tail = strnlen(older, MESSAGE_CAP - 1 - head - 2);
        memcpy(message + head + 2, older, tail);
        message[head + 2 + tail] = '\0';
    }
    return -1;
}

const char *yolo_error(void) { return message; }

void yolo_error_clear(void) { message[0] = '\0'; }
