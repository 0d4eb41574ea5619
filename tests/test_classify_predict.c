// The classify task's prediction hook (tasks/classify/predict.h): softmax and top 5 by hand, then
// the whole path (the centre crop, forward, hook) against Ultralytics' ClassificationPredictor on
// the fixture network (tests/fixtures/predict/classify.json, written by
// scripts/reference/make_predict_task_fixtures.py). Last, the validation's confusion matrix plot.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/predict_image.h"
#include "plot/confusion_plot.h"
#include "plot_check.h"
#include "predict_fixture.h"
#include "scratch.h"
#include "tasks/classify/predict.h"
#include "tasks/task.h"
#include "test.h"

TEST(classify_predict_ranks_the_softmax) {
    // Two images of 6 classes in one batch of logits; the second is predicted.
    float logits[2 * 6] = {0, 0, 0, 0, 0, 9, 1, 3, 2, 3, -1, 0};
    Value value = {.data = tensor_view(logits, shape_2d(2, 6))};
    Graph g = {.values = &value, .n_values = 1};
    Model m = {.head = HEAD_CLASSIFY, .nc = 6, .logits = 0, .proto = -1, .input = -1};
    const TaskImpl *task = task_impl(TASK_CLASSIFY);
    // conf and classes concern objects: Ultralytics' top 5 ignores them, and so does the hook.
    static const int only[1] = {4};
    PredictOptions po = {.conf = 0.9f, .iou = 0.7, .max_det = 1, .classes = only, .n_classes = 1};
    void *p = task->predictor_create(&m, &po);
    Prediction r = {0};
    EXPECT(p != NULL);
    if (p) EXPECT_OK(task->predict(p, &g, &m, 1, &r));
    // exp(x - 3) over their sum; classes 1 and 3 tie and keep their order.
    double sum = exp(-2.0) + 1.0 + exp(-1.0) + 1.0 + exp(-4.0) + exp(-3.0);
    static const int want[5] = {1, 3, 2, 0, 5};
    static const double logit[5] = {3, 3, 2, 1, 0};
    EXPECT(r.n == 0 && r.n_top == 5 && r.masks == NULL);
    for (int k = 0; k < 5 && r.n_top == 5; k++) {
        EXPECT(r.top_classes[k] == want[k]);
        EXPECT_NEAR(r.top_scores[k], exp(logit[k] - 3.0) / sum, 1e-7);
    }
    if (p) task->predictor_destroy(p);

    // Fewer than 5 classes: all of them. A NaN ranks first, as in classify_rank.
    float three[3] = {0.5f, NAN, 2.0f};
    int top[3];
    classify_top_k(three, 3, 3, top);
    EXPECT(top[0] == 1 && top[1] == 2 && top[2] == 0);
    float probs[3], few[3] = {1000.0f, 0.0f, -1000.0f};
    classify_softmax(few, 3, probs); // no overflow: the maximum is subtracted first
    EXPECT(probs[0] == 1.0f && probs[1] == 0.0f && probs[2] == 0.0f);
    // A detection model is refused by name.
    Model det = {.head = HEAD_DETECT, .nc = 3, .logits = -1};
    yolo_error_clear();
    EXPECT(task->predictor_create(&det, &po) == NULL && strstr(yolo_error(), "needs a classification model"));
    yolo_error_clear();
}

