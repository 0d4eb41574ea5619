#include "plot/confusion_plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

static const ChartColor INK = {0.15, 0.15, 0.15};
static const double MARGIN = 20.0;

// ColorBrewer's 9-class Blues, the stops matplotlib interpolates.
static const ChartColor BLUES[9] = {
    {0.969, 0.984, 1.000}, {0.871, 0.922, 0.969}, {0.776, 0.859, 0.937}, {0.620, 0.792, 0.882}, {0.420, 0.682, 0.839},
    {0.259, 0.573, 0.776}, {0.129, 0.443, 0.710}, {0.031, 0.318, 0.612}, {0.031, 0.188, 0.420},
};

ChartColor confusion_blues(double t) {
    t = t < 0.0 ? 0.0 : t > 1.0 ? 1.0 : t;
    const double s = t * 8.0;
    const int i = s >= 8.0 ? 7 : (int)s;
    const double f = s - i;
    const ChartColor a = BLUES[i], b = BLUES[i + 1];
    return (ChartColor){a.r + f * (b.r - a.r), a.g + f * (b.g - a.g), a.b + f * (b.b - a.b)};
}

// seaborn's choice of annotation colour: dark text on light cells, white on dark ones, by the
// cell's relative luminance (WCAG).
static double luminance(ChartColor c) {
    double v[3] = {c.r, c.g, c.b};
    for (int k = 0; k < 3; k++) v[k] = v[k] <= 0.03928 ? v[k] / 12.92 : pow((v[k] + 0.055) / 1.055, 2.4);
    return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
}

typedef struct {
    double cell, side;            // one cell's side, the matrix's side
    double mx, my;                // the matrix's top-left corner
    ChartFont label, value, title, axis, bar;
    bool rotate_x;                // x labels reading upwards (too wide for a cell)
    double bar_x, bar_w;          // the colour bar
    int width, height;
} Layout;

// The layout depends on n and the labels' lengths only, not on the fonts installed: the figure
// has the same size on every machine. Text sizes are estimated generously (0.62 em per byte, a
// line 1.2 em high; DejaVu Sans averages about 0.55 em per character).
static double text_w(const char *s, const ChartFont *f) { return 0.62 * f->size * (double)strlen(s); }
static double line_h(const ChartFont *f) { return 1.2 * f->size; }

static void layout(int n, const char *const *labels, Layout *l) {
    // Cells large enough for "0.00" in a readable size with few classes, down to 18 px with many.
    l->cell = n <= 8 ? 110.0 : fmax(18.0, 880.0 / n);
    l->side = n * l->cell;
    l->label = (ChartFont){fmin(16.0, fmax(9.0, 0.55 * l->cell)), false, INK};
    l->value = (ChartFont){fmin(16.0, 0.3 * l->cell), false, INK};
    l->title = (ChartFont){22.0, false, INK};
    l->axis = (ChartFont){18.0, false, INK};
    l->bar = (ChartFont){14.0, false, INK};
    double label_w = 0.0;
    for (int i = 0; i < n; i++) label_w = fmax(label_w, text_w(labels[i], &l->label));
    l->rotate_x = label_w > 0.92 * l->cell;
    l->mx = ceil(MARGIN + 1.5 * line_h(&l->axis) + label_w + 10.0);
    l->my = ceil(MARGIN + 2.2 * line_h(&l->title));
    l->bar_w = fmin(30.0, fmax(18.0, 0.4 * l->cell));
    l->bar_x = l->mx + l->side + 24.0;
    const double bar_labels = text_w("0.00", &l->bar) + 8.0;
    l->width = (int)ceil(l->bar_x + l->bar_w + 8.0 + bar_labels + MARGIN);
    l->height = (int)ceil(l->my + l->side + 10.0 + (l->rotate_x ? label_w : line_h(&l->label)) + 12.0 + 1.3 * line_h(&l->axis) + MARGIN);
}

void confusion_plot_geometry(int n, const char *const *labels, ConfusionGeometry *g) {
    Layout l;
    layout(n, labels, &l);
    *g = (ConfusionGeometry){l.width, l.height, l.mx, l.my, l.cell};
}

