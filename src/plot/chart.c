#include "plot/chart.h"

#include <fontconfig/fontconfig.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "io/atomic_file.h"
#include "plot/png_encode.h"

const ChartColor CHART_TAB10[10] = {
    {0.122, 0.467, 0.706}, {1.000, 0.498, 0.055}, {0.173, 0.627, 0.173}, {0.839, 0.153, 0.157},
    {0.580, 0.404, 0.741}, {0.549, 0.337, 0.294}, {0.890, 0.467, 0.761}, {0.498, 0.498, 0.498},
    {0.737, 0.741, 0.133}, {0.090, 0.745, 0.812},
};
const ChartColor CHART_BLACK = {0.0, 0.0, 0.0};
const ChartColor CHART_GREY = {0.5, 0.5, 0.5};
const ChartColor CHART_BLUE = {0.0, 0.0, 1.0};

// Frame, tick and text colours: near black reads softer than pure black at small sizes.
static const ChartColor INK = {0.15, 0.15, 0.15};
static const ChartColor GRID = {0.90, 0.90, 0.90};

struct Chart {
    int w, h;
    cairo_surface_t *surface;
    cairo_t *cr;
};

// cairo's font map and fontconfig's configuration live until the process ends; handing them back
// at exit keeps leak checkers (the ASan test build) quiet about memory that is not lost.
static void release_fonts(void) {
    cairo_debug_reset_static_data();
    FcFini();
}

static void register_release(void) { atexit(release_fonts); }

Chart *chart_create(int width, int height) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_release);
    if (width < 16 || height < 16 || width > 16384 || height > 16384) {
        yolo_fail("chart size %dx%d is outside 16..16384 pixels", width, height);
        return NULL;
    }
    Chart *c = calloc(1, sizeof *c);
    if (!c) {
        yolo_fail("out of memory for a %dx%d chart", width, height);
        return NULL;
    }
    c->w = width;
    c->h = height;
    c->surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
    c->cr = cairo_create(c->surface);
    if (cairo_status(c->cr) != CAIRO_STATUS_SUCCESS) {
        yolo_fail("cairo cannot make a %dx%d image: %s", width, height, cairo_status_to_string(cairo_status(c->cr)));
        chart_destroy(c);
        return NULL;
    }
    // Grey-level antialiasing (sub-pixel colour fringes would be baked into the PNG) and no hinting:
    // text keeps its shapes at any size.
    cairo_font_options_t *fo = cairo_font_options_create();
    cairo_font_options_set_antialias(fo, CAIRO_ANTIALIAS_GRAY);
    cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
    cairo_set_font_options(c->cr, fo);
    cairo_font_options_destroy(fo);
    cairo_set_source_rgb(c->cr, 1.0, 1.0, 1.0);
    cairo_paint(c->cr);
    return c;
}

void chart_destroy(Chart *c) {
    if (!c) return;
    if (c->cr) cairo_destroy(c->cr);
    if (c->surface) cairo_surface_destroy(c->surface);
    free(c);
}

int chart_width(const Chart *c) { return c->w; }
int chart_height(const Chart *c) { return c->h; }
cairo_t *chart_cairo(Chart *c) { return c->cr; }

int chart_save_png(Chart *c, const char *path) {
    cairo_surface_flush(c->surface);
    unsigned char *png;
    size_t size;
    TRY(png_encode_rgb24(cairo_image_surface_get_data(c->surface), c->w, c->h, cairo_image_surface_get_stride(c->surface),
                         path, &png, &size));
    int rc = atomic_write(path, png, size, NULL);
    free(png);
    return rc;
}

// ---- text ---------------------------------------------------------------------------------------

