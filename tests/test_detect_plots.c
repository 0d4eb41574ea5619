// The detect validation's plots: the confusion matrix on hand-made cases and against Ultralytics'
// ConfusionMatrix on the 20 images of tests/fixtures/detect-metrics.json, the curves of
// ap_per_class against the fixture's samples of them, and the PNG files drawn from both (sizes,
// the bold 'all classes' line, the heat map's cell colours).
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "plot/confusion_plot.h"
#include "plot/curves.h"
#include "fixture_weights.h"
#include "plot_check.h"
#include "scratch.h"
#include "tasks/detect/confusion.h"
#include "tasks/detect/plots.h"
#include "test.h"

static const char *FIXTURE = "tests/fixtures/detect-metrics.json";

static Detection det(float x1, float y1, float x2, float y2, float score, int cls) {
    return (Detection){{x1, y1, x2, y2}, score, cls, 0};
}

static double cell(const ConfusionMatrix *cm, int pred, int truth) { return cm->matrix[pred * (cm->nc + 1) + truth]; }

TEST(confusion_matrix_counts_a_hand_made_case) {
    ConfusionMatrix cm;
    EXPECT_OK(confusion_init(&cm, 2, 0.001f));
    EXPECT(cm.conf == 0.25f && cm.iou == 0.45f); // the val default conf is replaced by 0.25
    // Image 1: a hit; a detection of the wrong class on a label; a second detection on the first
    // label (the label keeps its best, so this one is a false positive); a detection on nothing;
    // one below the 0.25 threshold on the third label, which so counts as missed.
    const float gt1[] = {0, 0, 10, 10, 20, 20, 30, 30, 50, 50, 60, 60};
    const int cls1[] = {0, 1, 0};
    const Detection d1[] = {det(0, 0, 10, 10, 0.9f, 0), det(20, 20, 30, 30, 0.8f, 0), det(0, 0, 10, 11, 0.7f, 1),
                            det(80, 80, 90, 90, 0.95f, 1), det(50, 50, 60, 60, 0.2f, 0)};
    EXPECT_OK(confusion_add(&cm, d1, 5, gt1, cls1, 3));
    // Image 2: no labels: detections above the threshold are false positives; exactly 0.25 is not
    // above it.
    const Detection d2[] = {det(0, 0, 5, 5, 0.5f, 1), det(0, 0, 5, 5, 0.25f, 0)};
    EXPECT_OK(confusion_add(&cm, d2, 2, NULL, NULL, 0));
    // Image 3: a label and no detections.
    const float gt3[] = {0, 0, 8, 8};
    const int cls3[] = {1};
    EXPECT_OK(confusion_add(&cm, NULL, 0, gt3, cls3, 1));
    // Image 4: an overlap under the 0.45 IoU (1/3) matches nothing: a missed label and a false
    // positive.
    const float gt4[] = {0, 0, 10, 10};
    const int cls4[] = {0};
    const Detection d4[] = {det(5, 0, 15, 10, 0.9f, 0)};
    EXPECT_OK(confusion_add(&cm, d4, 1, gt4, cls4, 1));
    const double want[3][3] = {{1, 1, 1}, {0, 0, 3}, {2, 1, 0}};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            if (cell(&cm, i, j) != want[i][j])
                test_fail(__FILE__, __LINE__, "cell (pred %d, true %d) = %g, expected %g", i, j, cell(&cm, i, j), want[i][j]);
    EXPECT_FAILS_WITH(confusion_add(&cm, d1, 1, gt1, (const int[]){2}, 1), "label 0 has class 2, outside [0, 2)");
    confusion_reset(&cm);
    EXPECT(cell(&cm, 0, 0) == 0 && cell(&cm, 2, 0) == 0);
    confusion_free(&cm);
    // A conf given by the user is kept.
    EXPECT_OK(confusion_init(&cm, 1, 0.5f));
    EXPECT(cm.conf == 0.5f);
    confusion_free(&cm);
}

TEST(confusion_matrix_breaks_ties_as_numpy_orders_them) {
    ConfusionMatrix cm;
    EXPECT_OK(confusion_init(&cm, 2, 0.001f));
    // One detection exactly between two labels (IoU 95/105 with both): it takes the later label.
    const float gt[] = {100, 100, 110, 110, 101, 100, 111, 110};
    const int cls[] = {0, 1};
    const Detection d[] = {det(100.5f, 100, 110.5f, 110, 0.9f, 1)};
    EXPECT_OK(confusion_add(&cm, d, 1, gt, cls, 2));
    EXPECT(cell(&cm, 1, 1) == 1 && cell(&cm, 2, 0) == 1 && cell(&cm, 1, 2) == 0);
    confusion_reset(&cm);
    // Two detections equally good for one label: the later detection keeps it.
    const float gt2[] = {100, 100, 110, 110};
    const int cls2[] = {0};
    const Detection d2[] = {det(100.5f, 100, 110.5f, 110, 0.9f, 0), det(99.5f, 100, 109.5f, 110, 0.8f, 1)};
    EXPECT_OK(confusion_add(&cm, d2, 2, gt2, cls2, 1));
    EXPECT(cell(&cm, 1, 0) == 1 && cell(&cm, 0, 2) == 1 && cell(&cm, 0, 0) == 0);
    confusion_free(&cm);
}