TEST(classify_predict_matches_ultralytics_classification_predictor) {
    cJSON *doc = predict_fixture_json("tests/fixtures/predict/classify.json");
    FixtureModel f;
    if (!doc || fixture_model_load(&f, "tests/fixtures/yolov8n-cls.yaml", "tests/fixtures/yolov8-cls.safetensors",
                                   "tests/fixtures/predict/cls_bn.safetensors") != 0) {
        cJSON_Delete(doc);
        return;
    }
    const int imgsz = json_int(doc, "imgsz");
    const cJSON *images = cJSON_GetObjectItemCaseSensitive(doc, "images"), *want;
    EXPECT(cJSON_GetArraySize(images) == 5 && imgsz == 64);
    FixtureNet net;
    const TaskImpl *task = task_impl(TASK_CLASSIFY);
    PredictOptions po = {.conf = 0.25f, .iou = 0.7, .max_det = 300};
    int rc = fixture_net_build(&net, &f, imgsz, imgsz, imgsz);
    void *predictor = rc == 0 ? task->predictor_create(&net.m, &po) : NULL;
    EXPECT_OK(rc);
    double worst = 0.0;
    cJSON_ArrayForEach(want, images) {
        if (!predictor) break;
        char path[256];
        snprintf(path, sizeof path, "tests/fixtures/predict/%s", json_str(want, "file"));
        Image img = {0};
        Prediction r = {0};
        rc = image_read(path, &img);
        if (rc == 0) rc = predict_center_crop(&img, imgsz, net.g->values[net.m.input].data.data);
        if (rc == 0) rc = graph_forward(net.g);
        if (rc == 0) rc = task->predict(predictor, net.g, &net.m, 0, &r);
        EXPECT_OK(rc);
        const cJSON *top = cJSON_GetObjectItemCaseSensitive(want, "top5"), *scores = cJSON_GetObjectItemCaseSensitive(want, "scores");
        const cJSON *labels = cJSON_GetObjectItemCaseSensitive(want, "labels");
        EXPECT(r.n_top == 5 && cJSON_GetArraySize(top) == 5 && cJSON_GetArraySize(labels) == 5);
        for (int k = 0; k < r.n_top && k < cJSON_GetArraySize(top); k++) {
            double theirs = cJSON_GetArrayItem(scores, k)->valuedouble, diff = fabs(r.top_scores[k] - theirs);
            worst = diff > worst ? diff : worst;
            // Pillow's resize is reproduced exactly (tests/test_classify_transforms.c): only float
            // rounding in the network differs.
            if (r.top_classes[k] != cJSON_GetArrayItem(top, k)->valueint || diff > 1e-5)
                test_fail(__FILE__, __LINE__, "%s top %d: ours class %d %.6f, Ultralytics class %d %.6f", path, k,
                          r.top_classes[k], (double)r.top_scores[k], cJSON_GetArrayItem(top, k)->valueint, theirs);
            // save_txt's line: the score to 2 places and the name (the fixture model's names are
            // its class numbers).
            char line[64];
            snprintf(line, sizeof line, "%.2f %d", (double)r.top_scores[k], r.top_classes[k]);
            EXPECT(!strcmp(line, cJSON_GetArrayItem(labels, k)->valuestring));
        }
        image_free(&img);
    }
    printf("  top-5 classes as Ultralytics' on 5 images; scores within %.2g\n", worst);
    if (predictor) task->predictor_destroy(predictor);
    fixture_net_free(&net);
    fixture_model_free(&f);
    cJSON_Delete(doc);
}