static void use_font(Chart *c, const ChartFont *f) {
    cairo_select_font_face(c->cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                           f->bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(c->cr, f->size);
}

double chart_text_width(Chart *c, const char *text, const ChartFont *f) {
    use_font(c, f);
    cairo_text_extents_t e;
    cairo_text_extents(c->cr, text, &e);
    return e.x_advance;
}

double chart_text_height(Chart *c, const ChartFont *f) {
    use_font(c, f);
    cairo_font_extents_t fe;
    cairo_font_extents(c->cr, &fe);
    return fe.ascent + fe.descent;
}

void chart_text(Chart *c, double x, double y, const char *text, const ChartFont *f, double ha, double va, double angle_deg) {
    cairo_t *cr = c->cr;
    use_font(c, f);
    cairo_font_extents_t fe;
    cairo_font_extents(cr, &fe);
    cairo_text_extents_t te;
    cairo_text_extents(cr, text, &te);
    cairo_save(cr);
    cairo_translate(cr, x, y);
    // cairo's y points down, so a positive (clockwise) cairo angle is a negative reading angle.
    cairo_rotate(cr, -angle_deg * M_PI / 180.0);
    cairo_move_to(cr, -ha * te.x_advance, -va * (fe.ascent + fe.descent) + fe.ascent);
    cairo_set_source_rgb(cr, f->color.r, f->color.g, f->color.b);
    cairo_show_text(cr, text);
    cairo_restore(cr);
}

// ---- ticks --------------------------------------------------------------------------------------

int chart_ticks(double lo, double hi, int target, bool integer, double *ticks, double *step_out) {
    if (!(hi > lo) || !isfinite(lo) || !isfinite(hi)) {
        ticks[0] = isfinite(lo) ? lo : 0.0;
        *step_out = 1.0;
        return 1;
    }
    if (target < 2) target = 2;
    const double raw = (hi - lo) / target;
    const double mag = pow(10.0, floor(log10(raw)));
    static const double nice[] = {1.0, 2.0, 2.5, 5.0, 10.0};
    double step = 10.0 * mag;
    for (int i = 0; i < 5; i++)
        if (nice[i] * mag >= raw * (1.0 - 1e-9)) {
            step = nice[i] * mag;
            break;
        }
    if (integer) step = step < 1.0 ? 1.0 : ceil(step - 1e-9);
    // Never more than CHART_MAX_TICKS: a wider step if the range would need more.
    while ((hi - lo) / step > CHART_MAX_TICKS - 1) step *= 2.0;
    const double first = ceil(lo / step - 1e-9);
    int n = 0;
    for (double k = first; n < CHART_MAX_TICKS; k += 1.0) {
        double t = k * step;
        if (t > hi + 1e-9 * step) break;
        if (fabs(t) < 1e-9 * step) t = 0.0; // no "-0"
        ticks[n++] = t;
    }
    *step_out = step;
    return n;
}

void chart_tick_label(double value, double step, char *out, int cap) {
    if (fabs(value) < 1e-9 * step) value = 0.0;
    if (step < 1e-4 || fabs(value) >= 1e6) {
        // Exponent form with the digits that tell neighbouring ticks apart (a validation loss of
        // 7.38e-05 varying in its fourth digit).
        int digits = value == 0.0 ? 1 : (int)(floor(log10(fabs(value))) - floor(log10(step))) + 1;
        digits = digits < 1 ? 1 : digits > 12 ? 12 : digits;
        snprintf(out, (size_t)cap, "%.*g", digits, value);
        return;
    }
    int d = 0;
    for (double s = step; d < 8; d++, s *= 10.0)
        if (fabs(s - nearbyint(s)) < 1e-6 * fmax(1.0, s)) break;
    snprintf(out, (size_t)cap, "%.*f", d, value);
}

// ---- axes ---------------------------------------------------------------------------------------

void chart_axes_init(ChartAxes *ax, Chart *c, ChartRect cell, double font) {
    memset(ax, 0, sizeof *ax);
    ax->chart = c;
    ax->cell = cell;
    ax->box = cell;
    ax->font = font;
    ax->x1 = ax->y1 = 1.0;
}

void chart_axes_include(ChartAxes *ax, const double *x, const double *y, int n) {
    for (int i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i])) continue;
        if (!ax->have_data) {
            ax->dx0 = ax->dx1 = x[i];
            ax->dy0 = ax->dy1 = y[i];
            ax->have_data = true;
            continue;
        }
        ax->dx0 = fmin(ax->dx0, x[i]);
        ax->dx1 = fmax(ax->dx1, x[i]);
        ax->dy0 = fmin(ax->dy0, y[i]);
        ax->dy1 = fmax(ax->dy1, y[i]);
    }
}

