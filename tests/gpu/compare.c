// compare_op: one op on the CPU and on the GPU from the same state (gpu_test.h).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "gpu_test.h"
#include "test.h"

enum { MIRROR_MAX = 2 * OP_MAX_INPUTS + 2 + 2 * OP_MAX_PARAMS + OP_MAX_BUFFERS + OP_MAX_SAVED };

// The op's arguments on the GPU: each distinct host tensor of the CPU's OpArgs has one device
// copy (aliases stay aliases), uploaded when the mirror is made.
typedef struct {
    const Tensor *host[MIRROR_MAX];
    Tensor dev[MIRROR_MAX];
    int n;
    OpArgs args;
    Backend *b;
    bool failed; // an upload failed (reported)
} Mirror;

static Tensor *mirror_of(Mirror *m, const Tensor *host) {
    if (!host) return NULL;
    for (int i = 0; i < m->n; i++)
        if (m->host[i]->data == host->data) return &m->dev[i];
    Tensor *d = &m->dev[m->n];
    *d = *host;
    d->device = DEVICE_CUDA;
    size_t bytes = (size_t)tensor_numel(host) * sizeof(float);
    if (backend_alloc(m->b, bytes, (void **)&d->data) != 0 || backend_upload(m->b, d->data, host->data, bytes) != 0) {
        test_fail(__FILE__, __LINE__, "uploading a tensor: %s", yolo_error());
        yolo_error_clear();
        backend_release(m->b, d->data);
        m->failed = true;
        return NULL;
    }
    m->host[m->n++] = host;
    return d;
}

static int mirror_make(Mirror *m, const OpArgs *a, Backend *b) {
    memset(m, 0, sizeof *m);
    m->b = b;
    m->args = *a;
    m->args.backend = b;
    for (int i = 0; i < a->n_in; i++) {
        m->args.in[i] = mirror_of(m, a->in[i]);
        m->args.in_grad[i] = mirror_of(m, a->in_grad[i]);
    }
    m->args.out = mirror_of(m, a->out);
    m->args.out_grad = mirror_of(m, a->out_grad);
    for (int j = 0; j < OP_MAX_PARAMS; j++) {
        m->args.param[j] = mirror_of(m, a->param[j]);
        m->args.param_grad[j] = mirror_of(m, a->param_grad[j]);
    }
    for (int j = 0; j < OP_MAX_BUFFERS; j++) m->args.buffer[j] = mirror_of(m, a->buffer[j]);
    for (int j = 0; j < OP_MAX_SAVED; j++) m->args.saved[j] = mirror_of(m, a->saved[j]);
    m->args.workspace = NULL;
    m->args.workspace_bytes = backend_workspace(&m->args);
    if (m->args.workspace_bytes) TRY(backend_alloc(b, m->args.workspace_bytes, &m->args.workspace));
    return m->failed ? yolo_fail("a tensor could not be put on the GPU") : 0;
}

static void mirror_free(Mirror *m) {
    for (int i = 0; i < m->n; i++) backend_release(m->b, m->dev[i].data);
    backend_release(m->b, m->args.workspace);
    m->n = 0;
}

// The device copy of host tensor t, downloaded into a new buffer.
static float *download(Mirror *m, const Tensor *t) {
    for (int i = 0; i < m->n; i++)
        if (m->host[i]->data == t->data) {
            size_t bytes = (size_t)tensor_numel(t) * sizeof(float);
            float *out = malloc(bytes);
            if (out && backend_download(m->b, out, m->dev[i].data, bytes) == 0) return out;
            test_fail(__FILE__, __LINE__, "downloading: %s", out ? yolo_error() : "out of memory");
            yolo_error_clear();
            free(out);
            return NULL;
        }
    return NULL;
}

static void expect_close(const char *label, const char *what, const float *got, const float *want, int64_t n,
                         Tolerance tol, const char *against) {
    if (!got || !want) return;
    int64_t bad = 0, first = -1;
    double worst = 0.0;
    for (int64_t i = 0; i < n; i++) {
        bool ok = tol.exact ? memcmp(&got[i], &want[i], sizeof(float)) == 0
                            : fabsf(got[i] - want[i]) <= tol.atol + tol.rtol * fabsf(want[i]);
        double err = fabs((double)got[i] - (double)want[i]);
        if (err > worst || isnan(err)) worst = err;
        if (!ok && bad++ == 0) first = i;
    }
    if (bad)
        test_fail(__FILE__, __LINE__, "%s: %s: %lld of %lld elements differ from the %s (first at %lld: %.9g vs %.9g; "
                  "largest error %.3g; %s)", label, what, (long long)bad, (long long)n, against, (long long)first,
                  got[first], want[first], worst,
                  tol.exact ? "want the same bits" : "tolerance atol + rtol * |want|");
}

