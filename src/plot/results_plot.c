#include "plot/results_plot.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "plot/chart.h"

enum { MAX_CSV_COLUMNS = 64, NAME_CAP = 64 };

static const double CELL_W = RESULTS_CELL_W, CELL_H = RESULTS_CELL_H, MARGIN = RESULTS_MARGIN, FONT = 13.0;

typedef struct {
    int n_cols, n_rows, cap_rows;
    char names[MAX_CSV_COLUMNS][NAME_CAP];
    double *values[MAX_CSV_COLUMNS]; // values[column][row]
} Csv;

static void csv_free(Csv *t) {
    for (int j = 0; j < t->n_cols; j++) free(t->values[j]);
}

static char *trim(char *s) {
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) s[--n] = '\0';
    return s;
}

static int csv_add_row(Csv *t, const double *row) {
    if (t->n_rows == t->cap_rows) {
        const int cap = t->cap_rows ? 2 * t->cap_rows : 64;
        for (int j = 0; j < t->n_cols; j++) {
            double *v = realloc(t->values[j], (size_t)cap * sizeof *v);
            mallocCheck(v);
            t->values[j] = v;
        }
        t->cap_rows = cap;
    }
    for (int j = 0; j < t->n_cols; j++) t->values[j][t->n_rows] = row[j];
    t->n_rows++;
    return 0;
}

// The header and every complete row; a row with the wrong number of fields or a field that is
// not a number (a line cut short by a crash) is skipped rather than failing the plot.
static int csv_parse(char *text, const char *path, Csv *t) {
    char *save = NULL;
    char *line = strtok_r(text, "\n", &save);
    if (!line) return yolo_fail("%s is empty: no header to plot", path);
    char *field_save = NULL;
    for (char *f = strtok_r(line, ",", &field_save); f; f = strtok_r(NULL, ",", &field_save)) {
        if (t->n_cols == MAX_CSV_COLUMNS)
            return yolo_fail("%s has more than %d columns; results.png draws at most that many", path, MAX_CSV_COLUMNS);
        snprintf(t->names[t->n_cols++], NAME_CAP, "%s", trim(f));
    }
    double row[MAX_CSV_COLUMNS];
    while ((line = strtok_r(NULL, "\n", &save))) {
        int n = 0;
        bool ok = true;
        for (char *f = strtok_r(line, ",", &field_save); f; f = strtok_r(NULL, ",", &field_save)) {
            char *end;
            const double v = strtod(f, &end);
            if (end == f || *trim(end) != '\0' || n == t->n_cols) {
                ok = false;
                break;
            }
            row[n++] = v;
        }
        if (ok && n == t->n_cols) TRY(csv_add_row(t, row));
    }
    if (t->n_rows == 0) return yolo_fail("%s has no complete rows to plot", path);
    return 0;
}

static int csv_read(const char *path, Csv *t) {
    memset(t, 0, sizeof *t);
    FILE *f = fopen(path, "rb");
    if (!f) return yolo_fail("cannot read %s: %s", path, strerror(errno));
    size_t cap = 8192, len = 0;
    char *text = malloc(cap);
    for (;;) {
        if (!text) {
            fclose(f);
            return yolo_fail("out of memory reading %s", path);
        }
        len += fread(text + len, 1, cap - 1 - len, f);
        if (len < cap - 1) break;
        cap *= 2;
        char *grown = realloc(text, cap);
        if (!grown) free(text);
        text = grown;
    }
    const bool failed = ferror(f);
    fclose(f);
    text[len] = '\0';
    int rc = failed ? yolo_fail("cannot read %s: read error", path) : csv_parse(text, path, t);
    free(text);
    if (rc != 0) csv_free(t);
    return rc;
}

// scipy's 'reflect' extension (d c b a | a b c d | d c b a), repeated for series shorter than
// the kernel: the index i of the extended series in the original one.
static int reflect_index(long i, int n) {
    const long period = 2L * n;
    long m = i % period;
    if (m < 0) m += period;
    return (int)(m < n ? m : period - 1 - m);
}

void results_gaussian_smooth(const double *y, int n, double sigma, double *out) {
    enum { MAX_RADIUS = 64 };
    int radius = (int)(4.0 * sigma + 0.5);
    if (radius > MAX_RADIUS) radius = MAX_RADIUS;
    double w[MAX_RADIUS + 1], sum = 0.0;
    for (int k = -radius; k <= radius; k++) sum += exp(-0.5 / (sigma * sigma) * k * k);
    for (int k = 0; k <= radius; k++) w[k] = exp(-0.5 / (sigma * sigma) * k * k) / sum;
    for (int i = 0; i < n; i++) {
        // The symmetric kernel's sum as scipy's correlate1d forms it: the centre, then pairs.
        double s = y[i] * w[0];
        for (int k = 1; k <= radius; k++) s += (y[reflect_index((long)i + k, n)] + y[reflect_index((long)i - k, n)]) * w[k];
        out[i] = s;
    }
}

static bool contains(const char *s, const char *word) { return strstr(s, word) != NULL; }

