// Our model builder against Ultralytics itself. Each fixture in tests/fixtures/ was written by
// scripts/reference/make_fixtures.py: a tiny YOLOv8 (detect, segment, classify) that Ultralytics
// 8.3.127 built from the YAML file beside it, its weights under their state-dict names, a fixed
// input, the outputs of one training-mode forward and the BN running statistics after it. Here
// the same YAML goes through our loader and builder, the weights are copied in by name, and one
// training-mode forward must reproduce every output and running statistic.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture_weights.h"
#include "io/safetensors.h"
#include "nn/model.h"
#include "test.h"

// Relative to max(1, |reference|). Float32 rounding through ~60 layers, amplified by train-mode BN
// dividing by small-batch standard deviations, reaches 4e-5 (the prototypes) on these fixtures;
// one weight moved by 1e-3, or BN eps 1e-5 instead of 1e-3, gives 1e-3 or more.
static const double PARITY_TOL = 1e-4;

typedef struct {
    Backend *b;
    Graph *g;
    ModelDef def;
    Model m;
    SafeTensors st;
} Parity;

static void release(Parity *p) {
    safetensors_free(&p->st);
    model_def_free(&p->def);
    graph_destroy(p->g);
    backend_destroy(p->b);
}

static int metadata_int(const SafeTensors *st, const char *key, const char *path, int *out) {
    const char *text = safetensors_metadata(st, key);
    char *end = NULL;
    long v = text ? strtol(text, &end, 10) : 0;
    if (!text || *end != '\0' || v < 1 || v > 4096) return yolo_fail("%s: metadata \"%s\" missing or not a size", path, key);
    *out = (int)v;
    return 0;
}

// Loads the fixture and the YAML (a yolov8n-*.yaml name, which reads yolov8-*.yaml beside it with
// scale n), builds and plans the model, and loads the weights and the input.
static int setup(Parity *p, const char *fixture, const char *yaml) {
    memset(p, 0, sizeof *p);
    p->b = backend_cpu_create(1);
    p->g = graph_create(p->b);
    TRY(safetensors_load(fixture, &p->st));
    ModelOptions opt = {0};
    TRY(metadata_int(&p->st, "batch", fixture, &opt.batch));
    TRY(metadata_int(&p->st, "imgsz", fixture, &opt.imgsz));
    TRY(model_yaml_load(yaml, NULL, &p->def));
    TRY(model_build(p->g, &p->def, &opt, &p->m));
    TRY(graph_plan(p->g, 0));
    TRY(fixture_load_weights(p->g, &p->st, fixture));
    const StTensor *images = safetensors_find(&p->st, "input.images");
    Value *in = &p->g->values[p->m.input];
    if (!images || images->dtype != ST_F32 || !fixture_same_shape(images, in->shape))
        return yolo_fail("%s: input.images missing or not F32 of the input's shape", fixture);
    safetensors_copy_f32(images, in->data.data);
    return 0;
}

// Compares n values against the fixture tensor `name` (flattened row-major); reports the worst
// element on failure.
static void compare(const Parity *p, const char *name, const float *got, int64_t n) {
    const StTensor *t = safetensors_find(&p->st, name);
    if (!t || t->dtype != ST_F32 || t->numel != n) {
        test_fail(__FILE__, __LINE__, "%s: fixture lacks an F32 tensor of %lld values", name, (long long)n);
        return;
    }
    float *want = malloc((size_t)n * sizeof *want);
    if (!want) {
        test_fail(__FILE__, __LINE__, "out of memory comparing %s", name);
        return;
    }
    safetensors_copy_f32(t, want);
    int64_t worst = 0;
    double worst_ratio = -1.0;
    for (int64_t i = 0; i < n; i++) {
        double ratio = fabs((double)got[i] - want[i]) / fmax(1.0, fabs(want[i]));
        if (!(ratio <= worst_ratio)) { // NaN in ours counts as the worst
            worst_ratio = ratio;
            worst = i;
            if (isnan(ratio)) break;
        }
    }
    if (!(worst_ratio <= PARITY_TOL))
        test_fail(__FILE__, __LINE__, "%s: element %lld is %.9g, Ultralytics %.9g (|diff| %.3g > %g * max(1, |ref|))", name,
                  (long long)worst, got[worst], want[worst], fabs((double)got[worst] - want[worst]), PARITY_TOL);
    free(want);
}

