// A confusion matrix as a heat map, as Ultralytics' ConfusionMatrix.plot draws it with seaborn:
// the 'Blues' colour map from 0 to the largest value, cells below 0.005 left white and
// unannotated, values written in the cells while there are fewer than 30 classes, true classes
// along x, predicted ones along y, a colour bar on the right.
#ifndef YOLO_PLOT_CONFUSION_PLOT_H
#define YOLO_PLOT_CONFUSION_PLOT_H

#include <stdbool.h>

#include "plot/chart.h"

// matrix: n x n counts, row = predicted class, column = true class. labels: n names (detect's last
// one is "background"). normalize divides each column by its sum (+1e-9), as "Confusion Matrix
// Normalized". annotate: write the values in the cells. Writes path (PNG, atomically).
int confusion_plot(const char *path, const double *matrix, int n, const char *const *labels, bool normalize, bool annotate);

// Where confusion_plot draws for n rows (the tests look at its pixels): the figure's size, the
// matrix's top-left corner and the side of one cell (row i, column j at x + j cell, y + i cell).
// It depends on n and the labels' lengths only (detect on shapes8's 5 classes: 947 x 829).
typedef struct {
    int width, height;
    double x, y, cell;
} ConfusionGeometry;

void confusion_plot_geometry(int n, const char *const *labels, ConfusionGeometry *g);

// matplotlib's 'Blues' at t in [0, 1].
ChartColor confusion_blues(double t);

#endif
