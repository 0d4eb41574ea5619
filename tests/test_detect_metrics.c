// NMS and the detection metrics against Ultralytics itself. tests/fixtures/detect-metrics.json was
// written by scripts/reference/make_metric_fixtures.py: raw decoded predictions with
// ops.non_max_suppression's outputs for several option sets, and 20 images of labels and
// detections with DetectionValidator's per-image TP matrices and its final metrics. NMS outputs
// and TP matrices must agree exactly; AP, P, R and the means to 1e-6.
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

#include "tasks/detect/metrics.h"
#include "fixture_weights.h"
#include "test.h"

static const char *FIXTURE = "tests/fixtures/detect-metrics.json";
static const double METRIC_TOL = 1e-6;

static double num(const cJSON *obj, const char *key) { return cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(obj, key)); }
static const cJSON *item(const cJSON *obj, const char *key) { return cJSON_GetObjectItemCaseSensitive(obj, key); }
static double at(const cJSON *array, int i) { return cJSON_GetNumberValue(cJSON_GetArrayItem(array, i)); }

// ---- NMS --------------------------------------------------------------------------------------

static void check_nms_case(const cJSON *nms_fx, const cJSON *c, int case_index) {
    const int nc = (int)num(nms_fx, "nc"), anchors = (int)num(nms_fx, "anchors");
    const cJSON *image = cJSON_GetArrayItem(item(nms_fx, "images"), (int)num(c, "image"));
    const int n_values = anchors * (4 + nc);
    float *decoded = malloc((size_t)n_values * sizeof *decoded);
    int classes[8], n_classes = 0;
    const cJSON *cls_filter = item(c, "classes");
    if (cJSON_IsArray(cls_filter)) {
        n_classes = cJSON_GetArraySize(cls_filter);
        for (int i = 0; i < n_classes && i < 8; i++) classes[i] = (int)at(cls_filter, i);
    }
    const NmsOptions opt = {
        .conf = (float)num(c, "conf"),
        .iou = num(c, "iou"),
        .max_det = (int)num(c, "max_det"),
        .max_nms = (int)num(c, "max_nms"),
        .multi_label = cJSON_IsTrue(item(c, "multi_label")),
        .agnostic = cJSON_IsTrue(item(c, "agnostic")),
        .classes = cJSON_IsArray(cls_filter) ? classes : NULL,
        .n_classes = n_classes,
    };
    void *scratch = malloc(nms_scratch_bytes(anchors, nc));
    Detection *out = malloc((size_t)opt.max_det * sizeof *out);
    EXPECT(cJSON_GetArraySize(image) == n_values);
    EXPECT(n_classes <= 8);
    if (decoded && scratch && out && cJSON_GetArraySize(image) == n_values) {
        for (int i = 0; i < n_values; i++) decoded[i] = (float)at(image, i);
        const cJSON *expected = item(c, "out");
        const int n = nms(decoded, anchors, nc, &opt, scratch, out);
        if (n != cJSON_GetArraySize(expected))
            test_fail(__FILE__, __LINE__, "case %d: %d detections, Ultralytics %d", case_index, n, cJSON_GetArraySize(expected));
        for (int i = 0; i < n && i < cJSON_GetArraySize(expected); i++) {
            const cJSON *row = cJSON_GetArrayItem(expected, i);
            const Detection *d = &out[i];
            const bool same = d->box[0] == (float)at(row, 0) && d->box[1] == (float)at(row, 1) && d->box[2] == (float)at(row, 2) &&
                              d->box[3] == (float)at(row, 3) && d->score == (float)at(row, 4) && d->cls == (int)at(row, 5) &&
                              d->anchor == (int)at(row, 6);
            if (!same) {
                test_fail(__FILE__, __LINE__, "case %d row %d: ours anchor %d class %d score %.9g, Ultralytics anchor %d class %d score %.9g",
                          case_index, i, d->anchor, d->cls, (double)d->score, (int)at(row, 6), (int)at(row, 5), at(row, 4));
                break;
            }
        }
    }
    free(decoded);
    free(scratch);
    free(out);
}

