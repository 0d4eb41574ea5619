#include "engine/results.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/status.h"

int results_append(const char *path, const char *const *columns, int n, const double *values) {
    bool fresh = access(path, F_OK) != 0;
    FILE *f = fopen(path, "a");
    if (!f) return yolo_fail("cannot write %s: %s", path, strerror(errno));
    if (fresh)
        for (int i = 0; i < n; i++) fprintf(f, "%s%s", columns[i], i + 1 < n ? "," : "\n");
    for (int i = 0; i < n; i++) fprintf(f, "%.6g%s", values[i], i + 1 < n ? "," : "\n");
    if (fclose(f) != 0) return yolo_fail("cannot write %s: %s", path, strerror(errno));
    return 0;
}
