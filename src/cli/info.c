// `yolo TASK info model=... imgsz=... nc=...`: the layer table and summary of a model, in the
// spirit of Ultralytics' model summary. It builds the graph (shapes only, no memory) to count.
#include "cli/info.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "nn/model.h"

typedef struct {
    const char *model;
    int imgsz;
    int nc;
} InfoArgs;

static const char *default_model(const char *task) {
    if (!strcmp(task, "segment")) return "yolov8n-seg.yaml";
    if (!strcmp(task, "classify")) return "yolov8n-cls.yaml";
    return "yolov8n.yaml";
}

static int parse_int_value(const char *key, const char *value, int lo, int hi, int *out) {
    char *end;
    long v = strtol(value, &end, 10);
    if (!*value || *end || v < lo || v > hi)
        return yolo_fail("%s=%s: expected an integer from %d to %d, e.g. %s=%d", key, value, lo, hi, key, lo > 0 ? 640 : 80);
    *out = (int)v;
    return 0;
}

static int parse_info_args(const char *task, int argc, char **argv, InfoArgs *a) {
    *a = (InfoArgs){.model = default_model(task), .imgsz = !strcmp(task, "classify") ? 224 : 640, .nc = 0};
    for (int i = 0; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        if (!eq) return yolo_fail("'%s' is not key=value; info takes model=, imgsz= and nc=", argv[i]);
        size_t key_len = (size_t)(eq - argv[i]);
        const char *value = eq + 1;
        if (key_len == 5 && !strncmp(argv[i], "model", 5)) a->model = value;
        else if (key_len == 5 && !strncmp(argv[i], "imgsz", 5)) TRY(parse_int_value("imgsz", value, 32, 8192, &a->imgsz));
        else if (key_len == 2 && !strncmp(argv[i], "nc", 2)) TRY(parse_int_value("nc", value, 1, 100000, &a->nc));
        else return yolo_fail("'%.*s' is not an argument of info; use model=, imgsz= or nc=", (int)key_len, argv[i]);
    }
    return 0;
}

static void print_thousands(char *out, size_t cap, int64_t v) {
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%lld", (long long)v);
    size_t o = 0;
    for (int i = 0; i < n && o + 2 < cap; i++) {
        if (i > 0 && (n - i) % 3 == 0) out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
}

static void print_table(const Graph *g, const Model *m, const char *name, int imgsz) {
    printf("%3s %20s %3s %10s  %-12s %s\n", "", "from", "n", "params", "module", "arguments");
    for (int i = 0; i < m->n_layers; i++) {
        const LayerInfo *l = &m->layers[i];
        printf("%3d %20s %3d %10lld  %-12s %s\n", l->index, l->from, l->repeats, (long long)l->params, l->module, l->args);
    }
    char params[32], grads[32];
    print_thousands(params, sizeof params, model_param_count(g, false));
    print_thousands(grads, sizeof grads, model_param_count(g, true));
    printf("%s summary (nc=%d): %d rows, %d ops, %s parameters, %s gradients, %.1f GFLOPs at imgsz=%d\n", name, m->nc,
           m->n_layers, g->n_nodes, params, grads, model_reported_gflops(g, imgsz), imgsz);
}

int info_main(const char *task, int argc, char **argv) {
    InfoArgs a;
    TRY(parse_info_args(task, argc, argv, &a));
    ModelDef def;
    TRY(model_yaml_load(a.model, YOLO_CONFIG_DIR "/models", &def));
    Backend *backend = backend_cpu_create(1);
    Graph *g = backend ? graph_create(backend) : NULL;
    Model m;
    int rc = g ? model_build(g, &def, &(ModelOptions){.nc = a.nc, .batch = 1, .imgsz = a.imgsz}, &m) : -1;
    if (rc == 0) {
        const char *want = !strcmp(task, "classify") ? "classify" : !strcmp(task, "segment") ? "segment" : "detect";
        const char *have = m.head == HEAD_CLASSIFY ? "classify" : m.head == HEAD_SEGMENT ? "segment" : "detect";
        if (strcmp(want, have) != 0)
            rc = yolo_fail("%s is a %s model; run 'yolo %s info model=%s'", def.path, have, have, a.model);
        else
            print_table(g, &m, a.model, a.imgsz);
    }
    graph_destroy(g);
    backend_destroy(backend);
    model_def_free(&def);
    return rc;
}
