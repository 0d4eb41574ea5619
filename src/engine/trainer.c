// Training (spec §7): a run set up from its options (dataset, model, optimizer, loaders, the
// task's criterion and validator, the run folder; on resume all of it from last.ckpt) and its
// epoch loop. What the run writes is run_save.c, its checkpoint state run_state.c, validation
// run_validate.c.
#include "engine/trainer.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "core/status.h"
#include "engine/run.h"
#include "engine/batch_plots.h"
#include "engine/checkpoint.h"
#include "engine/optimizer.h"
#include "engine/progress.h"
#include "engine/run_dir.h"
#include "io/atomic_file.h"
#include "io/config_dir.h"
#include "plot/results_plot.h"
#include "tasks/task.h"
#include "yolo/version.h"

static const double GRAD_CLIP_NORM = 10.0;

// The first SIGINT/SIGTERM asks the loop to stop after the current micro-batch with a checkpoint
// of the exact position; a second one exits at once (the atomic writes keep the last complete
// checkpoint whole).
static volatile sig_atomic_t interrupt_signal;

static void on_interrupt(int sig) {
    if (interrupt_signal) _exit(128 + sig);
    interrupt_signal = sig;
}

static int load_data_and_model(Run *r) {
    const TrainOptions *o = r->o;
    bool classify = o->task == TASK_CLASSIFY;
    if (dataset_config_load(o->data, o->datasets_dir[0] ? o->datasets_dir : NULL, classify, &r->data) != 0)
        return o->resume[0] ? run_dataset_gone(r) : -1;
    TRY(dataset_scan(&r->data, SPLIT_TRAIN, &r->train_split));
    TRY(dataset_scan(&r->data, SPLIT_VAL, &r->val_split));
    if (r->task->check_dataset) TRY(r->task->check_dataset(&r->data, &r->train_split, &r->val_split));
    // model=PATH.ckpt: the architecture the checkpoint stores, so its source YAML need not exist. A
    // resumed run reads it from its own checkpoint, which stores the same text.
    size_t n = strlen(o->model);
    if (n >= 5 && !strcmp(o->model + n - 5, ".ckpt")) {
        const Checkpoint *from = o->resume[0] ? &r->ck : &r->weights;
        if (!from->state)
            return yolo_fail("model=%s: a checkpoint as the model needs it as the weights too (weights=%s)", o->model,
                             o->model);
        TRY(checkpoint_model_def(from, &r->def));
    } else {
        char models[4200];
        TRY(config_subdir("models", models, sizeof models));
        TRY(model_yaml_load(o->model, models, &r->def));
    }
    if (r->def.nc != r->data.nc) printf("Overriding model nc=%d with the dataset's nc=%d\n", r->def.nc, r->data.nc);
    r->g = graph_create(r->backend);
    if (!r->g) return -1;
    ModelOptions mo = {.nc = r->data.nc, .batch = o->batch, .imgsz = o->imgsz, .dropout = o->dropout};
    TRY(model_build(r->g, &r->def, &mo, &r->m));
    // Before anything is written: another task's head would only fail at the first loss.
    const char *head = model_task_name(&r->m), *task = r->task->name;
    if (strcmp(head, task) != 0) {
        const char *suffix = !strcmp(task, "classify") ? "-cls" : !strcmp(task, "segment") ? "-seg" : "";
        return yolo_fail("model=%s is a %s model; `yolo %s train` needs a %s model such as yolov8n%s.yaml (or train this "
                         "one with `yolo %s train`)", o->model, head, task, task, suffix, head);
    }
    return 0;
}