static void fill_uniform(Tensor *t, uint64_t stream) {
    for (int64_t i = 0; i < tensor_numel(t); i++) t->data[i] = 2.0f * rng_uniform(77, stream, (uint64_t)i) - 1.0f;
}

static int run(const OpArgs *a) {
    TRY(backend_forward(a));
    TRY(backend_backward(a));
    return backend_synchronize(a->backend);
}

// Every tensor forward and backward write, with its name.
typedef struct {
    const Tensor *t;
    char what[32];
} Written;

static int written_of(const OpHarness *h, Written *w) {
    int n = 0;
    w[n++] = (Written){&h->out, "output"};
    for (int j = 0; j < h->shapes.n_saved; j++) {
        w[n] = (Written){&h->saved[j], ""};
        snprintf(w[n++].what, sizeof w->what, "saved %d", j);
    }
    for (int j = 0; j < h->shapes.n_buffers; j++) {
        w[n] = (Written){&h->buffer[j], ""};
        snprintf(w[n++].what, sizeof w->what, "buffer %d", j);
    }
    for (int i = 0; i < h->spec.n_in; i++) {
        if (i > 0 && h->args.in_grad[i] == h->args.in_grad[0]) continue; // shared: compared once
        w[n] = (Written){h->args.in_grad[i], ""};
        snprintf(w[n++].what, sizeof w->what, "input gradient %d", i);
    }
    for (int j = 0; j < h->shapes.n_params; j++) {
        w[n] = (Written){&h->param_grad[j], ""};
        snprintf(w[n++].what, sizeof w->what, "parameter gradient %d", j);
    }
    return n;
}

void compare_op(const char *label, const OpSpec *spec, Tolerance tol, CompareOptions opt) {
    Backend *cpu = backend_cpu_create(1);
    OpHarness h = {0};
    Mirror first = {0}, second = {0};
    if (!cpu || harness_init(&h, spec, cpu, 4242) != 0) {
        test_fail(__FILE__, __LINE__, "%s: %s", label, yolo_error());
        yolo_error_clear();
        harness_free(&h);
        backend_destroy(cpu);
        return;
    }
    if (opt.ties)
        for (int i = 0; i < spec->n_in; i++)
            for (int64_t k = 0; k < tensor_numel(&h.in[i]); k++) h.in[i].data[k] = roundf(h.in[i].data[k]);
    if (opt.same_input)
        for (int i = 1; i < spec->n_in; i++) {
            h.args.in[i] = &h.in[0];
            h.args.in_grad[i] = &h.in_grad[0];
        }
    for (int i = 0; i < spec->n_in; i++) fill_uniform(&h.in_grad[i], 100 + (uint64_t)i);
    for (int j = 0; j < h.shapes.n_params; j++) fill_uniform(&h.param_grad[j], 200 + (uint64_t)j);
    // Both GPU runs start from the state the CPU run starts from.
    int ok = mirror_make(&first, &h.args, gpu_backend()) == 0 && mirror_make(&second, &h.args, gpu_backend()) == 0;
    ok = ok && backend_forward(&h.args) == 0 && backend_backward(&h.args) == 0;
    ok = ok && run(&first.args) == 0 && run(&second.args) == 0;
    if (!ok) {
        test_fail(__FILE__, __LINE__, "%s: %s", label, yolo_error());
        yolo_error_clear();
    } else {
        Written w[MIRROR_MAX];
        int n = written_of(&h, w);
        for (int k = 0; k < n; k++) {
            float *a = download(&first, w[k].t), *b = download(&second, w[k].t);
            int64_t numel = tensor_numel(w[k].t);
            expect_close(label, w[k].what, a, w[k].t->data, numel, tol, "CPU op");
            expect_close(label, w[k].what, b, a, numel, (Tolerance){.exact = true}, "first GPU run");
            free(a);
            free(b);
        }
    }
    mirror_free(&first);
    mirror_free(&second);
    harness_free(&h);
    backend_destroy(cpu);
}
