#include "engine/evaluate.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/status.h"
#include "engine/progress.h"

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

void eval_graphs_init(EvalGraphs *e, Backend *backend, const ModelDef *def, int nc, int batch, int imgsz,
                      size_t params_size) {
    *e = (EvalGraphs){.backend = backend, .def = def, .nc = nc, .batch = batch, .imgsz = imgsz, .params_size = params_size};
}

void eval_graphs_free(EvalGraphs *e) {
    for (int i = 0; i < e->n; i++) graph_destroy(e->graphs[i].g);
    e->n = 0;
}

static int build(EvalGraphs *e, EvalGraph *v, int h, int w) {
    *v = (EvalGraph){.h = h, .w = w, .g = graph_create(e->backend), .weights_pass = -1};
    ModelOptions mo = {.nc = e->nc, .batch = e->batch, .imgsz = e->imgsz, .height = h, .width = w};
    int keep[MODEL_MAX_HEAD_VALUES];
    if (!v->g) return -1;
    TRY(model_build(v->g, e->def, &mo, &v->m));
    TRY(graph_plan_inference(v->g, keep, model_head_values(&v->m, keep)));
    if (v->g->params.size != e->params_size)
        return yolo_fail("internal: a %dx%d inference graph's weights differ in layout from the model's", w, h);
    return 0;
}

EvalGraph *eval_graph_for(EvalGraphs *e, int h, int w, const void *weights, int64_t pass) {
    EvalGraph *v = NULL;
    for (int i = 0; i < e->n && !v; i++)
        if (e->graphs[i].h == h && e->graphs[i].w == w) v = &e->graphs[i];
    if (!v) {
        if (e->n < EVAL_MAX_SHAPES) {
            v = &e->graphs[e->n++];
        } else {
            v = &e->graphs[0];
            for (int i = 1; i < e->n; i++)
                if (e->graphs[i].last_used < v->last_used) v = &e->graphs[i];
            graph_destroy(v->g);
        }
        if (build(e, v, h, w) != 0) {
            // The slot is left empty and reusable: the last one moves into it.
            graph_destroy(v->g);
            *v = e->graphs[--e->n];
            return NULL;
        }
    }
    v->last_used = ++e->uses;
    if (v->weights_pass != pass) {
        memcpy(v->g->params.base, weights, e->params_size);
        v->weights_pass = pass;
    }
    return v;
}

int eval_copy_batch_images(Graph *g, const Model *m, const Batch *b) {
    TRY(graph_set_batch(g, b->size));
    memcpy(g->values[m->input].data.data, b->images, sizeof(float) * 3 * (size_t)b->size * (size_t)b->h * (size_t)b->w);
    return 0;
}

int evaluate(EvalGraphs *e, Loader *loader, const EvalPass *p, double *losses, double *metrics, double *fitness,
             EvalTimes *times) {
    int n_losses = p->task->n_losses, nb = loader_batches_per_epoch(loader);
    if (p->criterion)
        for (int i = 0; i < n_losses; i++) losses[i] = 0.0;
    EvalTimes t = {0};
    Progress bar;
    progress_begin(&bar, p->verbose, nb, seconds());
    for (int k = 0; k < nb; k++) {
        double t0 = seconds();
        Batch b;
        TRY(loader_get(loader, 0, k, &b));
        // Building a new shape's graph is not pre-processing: left out of the timings.
        double built = seconds();
        EvalGraph *v = eval_graph_for(e, b.h, b.w, p->weights, p->pass);
        if (!v) return -1;
        t0 += seconds() - built;
        TRY(eval_copy_batch_images(v->g, &v->m, &b));
        double t1 = seconds();
        TRY(graph_forward(v->g));
        double t2 = seconds();
        if (p->criterion) {
            double batch_losses[TASK_MAX_LOSSES];
            TRY(p->task->criterion(p->criterion, v->g, &v->m, &b, false, batch_losses));
            for (int i = 0; i < n_losses; i++) losses[i] += batch_losses[i] / nb;
        }
        double t3 = seconds();
        TRY(p->task->validate_batch(p->validator, v->g, &v->m, &b));
        double t4 = seconds();
        t.preprocess += t1 - t0;
        t.inference += t2 - t1;
        t.postprocess += t4 - t3;
        t.images += b.size;
        if (p->on_batch) TRY(p->on_batch(p->ctx, k, &b, v->g, &v->m));
        char text[64];
        snprintf(text, sizeof text, "%22s", "validating");
        progress_update(&bar, text, k + 1, seconds());
    }
    if (times) *times = t;
    return p->task->validate_finish(p->validator, metrics, fitness, p->table);
}
