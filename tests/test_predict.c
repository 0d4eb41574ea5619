// Prediction: the predictor's letterbox (auto: padding only to the stride) and the mapping of boxes
// back to the image, by hand; then the whole path (pre-processing, forward, the detect task's
// prediction hook, mapping back) against Ultralytics' DetectionPredictor on the fixture network
// (tests/fixtures/predict/, written by scripts/reference/make_predict_fixtures.py).
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/predict_image.h"
#include "fixture_weights.h"
#include "io/safetensors.h"
#include "nn/model.h"
#include "tasks/task.h"
#include "test.h"

TEST(predict_letterbox_pads_only_to_the_stride) {
    PredictLetterbox lb;
    // 100x60 at 96: r = 0.96, 96x58 inside, 6 rows of padding (58 -> 64), 3 above and 3 below.
    predict_letterbox_plan(100, 60, 96, 32, &lb);
    EXPECT(lb.w == 96 && lb.h == 64 && lb.nw == 96 && lb.nh == 58 && lb.left == 0 && lb.top == 3);
    // 47x90 enlarged (r = 96 / 90): 50x96 inside, 14 columns of padding, 7 on each side.
    predict_letterbox_plan(47, 90, 96, 32, &lb);
    EXPECT(lb.w == 64 && lb.h == 96 && lb.nw == 50 && lb.nh == 96 && lb.left == 7 && lb.top == 0);
    // An odd padding puts the extra pixel right: 640x427 at 640 -> 427 rows, 21 of padding: 10 + 11.
    predict_letterbox_plan(640, 427, 640, 32, &lb);
    EXPECT(lb.w == 640 && lb.h == 448 && lb.nh == 427 && lb.top == 10);
    // A square image fills the square input with no padding.
    predict_letterbox_plan(64, 64, 96, 32, &lb);
    EXPECT(lb.w == 96 && lb.h == 96 && lb.left == 0 && lb.top == 0);

    // The pixels: 114 in the padding, the image in between.
    Image img = {0};
    if (image_alloc(&img, 100, 60) != 0) return;
    memset(img.rgb, 200, 100 * 60 * 3);
    predict_letterbox_plan(100, 60, 96, 32, &lb);
    float *chw = malloc(sizeof(float) * 3 * 96 * 64);
    if (chw) {
        EXPECT_OK(predict_letterbox(&img, &lb, chw));
        EXPECT_NEAR(chw[0], 114.0 / 255.0, 1e-6);                     // row 0: padding
        EXPECT_NEAR(chw[2 * 96 * 64 + 63 * 96 + 50], 114.0 / 255.0, 1e-6); // last row, blue: padding
        EXPECT_NEAR(chw[3 * 96 + 10], 200.0 / 255.0, 1e-6);           // row 3: the image
        EXPECT_NEAR(chw[60 * 96 + 95], 200.0 / 255.0, 1e-6);          // row 60: still the image
    }
    free(chw);
    image_free(&img);
}

TEST(predict_classify_input_is_the_centre_crop) {
    PredictLetterbox lb;
    // 100x60 at 32: 53x32 (torchvision's truncation), 21 columns to cut: round(10.5) = 10 (half to
    // even, as CenterCrop rounds) on the left.
    predict_center_crop_plan(100, 60, 32, &lb);
    EXPECT(lb.w == 32 && lb.h == 32 && lb.nw == 53 && lb.nh == 32 && lb.left == -10 && lb.top == 0);
    predict_center_crop_plan(40, 90, 32, &lb);
    EXPECT(lb.nw == 32 && lb.nh == 72 && lb.left == 0 && lb.top == -20);
    // 32x55 at 32: 23 rows to cut, round(11.5) = 12 above.
    predict_center_crop_plan(32, 55, 32, &lb);
    EXPECT(lb.nw == 32 && lb.nh == 55 && lb.top == -12);
    // Every input pixel comes from the image: column x of the input is column x + 10 of the image
    // (already at the resized size, so not resampled), whose red channel is a ramp of the column.
    Image img = {0};
    if (image_alloc(&img, 53, 32) != 0) return;
    for (int y = 0; y < 32; y++)
        for (int x = 0; x < 53; x++) {
            uint8_t *p = img.rgb + ((size_t)y * 53 + (size_t)x) * 3;
            p[0] = (uint8_t)(4 * x), p[1] = 10, p[2] = 20;
        }
    float chw[3 * 32 * 32];
    EXPECT_OK(predict_center_crop(&img, 32, chw));
    EXPECT_NEAR(chw[0], 4.0 * 10 / 255.0, 1e-6);
    EXPECT_NEAR(chw[31 * 32 + 31], 4.0 * 41 / 255.0, 1e-6);
    EXPECT_NEAR(chw[2 * 32 * 32 + 500], 20.0 / 255.0, 1e-6);
    image_free(&img);
}