static void padded_range(double lo, double hi, double margin, double *out_lo, double *out_hi) {
    if (hi - lo <= 1e-12 * fmax(1.0, fmax(fabs(lo), fabs(hi)))) {
        // One value (a one-epoch run, a constant column): a small range centred on it.
        const double half = lo != 0.0 ? 0.05 * fabs(lo) : 0.05;
        lo -= half;
        hi += half;
        margin = 0.0;
    }
    const double pad = margin * (hi - lo);
    *out_lo = lo - pad;
    *out_hi = hi + pad;
}

void chart_axes_autoscale(ChartAxes *ax, double margin) {
    if (!ax->have_data) {
        chart_axes_set_limits(ax, 0.0, 1.0, 0.0, 1.0);
        return;
    }
    padded_range(ax->dx0, ax->dx1, margin, &ax->x0, &ax->x1);
    padded_range(ax->dy0, ax->dy1, margin, &ax->y0, &ax->y1);
}

void chart_axes_set_limits(ChartAxes *ax, double x0, double x1, double y0, double y1) {
    ax->x0 = x0;
    ax->x1 = x1;
    ax->y0 = y0;
    ax->y1 = y1;
}

double chart_axes_px(const ChartAxes *ax, double x) { return ax->box.x + (x - ax->x0) / (ax->x1 - ax->x0) * ax->box.w; }
double chart_axes_py(const ChartAxes *ax, double y) { return ax->box.y + ax->box.h - (y - ax->y0) / (ax->y1 - ax->y0) * ax->box.h; }

// The centre of the pixel a 1-pixel line at v covers, so frames and grid lines stay crisp.
static double crisp(double v) { return floor(v) + 0.5; }

static int tick_target(double pixels, double spacing) {
    int n = (int)(pixels / spacing);
    return n < 3 ? 3 : n > 9 ? 9 : n;
}

