// results.png: every loss and metric column of a run's results.csv against the epoch, as
// Ultralytics' plot_results draws them: the values with dots and a Gaussian-smoothed dotted line,
// two rows of subplots (train losses, then the precision / recall style metrics on top; validation
// losses, then the mAP style metrics below). Only the CSV is read, so the layout follows whatever
// columns the task wrote (detect 2x5, segment 2x8, classify 2x2).
#ifndef YOLO_PLOT_RESULTS_PLOT_H
#define YOLO_PLOT_RESULTS_PLOT_H

#include "plot/chart.h" // chart_warn, for the callers of the hooks

// Pixel sizes: a cell per subplot, as Ultralytics' 12x6 inch detect figure has them (a little
// taller than wide), at a size that reads at 100% on a laptop screen; the figure is cols x rows
// cells plus a margin around them (detect: 1570 x 740).
enum { RESULTS_CELL_W = 310, RESULTS_CELL_H = 360, RESULTS_MARGIN = 10 };

// Reads csv_path and writes png_path (atomically). -1 with a message naming the file when the CSV
// cannot be read or has no data columns.
int results_plot(const char *csv_path, const char *png_path);

// The trainer's hook after each epoch's row: run_dir/results.png from run_dir/results.csv.
int results_plot_dir(const char *run_dir);

// scipy.ndimage.gaussian_filter1d(y, sigma) with its defaults (truncate 4, mode 'reflect'), the
// smoothing Ultralytics draws (sigma 3). out must not alias y.
void results_gaussian_smooth(const double *y, int n, double sigma, double *out);

// The subplot layout results_plot uses for these column names: *rows x *cols cells, cell[r * cols
// + c] the column index drawn there or -1 for an empty cell. Columns that are not drawn: the first
// (epoch, the x axis), "time" and "lr/..." ones. Returns the number of drawn columns; cell has
// room for 2 * n entries.
int results_layout(const char *const *names, int n, int *rows, int *cols, int *cell);

#endif