int results_layout(const char *const *names, int n, int *rows, int *cols, int *cell) {
    int train[MAX_CSV_COLUMNS], val[MAX_CSV_COLUMNS], metric[MAX_CSV_COLUMNS];
    int nt = 0, nv = 0, nm = 0, n_pr = 0;
    for (int j = 1; j < n && j < MAX_CSV_COLUMNS; j++) {
        const char *s = names[j];
        if (!strcmp(s, "time") || !strncmp(s, "lr/", 3) || !strcmp(s, "epoch")) continue;
        if (!strncmp(s, "train/", 6)) train[nt++] = j;
        else if (!strncmp(s, "val/", 4)) val[nv++] = j;
        else {
            metric[nm++] = j;
            n_pr += contains(s, "precision") || contains(s, "recall");
        }
    }
    // Metrics split into precision / recall above and the rest (mAP) below when that is an even
    // split, as Ultralytics lays out detect and segment; otherwise first half above.
    int top[MAX_CSV_COLUMNS], bottom[MAX_CSV_COLUMNS], n_top = 0, n_bottom = 0;
    for (int i = 0; i < nt; i++) top[n_top++] = train[i];
    for (int i = 0; i < nv; i++) bottom[n_bottom++] = val[i];
    const bool by_kind = 2 * n_pr == nm;
    for (int i = 0; i < nm; i++) {
        const char *s = names[metric[i]];
        const bool above = by_kind ? contains(s, "precision") || contains(s, "recall") : i < (nm + 1) / 2;
        if (above) top[n_top++] = metric[i];
        else bottom[n_bottom++] = metric[i];
    }
    if (n_top == 0) { // a single row of whatever there is
        memcpy(top, bottom, (size_t)n_bottom * sizeof *top);
        n_top = n_bottom;
        n_bottom = 0;
    }
    *cols = n_top > n_bottom ? n_top : n_bottom;
    *rows = n_bottom > 0 ? 2 : n_top > 0 ? 1 : 0;
    for (int c = 0; c < *cols; c++) {
        cell[c] = c < n_top ? top[c] : -1;
        if (*rows == 2) cell[*cols + c] = c < n_bottom ? bottom[c] : -1;
    }
    return nt + nv + nm;
}

static int draw(const Csv *t, const char *csv_path, const char *png_path) {
    const char *names[MAX_CSV_COLUMNS];
    for (int j = 0; j < t->n_cols; j++) names[j] = t->names[j];
    int rows, cols, cell[2 * MAX_CSV_COLUMNS];
    const int n_drawn = results_layout(names, t->n_cols, &rows, &cols, cell);
    if (n_drawn == 0) return yolo_fail("%s has no loss or metric columns to plot", csv_path);
    Chart *c = chart_create((int)(cols * CELL_W + 2 * MARGIN), (int)(rows * CELL_H + 2 * MARGIN));
    double *smooth = malloc((size_t)t->n_rows * sizeof *smooth);
    if (!c || !smooth) {
        chart_destroy(c);
        free(smooth);
        return c ? yolo_fail("out of memory plotting %s", csv_path) : -1;
    }
    // x: the epoch column, the first one by Ultralytics' layout.
    const double *x = t->values[0];
    const ChartLine raw = {CHART_TAB10[0], 1.5, CHART_SOLID, 2.5};
    const ChartLine smoothed = {CHART_TAB10[1], 2.5, CHART_DOTTED, 0.0};
    int drawn = 0;
    for (int k = 0; k < rows * cols; k++) {
        const int j = cell[k];
        if (j < 0) continue;
        drawn++;
        const double *y = t->values[j];
        results_gaussian_smooth(y, t->n_rows, 3.0, smooth);
        ChartAxes ax;
        const ChartRect r = {MARGIN + (k % cols) * CELL_W, MARGIN + (k / cols) * CELL_H, CELL_W, CELL_H};
        chart_axes_init(&ax, c, r, FONT);
        ax.x_integer = true;
        chart_axes_include(&ax, x, y, t->n_rows);
        chart_axes_include(&ax, x, smooth, t->n_rows);
        chart_axes_autoscale(&ax, 0.05);
        chart_axes_draw(&ax, t->names[j], NULL, NULL);
        chart_axes_line(&ax, x, y, t->n_rows, &raw);
        chart_axes_line(&ax, x, smooth, t->n_rows, &smoothed);
        // One legend for the figure, in the second cell as Ultralytics places it.
        if (drawn == 2 || n_drawn == 1) {
            const ChartLegendEntry e[2] = {{"results", raw}, {"smooth", smoothed}};
            chart_axes_legend(&ax, e, 2, CHART_LEGEND_BEST);
        }
    }
    free(smooth);
    int rc = chart_save_png(c, png_path);
    chart_destroy(c);
    return rc;
}

int results_plot(const char *csv_path, const char *png_path) {
    Csv t;
    TRY(csv_read(csv_path, &t));
    int rc = draw(&t, csv_path, png_path);
    csv_free(&t);
    return rc;
}

int results_plot_dir(const char *run_dir) {
    char csv[4200], png[4200];
    snprintf(csv, sizeof csv, "%s/results.csv", run_dir);
    snprintf(png, sizeof png, "%s/results.png", run_dir);
    return results_plot(csv, png);
}
