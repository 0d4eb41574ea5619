// Checkpoints of a real model (issue 6): the size of a .ckpt (fp32 raw weights + EMA + optimizer
// slots, and with partial gradients), the time to save one (serialize, write, fsync, keep the
// previous generation, rename), to open one (read, XXH3 check of the data, parse the state) and to
// restore it into a planned graph, and the time from `resume` to the first training step (open,
// dataset scan, model build and plan, restore, loaders) measured through the trainer itself.
//
// It first trains one micro-batch of a new run (yolov8n on --data, AdamW) and interrupts it, which
// leaves the checkpoint everything else starts from. Timings are medians; not a test.
//
// usage: ckpt_bench [--data shapes.yaml] [--imgsz 320] [--batch 16] [--threads 2] [--reps 10]
//                   [--resumes 3] [--datasets DIR] (default: a scratch folder, generated there)
#define _XOPEN_SOURCE 700 // nftw
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/status.h"
#include "engine/checkpoint.h"
#include "engine/trainer.h"
#include "nn/model.h"
#include "timing.h"

static double mb(double bytes) { return bytes / 1e6; }

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

// The trainer prints its progress; the bench's own lines are what matters here.
static int quiet_begin(void) {
    fflush(stdout);
    int saved = dup(STDOUT_FILENO), null = open("/dev/null", O_WRONLY);
    if (null >= 0) {
        dup2(null, STDOUT_FILENO);
        close(null);
    }
    return saved;
}

static void quiet_end(int saved) {
    fflush(stdout);
    if (saved >= 0) {
        dup2(saved, STDOUT_FILENO);
        close(saved);
    }
}

// Ultralytics' defaults (configs/default.yaml) for the arguments a detect run reads.
static TrainOptions defaults(const char *dir, const char *data, const char *datasets, int imgsz, int batch, int threads) {
    TrainOptions o = {
        .task = TASK_DETECT, .optimizer = "AdamW", .epochs = 100, .patience = 100, .batch = batch, .imgsz = imgsz,
        .workers = 2, .close_mosaic = 10, .nbs = 64, .max_det = 300, .save_period = -1, .mask_ratio = 4, .save = true,
        .val = true, .deterministic = true, .threads = threads, .fraction = 1.0f, .lr0 = 0.01f, .lrf = 0.01f,
        .momentum = 0.937f, .weight_decay = 5e-4f, .warmup_epochs = 3.0f, .warmup_momentum = 0.8f, .warmup_bias_lr = 0.1f,
        .box = 7.5f, .cls = 0.5f, .dfl = 1.5f, .conf = 0.001f, .iou = 0.7, .erasing = 0.4f,
        .aug = {.hsv_h = 0.015f, .hsv_s = 0.7f, .hsv_v = 0.4f, .translate = 0.1f, .scale = 0.5f, .fliplr = 0.5f, .mosaic = 1.0f},
        .args_yaml = "task: detect\nmode: train\nmodel: yolov8n.yaml\n",
    };
    snprintf(o.model, sizeof o.model, "yolov8n.yaml");
    snprintf(o.data, sizeof o.data, "%s", data);
    snprintf(o.project, sizeof o.project, "%s/runs", dir);
    snprintf(o.datasets_dir, sizeof o.datasets_dir, "%s", datasets);
    return o;
}

static double first_step_at;

static void on_setup_done(void *ctx, const Graph *g, const Ema *ema) {
    (void)ctx, (void)g, (void)ema;
    first_step_at = now_seconds();
}

typedef struct {
    double raw, ema, optim, grad, total;
} Sizes;

static Sizes sizes_of(const Checkpoint *ck, const char *path) {
    Sizes s = {0};
    for (int i = 0; i < ck->st.n_tensors; i++) {
        const StTensor *t = &ck->st.tensors[i];
        double n = (double)t->nbytes;
        if (!strncmp(t->name, "ema.", 4)) s.ema += n;
        else if (!strncmp(t->name, "optim.", 6)) s.optim += n;
        else if (!strncmp(t->name, "grad.", 5)) s.grad += n;
        else s.raw += n;
    }
    struct stat st;
    s.total = stat(path, &st) == 0 ? (double)st.st_size : 0.0;
    return s;
}