TEST(detect_metrics_nms_matches_ultralytics) {
    cJSON *root = fixture_json(FIXTURE);
    if (!root) return;
    const cJSON *nms_fx = item(root, "nms");
    const cJSON *cases = item(nms_fx, "cases");
    EXPECT(cJSON_GetArraySize(cases) >= 6);
    for (int i = 0; i < cJSON_GetArraySize(cases); i++) check_nms_case(nms_fx, cJSON_GetArrayItem(cases, i), i);
    cJSON_Delete(root);
}

TEST(detect_metrics_nms_edge_cases) {
    // Two anchors, two classes. Anchor 1 sits on anchor 0 with a lower score: class-aware it
    // survives under class 1, agnostic it is suppressed.
    const float decoded[2][6] = {{50, 50, 20, 20, 0.9f, 0.0f}, {51, 50, 20, 20, 0.0f, 0.8f}};
    unsigned char scratch[256];
    EXPECT(nms_scratch_bytes(2, 2) <= sizeof scratch);
    Detection out[4];
    NmsOptions opt = {.conf = 0.001f, .iou = 0.7, .max_det = 4, .max_nms = 30000, .multi_label = true};
    EXPECT(nms(&decoded[0][0], 2, 2, &opt, scratch, out) == 2);
    EXPECT(out[0].anchor == 0 && out[0].cls == 0 && out[0].box[0] == 40.0f && out[0].box[3] == 60.0f);
    EXPECT(out[1].anchor == 1 && out[1].cls == 1);
    opt.agnostic = true;
    EXPECT(nms(&decoded[0][0], 2, 2, &opt, scratch, out) == 1);
    opt.agnostic = false;
    opt.max_det = 1;
    EXPECT(nms(&decoded[0][0], 2, 2, &opt, scratch, out) == 1 && out[0].score == 0.9f);
    opt.max_det = 4;
    opt.conf = 0.9f; // strictly above conf
    EXPECT(nms(&decoded[0][0], 2, 2, &opt, scratch, out) == 0);
    EXPECT(nms(&decoded[0][0], 0, 2, &opt, scratch, out) == 0);
    // IoU exactly 0.6f (60 / 100 in float32), which is above the double 0.6: torchvision compares
    // its float IoU with the double threshold and suppresses; a float comparison would not.
    const float touching[2][6] = {{5, 5, 10, 10, 0.9f, 0.0f}, {3, 5, 6, 10, 0.8f, 0.0f}};
    opt.conf = 0.001f;
    opt.iou = 0.6;
    EXPECT(nms(&touching[0][0], 2, 2, &opt, scratch, out) == 1);
    opt.iou = 0.7;
    opt.conf = 1.5f;
    EXPECT_FAILS_WITH(nms(&decoded[0][0], 2, 2, &opt, scratch, out), "conf 1.5");
    opt.conf = 0.25f;
    opt.max_nms = -1;
    EXPECT_FAILS_WITH(nms(&decoded[0][0], 2, 2, &opt, scratch, out), "max_nms -1");
    opt.max_nms = 0; // Ultralytics' 30000
    EXPECT(nms(&decoded[0][0], 2, 2, &opt, scratch, out) == 2);
    opt.max_det = 0;
    EXPECT_FAILS_WITH(nms(&decoded[0][0], 2, 2, &opt, scratch, out), "max_det 0");
}

// ---- metrics ----------------------------------------------------------------------------------

typedef struct {
    Detection *dets;
    float *gt_boxes;
    int *gt_cls;
    int n_dets, n_gt;
} FxImage;

