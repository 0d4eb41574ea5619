// PyTorch's clip_grad_norm_(parameters, max_norm) as Ultralytics calls it before every optimizer
// step. PyTorch takes each gradient's float norm, then the norm of those norms, all with float
// accumulators in an order that depends on its kernels; we sum squares in double in graph order,
// so the result is the same for any thread count and within a rounding of PyTorch's.
#include "engine/optimizer.h"

#include <math.h>

double optimizer_clip_grad_norm(Graph *g, double max_norm) {
    double sum = 0.0;
    for (int i = 0; i < g->n_values; i++) {
        const Value *v = &g->values[i];
        if (v->kind != VALUE_PARAM || !v->grad.data) continue; // frozen: PyTorch skips grad None
        int64_t n = tensor_numel(&v->grad);
        for (int64_t k = 0; k < n; k++) sum += (double)v->grad.data[k] * v->grad.data[k];
    }
    // PyTorch's total_norm is a float tensor, and `max_norm / (total_norm + 1e-6)` is computed
    // in float as reciprocal(total_norm + 1e-6) * max_norm (Tensor.__rtruediv__).
    const float norm = (float)sqrt(sum);
    const float coef = (1.0f / (norm + 1e-6f)) * (float)max_norm;
    // clamp(coef, max=1) keeps a NaN, and multiplying by 1 changes nothing: so scale unless coef >= 1.
    if (!(coef >= 1.0f))
        for (int i = 0; i < g->n_values; i++) {
            Value *v = &g->values[i];
            if (v->kind != VALUE_PARAM || !v->grad.data) continue;
            int64_t n = tensor_numel(&v->grad);
            for (int64_t k = 0; k < n; k++) v->grad.data[k] *= coef;
        }
    return norm;
}