// Optimizer choice, accumulation and decay scaling (spec §7), then memory for everything.
static int setup_optimizer(Run *r) {
    const TrainOptions *o = r->o;
    r->accumulate = (int)fmax(nearbyint((double)o->nbs / o->batch), 1.0);
    double weight_decay = o->weight_decay * o->batch * r->accumulate / o->nbs;
    r->nb = (r->train_split.n + o->batch - 1) / o->batch;
    int64_t iterations = (int64_t)ceil((double)r->train_split.n / fmax(o->batch, o->nbs)) * o->epochs;
    r->lr0 = o->lr0;
    r->momentum = o->momentum;
    r->warmup_bias_lr = o->warmup_bias_lr;
    OptimKind kind;
    // A resumed run keeps the optimizer it started with: `auto` decides by the number of
    // iterations, which an extended epochs= would change.
    if (r->ck.state) TRY(run_resumed_optimizer(r, &kind));
    else TRY(optimizer_resolve(o->optimizer, iterations, r->m.nc, &r->lr0, &r->momentum, &r->warmup_bias_lr, &kind));
    TRY(graph_plan(r->g, optimizer_slots(kind)));
    model_init_weights(r->g, &r->m, o->seed);
    // Fine-tuning starts from the EMA, the weights the checkpoint's run validated (what Ultralytics
    // saves as its model); the optimizer and EMA start afresh from them, as in any new run.
    if (r->weights.state) {
        int copied = 0, total = 0;
        TRY(checkpoint_transfer(&r->weights, "ema.", r->g, &copied, &total));
        printf("Transferred %d/%d items from pretrained weights %s\n", copied, total, r->weights.path);
    }
    TRY(optimizer_init(&r->optim, r->g, kind, r->lr0, r->momentum, weight_decay));
    TRY(ema_init(&r->ema, r->g));
    if (r->ck.state) TRY(run_restore_state(r));
    printf("optimizer: %s(lr=%g, momentum=%g) with parameter groups %d weight(decay=0.0), %d weight(decay=%g), %d bias(decay=0.0)\n",
           run_optim_name(kind), r->lr0, r->momentum, r->optim.n_params[2],
           r->optim.n_params[1], weight_decay, r->optim.n_params[0]);
    return 0;
}

static int setup_loaders(Run *r) {
    const TrainOptions *o = r->o;
    LoaderOptions lo = {
        .task = o->task, .train = true, .batch = o->batch, .imgsz = o->imgsz, .seed = o->seed, .workers = o->workers,
        .fraction = o->fraction, .cache_ram = o->cache_ram, .close_mosaic = o->close_mosaic, .epochs = o->epochs,
        .mask_ratio = o->mask_ratio, .aug = o->aug, .erasing = o->erasing, .crop_scale_min = 1.0f - o->aug.scale,
        .randaugment = o->randaugment,
    };
    lo.aug.imgsz = o->imgsz;
    r->train_loader = loader_create(&r->train_split, &lo);
    if (!r->train_loader) return -1;
    r->nb = loader_batches_per_epoch(r->train_loader);
    // Ultralytics validates with twice the training batch, rectangular shapes, no augmentation.
    r->val_batch = 2 * o->batch;
    lo.train = false;
    lo.batch = r->val_batch;
    lo.rect = true;
    r->val_loader = loader_create(&r->val_split, &lo);
    return r->val_loader ? 0 : -1;
}

static int setup_task(Run *r) {
    const TrainOptions *o = r->o;
    // Rectangular validation shapes stay within imgsz + one stride of padding on each side.
    int val_max = o->imgsz + 64;
    r->criterion = r->task->criterion_create(&r->m, o->batch, o->imgsz, o->imgsz, o, r->backend->pool);
    // Each after the one before succeeded, so that a refusal is reported once.
    if (r->criterion) r->val_criterion = r->task->criterion_create(&r->m, r->val_batch, val_max, val_max, o, r->backend->pool);
    if (r->val_criterion) r->validator = r->task->validator_create(&r->m, &r->data, &r->val_split, o);
    if (!r->criterion || !r->val_criterion || !r->validator) return yolo_fail("cannot set up the %s task", r->task->name);
    return 0;
}

static int write_text(const char *path, const char *text) { return atomic_write(path, text, strlen(text), NULL); }

static int check_finite(const double *losses, int n, const TaskImpl *task, int epoch, int k) {
    for (int i = 0; i < n; i++)
        if (!isfinite(losses[i]))
            return yolo_fail("%s is %g at epoch %d, batch %d: training diverged (try a lower lr0, or check the labels)",
                             task->loss_names[i], losses[i], epoch + 1, k);
    return 0;
}

enum { EPOCH_DONE = 0, EPOCH_INTERRUPTED = 1 };

