// Checks on the PNG files the plot code writes: that a file decodes as a PNG of the expected size,
// and what its pixels hold (ink, colours at given places), so a chart test fails on a blank or
// wrongly drawn image, not only on a missing file.
#ifndef YOLO_TESTS_PLOT_CHECK_H
#define YOLO_TESTS_PLOT_CHECK_H

#include <stdbool.h>

#include "data/image.h"
#include "plot/chart.h"

// Decodes path into img; a test failure (and false) when it is not a PNG of width x height.
bool plot_check_png(const char *path, int width, int height, Image *img);
// The standard deviation of the pixels' brightness (0 for a blank image).
double plot_check_spread(const Image *img);
// How many pixels lie within tol (0..255 per channel) of colour c.
int plot_check_count(const Image *img, ChartColor c, int tol);
// Whether the pixel at (x, y) lies within tol of c.
bool plot_check_pixel(const Image *img, double x, double y, ChartColor c, int tol);

#endif
