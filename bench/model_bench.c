// Times a whole model on the CPU backend: forward, and forward + backward (the output gradients
// set to fixed random values, as a loss would), per image, with the memory the graph planned
// and the process's peak resident size. No optimizer step and no data loading: the engine alone.
//
// usage: model_bench [--model yolov8n.yaml] [--batch 16] [--imgsz 320] [--threads 2] [--reps 5] [--profile]
//                    [--cpu-time]
//
// --cpu-time times with the process's CPU time instead of the wall clock: with --threads 1 it is
// the work a step costs, whatever else the (shared, noisy) machine runs.
//
// --profile also runs the nodes one by one and prints where a step's time goes: the total per op
// kind, and the slowest conv nodes forward and backward, as medians over the repetitions.
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

enum { PROFILE_TOP = 15 };

typedef struct {
    int node;
    double ms;
} NodeTime;

static int by_time_desc(const void *a, const void *b) {
    double x = ((const NodeTime *)a)->ms, y = ((const NodeTime *)b)->ms;
    return (x < y) - (x > y);
}

static void describe_node(const Graph *g, int i, char *buf, size_t cap) {
    const Node *node = &g->nodes[i];
    const Shape *x = &g->values[node->in[0]].shape, *y = &g->values[node->out].shape;
    if (node->kind == OP_CONV2D) {
        const ConvParams *c = &node->p.conv;
        snprintf(buf, cap, "conv %3lldx%-3lld -> %3lld k%d s%d g%d  out %lldx%lld", (long long)x->dim[1],
                 (long long)x->dim[2], (long long)y->dim[1], c->kh, c->sh, c->groups, (long long)y->dim[2],
                 (long long)y->dim[3]);
    } else {
        snprintf(buf, cap, "%s", op_name(node->kind));
    }
}

// Runs forward then backward node by node, reps times, and prints medians per op kind and the
// slowest conv nodes. The output gradients are refilled each time, as in the timed loop.
static void profile(Graph *g, const int *outs, int n_outs, int reps) {
    int n = g->n_nodes;
    double *fwd = calloc((size_t)(n * reps), sizeof *fwd), *bwd = calloc((size_t)(n * reps), sizeof *bwd);
    double *col = calloc((size_t)reps, sizeof *col);
    double clear_ms;
    for (int r = 0; r < reps; r++) {
        for (int i = 0; i < n; i++) {
            g->nodes[i].args.training = g->training;
            double t0 = now_seconds();
            backend_forward(&g->nodes[i].args);
            fwd[i * reps + r] = 1e3 * (now_seconds() - t0);
        }
        double t0 = now_seconds();
        graph_clear_activation_grads(g);
        col[r] = 1e3 * (now_seconds() - t0);
        for (int k = 0; k < n_outs; k++) fill(&g->values[outs[k]].grad, (uint32_t)(k + 1));
        for (int i = n - 1; i >= 0; i--) {
            if (!g->nodes[i].args.out_grad) continue;
            double t1 = now_seconds();
            backend_backward(&g->nodes[i].args);
            bwd[i * reps + r] = 1e3 * (now_seconds() - t1);
        }
    }
    clear_ms = median(col, reps);
    double kind_f[OP_COUNT] = {0}, kind_b[OP_COUNT] = {0};
    int kind_n[OP_COUNT] = {0};
    NodeTime *tf = calloc((size_t)n, sizeof *tf), *tb = calloc((size_t)n, sizeof *tb);
    double total_f = 0, total_b = 0;
    for (int i = 0; i < n; i++) {
        double f = median(fwd + i * reps, reps), b = median(bwd + i * reps, reps);
        kind_f[g->nodes[i].kind] += f;
        kind_b[g->nodes[i].kind] += b;
        kind_n[g->nodes[i].kind]++;
        tf[i] = (NodeTime){i, f};
        tb[i] = (NodeTime){i, b};
        total_f += f;
        total_b += b;
    }
    printf("  profile (median ms of %d, node by node): forward %.1f, clear activation grads %.1f, backward %.1f\n",
           reps, total_f, clear_ms, total_b);
    printf("    %-22s %5s %9s %9s\n", "op", "nodes", "fwd ms", "bwd ms");
    for (int k = 0; k < OP_COUNT; k++)
        if (kind_n[k]) printf("    %-22s %5d %9.1f %9.1f\n", op_name((OpKind)k), kind_n[k], kind_f[k], kind_b[k]);
    qsort(tf, (size_t)n, sizeof *tf, by_time_desc);
    qsort(tb, (size_t)n, sizeof *tb, by_time_desc);
    char desc[160];
    printf("    slowest nodes forward | backward:\n");
    for (int k = 0; k < PROFILE_TOP && k < n; k++) {
        describe_node(g, tf[k].node, desc, sizeof desc);
        printf("    %4d %-40s %7.2f |", tf[k].node, desc, tf[k].ms);
        describe_node(g, tb[k].node, desc, sizeof desc);
        printf(" %4d %-40s %7.2f\n", tb[k].node, desc, tb[k].ms);
    }
    free(fwd);
    free(bwd);
    free(col);
    free(tf);
    free(tb);
}

static double mib(size_t bytes) { return (double)bytes / 1048576.0; }

int main(int argc, char **argv) {
    const char *model_name = "yolov8n.yaml";
    int batch = 16, imgsz = 320, threads = 2, reps = 5;
    bool want_profile = false, cpu_time = false;
    for (int i = 1; i < argc; i += 2) {
        if (!strcmp(argv[i], "--profile") || !strcmp(argv[i], "--cpu-time")) {
            *(argv[i][2] == 'p' ? &want_profile : &cpu_time) = true;
            i--;
        } else if (i + 1 >= argc) {
            fprintf(stderr, "model_bench: %s needs a value\n", argv[i]);
            return 2;
        } else if (!strcmp(argv[i], "--model")) model_name = argv[i + 1];
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
        double (*clock)(void) = cpu_time ? cpu_seconds : now_seconds;
        double t0 = clock();
        if (graph_forward(g) != 0) break;
        double t1 = clock();
        graph_clear_activation_grads(g);
        for (int k = 0; k < n_outs; k++) fill(&g->values[outs[k]].grad, (uint32_t)(k + 1));
        double t2 = clock();
        if (graph_backward(g) != 0) break;
        double t3 = clock();
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
    printf("%s batch %d imgsz %d threads %d (median of %d%s)\n", model_name, batch, imgsz, threads, reps,
           cpu_time ? ", process CPU time" : "");
    printf("  forward:            %8.1f ms/step  %7.2f ms/image  %6.1f images/s\n", 1e3 * f, 1e3 * f / batch, batch / f);
    printf("  forward + backward: %8.1f ms/step  %7.2f ms/image  %6.1f images/s  (fastest step %.1f ms)\n", 1e3 * s,
           1e3 * s / batch, batch / s, 1e3 * step[0]);
    printf("  planned memory: parameters %.1f MiB, gradients %.1f, optimizer %.1f, activations %.1f, "
           "activation gradients %.1f, workspace %.1f MiB\n",
           mib(g->params.size), mib(g->grads.size), mib(g->optim.size), mib(g->activations.size),
           mib(g->activation_grads.size), mib(g->workspace.size));
    printf("  peak resident memory: %.1f MiB\n", (double)ru.ru_maxrss / 1024.0);
    if (want_profile) profile(g, outs, n_outs, reps);
    free(fwd);
    free(step);
    graph_destroy(g);
    backend_destroy(backend);
    model_def_free(&def);
    return 0;
}
