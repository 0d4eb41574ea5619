#include "data/polygon.h"

#include <math.h>
#include <stdlib.h>

static int by_value(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

void polygon_fill(uint8_t *plane, int w, int h, const float *xy, int n_points, uint8_t value) {
    if (n_points < 3 || w < 1 || h < 1) return;
    float ymin = xy[1], ymax = xy[1];
    for (int i = 1; i < n_points; i++) {
        ymin = fminf(ymin, xy[2 * i + 1]);
        ymax = fmaxf(ymax, xy[2 * i + 1]);
    }
    int y0 = (int)fmaxf(0.0f, floorf(ymin - 0.5f)), y1 = (int)fminf((float)(h - 1), ceilf(ymax - 0.5f));
    float *cross = malloc(sizeof *cross * (size_t)n_points);
    if (!cross) return;
    for (int y = y0; y <= y1; y++) {
        float yc = (float)y + 0.5f;
        int n = 0;
        // Half-open rule on edge ends so a vertex on the scanline counts once.
        for (int i = 0, j = n_points - 1; i < n_points; j = i++) {
            float ya = xy[2 * j + 1], yb = xy[2 * i + 1];
            if ((ya <= yc) == (yb <= yc)) continue;
            float xa = xy[2 * j], xb = xy[2 * i];
            cross[n++] = xa + (yc - ya) * (xb - xa) / (yb - ya);
        }
        qsort(cross, (size_t)n, sizeof *cross, by_value);
        for (int k = 0; k + 1 < n; k += 2) {
            // Pixels whose centres x + 0.5 fall in [cross[k], cross[k + 1]).
            // Clamped in float first: a wild coordinate must not overflow the int conversion.
            int xs = (int)ceilf(fminf(fmaxf(cross[k] - 0.5f, 0.0f), (float)w));
            int xe = (int)ceilf(fminf(fmaxf(cross[k + 1] - 0.5f, 0.0f), (float)w));
            for (int x = xs; x < xe; x++) plane[(size_t)y * (size_t)w + (size_t)x] = value;
        }
    }
    free(cross);
}

double polygon_area2(const float *xy, int n_points) {
    double sum = 0.0;
    for (int i = 0, j = n_points - 1; i < n_points; j = i++)
        sum += (double)xy[2 * j] * xy[2 * i + 1] - (double)xy[2 * i] * xy[2 * j + 1];
    return sum;
}