static int bench(const char *dir, const char *data, const char *datasets, int imgsz, int batch, int threads, int reps,
                 int resumes) {
    // The checkpoint to start from: one micro-batch of a new run, interrupted.
    TrainOptions o = defaults(dir, data, datasets, imgsz, batch, threads);
    o.interrupt_after_batches = 1;
    int quiet = quiet_begin();
    int rc = train_run(&o);
    quiet_end(quiet);
    if (rc != 130) return rc == 0 ? yolo_fail("the first run was not interrupted") : -1;
    char ckpt[512], path[512], prev[512];
    snprintf(ckpt, sizeof ckpt, "%s/runs/train/weights/last.ckpt", dir);

    // Open: read, checksum, state JSON.
    double *t = calloc((size_t)(reps > resumes ? reps : resumes), sizeof *t);
    if (!t) return yolo_fail("out of memory");
    Checkpoint ck;
    for (int r = -1; r < reps; r++) { // r = -1 warms the page cache
        double t0 = now_seconds();
        TRY(checkpoint_open(ckpt, &ck));
        if (r >= 0) t[r] = now_seconds() - t0;
        if (r + 1 < reps) checkpoint_close(&ck);
    }
    double open_s = median(t, reps);
    Sizes sz = sizes_of(&ck, ckpt);

    // Restore into a graph planned as the trainer plans it (a small batch: the tensors stored do
    // not depend on it).
    ModelDef def;
    Model m;
    Backend *backend = backend_cpu_create(threads);
    Graph *g = backend ? graph_create(backend) : NULL;
    Optimizer optim = {0};
    Ema ema = {0};
    if (!g) return -1;
    TRY(checkpoint_model_def(&ck, &def));
    TRY(model_build(g, &def, &(ModelOptions){.nc = def.nc, .batch = 1, .imgsz = 64}, &m));
    TRY(graph_plan(g, optimizer_slots(OPTIM_ADAMW)));
    TRY(optimizer_init(&optim, g, OPTIM_ADAMW, 0.01, 0.937, 5e-4));
    TRY(ema_init(&ema, g));
    int64_t params = 0;
    for (int i = 0; i < g->n_values; i++)
        if (g->values[i].kind == VALUE_PARAM) params += shape_numel(g->values[i].shape);
    for (int r = -1; r < reps; r++) {
        double t0 = now_seconds();
        TRY(checkpoint_restore(&ck, g, &ema, &optim));
        if (r >= 0) t[r] = now_seconds() - t0;
    }
    double restore_s = median(t, reps);

    // Save: the same content and state, atomically, keeping the previous generation each time.
    char *state = cJSON_PrintUnformatted(ck.state);
    if (!state) return yolo_fail("out of memory");
    CheckpointContent c = {.g = g, .ema = &ema, .optim = &optim, .task = "detect", .state_json = state};
    snprintf(path, sizeof path, "%s/bench.ckpt", dir);
    snprintf(prev, sizeof prev, "%s/bench.prev.ckpt", dir);
    for (int r = -1; r < reps; r++) {
        double t0 = now_seconds();
        TRY(checkpoint_save(path, prev, &c));
        if (r >= 0) t[r] = now_seconds() - t0;
    }
    double save_s = median(t, reps);
    c.with_grads = true;
    snprintf(path, sizeof path, "%s/bench-grads.ckpt", dir);
    TRY(checkpoint_save(path, NULL, &c));
    struct stat st;
    double with_grads = stat(path, &st) == 0 ? (double)st.st_size : 0.0;
    free(state);
    checkpoint_close(&ck);

    // Resume to the first training step, through the trainer: each resume trains one more
    // micro-batch and is interrupted again, so the next one resumes from there.
    double *total = calloc((size_t)resumes, sizeof *total);
    if (!total) return yolo_fail("out of memory");
    for (int r = 0; r < resumes && rc >= 0; r++) {
        TrainOptions ro = defaults(dir, data, datasets, imgsz, batch, threads);
        snprintf(ro.resume, sizeof ro.resume, "%s", ckpt);
        ro.interrupt_after_batches = 1;
        ro.after_setup = on_setup_done;
        quiet = quiet_begin();
        double t0 = now_seconds();
        rc = train_run(&ro);
        total[r] = now_seconds() - t0;
        quiet_end(quiet);
        t[r] = first_step_at - t0;
    }
    if (rc != 130) return rc == 0 ? yolo_fail("a resumed run was not interrupted") : -1;
    double resume_s = median(t, resumes), through_s = median(total, resumes);

    printf("yolov8n (nc=%d), AdamW: %lld parameters (%.2f MB fp32) and BN buffers\n", def.nc, (long long)params,
           mb(4.0 * (double)params));
    printf("  .ckpt size: %.2f MB = raw %.2f + EMA %.2f + optimizer slots %.2f MB + header and state; with partial "
           "gradients (a mid-accumulation save): %.2f MB\n",
           mb(sz.total), mb(sz.raw), mb(sz.ema), mb(sz.optim), mb(with_grads));
    printf("  the EMA weights alone in fp16 (what Ultralytics' last.pt keeps of the model): %.2f MB\n", mb(sz.ema / 2));
    printf("  save (serialize, write, fsync, keep last.prev, rename): %.1f ms (median of %d)\n", 1e3 * save_s, reps);
    printf("  open (read, XXH3 of the data, parse the state):         %.1f ms (median of %d)\n", 1e3 * open_s, reps);
    printf("  restore into the graph, EMA and optimizer:              %.1f ms (median of %d)\n", 1e3 * restore_s, reps);
    printf("  resume -> first training step (imgsz %d, batch %d, %s): %.2f s; through that step and the interrupt's "
           "save: %.2f s (median of %d)\n",
           imgsz, batch, data, resume_s, through_s, resumes);
    free(t);
    free(total);
    ema_free(&ema);
    optimizer_free(&optim);
    graph_destroy(g);
    backend_destroy(backend);
    model_def_free(&def);
    return 0;
}

int main(int argc, char **argv) {
    const char *data = "shapes.yaml", *datasets = NULL;
    int imgsz = 320, batch = 16, threads = 2, reps = 10, resumes = 3;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--data")) data = argv[i + 1];
        else if (!strcmp(argv[i], "--datasets")) datasets = argv[i + 1];
        else if (!strcmp(argv[i], "--imgsz")) imgsz = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--batch")) batch = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--reps")) reps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--resumes")) resumes = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "ckpt_bench: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (reps < 1 || reps > 1000) reps = 10;
    if (resumes < 1 || resumes > 100) resumes = 3;
    char dir[] = "/tmp/yolo-ckpt-bench-XXXXXX", scratch_datasets[64];
    if (!mkdtemp(dir)) {
        perror("ckpt_bench: mkdtemp");
        return 1;
    }
    snprintf(scratch_datasets, sizeof scratch_datasets, "%s/datasets", dir);
    int rc = bench(dir, data, datasets ? datasets : scratch_datasets, imgsz, batch, threads, reps, resumes);
    if (rc != 0) fprintf(stderr, "ckpt_bench: %s\n", yolo_error());
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc != 0;
}
