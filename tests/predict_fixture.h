// What the prediction parity tests share (tests/test_segment_predict.c, test_classify_predict.c):
// reading a JSON fixture, and a batch-1 fixture network for one input shape with the fixture's
// weights and the calibrated BN statistics that scripts/reference/make_predict_task_fixtures.py
// ran Ultralytics with.
#ifndef YOLO_TESTS_PREDICT_FIXTURE_H
#define YOLO_TESTS_PREDICT_FIXTURE_H

#include <cjson/cJSON.h>

#include "io/safetensors.h"
#include "nn/graph.h"
#include "nn/model.h"
#include "nn/model_yaml.h"

// The parsed file, or NULL after recording a test failure.
cJSON *predict_fixture_json(const char *path);

// The fixture model (yaml: tests/fixtures/yolov8n-<task>.yaml), its weights and BN statistics.
typedef struct {
    ModelDef def;
    SafeTensors weights, bn;
    const char *weights_path;
} FixtureModel;

// 0, or -1 after recording a test failure (the model then holds nothing to free).
int fixture_model_load(FixtureModel *f, const char *yaml, const char *weights, const char *bn);
void fixture_model_free(FixtureModel *f);

// A planned inference graph of f for one w x h input, loaded. 0, or -1 with a message (g, b NULL).
typedef struct {
    Backend *backend;
    Graph *g;
    Model m;
} FixtureNet;

int fixture_net_build(FixtureNet *n, const FixtureModel *f, int imgsz, int w, int h);
void fixture_net_free(FixtureNet *n);

// Integer and string members (-1 and "" when missing).
int json_int(const cJSON *o, const char *key);
const char *json_str(const cJSON *o, const char *key);

#endif