static bool read_image(const cJSON *img, FxImage *im) {
    const cJSON *dets = item(img, "dets"), *gt_boxes = item(img, "gt_boxes"), *gt_cls = item(img, "gt_cls");
    im->n_dets = cJSON_GetArraySize(dets);
    im->n_gt = cJSON_GetArraySize(gt_cls);
    im->dets = calloc((size_t)im->n_dets + 1, sizeof *im->dets);
    im->gt_boxes = calloc(4 * (size_t)im->n_gt + 1, sizeof *im->gt_boxes);
    im->gt_cls = calloc((size_t)im->n_gt + 1, sizeof *im->gt_cls);
    if (!im->dets || !im->gt_boxes || !im->gt_cls || cJSON_GetArraySize(gt_boxes) != im->n_gt) return false;
    for (int d = 0; d < im->n_dets; d++) {
        const cJSON *row = cJSON_GetArrayItem(dets, d);
        for (int k = 0; k < 4; k++) im->dets[d].box[k] = (float)at(row, k);
        im->dets[d].score = (float)at(row, 4);
        im->dets[d].cls = (int)at(row, 5);
        im->dets[d].anchor = d;
    }
    for (int g = 0; g < im->n_gt; g++) {
        for (int k = 0; k < 4; k++) im->gt_boxes[4 * g + k] = (float)at(cJSON_GetArrayItem(gt_boxes, g), k);
        im->gt_cls[g] = (int)at(gt_cls, g);
    }
    return true;
}

static void free_image(FxImage *im) {
    free(im->dets);
    free(im->gt_boxes);
    free(im->gt_cls);
}

// Adds every fixture image to m; checks each image's TP matrix on the way.
static bool add_fixture_images(DetMetrics *m, const cJSON *images) {
    int first = 0;
    for (int i = 0; i < cJSON_GetArraySize(images); i++) {
        const cJSON *img = cJSON_GetArrayItem(images, i);
        FxImage im;
        bool ok = read_image(img, &im);
        EXPECT(ok);
        if (ok && det_metrics_add(m, im.dets, im.n_dets, im.gt_boxes, im.gt_cls, im.n_gt) != 0) {
            test_fail(__FILE__, __LINE__, "image %d: %s", i, yolo_error());
            yolo_error_clear();
            ok = false;
        }
        free_image(&im);
        if (!ok) return false;
        int count;
        const uint16_t *tp = det_metrics_tp(m, &count);
        const cJSON *expected = item(img, "tp");
        EXPECT(count == first + cJSON_GetArraySize(expected));
        for (int d = 0; d < cJSON_GetArraySize(expected) && first + d < count; d++)
            if (tp[first + d] != (uint16_t)at(expected, d))
                test_fail(__FILE__, __LINE__, "image %d detection %d: TP bits %#x, Ultralytics %#x", i, d, tp[first + d],
                          (unsigned)at(expected, d));
        first = count;
    }
    return true;
}