static void compare_value(const Parity *p, const char *name, int value) {
    const Value *v = &p->g->values[value];
    const StTensor *t = safetensors_find(&p->st, name);
    char a[64], b[64];
    if (t && !fixture_same_shape(t, v->shape))
        test_fail(__FILE__, __LINE__, "%s: ours [%s], Ultralytics [%s]", name, shape_str(v->shape, a, sizeof a), fixture_shape_str(t, b, sizeof b));
    else compare(p, name, v->data.data, shape_numel(v->shape));
}

// Every BN running statistic after the forward (PyTorch updates them in train mode).
static void compare_running_stats(const Parity *p) {
    char name[VALUE_NAME_CAP + 8];
    int n = 0;
    for (int i = 0; i < p->g->n_values; i++) {
        const Value *v = &p->g->values[i];
        if (v->kind != VALUE_BUFFER) continue;
        snprintf(name, sizeof name, "after.%s", v->name);
        compare_value(p, name, i);
        n++;
    }
    EXPECT(n > 0);
}

static void compare_levels(const Parity *p) {
    char name[32];
    for (int l = 0; l < p->m.n_levels; l++) {
        snprintf(name, sizeof name, "output.%d", l);
        compare_value(p, name, p->m.outputs[l]);
    }
}

// Ultralytics returns the mask coefficients as [b, nm, sum of h*w over levels]: each level
// flattened row-major, the levels concatenated in order. Ours are per level [b, nm, h, w].
static void compare_coefficients(const Parity *p) {
    const Graph *g = p->g;
    Shape first = g->values[p->m.coeffs[0]].shape;
    int64_t batch = first.dim[0], nm = first.dim[1], anchors = 0;
    for (int l = 0; l < p->m.n_levels; l++) anchors += g->values[p->m.coeffs[l]].shape.dim[2] * g->values[p->m.coeffs[l]].shape.dim[3];
    float *flat = malloc((size_t)(batch * nm * anchors) * sizeof *flat);
    if (!flat) {
        test_fail(__FILE__, __LINE__, "out of memory");
        return;
    }
    int64_t at = 0;
    for (int64_t s = 0; s < batch * nm; s++) // one (sample, coefficient) row at a time
        for (int l = 0; l < p->m.n_levels; l++) {
            const Value *v = &g->values[p->m.coeffs[l]];
            int64_t hw = v->shape.dim[2] * v->shape.dim[3];
            memcpy(flat + at, v->data.data + s * hw, (size_t)hw * sizeof *flat);
            at += hw;
        }
    const StTensor *t = safetensors_find(&p->st, "output.coeffs");
    EXPECT(t && t->ndim == 3 && t->shape[0] == batch && t->shape[1] == nm && t->shape[2] == anchors);
    compare(p, "output.coeffs", flat, at);
    free(flat);
}

// Builds the fixture's model, runs one training-mode forward, and compares everything.
static void check_fixture(const char *fixture, const char *yaml, HeadKind head) {
    Parity p;
    if (setup(&p, fixture, yaml) != 0) {
        test_fail(__FILE__, __LINE__, "%s", yolo_error());
        yolo_error_clear();
        release(&p);
        return;
    }
    EXPECT(p.m.head == head);
    // The BN settings Ultralytics' modules had, against the ones our builder chose for this head.
    const char *eps = safetensors_metadata(&p.st, "bn_eps"), *momentum = safetensors_metadata(&p.st, "bn_momentum");
    EXPECT(eps && (float)strtod(eps, NULL) == p.m.bn_eps);
    EXPECT(momentum && (float)strtod(momentum, NULL) == p.m.bn_momentum);
    p.g->training = 1;
    EXPECT_OK(graph_forward(p.g));
    if (head == HEAD_CLASSIFY) {
        compare_value(&p, "output.logits", p.m.logits);
    } else {
        compare_levels(&p);
        if (head == HEAD_SEGMENT) {
            compare_coefficients(&p);
            compare_value(&p, "output.proto", p.m.proto);
        }
    }
    compare_running_stats(&p);
    release(&p);
}

