// Ultralytics' build_optimizer (groups, `auto`) and the update rules of PyTorch 1.13's
// single-tensor SGD, Adam and AdamW (torch/optim/{sgd,adam,adamw}.py, foreach=False, the default
// on CPU), element by element in PyTorch's operation order. Where PyTorch's kernel fuses a
// multiply-add (add with alpha, addcmul) we call fmaf; every other operation is rounded on its
// own (the build is ISO C17, so the compiler contracts nothing).
#include "engine/optimizer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/status.h"

// Python's round(x, 6): glibc prints the exact binary value rounded to 6 decimals (halves to
// even) and strtod reads the nearest double back, which is what CPython's dtoa-based round does.
static double round6(double x) {
    char text[64];
    snprintf(text, sizeof text, "%.6f", x);
    return strtod(text, NULL);
}

int optimizer_resolve(const char *name, int64_t iterations, int nc, double *lr0, double *momentum,
                      double *warmup_bias_lr, OptimKind *kind) {
    if (strcmp(name, "auto") == 0) {
        if (iterations > 10000) {
            name = "SGD";
            *lr0 = 0.01;
        } else {
            name = "AdamW";
            *lr0 = round6(0.002 * 5 / (4 + nc));
        }
        *momentum = 0.9;
        *warmup_bias_lr = 0.0;
    }
    if (strcasecmp(name, "SGD") == 0) *kind = OPTIM_SGD;
    else if (strcasecmp(name, "Adam") == 0) *kind = OPTIM_ADAM;
    else if (strcasecmp(name, "AdamW") == 0) *kind = OPTIM_ADAMW;
    else if (strcasecmp(name, "Adamax") == 0 || strcasecmp(name, "NAdam") == 0 || strcasecmp(name, "RAdam") == 0 ||
             strcasecmp(name, "RMSProp") == 0)
        return yolo_fail("optimizer=%s is not implemented by this trainer; use SGD, Adam, AdamW or auto", name);
    else
        return yolo_fail("unknown optimizer=%s; use SGD, Adam, AdamW or auto", name);
    return 0;
}

int optimizer_init(Optimizer *o, const Graph *g, OptimKind kind, double lr, double momentum, double weight_decay) {
    memset(o, 0, sizeof *o);
    if (!g->planned) return yolo_fail("optimizer: plan the graph before building the optimizer");
    if (g->n_optim_slots < optimizer_slots(kind))
        return yolo_fail("optimizer: the graph was planned with %d optimizer slots, this optimizer needs %d "
                         "(pass optimizer_slots(kind) to graph_plan)",
                         g->n_optim_slots, optimizer_slots(kind));
    // torch.optim.SGD refuses nesterov=True without momentum; so do we, rather than step differently.
    if (kind == OPTIM_SGD && !(momentum > 0))
        return yolo_fail("optimizer: SGD with Nesterov momentum needs momentum > 0 (got %g)", momentum);

    // Ultralytics asks each module whether it is a norm layer; here the BN nodes (batchnorm2d,
    // alone or fused with SiLU) say which parameter is a BN weight, whatever its name.
    bool *bn_weight = calloc((size_t)g->n_values, sizeof *bn_weight);
    int *group_of = malloc((size_t)g->n_values * sizeof *group_of);
    if (!bn_weight || !group_of) {
        free(bn_weight);
        free(group_of);
        return yolo_fail("out of memory building the optimizer's parameter groups");
    }
    for (int i = 0; i < g->n_nodes; i++)
        if (op_is_batchnorm(g->nodes[i].kind)) bn_weight[g->nodes[i].param[0]] = true;

    for (int i = 0; i < g->n_values; i++) {
        const Value *v = &g->values[i];
        group_of[i] = -1;
        if (v->kind != VALUE_PARAM || !v->needs_grad) continue; // frozen: PyTorch skips params without .grad
        // Same test order as Ultralytics: a BN bias is a bias first.
        group_of[i] = strstr(v->name, "bias") ? 0 : bn_weight[i] ? 2 : 1;
        o->n_params[group_of[i]]++;
    }
    free(bn_weight);
    for (int k = 0; k < OPTIM_GROUPS; k++) {
        o->params[k] = malloc((size_t)(o->n_params[k] ? o->n_params[k] : 1) * sizeof *o->params[k]);
        if (!o->params[k]) {
            free(group_of);
            optimizer_free(o);
            return yolo_fail("out of memory building the optimizer's parameter groups");
        }
        o->n_params[k] = 0;
    }
    for (int i = 0; i < g->n_values; i++)
        if (group_of[i] >= 0) o->params[group_of[i]][o->n_params[group_of[i]]++] = i;
    free(group_of);

    o->kind = kind;
    for (int k = 0; k < OPTIM_GROUPS; k++)
        o->group[k] = (OptimGroup){.lr = lr, .momentum = momentum, .weight_decay = k == 1 ? weight_decay : 0.0, .initial_lr = lr};
    o->beta2 = 0.999;
    o->eps = 1e-8;
    o->steps = 0;
    return 0;
}

void optimizer_free(Optimizer *o) {
    for (int k = 0; k < OPTIM_GROUPS; k++) free(o->params[k]);
    memset(o, 0, sizeof *o);
}

