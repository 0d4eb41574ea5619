// Ultralytics' ModelEMA: an average of the whole state dict (parameters and BN running
// statistics), updated after every optimizer step. Ultralytics computes d in double and then runs
// `v *= d; v += (1 - d) * msd[k]` on float tensors, where PyTorch rounds each Python scalar to
// float and each product and the sum to float; so do we.
#include "engine/optimizer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

int ema_init(Ema *e, const Graph *g) {
    memset(e, 0, sizeof *e);
    if (!g->planned) return yolo_fail("EMA: plan the graph before copying its weights");
    e->floats = g->params.size / sizeof(float);
    e->values = malloc(g->params.size ? g->params.size : 1);
    if (!e->values) return yolo_fail("out of memory copying %zu weights for the EMA", e->floats);
    memcpy(e->values, g->params.base, g->params.size);
    e->decay = 0.9999;
    e->tau = 2000;
    return 0;
}

double ema_decay_at(const Ema *e, int64_t updates) { return e->decay * (1 - exp(-(double)updates / e->tau)); }

void ema_update(Ema *e, const Graph *g) {
    e->updates++;
    const double d = ema_decay_at(e, e->updates);
    const float keep = (float)d, take = (float)(1 - d);
    const float *model = (const float *)g->params.base;
    for (size_t i = 0; i < e->floats; i++) {
        float kept = e->values[i] * keep;
        float taken = model[i] * take;
        e->values[i] = kept + taken;
    }
}

void ema_free(Ema *e) {
    free(e->values);
    memset(e, 0, sizeof *e);
}
