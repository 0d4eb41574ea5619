#include "op_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "test.h"

const GradTolerance GRAD_DEFAULT = {.eps = 1e-2f, .atol = 2e-3f, .rtol = 2e-2f};

static int alloc_tensor(Tensor *t, Shape s) {
    float *data = calloc((size_t)shape_numel(s), sizeof(float));
    mallocCheck(data);
    *t = tensor_view(data, s);
    return 0;
}

static void fill_uniform(Tensor *t, uint64_t seed, uint64_t stream) {
    for (int64_t i = 0; i < tensor_numel(t); i++) t->data[i] = 2.0f * rng_uniform(seed, stream, (uint64_t)i) - 1.0f;
}

// Values gap, 2*gap, ... centred on zero, in an order shuffled by Fisher-Yates.
static void fill_distinct(Tensor *t, float gap, uint64_t seed, uint64_t stream) {
    int64_t n = tensor_numel(t);
    for (int64_t i = 0; i < n; i++) t->data[i] = ((float)i - 0.5f * (float)(n - 1)) * gap;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(rng_u32(seed, stream, (uint64_t)i) % (uint64_t)(i + 1));
        float tmp = t->data[i];
        t->data[i] = t->data[j];
        t->data[j] = tmp;
    }
}

int harness_init(OpHarness *h, const OpSpec *spec, const Backend *backend, uint64_t seed) {
    memset(h, 0, sizeof *h);
    h->spec = *spec;
    TRY(op_infer(spec->kind, &spec->p, spec->n_in, spec->in, &h->shapes));
    OpArgs *a = &h->args;
    *a = (OpArgs){.kind = spec->kind, .p = spec->p, .n_in = spec->n_in, .training = spec->training,
                  .rng_seed = seed, .rng_stream = rng_stream(RNG_TEST, 0, 7), .backend = backend};
    for (int i = 0; i < spec->n_in; i++) {
        TRY(alloc_tensor(&h->in[i], spec->in[i]));
        TRY(alloc_tensor(&h->in_grad[i], spec->in[i]));
        if (spec->distinct_gap > 0) fill_distinct(&h->in[i], spec->distinct_gap, seed, rng_stream(RNG_TEST, 1, (uint32_t)i));
        else fill_uniform(&h->in[i], seed, rng_stream(RNG_TEST, 1, (uint32_t)i));
        a->in[i] = &h->in[i];
        a->in_grad[i] = &h->in_grad[i];
    }
    TRY(alloc_tensor(&h->out, h->shapes.out));
    TRY(alloc_tensor(&h->out_grad, h->shapes.out));
    fill_uniform(&h->out_grad, seed, rng_stream(RNG_TEST, 2, 0));
    a->out = &h->out;
    a->out_grad = &h->out_grad;
    for (int j = 0; j < h->shapes.n_params; j++) {
        TRY(alloc_tensor(&h->param[j], h->shapes.param[j]));
        TRY(alloc_tensor(&h->param_grad[j], h->shapes.param[j]));
        fill_uniform(&h->param[j], seed, rng_stream(RNG_TEST, 3, (uint32_t)j));
        a->param[j] = &h->param[j];
        a->param_grad[j] = &h->param_grad[j];
    }
    for (int j = 0; j < h->shapes.n_buffers; j++) {
        TRY(alloc_tensor(&h->buffer[j], h->shapes.buffer[j]));
        // BN's running variance starts at 1, as PyTorch's does.
        if (j == 1)
            for (int64_t i = 0; i < tensor_numel(&h->buffer[j]); i++) h->buffer[j].data[i] = 1.0f;
        a->buffer[j] = &h->buffer[j];
    }
    for (int j = 0; j < h->shapes.n_saved; j++) {
        TRY(alloc_tensor(&h->saved[j], h->shapes.saved[j]));
        a->saved[j] = &h->saved[j];
    }
    a->workspace_bytes = backend_workspace(a);
    if (a->workspace_bytes) {
        a->workspace = aligned_alloc(64, (a->workspace_bytes + 63) / 64 * 64);
        mallocCheck(a->workspace);
    }
    if (!backend->op[spec->kind].forward || !backend->op[spec->kind].backward)
        return yolo_fail("%s has no %s kernel", op_name(spec->kind), backend->name);
    return 0;
}

void harness_free(OpHarness *h) {
    for (int i = 0; i < OP_MAX_INPUTS; i++) {
        free(h->in[i].data);
        free(h->in_grad[i].data);
    }
    free(h->out.data);
    free(h->out_grad.data);
    for (int j = 0; j < OP_MAX_PARAMS; j++) {
        free(h->param[j].data);
        free(h->param_grad[j].data);
    }
    for (int j = 0; j < OP_MAX_BUFFERS; j++) free(h->buffer[j].data);
    for (int j = 0; j < OP_MAX_SAVED; j++) free(h->saved[j].data);
    free(h->args.workspace);
    memset(h, 0, sizeof *h);
}

int harness_forward(OpHarness *h) { return backend_forward(&h->args); }

int harness_backward(OpHarness *h) {
    for (int i = 0; i < h->spec.n_in; i++) memset(h->in_grad[i].data, 0, (size_t)tensor_numel(&h->in_grad[i]) * sizeof(float));
    for (int j = 0; j < h->shapes.n_params; j++)
        memset(h->param_grad[j].data, 0, (size_t)tensor_numel(&h->param_grad[j]) * sizeof(float));
    return backend_backward(&h->args);
}

int harness_backward_again(OpHarness *h) { return backend_backward(&h->args); }