// One epoch's micro-batches from r->start_batch (a resumed position, then 0). Returns
// EPOCH_INTERRUPTED after saving last.ckpt at the exact position when a signal (or the test hook)
// asked to stop; with save_minutes, last.ckpt is also written every save_minutes inside the epoch.
static int train_epoch(Run *r, int epoch) {
    const TrainOptions *o = r->o;
    int n_losses = r->task->n_losses;
    double *train_losses = r->epoch_losses;
    double lf = run_plan_lf(r->plan_from, r->plan_lf, o->epochs, o, epoch);
    int64_t nw = schedule_warmup_iters(o->warmup_epochs, r->nb);
    int start = r->start_batch;
    r->start_batch = 0;
    // Mid-epoch, the restored group hyperparameters are those after micro-batch start - 1 (with
    // warmup's changes), which the LR scheduler's epoch step would overwrite.
    if (start == 0) {
        schedule_epoch(&r->optim, lf);
        for (int i = 0; i < n_losses; i++) train_losses[i] = 0.0;
    }
    r->g->training = 1;
    Progress p;
    double t0 = now_seconds();
    progress_begin(&p, o->verbose, r->nb, t0);
    char text[256] = "";
    double plot_seconds = 0.0;
    for (int k = start; k < r->nb; k++) {
        int64_t ni = k + (int64_t)r->nb * epoch;
        r->accumulate = schedule_accumulate(ni, nw, o->nbs, o->batch);
        schedule_warmup(&r->optim, ni, nw, lf, r->warmup_bias_lr, o->warmup_momentum, o->momentum);
        // Dropout masks (the classifier's dropout=) from the iteration: fresh every step, the same
        // after a resume.
        graph_set_rng(r->g, o->seed, (uint32_t)ni);
        Batch b;
        TRY(loader_get(r->train_loader, epoch, k, &b));
        if (o->plots && ni < BATCH_PLOTS) { // train_batch0..2.jpg, outside the timed step
            double tp = now_seconds();
            TRY(plot_train_batch(r->run_dir, (int)ni, &b, &r->train_split, r->data.names, r->data.nc, o->mask_ratio));
            plot_seconds += now_seconds() - tp;
        }
        TRY(eval_copy_batch_images(r->g, &r->m, &b));
        TRY(graph_forward(r->g));
        graph_clear_activation_grads(r->g);
        double losses[TASK_MAX_LOSSES];
        TRY(r->task->criterion(r->criterion, r->g, &r->m, &b, true, losses));
        TRY(check_finite(losses, n_losses, r->task, epoch, k));
        TRY(graph_backward(r->g));
        if (ni - r->last_opt_step >= r->accumulate) {
            double norm = optimizer_clip_grad_norm(r->g, GRAD_CLIP_NORM);
            if (!isfinite(norm))
                return yolo_fail("the gradients are not finite (norm %g) at epoch %d, batch %d: training diverged; "
                                 "try a lower lr0", norm, epoch + 1, k);
            optimizer_step(&r->optim, r->g);
            graph_clear_param_grads(r->g);
            ema_update(&r->ema, r->g);
            r->last_opt_step = ni;
        }
        r->images_trained += b.size;
        for (int i = 0; i < n_losses; i++) train_losses[i] = (train_losses[i] * k + losses[i]) / (k + 1);
        int used = snprintf(text, sizeof text, "%5d/%-5d", epoch + 1, o->epochs);
        for (int i = 0; i < n_losses; i++) used += snprintf(text + used, sizeof text - (size_t)used, " %9.4g", train_losses[i]);
        int instances = r->task->batch_instances ? r->task->batch_instances(&b) : b.n_targets;
        snprintf(text + used, sizeof text - (size_t)used, " %9d %6d", instances, b.w);
        progress_update(&p, text, k + 1, now_seconds());
        if (++r->batches_run == o->interrupt_after_batches) interrupt_signal = SIGINT;
        if (r->batches_run == o->crash_after_batches) raise(SIGKILL);
        double now = now_seconds();
        bool periodic = o->save_minutes > 0 && now - r->last_save >= o->save_minutes * 60.0 && k + 1 < r->nb;
        if (interrupt_signal || periodic) {
            TRY(run_save_checkpoints(r, epoch, k + 1, false, false, r->elapsed_before + now - r->start));
            if (interrupt_signal) {
                progress_end(&p, text, now_seconds());
                return EPOCH_INTERRUPTED;
            }
        }
    }
    progress_end(&p, text, now_seconds());
    r->train_seconds += now_seconds() - t0 - plot_seconds;
    return EPOCH_DONE;
}

