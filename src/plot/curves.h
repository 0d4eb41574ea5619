// Metric curves as Ultralytics draws them after validation (plot_pr_curve, plot_mc_curve): one
// thin line per class with a legend entry each when there are 1 to 20 classes (grey and
// unlabelled beyond), and a bold blue 'all classes' line whose legend entry carries the summary
// (mAP@0.5, or the best value and where it is). Both axes span [0, 1]; the legend sits to the
// right of the plot area.
#ifndef YOLO_PLOT_CURVES_H
#define YOLO_PLOT_CURVES_H

// Pixel size of every curve figure: Ultralytics' 9x6 inch aspect, at a size that reads on screen.
enum { CURVE_PLOT_W = 1350, CURVE_PLOT_H = 900 };

typedef struct {
    const char *title, *xlabel, *ylabel;
    int n_points;
    const double *x;            // [n_points]
    int n_rows;
    const double *const *rows;  // n_rows curves of n_points values
    const char *const *labels;  // the rows' legend labels
    const double *all;          // the bold line [n_points]
    const char *all_label;
} CurvePlot;

// Draws p into path (PNG, atomically); -1 with a message.
int curve_plot(const char *path, const CurvePlot *p);

#endif