void chart_axes_draw(ChartAxes *ax, const char *title, const char *xlabel, const char *ylabel) {
    Chart *c = ax->chart;
    cairo_t *cr = c->cr;
    const ChartFont tick_font = {ax->font, false, INK};
    const ChartFont title_font = {ax->font * 1.25, false, INK};
    const ChartFont label_font = {ax->font * 1.15, false, INK};
    const double pad = 0.5 * ax->font, tick_len = 0.4 * ax->font;
    const double tick_h = chart_text_height(c, &tick_font);
    const double label_h = chart_text_height(c, &label_font);
    const double top = ax->cell.y + (title ? 1.7 * chart_text_height(c, &title_font) : pad + 0.5 * tick_h);
    const double bottom = ax->cell.y + ax->cell.h - pad - (xlabel ? 1.3 * label_h : 0.0) - tick_h - tick_len - 0.3 * pad;

    double yt[CHART_MAX_TICKS], xt[CHART_MAX_TICKS], ystep, xstep;
    const int ny = chart_ticks(ax->y0, ax->y1, tick_target(bottom - top, 3.2 * tick_h), false, yt, &ystep);
    char text[64];
    double ylab_w = 0.0;
    for (int i = 0; i < ny; i++) {
        chart_tick_label(yt[i], ystep, text, sizeof text);
        ylab_w = fmax(ylab_w, chart_text_width(c, text, &tick_font));
    }
    const double left = ax->cell.x + pad + (ylabel ? 1.4 * label_h : 0.0) + ylab_w + tick_len + 0.4 * pad;
    // Room on the right for half of a last x label centred on the frame's edge.
    double right = ax->cell.x + ax->cell.w - pad;
    // x labels need their width plus a gap: measured on the wider end of the range at a fine step.
    chart_tick_label(fabs(ax->x0) > fabs(ax->x1) ? ax->x0 : ax->x1, ax->x_integer ? 1.0 : (ax->x1 - ax->x0) / 10.0, text,
                     sizeof text);
    const double x_spacing = fmax(3.2 * tick_h, chart_text_width(c, text, &tick_font) + 2.0 * ax->font);
    const int nx = chart_ticks(ax->x0, ax->x1, tick_target(right - left, x_spacing), ax->x_integer, xt, &xstep);
    if (nx > 0) {
        chart_tick_label(xt[nx - 1], xstep, text, sizeof text);
        right = fmin(right, ax->cell.x + ax->cell.w - 0.6 * chart_text_width(c, text, &tick_font));
    }
    ax->box = (ChartRect){left, top, fmax(right - left, 8.0), fmax(bottom - top, 8.0)};
    const ChartRect b = ax->box;

    cairo_save(cr);
    cairo_set_line_width(cr, 1.0);
    cairo_set_source_rgb(cr, GRID.r, GRID.g, GRID.b);
    for (int i = 0; i < nx; i++) {
        const double px = crisp(chart_axes_px(ax, xt[i]));
        cairo_move_to(cr, px, b.y);
        cairo_line_to(cr, px, b.y + b.h);
    }
    for (int i = 0; i < ny; i++) {
        const double py = crisp(chart_axes_py(ax, yt[i]));
        cairo_move_to(cr, b.x, py);
        cairo_line_to(cr, b.x + b.w, py);
    }
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, INK.r, INK.g, INK.b);
    cairo_rectangle(cr, crisp(b.x), crisp(b.y), floor(b.w), floor(b.h));
    for (int i = 0; i < nx; i++) {
        const double px = crisp(chart_axes_px(ax, xt[i]));
        cairo_move_to(cr, px, crisp(b.y + b.h));
        cairo_line_to(cr, px, crisp(b.y + b.h) + tick_len);
    }
    for (int i = 0; i < ny; i++) {
        const double py = crisp(chart_axes_py(ax, yt[i]));
        cairo_move_to(cr, crisp(b.x), py);
        cairo_line_to(cr, crisp(b.x) - tick_len, py);
    }
    cairo_stroke(cr);
    cairo_restore(cr);

    for (int i = 0; i < nx; i++) {
        chart_tick_label(xt[i], xstep, text, sizeof text);
        chart_text(c, chart_axes_px(ax, xt[i]), b.y + b.h + tick_len + 0.2 * pad, text, &tick_font, 0.5, 0.0, 0.0);
    }
    for (int i = 0; i < ny; i++) {
        chart_tick_label(yt[i], ystep, text, sizeof text);
        chart_text(c, b.x - tick_len - 0.3 * pad, chart_axes_py(ax, yt[i]), text, &tick_font, 1.0, 0.5, 0.0);
    }
    if (title) chart_text(c, b.x + 0.5 * b.w, b.y - 0.35 * chart_text_height(c, &title_font), title, &title_font, 0.5, 1.0, 0.0);
    if (xlabel) chart_text(c, b.x + 0.5 * b.w, ax->cell.y + ax->cell.h - pad, xlabel, &label_font, 0.5, 1.0, 0.0);
    if (ylabel) chart_text(c, ax->cell.x + pad, b.y + 0.5 * b.h, ylabel, &label_font, 0.5, 0.0, 90.0);
}

static void set_line_style(cairo_t *cr, const ChartLine *s) {
    cairo_set_source_rgb(cr, s->color.r, s->color.g, s->color.b);
    cairo_set_line_width(cr, s->width);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    // matplotlib's dash patterns, scaled by the line width.
    if (s->dash == CHART_DOTTED) {
        const double d[2] = {1.0 * s->width, 1.65 * s->width};
        cairo_set_dash(cr, d, 2, 0.0);
        cairo_set_line_cap(cr, CAIRO_LINE_CAP_BUTT);
    } else if (s->dash == CHART_DASHED) {
        const double d[2] = {3.7 * s->width, 1.6 * s->width};
        cairo_set_dash(cr, d, 2, 0.0);
        cairo_set_line_cap(cr, CAIRO_LINE_CAP_BUTT);
    } else {
        cairo_set_dash(cr, NULL, 0, 0.0);
        cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    }
}