TEST(parity_yolov8_detect_matches_ultralytics) {
    check_fixture("tests/fixtures/yolov8-detect.safetensors", "tests/fixtures/yolov8n-detect.yaml", HEAD_DETECT);
}

TEST(parity_yolov8_segment_matches_ultralytics) {
    check_fixture("tests/fixtures/yolov8-seg.safetensors", "tests/fixtures/yolov8n-seg.yaml", HEAD_SEGMENT);
}

TEST(parity_yolov8_classify_matches_ultralytics) {
    check_fixture("tests/fixtures/yolov8-cls.safetensors", "tests/fixtures/yolov8n-cls.yaml", HEAD_CLASSIFY);
}

// A weight whose shape differs from the graph's is named with both shapes.
TEST(parity_wrong_weight_shape_is_named) {
    Parity p;
    EXPECT_OK(setup(&p, "tests/fixtures/yolov8-detect.safetensors", "tests/fixtures/yolov8n-detect.yaml"));
    StTensor *t = NULL;
    for (int i = 0; i < p.st.n_tensors; i++)
        if (!strcmp(p.st.tensors[i].name, "model.0.conv.weight")) t = &p.st.tensors[i];
    EXPECT(t != NULL);
    if (t) {
        t->shape[1] = 4; // 8x3x3x3 in the graph
        EXPECT_FAILS_WITH(fixture_load_weights(p.g, &p.st, "yolov8-detect.safetensors"),
                          "yolov8-detect.safetensors: weights do not match the graph (1 problem): model.0.conv.weight is [8x3x3x3] in the graph but [8x4x3x3] in the file");
    }
    release(&p);
}