static const cJSON *item(const cJSON *obj, const char *key) { return cJSON_GetObjectItemCaseSensitive(obj, key); }
static double at(const cJSON *array, int i) { return cJSON_GetNumberValue(cJSON_GetArrayItem(array, i)); }

// The fixture's images through DetMetrics and a ConfusionMatrix, as the validator feeds them.
static bool feed(const cJSON *mx, DetMetrics *m, ConfusionMatrix *cm) {
    const cJSON *image;
    cJSON_ArrayForEach(image, item(mx, "images")) {
        const cJSON *gt = item(image, "gt_boxes"), *gc = item(image, "gt_cls"), *dets = item(image, "dets");
        const int n_gt = cJSON_GetArraySize(gt), n_dets = cJSON_GetArraySize(dets);
        float boxes[64 * 4];
        int cls[64];
        Detection d[64];
        if (n_gt > 64 || n_dets > 64) {
            test_fail(__FILE__, __LINE__, "fixture image larger than this test's buffers");
            return false;
        }
        for (int g = 0; g < n_gt; g++) {
            for (int k = 0; k < 4; k++) boxes[4 * g + k] = (float)at(cJSON_GetArrayItem(gt, g), k);
            cls[g] = (int)at(gc, g);
        }
        for (int i = 0; i < n_dets; i++) {
            const cJSON *r = cJSON_GetArrayItem(dets, i);
            d[i] = det((float)at(r, 0), (float)at(r, 1), (float)at(r, 2), (float)at(r, 3), (float)at(r, 4), (int)at(r, 5));
        }
        if (det_metrics_add(m, d, n_dets, boxes, cls, n_gt) != 0 || confusion_add(cm, d, n_dets, boxes, cls, n_gt) != 0) {
            test_fail(__FILE__, __LINE__, "feeding the fixture: %s", yolo_error());
            yolo_error_clear();
            return false;
        }
    }
    return true;
}

typedef struct {
    cJSON *root;
    const cJSON *mx;
    DetMetrics *m;
    ConfusionMatrix cm;
    DetSummary s;
    bool ok;
} Fed;

static Fed fed_fixture(void) {
    Fed f = {0};
    f.root = fixture_json(FIXTURE);
    if (!f.root) return f;
    f.mx = item(f.root, "metrics");
    const int nc = (int)cJSON_GetNumberValue(item(f.mx, "nc"));
    f.m = det_metrics_create(nc);
    if (!f.m || confusion_init(&f.cm, nc, 0.001f) != 0) {
        test_fail(__FILE__, __LINE__, "%s", yolo_error());
        return f;
    }
    f.ok = feed(f.mx, f.m, &f.cm) && det_metrics_summarize(f.m, &f.s) == 0;
    return f;
}

static void fed_free(Fed *f) {
    if (f->ok) det_summary_free(&f->s);
    confusion_free(&f->cm);
    det_metrics_destroy(f->m);
    cJSON_Delete(f->root);
}

TEST(confusion_matrix_matches_ultralytics_on_the_fixture) {
    Fed f = fed_fixture();
    if (f.ok) {
        const cJSON *want = item(item(f.mx, "confusion"), "matrix");
        EXPECT(cJSON_GetArraySize(want) == f.cm.nc + 1);
        for (int i = 0; i <= f.cm.nc; i++)
            for (int j = 0; j <= f.cm.nc; j++) {
                const double w = at(cJSON_GetArrayItem(want, i), j);
                if (cell(&f.cm, i, j) != w)
                    test_fail(__FILE__, __LINE__, "cell (pred %d, true %d) = %g, Ultralytics %g", i, j, cell(&f.cm, i, j), w);
            }
    }
    fed_free(&f);
}

static void check_rows(const char *what, const cJSON *rows, const int *classes, int n, const double *curves, const cJSON *points) {
    for (int u = 0; u < n; u++)
        for (int k = 0; k < cJSON_GetArraySize(points); k++) {
            const int q = (int)at(points, k);
            const double got = curves[(size_t)classes[u] * DET_CURVE_POINTS + (size_t)q];
            const double want = at(cJSON_GetArrayItem(rows, u), k);
            if (!(fabs(got - want) <= 1e-9))
                test_fail(__FILE__, __LINE__, "%s of class %d at x[%d] = %.12g, Ultralytics %.12g", what, classes[u], q, got, want);
        }
}