static void mark_tile(ChartAxes *ax, double px, double py) {
    const ChartRect b = ax->box;
    if (px < b.x || px > b.x + b.w || py < b.y || py > b.y + b.h) return;
    int col = (int)((px - b.x) / b.w * CHART_OCCUPANCY), row = (int)((py - b.y) / b.h * CHART_OCCUPANCY);
    col = col >= CHART_OCCUPANCY ? CHART_OCCUPANCY - 1 : col;
    row = row >= CHART_OCCUPANCY ? CHART_OCCUPANCY - 1 : row;
    ax->occupied[row] |= (uint16_t)(1u << col);
}

// Marks the tiles a segment crosses, sampled at a quarter tile.
static void mark_segment(ChartAxes *ax, double x0, double y0, double x1, double y1) {
    const double tile = fmin(ax->box.w, ax->box.h) / CHART_OCCUPANCY;
    const double len = hypot(x1 - x0, y1 - y0);
    int steps = (int)(len / (0.25 * tile)) + 1;
    if (steps > 4096) steps = 4096;
    for (int k = 0; k <= steps; k++) {
        const double t = (double)k / steps;
        mark_tile(ax, x0 + t * (x1 - x0), y0 + t * (y1 - y0));
    }
}

void chart_axes_line(ChartAxes *ax, const double *x, const double *y, int n, const ChartLine *style) {
    cairo_t *cr = ax->chart->cr;
    const ChartRect b = ax->box;
    const double grow = style->width + style->marker;
    cairo_save(cr);
    // Clipped to the plot area, widened so a line along an edge (precision 1.0) shows whole.
    cairo_rectangle(cr, b.x - grow, b.y - grow, b.w + 2 * grow, b.h + 2 * grow);
    cairo_clip(cr);
    set_line_style(cr, style);
    bool pen = false;
    double lx = 0.0, ly = 0.0;
    for (int i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i])) {
            pen = false;
            continue;
        }
        const double px = chart_axes_px(ax, x[i]), py = chart_axes_py(ax, y[i]);
        if (pen) {
            cairo_line_to(cr, px, py);
            mark_segment(ax, lx, ly, px, py);
        } else {
            cairo_move_to(cr, px, py);
            mark_tile(ax, px, py);
        }
        pen = true;
        lx = px;
        ly = py;
    }
    if (style->width > 0.0) cairo_stroke(cr);
    cairo_new_path(cr);
    if (style->marker > 0.0) {
        for (int i = 0; i < n; i++) {
            if (!isfinite(x[i]) || !isfinite(y[i])) continue;
            cairo_new_sub_path(cr);
            cairo_arc(cr, chart_axes_px(ax, x[i]), chart_axes_py(ax, y[i]), style->marker, 0.0, 2.0 * M_PI);
        }
        cairo_fill(cr);
    }
    cairo_restore(cr);
}

// ---- legends ------------------------------------------------------------------------------------

typedef struct {
    double pad, handle, gap, row;
} LegendMetrics;

static LegendMetrics legend_metrics(double font) {
    return (LegendMetrics){.pad = 0.6 * font, .handle = 2.2 * font, .gap = 0.6 * font, .row = 1.45 * font};
}

void chart_legend_size(Chart *c, const ChartLegendEntry *e, int n, double font, double *w, double *h) {
    const LegendMetrics m = legend_metrics(font);
    const ChartFont f = {font, false, INK};
    double text_w = 0.0;
    for (int i = 0; i < n; i++) text_w = fmax(text_w, chart_text_width(c, e[i].label, &f));
    *w = 2 * m.pad + m.handle + m.gap + text_w;
    *h = 2 * m.pad + n * m.row - (n > 0 ? 0.25 * font : 0.0);
}

