// YOLO label files: one object per line, "class cx cy w h" (detect) or "class x1 y1 ... xn yn"
// (segment polygons), all coordinates normalised to [0, 1] by the image size.
#ifndef YOLO_DATA_LABELS_H
#define YOLO_DATA_LABELS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    int n;          // objects
    int *cls;       // [n]
    float *boxes;   // [n][4]: cx, cy, w, h, normalised (for polygons: their bounding box)
    int *poly;      // [n + 1] offsets into points; NULL when the file has no polygons
    float *points;  // [poly[n]][2]: x, y normalised, closed contour without the repeated first point
} Labels;

// Why a label file was rejected: the dataset scan prints one warning per rejected file and a
// summary of counts by kind.
typedef enum {
    LABEL_OK = 0,
    LABEL_BAD_SYNTAX,     // not numbers, wrong field count, odd polygon coordinates
    LABEL_CLASS_RANGE,    // class id not in [0, nc)
    LABEL_COORD_RANGE,    // a coordinate outside [0, 1], or NaN/inf
    LABEL_KIND_COUNT
} LabelProblem;

// Parses a whole label file held in memory. A file counts as segment labels if any row has more
// than 6 fields (then every row must be a polygon of >= 3 points, and boxes are the polygons'
// bounding boxes). Duplicate rows are dropped (*duplicates counts them). An empty text gives
// n = 0 (a background image). On a problem returns it and writes a message naming the line and
// value into `why`; `out` is then empty. Never crashes on any input.
LabelProblem labels_parse(const char *text, size_t len, int nc, Labels *out, int *duplicates, char *why, size_t why_cap);

// Deep copy and release.
int labels_copy(const Labels *src, Labels *dst);
void labels_free(Labels *l);

#endif
