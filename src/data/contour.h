// Polygons from binary masks, as Ultralytics 8.3.127 turns a predicted mask into the polygon of a
// segment label line (Masks.xyn: ops.masks2segments with strategy "all"): the outer borders that
// OpenCV's findContours(RETR_EXTERNAL, CHAIN_APPROX_SIMPLE) finds, in its order and with its
// points, and, when there are several, the one polygon Ultralytics' merge_multi_segment joins them
// into. No library in the build traces contours (cairo and pixman only draw), so this is a small
// border follower of its own (Suzuki and Abe's 1985 algorithm, as OpenCV runs it), checked point
// for point against OpenCV 4.10 by tests/test_contour.c.
#ifndef YOLO_DATA_CONTOUR_H
#define YOLO_DATA_CONTOUR_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int x, y;
} ContourPoint;

// The contours of one mask. Reusable: each call replaces what the last one found and grows the
// arrays only when needed.
typedef struct {
    int n;                // contours
    int *first;           // [n + 1]: contour k is points[first[k]] .. points[first[k + 1] - 1]
    ContourPoint *points; // pixel coordinates (column, row)
    // contours_merge's polygon.
    int n_merged;
    ContourPoint *merged;
    // Capacities and the scratch label image.
    int first_cap;
    size_t points_cap, merged_cap;
    int8_t *labels;
    size_t labels_cap;
} Contours;

// The outer borders of the set pixels (non-zero) of mask [h][w], 8-connected, in OpenCV's order
// (the reverse of a raster scan's discovery) and direction (counter-clockwise on screen, from each
// border's top-left pixel), with only the points where the border turns (CHAIN_APPROX_SIMPLE); an
// isolated pixel is one point. Objects inside another's holes are not outer borders. -1 with a
// message when out of memory.
int contours_find(Contours *c, const uint8_t *mask, int w, int h);
void contours_free(Contours *c);

// One polygon from c's contours into c->merged (c->n_merged points), as Ultralytics'
// merge_multi_segment joins several (each one is cut at the point nearest the next and walked
// there and back, so the polygon goes through all of them), or the single contour as it is;
// nothing for none. -1 with a message when out of memory.
int contours_merge(Contours *c);

#endif