TEST(classify_validation_plots_its_confusion_matrix) {
    // Two batches of 3 classes: the top logit against the label. Labels 0 0 1 | 2 2 1; top
    // classes 0 1 1 | 2 0 1 (a tie between 0 and 2 goes to 0): cells (0,0) (1,0) (1,1) | (2,2) (0,2)
    // (1,1), i.e. row 1 column 1 counts 2.
    float logits[2][3 * 3] = {{5, 1, 0, 1, 4, 0, 0, 2, 1}, {0, 1, 3, 2, 0, 2, 0, 7, -1}};
    int labels[2][3] = {{0, 0, 1}, {2, 2, 1}};
    const double want[3][3] = {{1, 0, 1}, {1, 2, 0}, {0, 0, 1}};
    Value value = {0};
    Graph g = {.values = &value, .n_values = 1};
    Model m = {.head = HEAD_CLASSIFY, .nc = 3, .logits = 0, .proto = -1, .input = -1};
    char *names[] = {"circle", "triangle", "square"};
    DatasetConfig cfg = {.nc = 3, .names = names};
    DatasetSplit split = {.n = 6};
    TrainOptions o = {.plots = true, .conf = 0.001f, .iou = 0.7, .max_det = 300};
    const TaskImpl *task = task_impl(TASK_CLASSIFY);
    char dir[256], path[512];
    void *v = task->validator_create(&m, &cfg, &split, &o);
    EXPECT(v != NULL && task->write_plots);
    if (!v || !scratch_make(dir, sizeof dir, "classify-plots")) {
        if (v) task->validator_destroy(v);
        return;
    }
    EXPECT_OK(task->write_plots(v, dir)); // nothing validated yet: nothing written
    snprintf(path, sizeof path, "%s/confusion_matrix.png", dir);
    FILE *none = fopen(path, "rb");
    EXPECT(none == NULL);
    if (none) fclose(none);
    for (int k = 0; k < 2; k++) {
        value.data = tensor_view(logits[k], shape_2d(3, 3));
        Batch b = {.size = 3, .class_index = labels[k]};
        EXPECT_OK(task->validate_batch(v, &g, &m, &b));
    }
    double metrics[TASK_MAX_METRICS], fitness;
    EXPECT_OK(task->validate_finish(v, metrics, &fitness, false));
    EXPECT_NEAR(metrics[0], 4.0 / 6.0, 1e-12); // top1
    EXPECT_OK(task->write_plots(v, dir));
    // nc x nc cells with the class names and no background row; each cell's colour from 'Blues'.
    const char *tick[] = {"circle", "triangle", "square"};
    ConfusionGeometry geo;
    confusion_plot_geometry(3, tick, &geo);
    Image img;
    for (int normalize = 0; normalize <= 1; normalize++) {
        snprintf(path, sizeof path, "%s/confusion_matrix%s.png", dir, normalize ? "_normalized" : "");
        if (!plot_check_png(path, geo.width, geo.height, &img)) continue;
        double cells[9], vmax = 0.0;
        for (int j = 0; j < 3; j++) {
            double sum = want[0][j] + want[1][j] + want[2][j];
            for (int i = 0; i < 3; i++) {
                cells[i * 3 + j] = normalize ? want[i][j] / (sum + 1e-9) : want[i][j];
                vmax = cells[i * 3 + j] > vmax ? cells[i * 3 + j] : vmax;
            }
        }
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++) {
                double x = geo.x + j * geo.cell + 4.0, y = geo.y + i * geo.cell + 4.0, c = cells[i * 3 + j];
                ChartColor colour = c < 0.005 ? (ChartColor){1, 1, 1} : confusion_blues(c / vmax);
                if (!plot_check_pixel(&img, x, y, colour, 3))
                    test_fail(__FILE__, __LINE__, "%s: cell (%d, %d) is not the colour of %g", path, i, j, c);
            }
        image_free(&img);
    }
    // The next validation starts from zeros: one image, one cell.
    float one[3] = {0, 0, 1};
    int label = 0;
    value.data = tensor_view(one, shape_2d(1, 3));
    Batch b = {.size = 1, .class_index = &label};
    EXPECT_OK(task->validate_batch(v, &g, &m, &b));
    EXPECT_OK(task->validate_finish(v, metrics, &fitness, false));
    EXPECT_OK(task->write_plots(v, dir));
    snprintf(path, sizeof path, "%s/confusion_matrix.png", dir);
    if (plot_check_png(path, geo.width, geo.height, &img)) {
        EXPECT(plot_check_pixel(&img, geo.x + 4.0, geo.y + 2 * geo.cell + 4.0, confusion_blues(1.0), 3));
        EXPECT(plot_check_pixel(&img, geo.x + geo.cell + 4.0, geo.y + geo.cell + 4.0, (ChartColor){1, 1, 1}, 3));
        image_free(&img);
    }
    task->validator_destroy(v);
    scratch_remove(dir);
}