static void draw_bar(Chart *c, const Layout *l, double vmax, bool integer) {
    cairo_t *cr = chart_cairo(c);
    const double top = l->my, h = l->side;
    enum { STEPS = 256 };
    for (int k = 0; k < STEPS; k++) {
        const ChartColor col = confusion_blues((k + 0.5) / STEPS);
        cairo_set_source_rgb(cr, col.r, col.g, col.b);
        // From the bottom (0) up (vmax); a pixel of overlap hides seams between steps.
        cairo_rectangle(cr, l->bar_x, top + h - (k + 1) * h / STEPS, l->bar_w, h / STEPS + 1.0);
        cairo_fill(cr);
    }
    double ticks[CHART_MAX_TICKS], step;
    // The top tick is shown when vmax is a hair under it (a normalised 1 is n / (n + 1e-9)).
    const int nt = chart_ticks(0.0, vmax * (1.0 + 1e-6), 6, integer, ticks, &step);
    char text[64];
    cairo_set_source_rgb(cr, INK.r, INK.g, INK.b);
    cairo_set_line_width(cr, 1.0);
    for (int i = 0; i < nt; i++) {
        const double y = floor(top + h - ticks[i] / vmax * h) + 0.5;
        cairo_move_to(cr, l->bar_x + l->bar_w, y);
        cairo_line_to(cr, l->bar_x + l->bar_w + 5.0, y);
        cairo_stroke(cr);
        chart_tick_label(ticks[i], step, text, sizeof text);
        chart_text(c, l->bar_x + l->bar_w + 8.0, y, text, &l->bar, 0.0, 0.5, 0.0);
        cairo_set_source_rgb(cr, INK.r, INK.g, INK.b);
    }
}

int confusion_plot(const char *path, const double *matrix, int n, const char *const *labels, bool normalize, bool annotate) {
    if (n < 1) return yolo_fail("confusion_plot: %d classes", n);
    double *v = malloc((size_t)n * (size_t)n * sizeof *v);
    mallocCheck(v);
    double vmax = 0.0;
    for (int j = 0; j < n; j++) {
        double sum = 0.0;
        for (int i = 0; i < n; i++) sum += matrix[i * n + j];
        for (int i = 0; i < n; i++) {
            double x = normalize ? matrix[i * n + j] / (sum + 1e-9) : matrix[i * n + j];
            v[i * n + j] = x < 0.005 ? NAN : x; // left blank, as 0.00 would be noise
            if (x >= 0.005 && x > vmax) vmax = x;
        }
    }
    if (vmax <= 0.0) vmax = 1.0;

    Layout l;
    layout(n, labels, &l);
    Chart *c = chart_create(l.width, l.height);
    if (!c) {
        free(v);
        return -1;
    }
    cairo_t *cr = chart_cairo(c);
    char text[64];
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            const double x = l.mx + j * l.cell, y = l.my + i * l.cell;
            const double val = v[i * n + j];
            if (isnan(val)) continue; // the white background shows
            const ChartColor col = confusion_blues(val / vmax);
            cairo_set_source_rgb(cr, col.r, col.g, col.b);
            // Rounded to whole pixels so neighbouring cells meet without hairlines.
            cairo_rectangle(cr, round(x), round(y), round(x + l.cell) - round(x), round(y + l.cell) - round(y));
            cairo_fill(cr);
            if (annotate) {
                snprintf(text, sizeof text, normalize ? "%.2f" : "%.0f", val);
                ChartFont f = l.value;
                f.color = luminance(col) > 0.408 ? INK : (ChartColor){1.0, 1.0, 1.0};
                chart_text(c, x + 0.5 * l.cell, y + 0.5 * l.cell, text, &f, 0.5, 0.5, 0.0);
            }
        }
    for (int i = 0; i < n; i++) {
        const double centre = l.mx + (i + 0.5) * l.cell;
        chart_text(c, l.mx - 8.0, l.my + (i + 0.5) * l.cell, labels[i], &l.label, 1.0, 0.5, 0.0);
        if (l.rotate_x) chart_text(c, centre, l.my + l.side + 8.0, labels[i], &l.label, 1.0, 0.5, 90.0);
        else chart_text(c, centre, l.my + l.side + 8.0, labels[i], &l.label, 0.5, 0.0, 0.0);
    }
    draw_bar(c, &l, vmax, !normalize);
    const char *title = normalize ? "Confusion Matrix Normalized" : "Confusion Matrix";
    chart_text(c, l.mx + 0.5 * l.side, MARGIN, title, &l.title, 0.5, 0.0, 0.0);
    chart_text(c, l.mx + 0.5 * l.side, l.height - MARGIN, "True", &l.axis, 0.5, 1.0, 0.0);
    chart_text(c, MARGIN, l.my + 0.5 * l.side, "Predicted", &l.axis, 0.5, 0.0, 90.0);
    free(v);
    int rc = chart_save_png(c, path);
    chart_destroy(c);
    return rc;
}