// The reader on hand-made files: a header text (the 8-byte length is prepended) followed by
// data_bytes bytes of data 0, 1, 2, ...
static int parse_made(const char *header, size_t data_bytes, SafeTensors *st) {
    size_t hlen = strlen(header), size = 8 + hlen + data_bytes;
    unsigned char *file = malloc(size);
    if (!file) return yolo_fail("out of memory");
    for (int i = 0; i < 8; i++) file[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    memcpy(file + 8, header, hlen);
    for (size_t i = 0; i < data_bytes; i++) file[8 + hlen + i] = (unsigned char)i;
    return safetensors_parse(file, size, "made.safetensors", st);
}

TEST(parity_safetensors_reads_tensors_and_metadata) {
    SafeTensors st;
    // Two F32 values 1.0 and -2.5, then the I64 value 7; the header padded with spaces as writers do.
    const char *header = "{\"__metadata__\":{\"imgsz\":\"64\"},\"b\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[8,16]},"
                         "\"a\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[0,8]},\"e\":{\"dtype\":\"F32\",\"shape\":[0,5],"
                         "\"data_offsets\":[16,16]}}   ";
    size_t hlen = strlen(header);
    unsigned char *file = malloc(8 + hlen + 16);
    EXPECT(file != NULL);
    if (!file) return;
    memset(file, 0, 8);
    file[0] = (unsigned char)hlen;
    memcpy(file + 8, header, hlen);
    float f[2] = {1.0f, -2.5f};
    int64_t i64 = 7;
    memcpy(file + 8 + hlen, f, sizeof f);
    memcpy(file + 8 + hlen + 8, &i64, sizeof i64);
    EXPECT_OK(safetensors_parse(file, 8 + hlen + 16, "made.safetensors", &st));
    EXPECT(st.n_tensors == 3);
    const StTensor *a = safetensors_find(&st, "a"), *b = safetensors_find(&st, "b"), *e = safetensors_find(&st, "e");
    EXPECT(a && a->dtype == ST_F32 && a->ndim == 2 && a->shape[0] == 2 && a->shape[1] == 1 && a->numel == 2);
    EXPECT(b && b->dtype == ST_I64 && b->numel == 1 && b->nbytes == 8);
    EXPECT(e && e->numel == 0 && e->nbytes == 0);
    if (a) {
        float got[2];
        safetensors_copy_f32(a, got);
        EXPECT(got[0] == 1.0f && got[1] == -2.5f);
    }
    if (b) {
        int64_t got;
        memcpy(&got, b->data, sizeof got);
        EXPECT(got == 7);
    }
    EXPECT(safetensors_find(&st, "c") == NULL);
    EXPECT(safetensors_metadata(&st, "imgsz") && !strcmp(safetensors_metadata(&st, "imgsz"), "64"));
    EXPECT(safetensors_metadata(&st, "nc") == NULL);
    safetensors_free(&st);
    safetensors_free(&st); // a freed reader is empty; freeing again is harmless
}

static void expect_bad(const char *header, size_t data_bytes, const char *fragment) {
    SafeTensors st;
    yolo_error_clear();
    if (parse_made(header, data_bytes, &st) == 0) {
        test_fail(__FILE__, __LINE__, "accepted %s, want an error containing \"%s\"", header, fragment);
        safetensors_free(&st);
    } else if (!strstr(yolo_error(), fragment) || !strstr(yolo_error(), "made.safetensors")) {
        test_fail(__FILE__, __LINE__, "message \"%s\" lacks the file name or \"%s\"", yolo_error(), fragment);
    }
    yolo_error_clear();
    EXPECT(st.n_tensors == 0 && st.file == NULL); // left empty on failure
}

TEST(parity_safetensors_rejects_malformed_files) {
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", 8, "not valid JSON");
    expect_bad("[1, 2]", 0, "must be a JSON object");
    expect_bad("{} x", 0, "unexpected bytes after the JSON header");
    expect_bad("{\"a\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, "dtype BF16; only F32 and I64");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,16]}}", 8, "outside the 8 data bytes");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,4]}}", 8, "outside the");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 16, "span 8 bytes but 3 F32 values need 12");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,8]}}", 8, "whole numbers >= 0");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,8]}}", 8, "whole numbers >= 0");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,8]}}", 8,
               "more elements than");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}", 8, "\"shape\" must be an array");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4, "9 dimensions");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, "\"data_offsets\" must be [begin, end]");
    expect_bad("{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "\"dtype\" must be a string");
    expect_bad("{\"a\":[]}", 0, "must be an object with dtype, shape, data_offsets");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
               "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "\"a\" appears twice");
    expect_bad("{\"__metadata__\":{\"nc\":3}}", 0, "value of \"nc\" is not a string");
    expect_bad("{\"__metadata__\":[]}", 0, "\"__metadata__\" must be an object");
    expect_bad("", 4, "the header length is 0");

    // Lengths that do not fit the file.
    SafeTensors st;
    unsigned char *tiny = malloc(4);
    EXPECT(tiny != NULL);
    if (tiny) {
        memset(tiny, 0, 4);
        EXPECT_FAILS_WITH(safetensors_parse(tiny, 4, "tiny.safetensors", &st), "tiny.safetensors: 4 bytes is too short");
    }
    unsigned char *lying = malloc(16);
    EXPECT(lying != NULL);
    if (lying) {
        memset(lying, 0xff, 16); // a header length of 2^64 - 1
        EXPECT_FAILS_WITH(safetensors_parse(lying, 16, "lying.safetensors", &st), "does not fit in the file's 16 bytes");
    }
    EXPECT_FAILS_WITH(safetensors_load("tests/fixtures/no-such-file.safetensors", &st), "cannot open tests/fixtures/no-such-file.safetensors");
    EXPECT_FAILS_WITH(safetensors_load("tests/fixtures", &st), "cannot read tests/fixtures");
}
