// Times the BN + SiLU of every Conv of a model, as the two ops batchnorm2d then silu and as the
// one fused batchnorm2d_silu, on the CPU backend in training mode: the part of a step the fusion
// changes, measured apart from the convolutions around it (a whole-model step on a shared machine
// is too noisy to show it). The two variants alternate within each repetition; figures are
// medians. The two-op backward includes zeroing the BN output's gradient, which the graph does
// for every activation before backward (graph_clear_activation_grads).
//
// usage: bn_silu_bench [--model yolov8n.yaml] [--batch 16] [--imgsz 320] [--threads 2] [--reps 7]
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/status.h"
#include "io/config_dir.h"
#include "nn/model.h"
#include "timing.h"

enum { MAX_LAYERS = 512 };

// One buffer per role, sized for the largest layer and shared by all of them.
typedef struct {
    float *x, *z, *y, *dy, *dz, *dx;
    float *gamma, *beta, *dgamma, *dbeta, *run_mean, *run_var, *mean, *invstd;
    void *workspace;
} Buffers;

typedef struct {
    Tensor x, z, y, dy, dz, dx, gamma, beta, dgamma, dbeta, run_mean, run_var, mean, invstd;
    OpArgs bn, silu, fused;
    size_t z_bytes;
} Layer;

static float *alloc_filled(int64_t n, uint32_t stream, float lo, float hi) {
    float *p = malloc((size_t)n * sizeof(float));
    if (p)
        for (int64_t i = 0; i < n; i++) p[i] = lo + (hi - lo) * rng_uniform(3, rng_stream(RNG_TEST, 950, stream), (uint64_t)i);
    return p;
}

static OpArgs args_for(OpKind kind, BatchNormParams p, const Backend *b) {
    return (OpArgs){.kind = kind, .p.bn = p, .n_in = 1, .training = 1, .backend = b};
}

// Binds the layer's tensors (shape s, over the shared buffers) to the three ops' arguments.
static void layer_bind(Layer *l, Shape s, BatchNormParams p, const Buffers *buf, const Backend *b, size_t ws_bytes) {
    Shape c = shape_1d(s.dim[1]);
    l->x = tensor_view(buf->x, s), l->z = tensor_view(buf->z, s), l->y = tensor_view(buf->y, s);
    l->dy = tensor_view(buf->dy, s), l->dz = tensor_view(buf->dz, s), l->dx = tensor_view(buf->dx, s);
    l->gamma = tensor_view(buf->gamma, c), l->beta = tensor_view(buf->beta, c);
    l->dgamma = tensor_view(buf->dgamma, c), l->dbeta = tensor_view(buf->dbeta, c);
    l->run_mean = tensor_view(buf->run_mean, c), l->run_var = tensor_view(buf->run_var, c);
    l->mean = tensor_view(buf->mean, c), l->invstd = tensor_view(buf->invstd, c);
    l->z_bytes = (size_t)shape_numel(s) * sizeof(float);
    OpArgs *bn = &l->bn, *silu = &l->silu, *fused = &l->fused;
    *bn = args_for(OP_BATCHNORM2D, p, b);
    *fused = args_for(OP_BATCHNORM2D_SILU, p, b);
    *silu = args_for(OP_SILU, p, b);
    OpArgs *norm[2] = {bn, fused};
    for (int k = 0; k < 2; k++) {
        OpArgs *a = norm[k];
        a->in[0] = &l->x;
        a->in_grad[0] = &l->dx;
        a->param[0] = &l->gamma, a->param[1] = &l->beta;
        a->param_grad[0] = &l->dgamma, a->param_grad[1] = &l->dbeta;
        a->buffer[0] = &l->run_mean, a->buffer[1] = &l->run_var;
        a->saved[0] = &l->mean, a->saved[1] = &l->invstd;
        a->workspace = buf->workspace;
        a->workspace_bytes = ws_bytes;
    }
    bn->out = &l->z;
    bn->out_grad = &l->dz;
    silu->in[0] = &l->z;
    silu->in_grad[0] = &l->dz;
    silu->out = &l->y;
    silu->out_grad = &l->dy;
    fused->out = &l->y;
    fused->out_grad = &l->dy;
}

static int run_split(Layer *ls, int n, double *fwd, double *bwd) {
    double t0 = now_seconds();
    for (int i = 0; i < n; i++) {
        TRY(backend_forward(&ls[i].bn));
        TRY(backend_forward(&ls[i].silu));
    }
    double t1 = now_seconds();
    for (int i = n - 1; i >= 0; i--) {
        memset(ls[i].dz.data, 0, ls[i].z_bytes);
        TRY(backend_backward(&ls[i].silu));
        TRY(backend_backward(&ls[i].bn));
    }
    *fwd = t1 - t0;
    *bwd = now_seconds() - t1;
    return 0;
}

static int run_fused(Layer *ls, int n, double *fwd, double *bwd) {
    double t0 = now_seconds();
    for (int i = 0; i < n; i++) TRY(backend_forward(&ls[i].fused));
    double t1 = now_seconds();
    for (int i = n - 1; i >= 0; i--) TRY(backend_backward(&ls[i].fused));
    *fwd = t1 - t0;
    *bwd = now_seconds() - t1;
    return 0;
}