static int occupied_in(const ChartAxes *ax, ChartRect r) {
    const ChartRect b = ax->box;
    int count = 0;
    for (int row = 0; row < CHART_OCCUPANCY; row++)
        for (int col = 0; col < CHART_OCCUPANCY; col++) {
            const double tx = b.x + col * b.w / CHART_OCCUPANCY, ty = b.y + row * b.h / CHART_OCCUPANCY;
            const double tw = b.w / CHART_OCCUPANCY, th = b.h / CHART_OCCUPANCY;
            const bool overlaps = tx < r.x + r.w && tx + tw > r.x && ty < r.y + r.h && ty + th > r.y;
            if (overlaps && (ax->occupied[row] >> col & 1u)) count++;
        }
    return count;
}

void chart_axes_legend(ChartAxes *ax, const ChartLegendEntry *e, int n, ChartLegendPlace place) {
    if (n <= 0) return;
    Chart *c = ax->chart;
    cairo_t *cr = c->cr;
    const double font = ax->font;
    const LegendMetrics m = legend_metrics(font);
    double w, h;
    chart_legend_size(c, e, n, font, &w, &h);
    const ChartRect b = ax->box;
    const double inset = 0.5 * font;
    ChartRect r = {b.x + b.w - inset - w, b.y + inset, w, h};
    if (place == CHART_LEGEND_OUTSIDE_RIGHT) {
        r.x = b.x + b.w + 0.04 * b.w;
        r.y = b.y;
    } else if (place == CHART_LEGEND_BEST) {
        // matplotlib's order of preference among equally good places.
        const ChartRect corners[4] = {
            r,
            {b.x + inset, b.y + inset, w, h},
            {b.x + inset, b.y + b.h - inset - h, w, h},
            {b.x + b.w - inset - w, b.y + b.h - inset - h, w, h},
        };
        int best = 0, best_count = occupied_in(ax, corners[0]);
        for (int k = 1; k < 4; k++) {
            const int count = occupied_in(ax, corners[k]);
            if (count < best_count) best = k, best_count = count;
        }
        r = corners[best];
    }
    cairo_save(cr);
    const double radius = 0.3 * font;
    cairo_new_sub_path(cr);
    cairo_arc(cr, r.x + r.w - radius, r.y + radius, radius, -M_PI / 2, 0);
    cairo_arc(cr, r.x + r.w - radius, r.y + r.h - radius, radius, 0, M_PI / 2);
    cairo_arc(cr, r.x + radius, r.y + r.h - radius, radius, M_PI / 2, M_PI);
    cairo_arc(cr, r.x + radius, r.y + radius, radius, M_PI, 1.5 * M_PI);
    cairo_close_path(cr);
    cairo_set_source_rgba(cr, 1.0, 1.0, 1.0, 0.85);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, 0.8, 0.8, 0.8);
    cairo_set_line_width(cr, 1.0);
    cairo_stroke(cr);
    const ChartFont f = {font, false, INK};
    for (int i = 0; i < n; i++) {
        const double cy = r.y + m.pad + (i + 0.5) * m.row - 0.125 * font;
        ChartLine s = e[i].line;
        set_line_style(cr, &s);
        cairo_move_to(cr, r.x + m.pad, cy);
        cairo_line_to(cr, r.x + m.pad + m.handle, cy);
        if (s.width > 0.0) cairo_stroke(cr);
        cairo_new_path(cr);
        if (s.marker > 0.0) {
            cairo_arc(cr, r.x + m.pad + 0.5 * m.handle, cy, s.marker, 0.0, 2.0 * M_PI);
            cairo_fill(cr);
        }
        chart_text(c, r.x + m.pad + m.handle + m.gap, cy, e[i].label, &f, 0.0, 0.5, 0.0);
    }
    cairo_restore(cr);
}

void chart_warn(const char *what) {
    fprintf(stderr, "WARNING: %s not drawn: %s\n", what, yolo_error());
    yolo_error_clear();
}