TEST(detect_curves_match_ultralytics_ap_per_class) {
    Fed f = fed_fixture();
    if (f.ok) {
        const cJSON *c = item(f.mx, "curves"), *points = item(c, "points");
        int classes[16], n = cJSON_GetArraySize(item(c, "classes"));
        for (int u = 0; u < n && u < 16; u++) classes[u] = (int)at(item(c, "classes"), u);
        check_rows("P", item(c, "p"), classes, n, f.s.p_curve, points);
        check_rows("R", item(c, "r"), classes, n, f.s.r_curve, points);
        check_rows("F1", item(c, "f1"), classes, n, f.s.f1_curve, points);
        // prec_values: one row per class with labels and detections, in class order.
        int with_pr[16], n_pr = 0;
        for (int k = 0; k < f.s.nc; k++)
            if (f.s.has_pr[k]) with_pr[n_pr++] = k;
        EXPECT(n_pr == cJSON_GetArraySize(item(c, "prec_values")));
        check_rows("PR", item(c, "prec_values"), with_pr, n_pr, f.s.pr_curve, points);
        // The legends' 'all classes' value and where it is.
        double all[DET_CURVE_POINTS], best, x;
        const double *curves[3] = {f.s.f1_curve, f.s.p_curve, f.s.r_curve};
        const char *keys[3] = {"f1_all", "p_all", "r_all"};
        for (int i = 0; i < 3; i++) {
            detect_curve_all(&f.s, curves[i], all, &best, &x);
            EXPECT_NEAR(best, cJSON_GetNumberValue(item(item(c, keys[i]), "best")), 1e-9);
            EXPECT_NEAR(x, cJSON_GetNumberValue(item(item(c, keys[i]), "at")), 1e-12);
        }
    }
    fed_free(&f);
}

TEST(detect_plots_write_legible_curve_and_confusion_files) {
    char dir[256], path[512];
    Fed f = fed_fixture();
    if (!f.ok || !scratch_make(dir, sizeof dir, "detect-plots")) {
        fed_free(&f);
        return;
    }
    char *names[] = {"circle", "triangle", "square", "hexagon", "star"};
    EXPECT_OK(detect_plot_curves(dir, "", &f.s, names));
    EXPECT_OK(detect_plot_confusion(dir, &f.cm, names));
    static const char *curves[] = {"PR_curve.png", "F1_curve.png", "P_curve.png", "R_curve.png"};
    Image img;
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, curves[i]);
        if (!plot_check_png(path, CURVE_PLOT_W, CURVE_PLOT_H, &img)) continue;
        // The bold blue line across the plot, and the first class's thin line.
        const int blue = plot_check_count(&img, CHART_BLUE, 16);
        if (blue < 2000) test_fail(__FILE__, __LINE__, "%s: %d pixels of the bold line", curves[i], blue);
        EXPECT(plot_check_count(&img, CHART_TAB10[0], 16) > 100);
        EXPECT(plot_check_spread(&img) > 5.0);
        image_free(&img);
    }
    // Heat map cells: each count's colour from 'Blues' scaled to the largest value; zeros white.
    const char *labels[] = {"circle", "triangle", "square", "hexagon", "star", "background"};
    const int n = f.cm.nc + 1;
    ConfusionGeometry g;
    confusion_plot_geometry(n, labels, &g);
    for (int normalize = 0; normalize <= 1; normalize++) {
        snprintf(path, sizeof path, "%s/confusion_matrix%s.png", dir, normalize ? "_normalized" : "");
        if (!plot_check_png(path, g.width, g.height, &img)) continue;
        double v[36], vmax = 0.0;
        for (int j = 0; j < n; j++) {
            double sum = 0.0;
            for (int i = 0; i < n; i++) sum += cell(&f.cm, i, j);
            for (int i = 0; i < n; i++) {
                v[i * n + j] = normalize ? cell(&f.cm, i, j) / (sum + 1e-9) : cell(&f.cm, i, j);
                if (v[i * n + j] > vmax) vmax = v[i * n + j];
            }
        }
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                // A corner of the cell, clear of the number written in its middle.
                const double x = g.x + j * g.cell + 4.0, y = g.y + i * g.cell + 4.0;
                const ChartColor want = v[i * n + j] < 0.005 ? (ChartColor){1, 1, 1} : confusion_blues(v[i * n + j] / vmax);
                if (!plot_check_pixel(&img, x, y, want, 3))
                    test_fail(__FILE__, __LINE__, "%s: cell (%d, %d) is not the colour of %g", path, i, j, v[i * n + j]);
            }
        image_free(&img);
    }
    scratch_remove(dir);
    fed_free(&f);
}