// After an interrupt: what resumes the run, and the exit status of a process killed by the signal.
static int interrupted(const Run *r) {
    if (!r->o->save) {
        printf("\nInterrupted; nothing saved (save=False)\n");
        return 128 + interrupt_signal;
    }
    printf("\nInterrupted (%s); last.ckpt holds the exact position. Resume with:\n"
           "  yolo %s train resume model=%s/weights/last.ckpt\n",
           interrupt_signal == SIGTERM ? "SIGTERM" : "SIGINT", r->task->name, r->run_dir);
    return 128 + interrupt_signal;
}

static void release(Run *r) {
    if (r->task) {
        if (r->criterion) r->task->criterion_destroy(r->criterion);
        if (r->val_criterion) r->task->criterion_destroy(r->val_criterion);
        if (r->validator) r->task->validator_destroy(r->validator);
    }
    eval_graphs_free(&r->val_graphs);
    loader_destroy(r->train_loader);
    loader_destroy(r->val_loader);
    ema_free(&r->ema);
    optimizer_free(&r->optim);
    graph_destroy(r->g);
    model_def_free(&r->def);
    dataset_split_free(&r->train_split);
    dataset_split_free(&r->val_split);
    dataset_config_free(&r->data);
    backend_destroy(r->backend);
    cJSON_Delete(r->history);
    checkpoint_close(&r->ck);
    checkpoint_close(&r->weights);
    if (r->lock_fd >= 0) close(r->lock_fd);
}

