// A training run's state as the trainer's files share it: trainer.c (setup and the epoch loop),
// run_save.c (checkpoints and results.csv rows), run_state.c (the checkpoint's state JSON written
// and restored), run_validate.c (validation graphs and the validation pass). Private to
// src/engine.
#ifndef YOLO_ENGINE_RUN_H
#define YOLO_ENGINE_RUN_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "engine/checkpoint.h"
#include "engine/evaluate.h"
#include "engine/optimizer.h"
#include "engine/train_options.h"
#include "tasks/task.h"

enum { MAX_COLUMNS = 2 + 2 * TASK_MAX_LOSSES + TASK_MAX_METRICS + OPTIM_GROUPS };

static inline double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef struct {
    const TrainOptions *o;
    const TaskImpl *task;
    Backend *backend;
    DatasetConfig data;
    DatasetSplit train_split, val_split;
    ModelDef def;
    Graph *g;
    Model m;
    Optimizer optim;
    Ema ema;
    Loader *train_loader, *val_loader;
    void *criterion, *val_criterion, *validator;
    EvalGraphs val_graphs; // forward-only graphs per validation batch shape, holding the EMA
    int64_t val_passes;    // validations run by this process (the generation of the EMA they hold)
    char run_dir[4096];
    double lr0, momentum, warmup_bias_lr;
    int accumulate, nb, val_batch;
    int64_t last_opt_step;
    double best_fitness;
    int best_epoch;
    int stale;       // epochs since the best one (early stopping)
    int start_epoch; // epochs done before this process (resume)
    int start_batch; // micro-batches of epoch start_epoch done before this process
    // Resumed: the batch size, batches per epoch and decayed group's weight decay the checkpoint
    // was trained with (batch= may change on resume; run_resume_position rebases the position).
    int resumed_batch, resumed_nb;
    double resumed_weight_decay;
    double epoch_losses[TASK_MAX_LOSSES]; // the running means of the current epoch's train losses
    int64_t batches_run; // micro-batches trained by this process (the interrupt test hook)
    // The LR plan: Ultralytics' schedule over [0, epochs) while plan_from is 0; after epochs= was
    // extended on resume, the same shape from lf plan_lf at epoch plan_from to lrf at the new end.
    int plan_from;
    double plan_lf;
    double start;        // when this process started training
    double last_save;    // when last.ckpt was last written (save_minutes)
    Checkpoint ck;   // the checkpoint being resumed (state NULL for a new run)
    Checkpoint weights; // a new run's starting weights (o->weights; state NULL for none), open during setup
    // Resumed from last.prev.ckpt because last.ckpt is damaged: the first save must not make the
    // damaged file the previous generation in place of the whole one.
    bool keep_prev;
    int lock_fd; // holds the run folder's lock (flock: the kernel drops it when the process dies)
    double elapsed_before; // training seconds of earlier processes (resume)
    double train_seconds;  // in train_epoch, this process: the whole step with data loading
    int64_t images_trained;
    cJSON *history;        // every results.csv row
} Run;

// run_state.c
const char *run_optim_name(OptimKind kind);
// lf at `epoch` of the plan that starts at epoch `from` with lf from_lf (from 0: Ultralytics' own).
double run_plan_lf(int from, double from_lf, int epochs, const TrainOptions *o, int epoch);
int run_resumed_optimizer(Run *r, OptimKind *kind);
int run_restore_state(Run *r);
// After the loaders exist (nb is the loader's): checks the restored position, or rebases it when
// batch= changed on resume.
int run_resume_position(Run *r);
// A resumed run's dataset failed to load: -1, with a hint to give data= when the stored one is gone.
int run_dataset_gone(const Run *r);
cJSON *run_state_json(const Run *r, int epochs_done, int batch, bool finished, double elapsed);
int run_resumed_dir(const char *ckpt, char *out, size_t cap);
int run_rewrite_results(const Run *r, const char *path);

// run_save.c: last.ckpt at position (epochs_done, batch) (at an epoch end, batch 0, also
// best.ckpt when best and epoch<N>.ckpt by save_period), and the results.csv row of an epoch
// (also kept in r->history for the checkpoint).
int run_save_checkpoints(Run *r, int epochs_done, int batch, bool best, bool finished, double elapsed);
int run_log_epoch(Run *r, int epoch, double elapsed, const double *train_losses, const double *metrics,
                  const double *val_losses);

// run_validate.c
int run_validate(Run *r, double *val_losses, double *metrics, double *fitness, bool table);

#endif
