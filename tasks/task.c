#include "tasks/task.h"

extern const TaskImpl DETECT_TASK;
extern const TaskImpl SEGMENT_TASK;
extern const TaskImpl CLASSIFY_TASK;

const TaskImpl *task_impl(TaskKind kind) {
    switch (kind) {
    case TASK_DETECT:
        return &DETECT_TASK;
    case TASK_SEGMENT:
        return &SEGMENT_TASK;
    case TASK_CLASSIFY:
        return &CLASSIFY_TASK;
    }
    return NULL;
}