static int setup(Run *r) {
    const TrainOptions *o = r->o;
    r->task = task_impl(o->task);
    if (!r->task) return yolo_fail("training this task is not available in this build yet");
    int threads = o->threads > 0 ? o->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    r->backend = backend_cpu_create(threads < 1 ? 1 : threads);
    if (!r->backend) return -1;
    r->history = cJSON_CreateArray();
    r->last_opt_step = -1;
    if (o->resume[0]) {
        TRY(checkpoint_open(o->resume, &r->ck));
        if (strcmp(r->ck.task, r->task->name) != 0)
            return yolo_fail("%s is a %s checkpoint; resume it with `yolo %s train resume model=%s`", r->ck.path, r->ck.task,
                             r->ck.task, r->ck.path);
        TRY(run_resumed_dir(r->ck.path, r->run_dir, sizeof r->run_dir));
        TRY(run_dir_lock(r->run_dir, &r->lock_fd));
        size_t n = strlen(r->ck.path);
        r->keep_prev = n >= 15 && !strcmp(r->ck.path + n - 15, "/last.prev.ckpt");
    } else if (o->weights[0]) {
        TRY(checkpoint_open(o->weights, &r->weights));
        if (strcmp(r->weights.task, r->task->name) != 0)
            return yolo_fail("%s is a %s checkpoint; a %s run cannot start from it (use `yolo %s train model=%s`)",
                             r->weights.path, r->weights.task, r->task->name, r->weights.task, r->weights.path);
    }
    TRY(load_data_and_model(r));
    TRY(setup_optimizer(r));
    TRY(setup_loaders(r));
    if (r->ck.state) TRY(run_resume_position(r));
    TRY(setup_task(r));
    checkpoint_close(&r->weights); // copied into the graph: its memory is not needed any more
    if (!o->resume[0]) {
        TRY(run_dir_create(o->project, r->task->name, o->name, o->exist_ok, r->run_dir, sizeof r->run_dir));
        TRY(run_dir_lock(r->run_dir, &r->lock_fd));
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/args.yaml", r->run_dir);
    if (o->args_yaml) TRY(write_text(path, o->args_yaml));
    snprintf(path, sizeof path, "%s/results.csv", r->run_dir);
    if (o->resume[0]) {
        TRY(run_rewrite_results(r, path));
        printf("Resuming %s from epoch %d of %d\n", r->run_dir, r->start_epoch + 1, o->epochs);
    } else {
        remove(path); // a fresh run starts a fresh results.csv
    }
    if (o->after_setup) o->after_setup(o->after_setup_ctx, r->g, &r->ema);
    return 0;
}

static int loop(Run *r) {
    const TrainOptions *o = r->o;
    const TaskImpl *t = r->task;
    r->start = r->last_save = now_seconds();
    printf("Image sizes %d train, %d val; %d batches of %d per epoch; results in %s\n", o->imgsz, o->imgsz, r->nb,
           o->batch, r->run_dir);
    for (int epoch = r->start_epoch; epoch < o->epochs; epoch++) {
        printf("%11s", "Epoch");
        for (int i = 0; i < t->n_losses; i++) printf(" %9s", t->loss_names[i]);
        printf(" %9s %6s\n", "Instances", "Size");
        double val_losses[TASK_MAX_LOSSES] = {0}, metrics[TASK_MAX_METRICS] = {0}, fitness = 0.0;
        int rc = train_epoch(r, epoch);
        if (rc < 0) return -1;
        if (rc == EPOCH_INTERRUPTED) return interrupted(r);
        double elapsed = r->elapsed_before + now_seconds() - r->start;
        bool last = epoch + 1 == o->epochs || (o->time_hours > 0 && elapsed > o->time_hours * 3600.0);
        if (o->val || last) TRY(run_validate(r, val_losses, metrics, &fitness, last));
        bool best = r->best_epoch < 0 || fitness > r->best_fitness;
        if (best) {
            r->best_fitness = fitness;
            r->best_epoch = epoch;
            r->stale = 0;
        } else {
            r->stale++;
        }
        elapsed = r->elapsed_before + now_seconds() - r->start;
        TRY(run_log_epoch(r, epoch, elapsed, r->epoch_losses, metrics, val_losses));
        if (o->plots && results_plot_dir(r->run_dir) != 0) chart_warn("results.png");
        bool stop = last || (o->patience > 0 && r->stale >= o->patience);
        if (stop && o->plots && t->write_plots && t->write_plots(r->validator, r->run_dir) != 0) chart_warn("validation plots");
        TRY(run_save_checkpoints(r, epoch + 1, 0, best, stop, elapsed));
        if (!stop && epoch + 1 == o->stop_after_epoch) interrupt_signal = SIGINT;
        // A signal during validation stops here, at the epoch end just saved.
        if (!stop && interrupt_signal) return interrupted(r);
        if (stop && !last)
            printf("Stopping early: no improvement in the last %d epochs (best epoch %d); patience=%d\n", r->stale,
                   r->best_epoch + 1, o->patience);
        if (stop) break;
    }
    printf("%d epochs completed in %.3f hours. Results saved to %s\n", (int)cJSON_GetArraySize(r->history) - r->start_epoch,
           (now_seconds() - r->start) / 3600.0, r->run_dir);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("Training speed %.2f images/s (whole steps with data loading), peak resident memory %.0f MiB\n",
           r->train_seconds > 0 ? (double)r->images_trained / r->train_seconds : 0.0, (double)ru.ru_maxrss / 1024.0);
    return 0;
}

int train_run(const TrainOptions *o) {
    Run r = {.o = o, .best_epoch = -1, .lock_fd = -1, .plan_lf = 1.0};
    struct sigaction on = {.sa_handler = on_interrupt}, old_int, old_term;
    sigemptyset(&on.sa_mask);
    interrupt_signal = 0;
    sigaction(SIGINT, &on, &old_int);
    sigaction(SIGTERM, &on, &old_term);
    int rc = setup(&r);
    // A signal during setup (a dataset download) stops it. As after an interrupted epoch, the run
    // says what happened itself and the exit status names the signal (callers keep no message for
    // an interrupt).
    if (rc != 0 && interrupt_signal) {
        fprintf(stderr, "yolo: %s\n", yolo_error());
        rc = 128 + interrupt_signal;
    }
    if (rc == 0) rc = loop(&r);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (o->run_dir_out) snprintf(o->run_dir_out, o->run_dir_cap, "%s", r.run_dir);
    release(&r);
    return rc;
}
