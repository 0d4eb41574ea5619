// libFuzzer target for labels_parse: no input may crash it, read out of bounds or leak; a
// success must keep the header's promises and a failure must leave a message and empty labels.
// Build and run: tests/fuzz/README.md.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "data/labels.h"

enum { NC = 80 };

static void check(const Labels *l) {
    for (int i = 0; i < l->n; i++) {
        if (l->cls[i] < 0 || l->cls[i] >= NC) abort();
        for (int k = 0; k < 4; k++)
            if (!(l->boxes[4 * i + k] >= 0.0f && l->boxes[4 * i + k] <= 1.0f)) abort();
    }
    if (!l->poly) return;
    if (l->poly[0] != 0) abort();
    for (int i = 0; i < l->n; i++)
        if (l->poly[i + 1] - l->poly[i] < 3) abort();
    for (int p = 0; p < 2 * l->poly[l->n]; p++)
        if (!(l->points[p] >= 0.0f && l->points[p] <= 1.0f)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size ? size : 1); // exact size, no terminator: reads past the end are ASan errors
    if (!text) return 0;
    memcpy(text, data, size);
    Labels l, copy;
    int dups = -1;
    char why[128] = "";
    LabelProblem p = labels_parse(text, size, NC, &l, &dups, why, sizeof why);
    if (p < LABEL_OK || p >= LABEL_KIND_COUNT) abort();
    if (p == LABEL_OK) {
        check(&l);
        if (dups < 0) abort();
        if (labels_copy(&l, &copy) != 0) abort();
        if (copy.n != l.n || (l.n && memcmp(copy.boxes, l.boxes, sizeof(float) * 4 * (size_t)l.n) != 0)) abort();
        labels_free(&copy);
    } else if (!why[0] || l.n != 0 || l.cls || l.boxes || l.poly || l.points) {
        fprintf(stderr, "unclean failure %d: \"%s\"\n", p, why);
        abort();
    }
    labels_free(&l);
    yolo_error_clear();
    free(text);
    return 0;
}
