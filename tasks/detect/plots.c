#include "tasks/detect/plots.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "plot/confusion_plot.h"
#include "plot/curves.h"

enum { NAME_CAP = 128 };

// Ultralytics writes the cell values while there are fewer than 30 classes.
enum { ANNOTATE_BELOW = 30 };

static double curve_x(int q) { return q == DET_CURVE_POINTS - 1 ? 1.0 : (double)q * (1.0 / (DET_CURVE_POINTS - 1)); }

void detect_curve_all(const DetSummary *s, const double *curves, double *all, double *best, double *at) {
    double mean[DET_CURVE_POINTS] = {0};
    int rows = 0;
    for (int c = 0; c < s->nc; c++) {
        if (s->instances[c] == 0) continue;
        for (int q = 0; q < DET_CURVE_POINTS; q++) mean[q] += curves[(size_t)c * DET_CURVE_POINTS + (size_t)q];
        rows++;
    }
    for (int q = 0; rows > 0 && q < DET_CURVE_POINTS; q++) mean[q] /= rows;
    det_curve_smooth(mean, all);
    int i = 0;
    for (int q = 1; q < DET_CURVE_POINTS; q++)
        if (all[q] > all[i]) i = q;
    *best = all[i];
    *at = curve_x(i);
}

void detect_pr_all(const DetSummary *s, double *all) {
    int rows = 0;
    memset(all, 0, DET_CURVE_POINTS * sizeof *all);
    for (int c = 0; c < s->nc; c++) {
        if (!s->has_pr[c]) continue;
        for (int q = 0; q < DET_CURVE_POINTS; q++) all[q] += s->pr_curve[(size_t)c * DET_CURVE_POINTS + (size_t)q];
        rows++;
    }
    for (int q = 0; rows > 0 && q < DET_CURVE_POINTS; q++) all[q] /= rows;
}

typedef struct {
    const double **rows;
    const char **labels;
    char (*text)[NAME_CAP];
    int n;
} Rows;

static int rows_alloc(Rows *r, int nc) {
    r->rows = malloc((size_t)nc * sizeof *r->rows);
    r->labels = malloc((size_t)nc * sizeof *r->labels);
    r->text = malloc((size_t)nc * sizeof *r->text);
    r->n = 0;
    if (!r->rows || !r->labels || !r->text) return yolo_fail("out of memory plotting the curves of %d classes", nc);
    return 0;
}

static void rows_free(Rows *r) {
    free(r->rows);
    free(r->labels);
    free(r->text);
}

static void class_name(char *const *names, int c, char *out) {
    if (names && names[c]) snprintf(out, NAME_CAP, "%s", names[c]);
    else snprintf(out, NAME_CAP, "class%d", c);
}

static int plot_pr(const char *dir, const char *prefix, const DetSummary *s, char *const *names, Rows *r, double *x, double *all) {
    r->n = 0;
    for (int c = 0; c < s->nc; c++) {
        if (!s->has_pr[c]) continue;
        class_name(names, c, r->text[r->n]);
        const size_t used = strlen(r->text[r->n]);
        snprintf(r->text[r->n] + used, NAME_CAP - used, " %.3f", s->ap50[c]);
        r->labels[r->n] = r->text[r->n];
        r->rows[r->n++] = s->pr_curve + (size_t)c * DET_CURVE_POINTS;
    }
    detect_pr_all(s, all);
    char label[64], path[4200];
    snprintf(label, sizeof label, "all classes %.3f mAP@0.5", s->map50);
    snprintf(path, sizeof path, "%s/%sPR_curve.png", dir, prefix);
    const CurvePlot p = {"Precision-Recall Curve", "Recall", "Precision", DET_CURVE_POINTS, x, r->n, r->rows, r->labels, all, label};
    return curve_plot(path, &p);
}

static int plot_mc(const char *dir, const char *prefix, const DetSummary *s, char *const *names, Rows *r, double *x,
                   double *all, const double *curves, const char *what, const char *file) {
    r->n = 0;
    for (int c = 0; c < s->nc; c++) {
        if (s->instances[c] == 0) continue;
        class_name(names, c, r->text[r->n]);
        r->labels[r->n] = r->text[r->n];
        r->rows[r->n++] = curves + (size_t)c * DET_CURVE_POINTS;
    }
    double best, at;
    detect_curve_all(s, curves, all, &best, &at);
    char label[64], title[64], path[4200];
    snprintf(label, sizeof label, "all classes %.2f at %.3f", best, at);
    snprintf(title, sizeof title, "%s-Confidence Curve", what);
    snprintf(path, sizeof path, "%s/%s%s", dir, prefix, file);
    const CurvePlot p = {title, "Confidence", what, DET_CURVE_POINTS, x, r->n, r->rows, r->labels, all, label};
    return curve_plot(path, &p);
}

int detect_plot_curves(const char *dir, const char *prefix, const DetSummary *s, char *const *names) {
    Rows r;
    double *x = malloc(2 * DET_CURVE_POINTS * sizeof *x);
    int rc = x ? rows_alloc(&r, s->nc) : yolo_fail("out of memory plotting the curves");
    if (rc == 0) {
        double *all = x + DET_CURVE_POINTS;
        for (int q = 0; q < DET_CURVE_POINTS; q++) x[q] = curve_x(q);
        rc = plot_pr(dir, prefix, s, names, &r, x, all);
        if (rc == 0) rc = plot_mc(dir, prefix, s, names, &r, x, all, s->f1_curve, "F1", "F1_curve.png");
        if (rc == 0) rc = plot_mc(dir, prefix, s, names, &r, x, all, s->p_curve, "Precision", "P_curve.png");
        if (rc == 0) rc = plot_mc(dir, prefix, s, names, &r, x, all, s->r_curve, "Recall", "R_curve.png");
    }
    if (x) rows_free(&r);
    free(x);
    return rc;
}

int task_plot_confusion(const char *dir, const double *matrix, int nc, bool background, char *const *names) {
    const int n = nc + background;
    char(*text)[NAME_CAP] = malloc((size_t)n * sizeof *text);
    const char **labels = malloc((size_t)n * sizeof *labels);
    int rc = text && labels ? 0 : yolo_fail("out of memory plotting a confusion matrix of %d classes", nc);
    for (int c = 0; rc == 0 && c < n; c++) {
        if (c < nc) class_name(names, c, text[c]);
        else snprintf(text[c], NAME_CAP, "background");
        labels[c] = text[c];
    }
    char path[4200];
    for (int normalize = 1; rc == 0 && normalize >= 0; normalize--) {
        snprintf(path, sizeof path, "%s/confusion_matrix%s.png", dir, normalize ? "_normalized" : "");
        rc = confusion_plot(path, matrix, n, labels, normalize, nc < ANNOTATE_BELOW);
    }
    free(text);
    free(labels);
    return rc;
}

int detect_plot_confusion(const char *dir, const ConfusionMatrix *cm, char *const *names) {
    return task_plot_confusion(dir, cm->matrix, cm->nc, true, names);
}