// torch 1.13 _single_tensor_sgd with nesterov=True, dampening 0:
//   d_p = grad.add(param, alpha=wd)                (if wd != 0; fused)
//   buf = clone(d_p) on the first step, else buf.mul_(momentum).add_(d_p)
//   d_p = d_p.add(buf, alpha=momentum)             (fused)
//   param.add_(d_p, alpha=-lr)                     (fused)
// With momentum 0 PyTorch keeps no buffer and steps with d_p itself. (Were the very first step
// taken with momentum 0, PyTorch would create the buffers one step later than `first` says; the
// zero-filled buffers then give the same values, up to the sign of a zero.)
static void sgd_update(float *p, const float *grad, float *buf, int64_t n, const OptimGroup *gr, bool first) {
    const float wd = (float)gr->weight_decay, mom = (float)gr->momentum, neg_lr = (float)-gr->lr;
    const bool decay = gr->weight_decay != 0, use_momentum = gr->momentum != 0;
    for (int64_t i = 0; i < n; i++) {
        float d = grad[i];
        if (decay) d = fmaf(p[i], wd, d);
        if (use_momentum) {
            float b = d;
            if (!first) {
                b = buf[i] * mom;
                b = b + d; // alpha 1: the fused form rounds once, like a plain add
            }
            buf[i] = b;
            d = fmaf(b, mom, d);
        }
        p[i] = fmaf(d, neg_lr, p[i]);
    }
}

// Per-step scalars of torch 1.13 _single_tensor_adam(w), each rounded to float where the kernel
// takes it.
typedef struct {
    float l2, shrink;       // Adam's L2 decay (0: none); AdamW's 1 - lr*wd
    float beta1, one_minus_beta1, beta2, one_minus_beta2;
    float bc2_sqrt, eps, neg_step_size;
    bool decoupled;
} AdamScalars;

static AdamScalars adam_scalars(const Optimizer *o, const OptimGroup *gr, double step) {
    double bias_correction1 = 1 - pow(gr->momentum, step);
    double bias_correction2 = 1 - pow(o->beta2, step);
    double step_size = gr->lr / bias_correction1;
    return (AdamScalars){
        .l2 = o->kind == OPTIM_ADAM ? (float)gr->weight_decay : 0.0f,
        .shrink = (float)(1 - gr->lr * gr->weight_decay),
        .beta1 = (float)gr->momentum,
        .one_minus_beta1 = (float)(1 - gr->momentum),
        .beta2 = (float)o->beta2,
        .one_minus_beta2 = (float)(1 - o->beta2),
        .bc2_sqrt = (float)sqrt(bias_correction2),
        .eps = (float)o->eps,
        .neg_step_size = (float)-step_size,
        .decoupled = o->kind == OPTIM_ADAMW,
    };
}

//   grad = grad.add(param, alpha=wd)               (Adam, if wd != 0; fused)
//   param.mul_(1 - lr*wd)                          (AdamW, always)
//   exp_avg.mul_(beta1).add_(grad, alpha=1-beta1)  (fused)
//   exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1-beta2)   (fma((1-beta2)*g, g, v))
//   denom = (exp_avg_sq.sqrt() / sqrt(bc2)).add_(eps)
//   param.addcdiv_(exp_avg, denom, value=-lr/bc1)  (p + (s*m)/denom)
static void adam_update(float *p, const float *grad, float *exp_avg, float *exp_avg_sq, int64_t n, const AdamScalars *s) {
    for (int64_t i = 0; i < n; i++) {
        float g = grad[i];
        if (s->l2 != 0) g = fmaf(p[i], s->l2, g);
        if (s->decoupled) p[i] = p[i] * s->shrink;
        float m = exp_avg[i] * s->beta1;
        m = fmaf(g, s->one_minus_beta1, m);
        float v = exp_avg_sq[i] * s->beta2;
        v = fmaf(s->one_minus_beta2 * g, g, v);
        float denom = sqrtf(v) / s->bc2_sqrt;
        denom = denom + s->eps;
        p[i] = p[i] + (s->neg_step_size * m) / denom;
        exp_avg[i] = m;
        exp_avg_sq[i] = v;
    }
}

void optimizer_step(Optimizer *o, Graph *g) {
    // PyTorch keeps the step count as a float tensor and reads it back as a Python float.
    const double step = (double)(o->steps + 1);
    for (int k = 0; k < OPTIM_GROUPS; k++) {
        const OptimGroup *gr = &o->group[k];
        AdamScalars s = {0};
        if (o->kind != OPTIM_SGD) s = adam_scalars(o, gr, step);
        for (int j = 0; j < o->n_params[k]; j++) {
            int id = o->params[k][j];
            Value *v = &g->values[id];
            int64_t n = tensor_numel(&v->data);
            if (o->kind == OPTIM_SGD)
                sgd_update(v->data.data, v->grad.data, graph_optim_slot(g, id, 0).data, n, gr, o->steps == 0);
            else
                adam_update(v->data.data, v->grad.data, graph_optim_slot(g, id, 0).data, graph_optim_slot(g, id, 1).data, n, &s);
        }
    }
    o->steps++;
}
