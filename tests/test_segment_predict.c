// The segment task's prediction hook (tasks/segment/predict.h): by hand on head outputs made up
// for the purpose, then the whole path (letterbox, forward, NMS, masks, mapping back, polygons)
// against Ultralytics' SegmentationPredictor on the fixture network (tests/fixtures/predict/
// segment.json, written by scripts/reference/make_predict_task_fixtures.py). The validation's plots
// on the same kind of hand-made head.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/predict_image.h"
#include "plot/confusion_plot.h"
#include "plot/curves.h"
#include "plot_check.h"
#include "predict_fixture.h"
#include "scratch.h"
#include "tasks/task.h"
#include "test.h"

// ---- By hand --------------------------------------------------------------------------------------

enum { NC = 3, NM = 2, GRID = 4, IN = 32, PROTO = 8, BINS = 16 };

// One level of stride 8 over a 32x32 input (a 4x4 grid of anchors), 2 prototypes of 8x8.
typedef struct {
    float level[(4 * BINS + NC) * GRID * GRID];
    float coeffs[NM * GRID * GRID];
    float proto[NM * PROTO * PROTO];
    float input[3 * IN * IN];
    Value values[4];
    Graph g;
    Model m;
} HandHead;

static void hand_head_init(HandHead *h) {
    memset(h, 0, sizeof *h);
    // Every class logit low (sigmoid 4.5e-5: below any conf), every distance bin flat.
    for (int c = 0; c < NC; c++)
        for (int a = 0; a < GRID * GRID; a++) h->level[(4 * BINS + c) * GRID * GRID + a] = -10.0f;
    // Prototype 0 is 1 everywhere; prototype 1 is the column minus 3.5.
    for (int y = 0; y < PROTO; y++)
        for (int x = 0; x < PROTO; x++) {
            h->proto[y * PROTO + x] = 1.0f;
            h->proto[PROTO * PROTO + y * PROTO + x] = (float)x - 3.5f;
        }
    h->values[0].data = tensor_view(h->level, shape_nchw(1, 4 * BINS + NC, GRID, GRID));
    h->values[1].data = tensor_view(h->coeffs, shape_nchw(1, NM, GRID, GRID));
    h->values[2].data = tensor_view(h->proto, shape_nchw(1, NM, PROTO, PROTO));
    h->values[3].data = tensor_view(h->input, shape_nchw(1, 3, IN, IN));
    h->g = (Graph){.values = h->values, .n_values = 4};
    h->m = (Model){.head = HEAD_SEGMENT, .nc = NC, .input = 3, .n_levels = 1, .outputs = {0}, .strides = {8},
                   .coeffs = {1}, .proto = 2, .logits = -1};
}

// An object at anchor (gx, gy) of class cls (logit), its box sides (left, top, right, bottom) in
// strides from the anchor's centre, and its two mask coefficients.
static void hand_object(HandHead *h, int gx, int gy, int cls, float logit, const int sides[4], float c0, float c1) {
    int a = gy * GRID + gx;
    for (int s = 0; s < 4; s++) h->level[(s * BINS + sides[s]) * GRID * GRID + a] = 50.0f; // one bin: that distance
    h->level[(4 * BINS + cls) * GRID * GRID + a] = logit;
    h->coeffs[a] = c0;
    h->coeffs[GRID * GRID + a] = c1;
}

// The set pixels of a mask are exactly the rectangle [x0, x1] x [y0, y1].
static bool mask_is_rect(const uint8_t *mask, int w, int h, int x0, int y0, int x1, int y1) {
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            if (mask[y * w + x] != (x >= x0 && x <= x1 && y >= y0 && y <= y1)) return false;
    return true;
}

