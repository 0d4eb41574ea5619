// Everything a training run is configured with, resolved and typed: the CLI builds it from the
// argument set (configs/default.yaml <- cfg= <- key=value) and the engine reads nothing else.
#ifndef YOLO_ENGINE_TRAIN_OPTIONS_H
#define YOLO_ENGINE_TRAIN_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "data/loader.h"
#include "engine/optimizer.h"
#include "nn/graph.h"

enum { OPTION_TEXT_CAP = 1024 };

typedef struct {
    TaskKind task;
    char model[OPTION_TEXT_CAP];
    char data[OPTION_TEXT_CAP];
    char project[OPTION_TEXT_CAP]; // "" = runs/<task>
    char name[OPTION_TEXT_CAP];    // "" = train
    char datasets_dir[OPTION_TEXT_CAP]; // "" = YOLO_DATASETS_DIR or ./datasets
    char optimizer[16];            // SGD, Adam, AdamW, auto
    int epochs, patience, batch, imgsz, workers, close_mosaic, nbs, max_det, save_period, mask_ratio;
    double time_hours; // 0: off
    double save_minutes;
    bool save, exist_ok, verbose, cos_lr, val, plots, cache_ram, deterministic;
    uint64_t seed;
    int threads; // compute threads of the CPU backend (0: all cores)
    float fraction, lr0, lrf, momentum, weight_decay, warmup_epochs, warmup_momentum, warmup_bias_lr;
    float box, cls, dfl, conf, dropout, erasing;
    bool randaugment; // classify: auto_augment=randaugment (else ColorJitter from aug.hsv_*)
    double iou; // NMS compares a float IoU with this double threshold, as torchvision does
    AugmentParams aug; // hsv_*, degrees, translate, scale, shear, perspective, flipud, fliplr, mosaic
    // The arguments as args.yaml has them (written into the run folder and checkpoints).
    char *args_yaml;
    // A checkpoint to continue (its run folder, two levels up, is reused); "" starts a new run.
    char resume[OPTION_TEXT_CAP];
    // A new run only: a checkpoint whose EMA weights (BN statistics included) start it, tensors of
    // another shape (a head for another nc) keeping their fresh initialisation; "" = none. With
    // model= this checkpoint itself, the architecture is the one it stores (fine-tuning).
    char weights[OPTION_TEXT_CAP];
    // Out (NULL: not wanted): the run folder, written into run_dir_out[run_dir_cap] when training
    // stops (finished, interrupted or failed; "" when the run failed before it had one).
    char *run_dir_out;
    size_t run_dir_cap;
    // Tests only: act as if SIGINT arrived after epoch N's checkpoints were saved, or right after
    // this process's Nth micro-batch (0: off).
    int stop_after_epoch;
    int64_t interrupt_after_batches;
    // Tests only: die by SIGKILL right after this process's Nth micro-batch, before anything it
    // would save, as kill -9 at that moment would (0: off).
    int64_t crash_after_batches;
    // Tests only: called once the run is set up, before any step, with the training graph and EMA.
    void (*after_setup)(void *ctx, const Graph *g, const Ema *ema);
    void *after_setup_ctx;
} TrainOptions;

#endif
