// The learning-rate schedule of Ultralytics' trainer: the per-epoch lambda of its LambdaLR
// (_setup_scheduler), and the per-iteration warmup and accumulation of _do_train, which use
// np.interp and numpy/Python rounding. Every value is computed in double in the same order as
// Python, so group learning rates equal Ultralytics' to the bit.
#include "engine/optimizer.h"

#include <math.h>

double schedule_lf(int epoch, int epochs, double lrf, bool cosine) {
    if (cosine) return fmax((1 - cos(epoch * M_PI / epochs)) / 2, 0) * (lrf - 1) + 1;
    return fmax(1 - (double)epoch / epochs, 0) * (1.0 - lrf) + lrf;
}

void schedule_epoch(Optimizer *o, double lf) {
    for (int k = 0; k < OPTIM_GROUPS; k++) o->group[k].lr = o->group[k].initial_lr * lf;
}

int64_t schedule_warmup_iters(double warmup_epochs, int64_t nb) {
    if (!(warmup_epochs > 0)) return -1;
    // nearbyint rounds halves to even in the default rounding mode, as Python's round does.
    int64_t nw = (int64_t)nearbyint(warmup_epochs * (double)nb);
    return nw > 100 ? nw : 100;
}

// np.interp(x, [0, x1], [y0, y1]) for x1 > 0: numpy returns the end values themselves at and
// beyond the ends, and slope * (x - x0) + y0 in between.
static double interp(double x, double x1, double y0, double y1) {
    if (x <= 0) return y0;
    if (x >= x1) return y1;
    double slope = (y1 - y0) / (x1 - 0.0);
    return slope * (x - 0.0) + y0;
}

void schedule_warmup(Optimizer *o, int64_t ni, int64_t nw, double lf, double warmup_bias_lr, double warmup_momentum,
                     double momentum) {
    if (ni > nw) return;
    for (int k = 0; k < OPTIM_GROUPS; k++) {
        OptimGroup *gr = &o->group[k];
        gr->lr = interp((double)ni, (double)nw, k == 0 ? warmup_bias_lr : 0.0, gr->initial_lr * lf);
        if (o->kind == OPTIM_SGD) gr->momentum = interp((double)ni, (double)nw, warmup_momentum, momentum);
    }
}

int schedule_accumulate(int64_t ni, int64_t nw, int nbs, int batch) {
    // After warmup Ultralytics keeps the value of its last warmup iteration, where interp gives
    // nbs / batch: the same as its initial max(round(nbs / batch), 1).
    double target = (double)nbs / batch;
    double a = nearbyint(ni <= nw ? interp((double)ni, (double)nw, 1, target) : target);
    return a > 1 ? (int)a : 1;
}
