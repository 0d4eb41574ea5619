// `yolo TASK info model=... imgsz=... nc=...`: the layer table and summary of a model, in the
// spirit of Ultralytics' model summary. It builds the graph (shapes only, no memory) to count.
#include "cli/info.h"

#include <stdio.h>
#include <string.h>

#include "core/status.h"
#include "io/config_dir.h"
#include "nn/model.h"

// The keys info reads.
static const char *const INFO_KEYS[] = {"task", "mode", "model", "imgsz", "nc"};

static int check_info_keys(const Args *a) {
    for (int k = 0; k < args_key_count(); k++) {
        const char *key = args_key_name(k);
        bool used = false;
        for (size_t i = 0; i < sizeof INFO_KEYS / sizeof INFO_KEYS[0]; i++) used |= !strcmp(key, INFO_KEYS[i]);
        if (args_given(a, key) && !used) return yolo_fail("'%s' is not an argument of info; use model=, imgsz= or nc=", key);
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

int info_main(const Args *a) {
    TRY(check_info_keys(a));
    ModelDef def;
    char models[4200];
    TRY(config_subdir("models", models, sizeof models));
    TRY(model_yaml_load(a->model, models, &def));
    Backend *backend = backend_cpu_create(1);
    Graph *g = backend ? graph_create(backend) : NULL;
    Model m;
    int nc = a->nc.kind == ARGS_INT ? (int)a->nc.i : 0; // 0: the model file's nc
    int rc = g ? model_build(g, &def, &(ModelOptions){.nc = nc, .batch = 1, .imgsz = a->imgsz}, &m) : -1;
    if (rc == 0) {
        const char *have = m.head == HEAD_CLASSIFY ? "classify" : m.head == HEAD_SEGMENT ? "segment" : "detect";
        if (strcmp(a->task, have) != 0)
            rc = yolo_fail("%s is a %s model; run 'yolo %s info model=%s'", def.path, have, have, a->model);
        else
            print_table(g, &m, a->model, a->imgsz);
    }
    graph_destroy(g);
    backend_destroy(backend);
    model_def_free(&def);
    return rc;
}