TEST(detect_metrics_match_and_ap_match_ultralytics) {
    cJSON *root = fixture_json(FIXTURE);
    if (!root) return;
    const cJSON *fx = item(root, "metrics");
    const int nc = (int)num(fx, "nc");
    DetMetrics *m = det_metrics_create(nc);
    EXPECT(m != NULL);
    DetSummary s;
    if (m && add_fixture_images(m, item(fx, "images")) && det_metrics_summarize(m, &s) == 0) {
        EXPECT(s.nc == nc && s.seen == (int)num(fx, "seen"));
        const cJSON *nt_class = item(fx, "nt_per_class"), *nt_image = item(fx, "nt_per_image");
        for (int c = 0; c < nc; c++) {
            EXPECT(s.instances[c] == (int)at(nt_class, c));
            EXPECT(s.images[c] == (int)at(nt_image, c));
        }
        // Per class, for the classes with labels (Ultralytics' ap_class_index); the others are 0.
        const cJSON *index = item(fx, "ap_class_index"), *p = item(fx, "p"), *r = item(fx, "r"), *all_ap = item(fx, "all_ap");
        EXPECT(cJSON_GetArraySize(index) == 4); // class 4 is predicted, never labelled
        for (int u = 0; u < cJSON_GetArraySize(index); u++) {
            const int c = (int)at(index, u);
            EXPECT_NEAR(s.p[c], at(p, u), METRIC_TOL);
            EXPECT_NEAR(s.r[c], at(r, u), METRIC_TOL);
            for (int t = 0; t < IOU_THRESHOLDS; t++)
                EXPECT_NEAR(s.ap_iou[c * IOU_THRESHOLDS + t], at(cJSON_GetArrayItem(all_ap, u), t), METRIC_TOL);
            EXPECT(s.ap50[c] == s.ap_iou[c * IOU_THRESHOLDS]);
        }
        EXPECT(s.instances[4] == 0 && s.p[4] == 0 && s.r[4] == 0 && s.ap[4] == 0);
        EXPECT(s.instances[3] > 0 && s.ap[3] == 0); // labelled, never detected: 0, still in the means
        EXPECT_NEAR(s.precision, num(fx, "precision"), METRIC_TOL);
        EXPECT_NEAR(s.recall, num(fx, "recall"), METRIC_TOL);
        EXPECT_NEAR(s.map50, num(fx, "map50"), METRIC_TOL);
        EXPECT_NEAR(s.map50_95, num(fx, "map50_95"), METRIC_TOL);
        EXPECT_NEAR(s.fitness, num(fx, "fitness"), METRIC_TOL);
        det_summary_free(&s);
    }
    det_metrics_destroy(m);
    cJSON_Delete(root);
}

TEST(detect_metrics_edge_cases) {
    EXPECT(det_metrics_create(0) == NULL);
    yolo_error_clear();
    DetMetrics *m = det_metrics_create(2);
    if (!m) return;
    // No labels anywhere: Ultralytics reports zeros, the detections notwithstanding.
    const Detection d[2] = {{{0, 0, 10, 10}, 0.9f, 0, 0}, {{0, 0, 10, 10}, 0.8f, 0, 1}};
    EXPECT_OK(det_metrics_add(m, d, 2, NULL, NULL, 0));
    EXPECT_OK(det_metrics_add(m, NULL, 0, NULL, NULL, 0));
    DetSummary s;
    EXPECT_OK(det_metrics_summarize(m, &s));
    EXPECT(s.seen == 2 && s.precision == 0 && s.recall == 0 && s.map50 == 0 && s.map50_95 == 0 && s.fitness == 0);
    det_summary_free(&s);

    // One label, a perfect detection and a duplicate: the first in index order takes the label.
    const Detection hit[2] = {{{0, 0, 10, 10}, 0.95f, 0, 0}, {{0, 0, 10, 10}, 0.85f, 0, 1}};
    const float gt[4] = {0, 0, 10, 10};
    const int gt_cls[1] = {0};
    EXPECT_OK(det_metrics_add(m, hit, 2, gt, gt_cls, 1));
    int count;
    const uint16_t *tp = det_metrics_tp(m, &count);
    EXPECT(count == 4 && tp[0] == 0 && tp[1] == 0 && tp[2] == 0x3ff && tp[3] == 0);
    EXPECT_OK(det_metrics_summarize(m, &s));
    // The TP has the highest confidence, so precision is 1 up to recall 1, yet AP is 0.995, not 1:
    // at x = 1 np.interp takes the last of the repeated recalls 1, the sentinel with precision 0,
    // and the last trapezoid is half as high. Ultralytics' AP never exceeds 0.995.
    EXPECT_NEAR(s.ap50[0], 0.995, 1e-12);
    EXPECT(s.instances[0] == 1 && s.images[0] == 1 && s.instances[1] == 0);
    det_summary_free(&s);

    const Detection bad = {{0, 0, 1, 1}, 0.5f, 2, 0};
    EXPECT_FAILS_WITH(det_metrics_add(m, &bad, 1, NULL, NULL, 0), "class 2, outside [0, 2)");
    const int bad_gt = -1;
    EXPECT_FAILS_WITH(det_metrics_add(m, NULL, 0, gt, &bad_gt, 1), "class -1");
    det_metrics_destroy(m);
}