TEST(segment_predict_crops_upsamples_and_drops_empty_masks) {
    HandHead *h = malloc(sizeof *h);
    if (!h) return;
    hand_head_init(h);
    static const int one_stride[4] = {1, 1, 1, 1}, down_right[4] = {0, 0, 2, 2};
    // Anchor (1, 1), centre (12, 12): the box (4, 4, 20, 20), on the prototype grid (1, 1, 5, 5),
    // cells 1..4 in each direction. Logits there: column - 3.5, so only column 4 is positive
    // (0.5, next to -0.5), and 0 outside the crop. Resized 4x (source (i + 0.5) / 4 - 0.5): input
    // columns 16..21 come out positive (15 weighs -0.5 by 0.625 against 0.5 by 0.375; 22 reads
    // columns 5 and 6, outside the crop), rows 2..21 (row 1 reads row 0 alone, outside).
    hand_object(h, 1, 1, 0, 8.0f, one_stride, 0.0f, 1.0f);
    // Anchor (2, 2), class 1: its logits are -1 everywhere, an empty mask: dropped.
    hand_object(h, 2, 2, 1, 4.0f, one_stride, -1.0f, 0.0f);
    // Anchor (0, 0), centre (4, 4), class 2: the same box, logits 1 over the crop: rows and
    // columns 2..21.
    hand_object(h, 0, 0, 2, 2.0f, down_right, 1.0f, 0.0f);

    const TaskImpl *task = task_impl(TASK_SEGMENT);
    PredictOptions po = {.conf = 0.25f, .iou = 0.7, .max_det = 300};
    void *p = task->predictor_create(&h->m, &po);
    Prediction r = {0};
    EXPECT(p != NULL);
    if (p) EXPECT_OK(task->predict(p, &h->g, &h->m, 0, &r));
    EXPECT(r.n == 2 && r.mask_w == IN && r.mask_h == IN && r.masks);
    if (r.n == 2 && r.masks) {
        EXPECT(r.classes[0] == 0 && r.classes[1] == 2 && r.scores[0] > r.scores[1]);
        EXPECT_NEAR(r.boxes[0], 4.0, 1e-4);
        EXPECT_NEAR(r.boxes[3], 20.0, 1e-4);
        EXPECT_NEAR(r.boxes[4], 4.0, 1e-4);
        EXPECT_NEAR(r.boxes[6], 20.0, 1e-4);
        EXPECT(mask_is_rect(r.masks, IN, IN, 16, 2, 21, 21));
        EXPECT(mask_is_rect(r.masks + IN * IN, IN, IN, 2, 2, 21, 21));
    }
    // A model without prototypes is refused by name.
    Model cls = {.head = HEAD_CLASSIFY, .nc = 3, .logits = 0, .proto = -1};
    yolo_error_clear();
    EXPECT(task->predictor_create(&cls, &po) == NULL && strstr(yolo_error(), "needs a segmentation model"));
    yolo_error_clear();
    if (p) task->predictor_destroy(p);
    free(h);
}

TEST(segment_polygon_scales_to_the_image_as_scale_coords) {
    // A 4x2 block in an 8x6 grid over a 16x12 image (gain 0.5, no padding): its corners (2, 1),
    // (2, 2), (5, 2), (5, 1) become (4, 2), (4, 4), (10, 4), (10, 2), over 16 and 12.
    uint8_t mask[6 * 8] = {0};
    for (int y = 1; y <= 2; y++)
        for (int x = 2; x <= 5; x++) mask[y * 8 + x] = 1;
    Contours c = {0};
    float *xy = NULL;
    size_t cap = 0;
    int n = 0;
    EXPECT_OK(predict_mask_polygon(&c, mask, 8, 6, 16, 12, &xy, &cap, &n));
    const float want[8] = {4.0f / 16, 2.0f / 12, 4.0f / 16, 4.0f / 12, 10.0f / 16, 4.0f / 12, 10.0f / 16, 2.0f / 12};
    EXPECT(n == 4);
    for (int i = 0; i < 8 && n == 4; i++) EXPECT_NEAR(xy[i], want[i], 1e-7);
    // Padded: a 16x12 image in a 16x16 grid has 2 rows above (not rounded); a point in the
    // padding clips to the image's edge.
    float pts[4] = {8.0f, 1.0f, 8.0f, 8.0f};
    predict_scale_points(pts, 2, 16, 16, 16, 12);
    EXPECT(pts[0] == 0.5f && pts[1] == 0.0f && pts[2] == 0.5f && pts[3] == 0.5f);
    free(xy);
    contours_free(&c);
}

