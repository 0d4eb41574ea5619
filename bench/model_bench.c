// Times a whole model on the CPU backend: forward, and forward + backward (the output gradients
// set to fixed random values, as a loss would), per image, with the memory the graph planned
// and the process's peak resident size. No optimizer step and no data loading: the engine alone.
//
// usage: model_bench [--model yolov8n.yaml] [--batch 16] [--imgsz 320] [--threads 2] [--reps 5]
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "core/rng.h"
#include "core/status.h"
#include "io/config_dir.h"
#include "nn/model.h"
#include "timing.h"

static void fill(Tensor *t, uint32_t stream) {
    for (int64_t k = 0; k < tensor_numel(t); k++) t->data[k] = rng_uniform(1, rng_stream(RNG_TEST, 900, stream), (uint64_t)k) - 0.5f;
}

// Every differentiated head output of the model.
static int head_outputs(const Model *m, int *out) {
    int n = 0;
    if (m->head == HEAD_CLASSIFY) {
        out[n++] = m->logits;
        return n;
    }
    for (int l = 0; l < m->n_levels; l++) out[n++] = m->outputs[l];
    if (m->head == HEAD_SEGMENT) {
        for (int l = 0; l < m->n_levels; l++) out[n++] = m->coeffs[l];
        out[n++] = m->proto;
    }
    return n;
}

static double mib(size_t bytes) { return (double)bytes / 1048576.0; }

int main(int argc, char **argv) {
    const char *model_name = "yolov8n.yaml";
    int batch = 16, imgsz = 320, threads = 2, reps = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--model")) model_name = argv[i + 1];
        else if (!strcmp(argv[i], "--batch")) batch = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--imgsz")) imgsz = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--reps")) reps = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "model_bench: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (reps < 1 || reps > 1000) reps = 5;
    ModelDef def;
    Backend *backend = backend_cpu_create(threads);
    Graph *g = backend ? graph_create(backend) : NULL;
    Model m;
    char models[4200];
    if (!g || config_subdir("models", models, sizeof models) != 0 || model_yaml_load(model_name, models, &def) != 0 ||
        model_build(g, &def, &(ModelOptions){.batch = batch, .imgsz = imgsz}, &m) != 0 || graph_plan(g, 1) != 0) {
        fprintf(stderr, "model_bench: %s\n", yolo_error());
        return 1;
    }
    model_init_weights(g, &m, 0);
    fill(&g->values[m.input].data, 0);
    int outs[3 * HEAD_MAX_LEVELS];
    int n_outs = head_outputs(&m, outs);

    double *fwd = calloc((size_t)reps, sizeof *fwd), *step = calloc((size_t)reps, sizeof *step);
    for (int r = -1; r < reps; r++) { // r = -1 warms up caches and page mappings
        double t0 = now_seconds();
        if (graph_forward(g) != 0) break;
        double t1 = now_seconds();
        graph_clear_activation_grads(g);
        for (int k = 0; k < n_outs; k++) fill(&g->values[outs[k]].grad, (uint32_t)(k + 1));
        double t2 = now_seconds();
        if (graph_backward(g) != 0) break;
        double t3 = now_seconds();
        if (r >= 0) {
            fwd[r] = t1 - t0;
            step[r] = (t1 - t0) + (t3 - t2);
        }
    }
    if (yolo_error()[0]) {
        fprintf(stderr, "model_bench: %s\n", yolo_error());
        return 1;
    }
    double f = median(fwd, reps), s = median(step, reps);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("%s batch %d imgsz %d threads %d (median of %d)\n", model_name, batch, imgsz, threads, reps);
    printf("  forward:            %8.1f ms/step  %7.2f ms/image  %6.1f images/s\n", 1e3 * f, 1e3 * f / batch, batch / f);
    printf("  forward + backward: %8.1f ms/step  %7.2f ms/image  %6.1f images/s\n", 1e3 * s, 1e3 * s / batch, batch / s);
    printf("  planned memory: parameters %.1f MiB, gradients %.1f, optimizer %.1f, activations %.1f, "
           "activation gradients %.1f, workspace %.1f MiB\n",
           mib(g->params.size), mib(g->grads.size), mib(g->optim.size), mib(g->activations.size),
           mib(g->activation_grads.size), mib(g->workspace.size));
    printf("  peak resident memory: %.1f MiB\n", (double)ru.ru_maxrss / 1024.0);
    free(fwd);
    free(step);
    graph_destroy(g);
    backend_destroy(backend);
    model_def_free(&def);
    return 0;
}