// A second backward on top of the first must give twice the gradient: kernels accumulate.
static void check_accumulates(OpHarness *h, GradTolerance tol) {
    Tensor first[OP_MAX_INPUTS + OP_MAX_PARAMS], *grads[OP_MAX_INPUTS + OP_MAX_PARAMS];
    int n = 0;
    for (int i = 0; i < h->spec.n_in; i++) grads[n++] = &h->in_grad[i];
    for (int j = 0; j < h->shapes.n_params; j++) grads[n++] = &h->param_grad[j];
    for (int k = 0; k < n; k++) {
        first[k] = *grads[k];
        first[k].data = malloc((size_t)tensor_numel(grads[k]) * sizeof(float));
        memcpy(first[k].data, grads[k]->data, (size_t)tensor_numel(grads[k]) * sizeof(float));
    }
    if (harness_forward(h) != 0 || harness_backward_again(h) != 0) test_fail(__FILE__, __LINE__, "%s", yolo_error());
    for (int k = 0; k < n; k++) {
        int bad = 0;
        for (int64_t i = 0; i < tensor_numel(grads[k]); i++) {
            float want = 2.0f * first[k].data[i];
            bad += !(fabsf(grads[k]->data[i] - want) <= tol.atol * 1e-2f + 1e-5f * fabsf(want));
        }
        if (bad) test_fail(__FILE__, __LINE__, "%s: gradient %d is overwritten, not accumulated, by backward", op_name(h->spec.kind), k);
        free(first[k].data);
    }
}

static double weighted_sum(const OpHarness *h) {
    double sum = 0.0;
    for (int64_t i = 0; i < tensor_numel(&h->out); i++) sum += (double)h->out.data[i] * (double)h->out_grad.data[i];
    return sum;
}

// Compares the analytic gradient `grad` of tensor `x` with central differences.
static void check_tensor(OpHarness *h, Tensor *x, const Tensor *grad, const char *what, GradTolerance tol) {
    int reported = 0;
    for (int64_t i = 0; i < tensor_numel(x); i++) {
        float keep = x->data[i];
        x->data[i] = keep + tol.eps;
        if (harness_forward(h) != 0) break;
        double plus = weighted_sum(h);
        x->data[i] = keep - tol.eps;
        if (harness_forward(h) != 0) break;
        double minus = weighted_sum(h);
        x->data[i] = keep;
        double numeric = (plus - minus) / (2.0 * tol.eps);
        double analytic = grad->data[i];
        if (!(fabs(numeric - analytic) <= tol.atol + tol.rtol * fabs(numeric)) && reported++ < 4)
            test_fail(__FILE__, __LINE__, "%s %s element %lld: numeric %.6g, analytic %.6g", op_name(h->spec.kind),
                      what, (long long)i, numeric, analytic);
    }
}

void gradcheck(const OpSpec *spec, GradTolerance tol) {
    Backend *backend = backend_cpu_create(1);
    OpHarness h = {0};
    if (!backend || harness_init(&h, spec, backend, 1234) != 0 || harness_forward(&h) != 0 || harness_backward(&h) != 0) {
        test_fail(__FILE__, __LINE__, "%s: %s", op_name(spec->kind), yolo_error());
        yolo_error_clear();
        harness_free(&h);
        backend_destroy(backend);
        return;
    }
    char what[32];
    for (int i = 0; i < spec->n_in; i++) {
        snprintf(what, sizeof what, "input %d", i);
        check_tensor(&h, &h.in[i], &h.in_grad[i], what, tol);
    }
    for (int j = 0; j < h.shapes.n_params; j++) {
        snprintf(what, sizeof what, "param %d", j);
        check_tensor(&h, &h.param[j], &h.param_grad[j], what, tol);
    }
    check_accumulates(&h, tol);
    harness_free(&h);
    backend_destroy(backend);
}

static void expect_same_bits(const Tensor *a, const Tensor *b, const char *op, const char *what) {
    if (memcmp(a->data, b->data, (size_t)tensor_numel(a) * sizeof(float)) != 0)
        test_fail(__FILE__, __LINE__, "%s: %s differs between 1 and 2 threads", op, what);
}

void expect_thread_invariant(const OpSpec *spec) {
    Backend *one = backend_cpu_create(1), *two = backend_cpu_create(2);
    OpHarness h1 = {0}, h2 = {0};
    int ok = one && two && harness_init(&h1, spec, one, 99) == 0 && harness_init(&h2, spec, two, 99) == 0 &&
             harness_forward(&h1) == 0 && harness_forward(&h2) == 0 && harness_backward(&h1) == 0 &&
             harness_backward(&h2) == 0;
    if (!ok) {
        test_fail(__FILE__, __LINE__, "%s: %s", op_name(spec->kind), yolo_error());
        yolo_error_clear();
    } else {
        const char *name = op_name(spec->kind);
        expect_same_bits(&h1.out, &h2.out, name, "output");
        for (int i = 0; i < spec->n_in; i++) expect_same_bits(&h1.in_grad[i], &h2.in_grad[i], name, "input gradient");
        for (int j = 0; j < h1.shapes.n_params; j++)
            expect_same_bits(&h1.param_grad[j], &h2.param_grad[j], name, "parameter gradient");
        for (int j = 0; j < h1.shapes.n_buffers; j++) expect_same_bits(&h1.buffer[j], &h2.buffer[j], name, "buffer");
        for (int j = 0; j < h1.shapes.n_saved; j++) expect_same_bits(&h1.saved[j], &h2.saved[j], name, "saved tensor");
    }
    harness_free(&h1);
    harness_free(&h2);
    backend_destroy(one);
    backend_destroy(two);
}
