// The live progress line of a training or validation phase. On a terminal it is redrawn in place
// after every batch; elsewhere (CI logs, pipes) no carriage returns are written: one line when the
// phase ends and one every PROGRESS_LOG_SECONDS on long phases. verbose=False keeps only summaries.
#ifndef YOLO_ENGINE_PROGRESS_H
#define YOLO_ENGINE_PROGRESS_H

#include <stdbool.h>

enum { PROGRESS_LOG_SECONDS = 30 };

typedef struct {
    bool tty, verbose;
    double start, last_log;
    int total;
    char prefix[160];
} Progress;

void progress_begin(Progress *p, bool verbose, int total, double now);
// text: the phase's own columns (epoch, losses, ...); done: batches finished so far.
void progress_update(Progress *p, const char *text, int done, double now);
void progress_end(Progress *p, const char *text, double now);

#endif
