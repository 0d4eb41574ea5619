// Optimizers over a planned graph's trainable parameters (spec §7): Ultralytics' three parameter
// groups, SGD with Nesterov momentum, Adam, AdamW, `auto`; global-norm gradient clipping; the
// per-epoch LR schedule with per-iteration warmup; and the EMA of the weights.
//
// The aim is PyTorch 1.13's bits, not just its formulas. Two things decide them:
// - Hyperparameters are Python floats (doubles) in Ultralytics. PyTorch combines them in double
//   (AdamW's 1 - lr*wd, Adam's lr / (1 - beta1^t)) and rounds to float only where a kernel takes
//   a scalar. So they are doubles here too, rounded at the same places.
// - PyTorch's CPU kernels for the AVX2 and AVX-512 machines it runs on (and its CUDA kernels)
//   fuse a multiply and an add in `add(x, alpha=a)` and `addcmul`. We use fmaf() at exactly those
//   places, so our results equal that path on any machine (fmaf is exactly rounded everywhere).
#ifndef YOLO_ENGINE_OPTIMIZER_H
#define YOLO_ENGINE_OPTIMIZER_H

#include <stdbool.h>
#include <stdint.h>

#include "nn/graph.h"

typedef enum { OPTIM_SGD, OPTIM_ADAM, OPTIM_ADAMW } OptimKind;

// PyTorch's param_groups in Ultralytics' order, which warmup relies on (group 0 gets
// warmup_bias_lr): pg0 biases (no decay), pg1 conv and linear weights (decay), pg2 BN weights
// (no decay).
enum { OPTIM_GROUPS = 3 };

typedef struct {
    double lr, momentum, weight_decay; // momentum is SGD's momentum or Adam's beta1
    double initial_lr;                 // the base lr0: PyTorch's group["initial_lr"], scaled by lf(epoch)
} OptimGroup;

typedef struct {
    OptimKind kind;
    OptimGroup group[OPTIM_GROUPS];
    double beta2, eps; // Adam family: 0.999, 1e-8
    // Optimizer steps taken: Adam's bias correction. For SGD, 0 stands for PyTorch's missing
    // momentum buffers, which the first step sets to the gradient itself.
    int64_t steps;
    // Parameter value ids of the graph in each group, in graph order.
    int n_params[OPTIM_GROUPS];
    int *params[OPTIM_GROUPS];
} Optimizer;

// Ultralytics' choice of optimizer. name "auto" (exactly: Ultralytics tests it before folding case)
// picks SGD with lr 0.01, momentum 0.9 when iterations > 10000, otherwise AdamW with lr
// round(0.002 * 5 / (4 + nc), 6) and momentum 0.9, and sets *warmup_bias_lr to 0. Other names
// ("SGD", "Adam", "AdamW" in any case) keep *lr0 and *momentum. iterations is
// ceil(images / max(batch, nbs)) * epochs.
int optimizer_resolve(const char *name, int64_t iterations, int nc, double *lr0, double *momentum,
                      double *warmup_bias_lr, OptimKind *kind);

// Builds the groups from the graph's trainable parameters: a name containing "bias" -> pg0, the
// weight of a BatchNorm2d node -> pg2, any other -> pg1 (weight_decay, already scaled by
// batch * accumulate / nbs). Frozen parameters (DFL) join no group. Every group starts at lr with
// initial_lr = lr. The graph must be planned with optimizer_slots(kind) slots.
int optimizer_init(Optimizer *o, const Graph *g, OptimKind kind, double lr, double momentum, double weight_decay);
void optimizer_free(Optimizer *o);
static inline int optimizer_slots(OptimKind kind) { return kind == OPTIM_SGD ? 1 : 2; }

// PyTorch's clip_grad_norm_(all parameters, max_norm): the global L2 norm of the trainable
// parameters' gradients, summed in double in graph order (deterministic, unlike PyTorch's float
// reductions, so it may differ from PyTorch's norm in the last bit), then rounded to float as
// PyTorch's is. Gradients are scaled by max_norm / (norm + 1e-6) when that is below 1 (or NaN:
// PyTorch's clamp keeps a NaN, which spreads to every gradient). Returns the norm.
double optimizer_clip_grad_norm(Graph *g, double max_norm);
// One step with the current group hyperparameters; gradients are read, not cleared (the trainer
// calls graph_clear_param_grads, PyTorch's zero_grad).
void optimizer_step(Optimizer *o, Graph *g);

// lf(epoch): linear max(1 - e/E, 0) * (1 - lrf) + lrf, or cosine (Ultralytics' one_cycle(1, lrf, E))
// max((1 - cos(e * pi / E)) / 2, 0) * (lrf - 1) + 1.
double schedule_lf(int epoch, int epochs, double lrf, bool cosine);
// LambdaLR.step() at the start of every epoch: each group's lr = initial_lr * lf(epoch).
void schedule_epoch(Optimizer *o, double lf);
// Warmup length in iterations: max(round(warmup_epochs * nb), 100), or -1 (no warmup) when
// warmup_epochs <= 0. Python's round: halves go to even.
int64_t schedule_warmup_iters(double warmup_epochs, int64_t nb);
// Ultralytics' warmup at global iteration ni (call it every iteration, after schedule_epoch for
// the epoch; it changes nothing once ni > nw). With np.interp over [0, nw]: group 0's lr goes from
// warmup_bias_lr, the others' from 0, to initial_lr * lf; SGD's momentum goes from
// warmup_momentum to `momentum`. Adam groups have no "momentum" key, so beta1 is left alone.
// Ultralytics passes its args.momentum here, the user's value (0.937 by default), even when
// `auto` built SGD with 0.9, so that is what SGD ends up with after warmup.
void schedule_warmup(Optimizer *o, int64_t ni, int64_t nw, double lf, double warmup_bias_lr, double warmup_momentum,
                     double momentum);
// Micro-batches per optimizer step at iteration ni: max(1, round(interp(ni, [0, nw], [1, nbs/batch])))
// during warmup (ni <= nw), max(round(nbs / batch), 1) after it; rounding halves to even as numpy.
int schedule_accumulate(int64_t ni, int64_t nw, int nbs, int batch);

// EMA of every parameter and BN running statistic (spec §7 ModelEMA): a full copy of the
// graph's params arena, updated with d = decay * (1 - exp(-updates / tau)) as
// ema = ema * d + model * (1 - d), each product and the sum rounded to float as PyTorch's
// `v *= d; v += (1 - d) * msd[k]` does.
typedef struct {
    float *values; // same layout as g->params (params + buffers; padding stays 0)
    size_t floats;
    int64_t updates;
    double decay, tau; // 0.9999, 2000
} Ema;

// Copies the planned graph's parameters and buffers; updates 0.
int ema_init(Ema *e, const Graph *g);
// d for the given update count.
double ema_decay_at(const Ema *e, int64_t updates);
// updates += 1, then averages every float of the params arena.
void ema_update(Ema *e, const Graph *g);
void ema_free(Ema *e);

#endif
