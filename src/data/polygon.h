// Polygon rasterisation for segment masks and for drawing the built-in datasets.
#ifndef YOLO_DATA_POLYGON_H
#define YOLO_DATA_POLYGON_H

#include <stdint.h>

// Sets plane[y * w + x] = value for every pixel whose centre (x + 0.5, y + 0.5) lies inside the
// closed polygon xy[0..n_points) (pixel coordinates, even-odd rule). Pixels outside the plane
// are ignored; fewer than 3 points fill nothing.
void polygon_fill(uint8_t *plane, int w, int h, const float *xy, int n_points, uint8_t value);

// Twice the signed area (shoelace); positive for counter-clockwise in y-up coordinates.
double polygon_area2(const float *xy, int n_points);

#endif