TEST(segment_validation_plots_box_and_mask_curves_and_the_box_confusion_matrix) {
    HandHead *h = malloc(sizeof *h);
    if (!h) return;
    hand_head_init(h);
    // Three detections: class 0 at (4, 4, 20, 28), class 1 at (12, 12, 28, 28), class 2 at
    // (4, 4, 20, 20) with its mask the crop's cells 1..4 (logit 1). One label: class 2 at
    // (4, 4, 20, 20) with those cells as its mask (the overlap map at 1/4 of the input).
    static const int tall[4] = {1, 1, 1, 2}, one_stride[4] = {1, 1, 1, 1}, down_right[4] = {0, 0, 2, 2};
    hand_object(h, 1, 1, 0, 8.0f, tall, 0.0f, 1.0f);
    hand_object(h, 2, 2, 1, 4.0f, one_stride, 1.0f, 0.0f);
    hand_object(h, 0, 0, 2, 2.0f, down_right, 1.0f, 0.0f);
    float target[6] = {0, 2, 12.0f / 32, 12.0f / 32, 16.0f / 32, 16.0f / 32};
    uint8_t overlap[PROTO * PROTO] = {0};
    for (int y = 1; y <= 4; y++)
        for (int x = 1; x <= 4; x++) overlap[y * PROTO + x] = 1;
    int index = 0, width = IN, height = IN;
    float ratio_pad[4] = {1, 1, 0, 0};
    Batch b = {.size = 1, .h = IN, .w = IN, .images = h->input, .n_targets = 1, .targets = target, .masks = overlap,
               .dataset_index = &index, .ratio_pad = ratio_pad};
    char *names[] = {"circle", "triangle", "square"};
    DatasetConfig cfg = {.nc = NC, .names = names};
    DatasetSplit split = {.n = 1, .width = &width, .height = &height};
    TrainOptions o = {.plots = true, .conf = 0.001f, .iou = 0.7, .max_det = 300, .mask_ratio = 4};
    const TaskImpl *task = task_impl(TASK_SEGMENT);
    char dir[256], path[512];
    void *v = task->validator_create(&h->m, &cfg, &split, &o);
    EXPECT(v != NULL && task->write_plots);
    if (!v || !scratch_make(dir, sizeof dir, "segment-plots")) {
        if (v) task->validator_destroy(v);
        free(h);
        return;
    }
    EXPECT_OK(task->validate_batch(v, &h->g, &h->m, &b));
    double metrics[TASK_MAX_METRICS], fitness;
    EXPECT_OK(task->validate_finish(v, metrics, &fitness, false));
    // The label's class is found exactly, box and mask: mAP50 as Ultralytics gives a perfect match.
    EXPECT(metrics[2] > 0.99 && metrics[6] > 0.99);
    EXPECT_OK(task->write_plots(v, dir));
    // Ultralytics 8.3.127's names: Box and Mask sets of the four curves.
    static const char *curves[] = {"BoxPR_curve.png", "BoxF1_curve.png", "BoxP_curve.png", "BoxR_curve.png",
                                   "MaskPR_curve.png", "MaskF1_curve.png", "MaskP_curve.png", "MaskR_curve.png"};
    Image img;
    for (int i = 0; i < 8; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, curves[i]);
        if (!plot_check_png(path, CURVE_PLOT_W, CURVE_PLOT_H, &img)) continue;
        EXPECT(plot_check_count(&img, CHART_BLUE, 16) > 1000); // the bold 'all classes' line
        image_free(&img);
    }
    // The boxes matched whatever their classes (IoU > 0.45): the label goes to class 2's box (IoU 1,
    // better than class 0's 2/3), classes 0 and 1 are false positives (the background column).
    const char *tick[] = {"circle", "triangle", "square", "background"};
    const double want[4][4] = {{0, 0, 0, 1}, {0, 0, 0, 1}, {0, 0, 1, 0}, {0, 0, 0, 0}};
    ConfusionGeometry geo;
    confusion_plot_geometry(4, tick, &geo);
    snprintf(path, sizeof path, "%s/confusion_matrix.png", dir);
    if (plot_check_png(path, geo.width, geo.height, &img)) {
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) {
                ChartColor colour = want[i][j] > 0 ? confusion_blues(1.0) : (ChartColor){1, 1, 1};
                if (!plot_check_pixel(&img, geo.x + j * geo.cell + 4.0, geo.y + i * geo.cell + 4.0, colour, 3))
                    test_fail(__FILE__, __LINE__, "confusion_matrix.png: cell (%d, %d) is not the colour of %g", i, j, want[i][j]);
            }
        image_free(&img);
    }
    task->validator_destroy(v);
    scratch_remove(dir);
    free(h);
}

