// The plots of a detect validation, written into the run (or val) folder as Ultralytics 8.3.127
// writes them: confusion_matrix.png and confusion_matrix_normalized.png, and the curves of
// ap_per_class as <prefix>PR_curve.png, <prefix>F1_curve.png, <prefix>P_curve.png and
// <prefix>R_curve.png (prefix "" for detect; segment draws "Box" and "Mask" sets). The classify
// task draws its matrix with task_plot_confusion too.
#ifndef YOLO_TASKS_DETECT_PLOTS_H
#define YOLO_TASKS_DETECT_PLOTS_H

#include <stdbool.h>

#include "tasks/detect/confusion.h"
#include "tasks/detect/metrics.h"

// names: nc class names (NULL: "class0", ...). -1 with a message on the first file that fails.
int detect_plot_curves(const char *dir, const char *prefix, const DetSummary *s, char *const *names);
int detect_plot_confusion(const char *dir, const ConfusionMatrix *cm, char *const *names);
// The same two files for any task's matrix [n][n] (row = predicted, column = true) of nc classes:
// n = nc + 1 with a last "background" row and column (detect, segment), or n = nc (classify).
int task_plot_confusion(const char *dir, const double *matrix, int nc, bool background, char *const *names);

// The bold 'all classes' line of a P, R or F1 plot: the mean of `curves` ([nc][DET_CURVE_POINTS])
// over the classes with labels, smoothed (det_curve_smooth), into all[DET_CURVE_POINTS]; *best is
// its maximum and *at the confidence where it first reaches it.
void detect_curve_all(const DetSummary *s, const double *curves, double *all, double *best, double *at);
// The bold line of the PR plot: the mean precision-recall curve of the classes that have one
// (zeros when none does), as Ultralytics averages its prec_values rows.
void detect_pr_all(const DetSummary *s, double *all);

#endif
