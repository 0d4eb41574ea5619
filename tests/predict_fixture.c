#include "predict_fixture.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/status.h"
#include "fixture_weights.h"
#include "test.h"

cJSON *predict_fixture_json(const char *path) {
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    long size = -1;
    if (f && fseek(f, 0, SEEK_END) == 0) size = ftell(f);
    if (size >= 0 && fseek(f, 0, SEEK_SET) == 0) text = malloc((size_t)size + 1);
    if (text && fread(text, 1, (size_t)size, f) == (size_t)size) text[size] = '\0';
    else {
        free(text);
        text = NULL;
    }
    if (f) fclose(f);
    cJSON *doc = text ? cJSON_Parse(text) : NULL;
    free(text);
    if (!doc) test_fail(__FILE__, __LINE__, "cannot read the JSON fixture %s", path);
    return doc;
}

int json_int(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valueint : -1;
}

const char *json_str(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

int fixture_model_load(FixtureModel *f, const char *yaml, const char *weights, const char *bn) {
    *f = (FixtureModel){.weights_path = weights};
    if (model_yaml_load(yaml, NULL, &f->def) != 0 || safetensors_load(weights, &f->weights) != 0 ||
        safetensors_load(bn, &f->bn) != 0) {
        test_fail(__FILE__, __LINE__, "loading the fixture model %s: %s", yaml, yolo_error());
        yolo_error_clear();
        fixture_model_free(f);
        return -1;
    }
    return 0;
}

void fixture_model_free(FixtureModel *f) {
    model_def_free(&f->def);
    safetensors_free(&f->weights);
    safetensors_free(&f->bn);
}

int fixture_net_build(FixtureNet *n, const FixtureModel *f, int imgsz, int w, int h) {
    *n = (FixtureNet){0};
    n->backend = backend_cpu_create(2);
    n->g = n->backend ? graph_create(n->backend) : NULL;
    if (!n->g) return yolo_fail("out of memory for a fixture network");
    int keep[MODEL_MAX_HEAD_VALUES];
    ModelOptions mo = {.batch = 1, .imgsz = imgsz, .height = h, .width = w};
    int rc = model_build(n->g, &f->def, &mo, &n->m);
    if (rc == 0) rc = graph_plan_inference(n->g, keep, model_head_values(&n->m, keep));
    if (rc == 0) rc = fixture_load_weights(n->g, &f->weights, f->weights_path);
    // The calibrated running statistics over the fixture's own.
    for (int i = 0; rc == 0 && i < n->g->n_values; i++) {
        const Value *v = &n->g->values[i];
        if (v->kind != VALUE_BUFFER) continue;
        const StTensor *t = safetensors_find(&f->bn, v->name);
        if (!t || !fixture_same_shape(t, v->shape)) rc = yolo_fail("the BN statistics lack %s", v->name);
        else safetensors_copy_f32(t, v->data.data);
    }
    return rc;
}

void fixture_net_free(FixtureNet *n) {
    if (n->g) graph_destroy(n->g);
    if (n->backend) backend_destroy(n->backend);
    *n = (FixtureNet){0};
}