int main(int argc, char **argv) {
    const char *model_name = "yolov8n.yaml";
    int batch = 16, imgsz = 320, threads = 2, reps = 7;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--model")) model_name = argv[i + 1];
        else if (!strcmp(argv[i], "--batch")) batch = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--imgsz")) imgsz = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--reps")) reps = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "bn_silu_bench: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (reps < 1 || reps > 1000) reps = 7;
    ModelDef def;
    Model m;
    char models[4200];
    Backend *backend = backend_cpu_create(threads);
    Graph *g = backend ? graph_create(backend) : NULL;
    if (!g || config_subdir("models", models, sizeof models) != 0 || model_yaml_load(model_name, models, &def) != 0 ||
        model_build(g, &def, &(ModelOptions){.batch = batch, .imgsz = imgsz}, &m) != 0) {
        fprintf(stderr, "bn_silu_bench: %s\n", yolo_error());
        return 1;
    }
    // The fused nodes module_conv built: their input shapes and BN settings.
    static Layer layers[MAX_LAYERS];
    Shape shapes[MAX_LAYERS];
    BatchNormParams params[MAX_LAYERS];
    int n = 0;
    int64_t most = 0, most_c = 0;
    for (int i = 0; i < g->n_nodes && n < MAX_LAYERS; i++) {
        if (g->nodes[i].kind != OP_BATCHNORM2D_SILU) continue;
        shapes[n] = g->values[g->nodes[i].in[0]].shape;
        params[n] = g->nodes[i].p.bn;
        if (shape_numel(shapes[n]) > most) most = shape_numel(shapes[n]);
        if (shapes[n].dim[1] > most_c) most_c = shapes[n].dim[1];
        n++;
    }
    Buffers buf = {
        .x = alloc_filled(most, 1, -2.0f, 3.0f), .z = alloc_filled(most, 2, 0, 0), .y = alloc_filled(most, 3, 0, 0),
        .dy = alloc_filled(most, 4, -1.0f, 1.0f), .dz = alloc_filled(most, 5, 0, 0), .dx = alloc_filled(most, 6, 0, 0),
        .gamma = alloc_filled(most_c, 7, 0.5f, 1.5f), .beta = alloc_filled(most_c, 8, -0.5f, 0.5f),
        .dgamma = alloc_filled(most_c, 9, 0, 0), .dbeta = alloc_filled(most_c, 10, 0, 0),
        .run_mean = alloc_filled(most_c, 11, 0, 0), .run_var = alloc_filled(most_c, 12, 1, 1),
        .mean = alloc_filled(most_c, 13, 0, 0), .invstd = alloc_filled(most_c, 14, 0, 0)};
    size_t ws = 0;
    for (int i = 0; i < n; i++) {
        layer_bind(&layers[i], shapes[i], params[i], &buf, backend, 0);
        size_t need = backend_workspace(&layers[i].fused);
        if (need > ws) ws = need;
    }
    buf.workspace = calloc(1, ws ? ws : 1);
    if (!buf.x || !buf.z || !buf.y || !buf.dy || !buf.dz || !buf.dx || !buf.gamma || !buf.beta || !buf.dgamma ||
        !buf.dbeta || !buf.run_mean || !buf.run_var || !buf.mean || !buf.invstd || !buf.workspace) {
        fprintf(stderr, "bn_silu_bench: out of memory\n");
        return 1;
    }
    for (int i = 0; i < n; i++) layer_bind(&layers[i], shapes[i], params[i], &buf, backend, ws);

    double *t = calloc(4 * (size_t)reps, sizeof *t);
    double *split_f = t, *split_b = t + reps, *fused_f = t + 2 * reps, *fused_b = t + 3 * reps;
    for (int r = -1; r < reps; r++) { // r = -1 warms up caches and page mappings
        double sf, sb, ff, fb;
        // Alternate which variant goes first, so neither always runs after the other.
        int ok = r % 2 ? run_split(layers, n, &sf, &sb) == 0 && run_fused(layers, n, &ff, &fb) == 0
                       : run_fused(layers, n, &ff, &fb) == 0 && run_split(layers, n, &sf, &sb) == 0;
        if (!ok) {
            fprintf(stderr, "bn_silu_bench: %s\n", yolo_error());
            return 1;
        }
        if (r < 0) continue;
        split_f[r] = sf, split_b[r] = sb, fused_f[r] = ff, fused_b[r] = fb;
    }
    printf("%s batch %d imgsz %d threads %d: %d Conv BN + SiLU pairs, training (median of %d)\n", model_name, batch,
           imgsz, threads, n, reps);
    double a = median(split_f, reps), b = median(split_b, reps), c = median(fused_f, reps), d = median(fused_b, reps);
    printf("  batchnorm2d + silu: forward %7.1f ms  backward %7.1f ms  total %7.1f ms\n", 1e3 * a, 1e3 * b, 1e3 * (a + b));
    printf("  batchnorm2d_silu:   forward %7.1f ms  backward %7.1f ms  total %7.1f ms\n", 1e3 * c, 1e3 * d, 1e3 * (c + d));
    free(t);
    float *all[] = {buf.x, buf.z, buf.y, buf.dy, buf.dz, buf.dx, buf.gamma, buf.beta, buf.dgamma, buf.dbeta,
                    buf.run_mean, buf.run_var, buf.mean, buf.invstd};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
    free(buf.workspace);
    graph_destroy(g);
    backend_destroy(backend);
    model_def_free(&def);
    return 0;
}
