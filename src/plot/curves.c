#include "plot/curves.h"

#include <stdlib.h>

#include "core/status.h"
#include "plot/chart.h"

// Ultralytics labels each class only up to 20 of them; more would bury the plot in its legend.
enum { MAX_LABELLED_ROWS = 20 };

static const double FONT = 17.0, MARGIN = 16.0;

int curve_plot(const char *path, const CurvePlot *p) {
    Chart *c = chart_create(CURVE_PLOT_W, CURVE_PLOT_H);
    if (!c) return -1;
    const bool labelled = p->n_rows > 0 && p->n_rows <= MAX_LABELLED_ROWS;
    const ChartLine bold = {CHART_BLUE, 4.0, CHART_SOLID, 0.0};
    ChartLegendEntry entries[MAX_LABELLED_ROWS + 1];
    int n = 0;
    for (int i = 0; labelled && i < p->n_rows; i++)
        entries[n++] = (ChartLegendEntry){p->labels[i], {CHART_TAB10[i % 10], 1.5, CHART_SOLID, 0.0}};
    entries[n++] = (ChartLegendEntry){p->all_label, bold};

    // The legend's width is taken from the figure before the axes are laid out beside it.
    double legend_w, legend_h;
    chart_legend_size(c, entries, n, FONT, &legend_w, &legend_h);
    const double room = legend_w + 0.06 * CURVE_PLOT_W;
    const double max_room = 0.45 * CURVE_PLOT_W;
    ChartAxes ax;
    const ChartRect cell = {MARGIN, MARGIN, CURVE_PLOT_W - 2 * MARGIN - (room < max_room ? room : max_room), CURVE_PLOT_H - 2 * MARGIN};
    chart_axes_init(&ax, c, cell, FONT);
    chart_axes_set_limits(&ax, 0.0, 1.0, 0.0, 1.0);
    chart_axes_draw(&ax, p->title, p->xlabel, p->ylabel);
    const ChartLine grey = {CHART_GREY, 1.0, CHART_SOLID, 0.0};
    for (int i = 0; i < p->n_rows; i++)
        chart_axes_line(&ax, p->x, p->rows[i], p->n_points, labelled ? &entries[i].line : &grey);
    chart_axes_line(&ax, p->x, p->all, p->n_points, &bold);
    chart_axes_legend(&ax, entries, n, CHART_LEGEND_OUTSIDE_RIGHT);
    int rc = chart_save_png(c, path);
    chart_destroy(c);
    return rc;
}
