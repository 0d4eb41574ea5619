#include "engine/progress.h"

#include <stdio.h>
#include <unistd.h>

void progress_begin(Progress *p, bool verbose, int total, double now) {
    *p = (Progress){.tty = isatty(STDOUT_FILENO) != 0, .verbose = verbose, .start = now, .last_log = now, .total = total};
}

static void print_line(const Progress *p, const char *text, int done, double now, const char *end) {
    double elapsed = now - p->start, rate = elapsed > 0 ? done / elapsed : 0.0;
    double eta = rate > 0 ? (p->total - done) / rate : 0.0;
    printf("%s %4d/%-4d %5.2f it/s  %3.0fs<%3.0fs%s", text, done, p->total, rate, elapsed, eta, end);
    fflush(stdout);
}

void progress_update(Progress *p, const char *text, int done, double now) {
    if (!p->verbose) return;
    if (p->tty) {
        printf("\r");
        print_line(p, text, done, now, "");
    } else if (now - p->last_log >= PROGRESS_LOG_SECONDS) {
        print_line(p, text, done, now, "\n");
        p->last_log = now;
    }
}

void progress_end(Progress *p, const char *text, double now) {
    if (p->tty && p->verbose) printf("\r");
    print_line(p, text, p->total, now, "\n");
}
