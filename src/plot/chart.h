// A small chart library on cairo for the run folder's PNG plots: a figure of a fixed pixel size,
// axes placed in cells of it (ticks, tick labels, axis labels, a title, a light grid), line series
// with optional markers and dashes, legends, free text, and the PNG written atomically (a viewer
// reloading results.png every epoch never sees half a file).
//
// Everything is in pixels, y downwards, as cairo has it; data coordinates only exist inside axes.
#ifndef YOLO_PLOT_CHART_H
#define YOLO_PLOT_CHART_H

#include <cairo.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
    double r, g, b;
} ChartColor;

// matplotlib's default colour cycle ("tab10"): the colours Ultralytics' plots use.
extern const ChartColor CHART_TAB10[10];
extern const ChartColor CHART_BLACK, CHART_GREY, CHART_BLUE;

typedef struct {
    double x, y, w, h;
} ChartRect;

typedef struct Chart Chart;

// A white figure of width x height pixels; NULL with a message when cairo cannot make it.
Chart *chart_create(int width, int height);
void chart_destroy(Chart *c);
int chart_width(const Chart *c);
int chart_height(const Chart *c);
// For drawing beyond lines and text (heat maps); the state is saved and restored by the caller.
cairo_t *chart_cairo(Chart *c);
// Encodes the figure as PNG and replaces `path` atomically; -1 with a message naming the path.
int chart_save_png(Chart *c, const char *path);

// ---- text ---------------------------------------------------------------------------------------

typedef struct {
    double size; // pixels (the font's em)
    bool bold;
    ChartColor color;
} ChartFont;

// Draws text anchored at (x, y): ha 0 / 0.5 / 1 puts the point at the left / centre / right of the
// text, va 0 / 0.5 / 1 at the top / middle / bottom of the font's line (not of the glyphs, so
// labels in a row share a baseline). angle_deg rotates counter-clockwise about the anchor (90:
// reading upwards, as y-axis labels do).
void chart_text(Chart *c, double x, double y, const char *text, const ChartFont *f, double ha, double va, double angle_deg);
double chart_text_width(Chart *c, const char *text, const ChartFont *f);
// The height of a line of text (ascent + descent) at this font.
double chart_text_height(Chart *c, const ChartFont *f);

// ---- lines and legends --------------------------------------------------------------------------

typedef enum { CHART_SOLID, CHART_DOTTED, CHART_DASHED } ChartDash;

typedef struct {
    ChartColor color;
    double width;  // pixels
    ChartDash dash;
    double marker; // radius of a filled dot at every point, 0 for none
} ChartLine;

typedef struct {
    const char *label;
    ChartLine line;
} ChartLegendEntry;

typedef enum {
    CHART_LEGEND_BEST,          // the inside corner that hides the fewest drawn lines (matplotlib's 'best')
    CHART_LEGEND_UPPER_RIGHT,
    CHART_LEGEND_OUTSIDE_RIGHT, // beside the plot area, top-aligned with it (bbox_to_anchor=(1.04, 1))
} ChartLegendPlace;

// The size a legend of these entries takes, for laying out room beside the axes.
void chart_legend_size(Chart *c, const ChartLegendEntry *e, int n, double font, double *w, double *h);

// ---- axes ---------------------------------------------------------------------------------------

enum { CHART_OCCUPANCY = 16 };

typedef struct {
    Chart *chart;
    ChartRect cell; // where the axes may draw, their labels and title included
    ChartRect box;  // the plot area, set by chart_axes_draw
    double x0, x1, y0, y1; // data limits
    bool x_integer;        // ticks on whole numbers only (epochs)
    double font;           // tick label size; titles and axis labels are drawn larger
    // Extent of the data given to chart_axes_include (finite points only).
    bool have_data;
    double dx0, dx1, dy0, dy1;
    // Which of CHART_OCCUPANCY x CHART_OCCUPANCY tiles of the plot area lines pass through, for
    // CHART_LEGEND_BEST (row r, bit c).
    uint16_t occupied[CHART_OCCUPANCY];
} ChartAxes;

void chart_axes_init(ChartAxes *ax, Chart *c, ChartRect cell, double font);
// Widens the data extent by the finite points among x[i], y[i].
void chart_axes_include(ChartAxes *ax, const double *x, const double *y, int n);
// Limits from the data extent with `margin` (a fraction of the range, matplotlib's 0.05) on each
// side; a flat extent gets a small range around its value, no data gets [0, 1].
void chart_axes_autoscale(ChartAxes *ax, double margin);
void chart_axes_set_limits(ChartAxes *ax, double x0, double x1, double y0, double y1);
// Lays out the plot area inside the cell and draws the frame, grid, ticks and their labels, the
// title above and the axis labels (each may be NULL). Lines come after this.
void chart_axes_draw(ChartAxes *ax, const char *title, const char *xlabel, const char *ylabel);
// A series in data coordinates, clipped to the plot area; a non-finite point breaks the line.
void chart_axes_line(ChartAxes *ax, const double *x, const double *y, int n, const ChartLine *style);
void chart_axes_legend(ChartAxes *ax, const ChartLegendEntry *e, int n, ChartLegendPlace place);

// Data to pixels in the axes' plot area.
double chart_axes_px(const ChartAxes *ax, double x);
double chart_axes_py(const ChartAxes *ax, double y);

// ---- ticks (exposed for the colour bar and the tests) -------------------------------------------

enum { CHART_MAX_TICKS = 24 };

// Round-numbered ticks (steps 1, 2, 2.5, 5 times a power of ten) inside [lo, hi], about `target`
// of them (at least 2 where the range allows); whole numbers only with `integer`. Returns the
// count written to ticks (at most CHART_MAX_TICKS) and the step in *step.
int chart_ticks(double lo, double hi, int target, bool integer, double *ticks, double *step);
// A tick label with the decimals the step needs ("0.25", "1e-05" for tiny or huge values).
void chart_tick_label(double value, double step, char *out, int cap);

// Prints a warning naming what could not be drawn and the pending error, and clears it: a plot
// that fails must not stop a training run.
void chart_warn(const char *what);

#endif