TEST(predict_boxes_map_back_to_the_original_image_and_clip) {
    // The 100x60 image in a 96x64 input: gain 0.96, padding (0, 3).
    double gain;
    int px, py;
    predict_input_mapping(96, 64, 100, 60, &gain, &px, &py);
    EXPECT_NEAR(gain, 0.96, 1e-12);
    EXPECT(px == 0 && py == 3);
    float boxes[8] = {9.6f, 12.6f, 48.0f, 51.0f, -5.0f, 1.0f, 100.0f, 70.0f};
    predict_scale_boxes(boxes, 2, 96, 64, 100, 60);
    EXPECT_NEAR(boxes[0], 10.0, 1e-4);
    EXPECT_NEAR(boxes[1], 10.0, 1e-4);
    EXPECT_NEAR(boxes[2], 50.0, 1e-4);
    EXPECT_NEAR(boxes[3], 50.0, 1e-4);
    // Outside the image: clipped to [0, 100] x [0, 60].
    EXPECT(boxes[4] == 0.0f && boxes[5] == 0.0f && boxes[6] == 100.0f && boxes[7] == 60.0f);
}

// ---- Against Ultralytics ------------------------------------------------------------------------

static cJSON *read_json(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    static char text[1 << 17];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    return cJSON_Parse(text);
}

static int get_int(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valueint : -1;
}