// ---- Against Ultralytics ------------------------------------------------------------------------

// A mask from run lengths "zeros ones zeros ..." (row-major), which must cover exactly `size`.
static uint8_t *decode_runs(const char *runs, size_t size) {
    uint8_t *m = calloc(size, 1);
    size_t at = 0;
    int value = 0;
    char *end;
    for (const char *s = runs; m && *s; s = end, value ^= 1) {
        long n = strtol(s, &end, 10);
        if (end == s || n < 0 || at + (size_t)n > size) break;
        if (value) memset(m + at, 1, (size_t)n);
        at += (size_t)n;
        while (*end == ' ') end++;
    }
    if (at != size) {
        free(m);
        return NULL;
    }
    return m;
}

// "class x y x y ..." as save_txt writes a segment label (%g).
static void polygon_line(int cls, const float *xy, int n, char *out, size_t cap) {
    size_t o = (size_t)snprintf(out, cap, "%d", cls);
    for (int i = 0; i < 2 * n && o < cap; i++) o += (size_t)snprintf(out + o, cap - o, " %g", (double)xy[i]);
}

typedef struct {
    int images, objects, masks_equal, polygons_equal;
    double worst_iou, worst_score[2]; // [resized]: images used as they are, and resized ones
    long pixels_differing[2];
} SegmentTally;

