#include "cli/mode_args.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

int mode_args_check_keys(const Args *a, const char *mode, const char *const *keys) {
    for (int k = 0; k < args_key_count(); k++) {
        const char *key = args_key_name(k);
        bool used = false;
        for (const char *const *p = keys; *p && !used; p++) used = !strcmp(key, *p);
        if (!args_given(a, key) || used) continue;
        char list[1024];
        size_t o = 0;
        list[0] = '\0';
        // task and mode are the command's words, not worth listing.
        for (const char *const *p = keys; *p && o < sizeof list; p++)
            if (strcmp(*p, "task") != 0 && strcmp(*p, "mode") != 0)
                o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", o ? ", " : "", *p);
        return yolo_fail("'%s' is not an argument of %s; remove it. %s takes %s", key, mode, mode, list);
    }
    return 0;
}

int mode_args_check_device(const Args *a) {
    if (a->device.kind != ARGS_NONE && !(a->device.kind == ARGS_STR && !strcmp(a->device.s, "cpu")))
        return yolo_fail("device: this build runs on the CPU only; use device=cpu or leave device unset");
    return 0;
}

TaskKind mode_args_task(const Args *a) {
    return !strcmp(a->task, "segment") ? TASK_SEGMENT : !strcmp(a->task, "classify") ? TASK_CLASSIFY : TASK_DETECT;
}

Args *mode_args_from_training(const char *train_args, const char *origin) {
    Args *t = malloc(sizeof *t); // Args is large (list values): not on the stack
    if (!t) {
        yolo_fail("out of memory");
        return NULL;
    }
    if (args_from_yaml(t, train_args ? train_args : "", origin) != 0) {
        free(t);
        return NULL;
    }
    return t;
}