// One image through our path: letterbox, a batch-1 graph of the input's shape with the fixture's
// weights and calibrated BN statistics, the detect hook, boxes mapped back. Compared with
// Ultralytics' boxes, scores and classes.
static void check_image(const cJSON *want, const ModelDef *def, const SafeTensors *weights, const SafeTensors *bn,
                        const TaskImpl *task) {
    const char *file = cJSON_GetObjectItemCaseSensitive(want, "file")->valuestring;
    char path[256];
    snprintf(path, sizeof path, "tests/fixtures/predict/%s", file);
    Image img = {0};
    EXPECT_OK(image_read(path, &img));
    if (!img.rgb) return;
    EXPECT(img.w == get_int(want, "width") && img.h == get_int(want, "height"));
    PredictLetterbox lb;
    predict_letterbox_plan(img.w, img.h, 96, 32, &lb);
    EXPECT(lb.w == get_int(want, "input_width") && lb.h == get_int(want, "input_height"));

    Backend *b = backend_cpu_create(2);
    Graph *g = graph_create(b);
    Model m;
    int keep[MODEL_MAX_HEAD_VALUES];
    ModelOptions mo = {.batch = 1, .imgsz = 96, .height = lb.h, .width = lb.w};
    int rc = model_build(g, def, &mo, &m);
    if (rc == 0) rc = graph_plan_inference(g, keep, model_head_values(&m, keep));
    if (rc == 0) rc = fixture_load_weights(g, weights, "tests/fixtures/yolov8-detect.safetensors");
    for (int i = 0; rc == 0 && i < g->n_values; i++) {
        if (g->values[i].kind != VALUE_BUFFER) continue;
        const StTensor *t = safetensors_find(bn, g->values[i].name);
        if (!t || !fixture_same_shape(t, g->values[i].shape)) rc = yolo_fail("bn.safetensors lacks %s", g->values[i].name);
        else safetensors_copy_f32(t, g->values[i].data.data);
    }
    if (rc == 0) rc = predict_letterbox(&img, &lb, g->values[m.input].data.data);
    if (rc == 0) rc = graph_forward(g);
    PredictOptions po = {.conf = 0.25f, .iou = 0.7, .max_det = 300};
    void *predictor = rc == 0 ? task->predictor_create(&m, &po) : NULL;
    Prediction r = {0};
    if (rc == 0) rc = predictor ? task->predict(predictor, g, &m, 0, &r) : -1;
    EXPECT_OK(rc);
    const cJSON *boxes = cJSON_GetObjectItemCaseSensitive(want, "boxes");
    const cJSON *scores = cJSON_GetObjectItemCaseSensitive(want, "scores");
    const cJSON *classes = cJSON_GetObjectItemCaseSensitive(want, "classes");
    int n = cJSON_GetArraySize(boxes);
    // Without resizing, the inputs are equal and only float rounding differs (PyTorch folds BN into
    // the convolutions). OpenCV resizes in fixed point, ours in float: pixels 1 level apart move
    // scores by up to about 5e-4 on this network.
    bool resized = lb.nw != img.w || lb.nh != img.h;
    double score_tol = resized ? 1e-3 : 1e-5, box_tol = resized ? 0.05 : 2e-3;
    if (rc == 0 && r.n != n) test_fail(__FILE__, __LINE__, "%s: %d boxes, Ultralytics %d", file, r.n, n);
    if (rc == 0 && r.n == n) {
        float *ours = malloc(sizeof(float) * 4 * (size_t)(n ? n : 1));
        if (ours) {
            memcpy(ours, r.boxes, sizeof(float) * 4 * (size_t)n);
            predict_scale_boxes(ours, n, lb.w, lb.h, img.w, img.h);
            int bad = 0;
            for (int d = 0; d < n; d++) {
                const cJSON *box = cJSON_GetArrayItem(boxes, d);
                double score = cJSON_GetArrayItem(scores, d)->valuedouble;
                int cls = cJSON_GetArrayItem(classes, d)->valueint;
                bool same = r.classes[d] == cls && fabs(r.scores[d] - score) < score_tol;
                for (int k = 0; k < 4; k++) same = same && fabs(ours[4 * d + k] - cJSON_GetArrayItem(box, k)->valuedouble) < box_tol;
                if (!same && bad++ < 3)
                    test_fail(__FILE__, __LINE__,
                              "%s box %d: ours class %d score %.5f [%.3f %.3f %.3f %.3f], Ultralytics class %d score %.5f "
                              "[%.3f %.3f %.3f %.3f]", file, d, r.classes[d], (double)r.scores[d], (double)ours[4 * d],
                              (double)ours[4 * d + 1], (double)ours[4 * d + 2], (double)ours[4 * d + 3], cls, score,
                              cJSON_GetArrayItem(box, 0)->valuedouble, cJSON_GetArrayItem(box, 1)->valuedouble,
                              cJSON_GetArrayItem(box, 2)->valuedouble, cJSON_GetArrayItem(box, 3)->valuedouble);
            }
        }
        free(ours);
    }
    if (predictor) task->predictor_destroy(predictor);
    graph_destroy(g);
    backend_destroy(b);
    image_free(&img);
}

TEST(predict_matches_ultralytics_detection_predictor) {
    cJSON *doc = read_json("tests/fixtures/predict/predict.json");
    SafeTensors weights = {0}, bn = {0};
    ModelDef def = {0};
    EXPECT(doc != NULL);
    EXPECT_OK(safetensors_load("tests/fixtures/yolov8-detect.safetensors", &weights));
    EXPECT_OK(safetensors_load("tests/fixtures/predict/bn.safetensors", &bn));
    EXPECT_OK(model_yaml_load("tests/fixtures/yolov8n-detect.yaml", NULL, &def));
    const cJSON *images = cJSON_GetObjectItemCaseSensitive(doc, "images");
    EXPECT(cJSON_GetArraySize(images) == 5);
    const cJSON *image;
    if (doc && def.n_rows > 0 && weights.n_tensors > 0 && bn.n_tensors > 0)
        cJSON_ArrayForEach(image, images) check_image(image, &def, &weights, &bn, task_impl(TASK_DETECT));
    model_def_free(&def);
    safetensors_free(&bn);
    safetensors_free(&weights);
    cJSON_Delete(doc);
}