static void check_image(const cJSON *want, const FixtureModel *f, SegmentTally *t) {
    const char *file = json_str(want, "file");
    char path[256];
    snprintf(path, sizeof path, "tests/fixtures/predict/%s", file);
    Image img = {0};
    EXPECT_OK(image_read(path, &img));
    if (!img.rgb) return;
    PredictLetterbox lb;
    predict_letterbox_plan(img.w, img.h, 96, 32, &lb);
    EXPECT(lb.w == json_int(want, "input_width") && lb.h == json_int(want, "input_height"));
    FixtureNet net;
    int rc = fixture_net_build(&net, f, 96, lb.w, lb.h);
    if (rc == 0) rc = predict_letterbox(&img, &lb, net.g->values[net.m.input].data.data);
    if (rc == 0) rc = graph_forward(net.g);
    const TaskImpl *task = task_impl(TASK_SEGMENT);
    PredictOptions po = {.conf = 0.25f, .iou = 0.7, .max_det = 300};
    void *predictor = rc == 0 ? task->predictor_create(&net.m, &po) : NULL;
    Prediction r = {0};
    if (rc == 0) rc = predictor ? task->predict(predictor, net.g, &net.m, 0, &r) : -1;
    EXPECT_OK(rc);
    const cJSON *boxes = cJSON_GetObjectItemCaseSensitive(want, "boxes"), *scores = cJSON_GetObjectItemCaseSensitive(want, "scores");
    const cJSON *classes = cJSON_GetObjectItemCaseSensitive(want, "classes"), *masks = cJSON_GetObjectItemCaseSensitive(want, "masks");
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(want, "labels");
    int n = cJSON_GetArraySize(boxes);
    EXPECT(cJSON_GetArraySize(masks) == n && cJSON_GetArraySize(labels) == n);
    // As tests/test_predict.c: without resizing only float rounding differs; OpenCV's fixed-point
    // resize moves pixels by 1 level, and scores by up to about 5e-4 on these networks.
    bool resized = lb.nw != img.w || lb.nh != img.h;
    double score_tol = resized ? 1e-3 : 1e-5, box_tol = resized ? 0.05 : 2e-3;
    if (rc == 0 && r.n != n) test_fail(__FILE__, __LINE__, "%s: %d objects, Ultralytics %d", file, r.n, n);
    size_t plane = (size_t)lb.w * (size_t)lb.h;
    float *ours = malloc(sizeof(float) * 4 * (size_t)(n ? n : 1));
    Contours contours = {0};
    float *xy = NULL;
    size_t xy_cap = 0;
    char line[16384];
    for (int d = 0; rc == 0 && r.n == n && ours && d < n; d++) {
        memcpy(ours + 4 * d, r.boxes + 4 * d, sizeof(float) * 4);
        predict_scale_boxes(ours + 4 * d, 1, lb.w, lb.h, img.w, img.h);
        bool same = r.classes[d] == cJSON_GetArrayItem(classes, d)->valueint &&
                    fabs(r.scores[d] - cJSON_GetArrayItem(scores, d)->valuedouble) < score_tol;
        for (int k = 0; k < 4; k++)
            same = same && fabs(ours[4 * d + k] - cJSON_GetArrayItem(cJSON_GetArrayItem(boxes, d), k)->valuedouble) < box_tol;
        double score_diff = fabs(r.scores[d] - cJSON_GetArrayItem(scores, d)->valuedouble);
        t->worst_score[resized] = score_diff > t->worst_score[resized] ? score_diff : t->worst_score[resized];
        if (!same)
            test_fail(__FILE__, __LINE__, "%s object %d: ours class %d score %.5f, Ultralytics class %d score %.5f", file, d,
                      r.classes[d], (double)r.scores[d], cJSON_GetArrayItem(classes, d)->valueint,
                      cJSON_GetArrayItem(scores, d)->valuedouble);
        // The masks: the same pixels but where a logit within rounding of 0 flips.
        uint8_t *theirs = decode_runs(cJSON_GetArrayItem(masks, d)->valuestring, plane);
        EXPECT(theirs != NULL);
        if (!theirs) continue;
        const uint8_t *mine = r.masks + (size_t)d * plane;
        long inter = 0, uni = 0, differ = 0;
        for (size_t q = 0; q < plane; q++) {
            inter += mine[q] & theirs[q];
            uni += mine[q] | theirs[q];
            differ += mine[q] != theirs[q];
        }
        double iou = uni ? (double)inter / (double)uni : 1.0;
        t->worst_iou = iou < t->worst_iou ? iou : t->worst_iou;
        t->pixels_differing[resized] += differ;
        t->masks_equal += differ == 0;
        // Unresized, the logits differ by float rounding alone and no pixel flips on these images;
        // resized, OpenCV's fixed-point pixels move the logits near the mask's edge.
        if (iou < 0.95 || (!resized && differ > 0))
            test_fail(__FILE__, __LINE__, "%s object %d: mask IoU %.4f with Ultralytics' (%ld pixels differ)", file, d, iou, differ);
        // Their mask through our polygon gives their label line, to the character.
        int np = 0;
        EXPECT_OK(predict_mask_polygon(&contours, theirs, lb.w, lb.h, img.w, img.h, &xy, &xy_cap, &np));
        polygon_line(r.classes[d], xy, np, line, sizeof line);
        const char *label = cJSON_GetArrayItem(labels, d)->valuestring;
        bool equal = !strcmp(line, label);
        t->polygons_equal += equal;
        if (!equal) test_fail(__FILE__, __LINE__, "%s object %d: polygon\n  ours   %.200s\n  theirs %.200s", file, d, line, label);
        free(theirs);
        t->objects++;
    }
    t->images++;
    free(xy);
    contours_free(&contours);
    free(ours);
    if (predictor) task->predictor_destroy(predictor);
    fixture_net_free(&net);
    image_free(&img);
}

TEST(segment_predict_matches_ultralytics_segmentation_predictor) {
    cJSON *doc = predict_fixture_json("tests/fixtures/predict/segment.json");
    FixtureModel f;
    if (!doc || fixture_model_load(&f, "tests/fixtures/yolov8n-seg.yaml", "tests/fixtures/yolov8-seg.safetensors",
                                   "tests/fixtures/predict/seg_bn.safetensors") != 0) {
        cJSON_Delete(doc);
        return;
    }
    const cJSON *images = cJSON_GetObjectItemCaseSensitive(doc, "images"), *image;
    EXPECT(cJSON_GetArraySize(images) == 5);
    SegmentTally t = {.worst_iou = 1.0};
    cJSON_ArrayForEach(image, images) check_image(image, &f, &t);
    printf("  %d images, %d objects: scores within %.1e (%.1e on resized images), %d masks identical to Ultralytics', "
           "%ld pixels differ (%ld on resized images), worst IoU %.4f; %d of their polygons reproduced\n", t.images,
           t.objects, t.worst_score[0], t.worst_score[1], t.masks_equal, t.pixels_differing[0] + t.pixels_differing[1],
           t.pixels_differing[1], t.worst_iou, t.polygons_equal);
    EXPECT(t.objects >= 20);
    fixture_model_free(&f);
    cJSON_Delete(doc);
}
